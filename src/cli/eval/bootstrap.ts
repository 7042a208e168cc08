/**
 * Percentile bootstrap intervals for the benchmark tables (Efron & Tibshirani,
 * "An Introduction to the Bootstrap", ch. 13): B resamples of the n values
 * with replacement, the statistic of each, and the 2.5th and 97.5th
 * percentiles of those (linear interpolation between order statistics, as
 * numpy's default `percentile`). Seeded, so a table is reproducible.
 *
 * Averages over benchmarks are macro averages (the mean of the benchmark
 * means, as the paper's "Avg." column); their interval resamples every
 * benchmark independently (a stratified bootstrap) and averages the resampled
 * means.
 */
import { createRng, type Rng } from '../../utils/rng.js';
import { quantile } from '../../utils/stats.js';

export interface Interval {
  /** The statistic on the data itself; null when it is undefined (no values). */
  readonly value: number | null;
  /** 95% percentile-bootstrap bounds; null with no values. */
  readonly lo: number | null;
  readonly hi: number | null;
  /** Number of values the statistic was computed from. */
  readonly n: number;
}

export interface BootstrapOptions {
  /** Resamples B (default 1000). */
  readonly resamples?: number;
  /** RNG seed (default 0). */
  readonly seed?: number;
  /** Coverage (default 0.95). */
  readonly level?: number;
}

const EMPTY: Interval = { value: null, lo: null, hi: null, n: 0 };

function resample<T>(values: readonly T[], rng: Rng, out: T[]): T[] {
  for (let i = 0; i < values.length; i++) out[i] = values[rng.int(values.length)] as T;
  return out;
}

/**
 * Interval of any statistic of the values: resamples where the statistic is
 * undefined (null, e.g. a share of failed traces when none failed) are left
 * out of the percentiles.
 */
export function bootstrapStatistic<T>(values: readonly T[], statistic: (sample: readonly T[]) => number | null, options: BootstrapOptions = {}): Interval {
  if (values.length === 0) return EMPTY;
  const value = statistic(values);
  if (value === null) return { value: null, lo: null, hi: null, n: values.length };
  const B = options.resamples ?? 1000;
  const alpha = (1 - (options.level ?? 0.95)) / 2;
  const rng = createRng(options.seed ?? 0);
  const stats: number[] = [];
  const buffer = new Array<T>(values.length);
  for (let b = 0; b < B; b++) {
    const s = statistic(resample(values, rng, buffer));
    if (s !== null) stats.push(s);
  }
  if (stats.length === 0) return { value, lo: null, hi: null, n: values.length };
  return { value, lo: quantile(stats, alpha), hi: quantile(stats, 1 - alpha), n: values.length };
}

const meanOf = (xs: readonly number[]): number | null => {
  if (xs.length === 0) return null;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
};

/** Mean of the values with its percentile-bootstrap interval. */
export function bootstrapMean(values: readonly number[], options: BootstrapOptions = {}): Interval {
  return bootstrapMeanDraws(values, options).interval;
}

/** A group's values with the B resampled means its interval came from (null for an empty group). */
export interface MeanDraws {
  readonly interval: Interval;
  readonly values: readonly number[];
  readonly draws: Float64Array | null;
}

/** `bootstrapMean`, keeping the resampled means so that macro averages can reuse them. */
export function bootstrapMeanDraws(values: readonly number[], options: BootstrapOptions = {}): MeanDraws {
  const n = values.length;
  if (n === 0) return { interval: EMPTY, values, draws: null };
  const B = options.resamples ?? 1000;
  const alpha = (1 - (options.level ?? 0.95)) / 2;
  const rng = createRng(options.seed ?? 0);
  const draws = new Float64Array(B);
  for (let b = 0; b < B; b++) draws[b] = resampledMean(values, rng);
  return { interval: { value: meanOf(values), lo: quantile(draws, alpha), hi: quantile(draws, 1 - alpha), n }, values, draws };
}

/**
 * The macro average of groups bootstrapped on their own (`bootstrapMeanDraws`,
 * each with its own seed): resample b of the average is the average of the
 * groups' resample b — the stratified bootstrap of `bootstrapMacroMean`,
 * without drawing again. Empty groups are left out.
 */
export function macroFromDraws(groups: readonly MeanDraws[], level = 0.95): Interval {
  const kept = groups.filter((g) => g.draws !== null && g.values.length > 0);
  if (kept.length === 0) return EMPTY;
  const B = Math.min(...kept.map((g) => (g.draws as Float64Array).length));
  const stats = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let total = 0;
    for (const g of kept) total += (g.draws as Float64Array)[b] as number;
    stats[b] = total / kept.length;
  }
  const alpha = (1 - level) / 2;
  const value = kept.reduce((a, g) => a + (meanOf(g.values) ?? 0), 0) / kept.length;
  return { value, lo: quantile(stats, alpha), hi: quantile(stats, 1 - alpha), n: kept.reduce((a, g) => a + g.values.length, 0) };
}

function resampledMean(values: readonly number[], rng: Rng): number {
  const n = values.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[rng.int(n)] as number;
  return sum / n;
}

/**
 * Macro average: the mean of the groups' means, with a stratified bootstrap
 * interval (each group resampled on its own). Empty groups are left out; `n`
 * is the total number of values.
 */
export function bootstrapMacroMean(groups: readonly (readonly number[])[], options: BootstrapOptions = {}): Interval {
  const kept = groups.filter((g) => g.length > 0);
  const n = kept.reduce((a, g) => a + g.length, 0);
  if (kept.length === 0) return EMPTY;
  const value = kept.reduce((a, g) => a + (meanOf(g) ?? 0), 0) / kept.length;
  const B = options.resamples ?? 1000;
  const alpha = (1 - (options.level ?? 0.95)) / 2;
  const rng = createRng(options.seed ?? 0);
  const stats = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let total = 0;
    for (const g of kept) total += resampledMean(g, rng);
    stats[b] = total / kept.length;
  }
  return { value, lo: quantile(stats, alpha), hi: quantile(stats, 1 - alpha), n };
}
