/**
 * Agreement statistics for judge audits (docs/judge-audit.md). Pure, no I/O.
 *
 * - Observed agreement p_o and Cohen's κ = (p_o − p_e) / (1 − p_e) for two
 *   raters (Cohen 1960), p_e from the raters' own marginals.
 * - Fleiss' κ for m ≥ 2 raters on every unit (Fleiss 1971): P̄ the mean
 *   per-unit agreement over rater pairs, P̄_e = Σ_j p_j² from pooled category
 *   shares.
 * - A 2×2 confusion matrix of binary labels (rows: first rater, columns: second).
 * - Percentile bootstrap intervals that resample clusters (a completion's steps
 *   move together, since they are not independent), seeded and deterministic.
 *
 * κ is null when undefined (p_e = 1: both raters used one category only).
 */
import type { Rng } from '../../utils/rng.js';
import { quantile } from '../../utils/stats.js';

/** Counts [[a00, a01], [a10, a11]]: a_ij = units the first rater put in i and the second in j. */
export type Confusion = readonly [readonly [number, number], readonly [number, number]];

export function confusion(a: readonly number[], b: readonly number[]): Confusion {
  if (a.length !== b.length) throw new RangeError('confusion: raters label different numbers of units');
  const m = [
    [0, 0],
    [0, 0],
  ];
  for (let i = 0; i < a.length; i++) m[a[i] === 1 ? 1 : 0][b[i] === 1 ? 1 : 0]++;
  return [
    [m[0][0], m[0][1]],
    [m[1][0], m[1][1]],
  ];
}

/** Observed agreement of a square count table (any number of categories); null when empty. */
export function agreementOf(table: readonly (readonly number[])[]): number | null {
  let n = 0;
  let diag = 0;
  table.forEach((row, i) => row.forEach((x, j) => ((n += x), i === j && (diag += x))));
  return n === 0 ? null : diag / n;
}

/** Cohen's κ of a square count table (rows: rater 1, columns: rater 2). */
export function cohenKappaOf(table: readonly (readonly number[])[]): number | null {
  const k = table.length;
  let n = 0;
  const rows = new Array<number>(k).fill(0);
  const cols = new Array<number>(k).fill(0);
  let diag = 0;
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) {
      const x = table[i][j];
      n += x;
      rows[i] += x;
      cols[j] += x;
      if (i === j) diag += x;
    }
  if (n === 0) return null;
  const po = diag / n;
  let pe = 0;
  for (let i = 0; i < k; i++) pe += (rows[i] / n) * (cols[i] / n);
  return pe >= 1 - 1e-12 ? null : (po - pe) / (1 - pe);
}

export const cohenKappa = (a: readonly number[], b: readonly number[]): number | null => cohenKappaOf(confusion(a, b));

/**
 * Fleiss' κ from per-unit category counts: counts[u][j] = raters who put unit
 * u in category j; every unit needs the same number of raters m ≥ 2.
 */
export function fleissKappaOf(counts: readonly (readonly number[])[]): number | null {
  const N = counts.length;
  if (N === 0) return null;
  const m = counts[0].reduce((s, x) => s + x, 0);
  if (m < 2 || counts.some((row) => row.reduce((s, x) => s + x, 0) !== m)) throw new RangeError('fleissKappa: every unit needs the same number (≥ 2) of ratings');
  const k = counts[0].length;
  const colTotals = new Array<number>(k).fill(0);
  let pBar = 0;
  for (const row of counts) {
    let sq = 0;
    row.forEach((x, j) => ((colTotals[j] += x), (sq += x * x)));
    pBar += (sq - m) / (m * (m - 1));
  }
  pBar /= N;
  const pe = colTotals.reduce((s, t) => s + (t / (N * m)) ** 2, 0);
  return pe >= 1 - 1e-12 ? null : (pBar - pe) / (1 - pe);
}

/** Fleiss' κ of binary labels: raters[r][u] ∈ {0, 1}. */
export function fleissKappa(raters: readonly (readonly number[])[]): number | null {
  const n = raters[0]?.length ?? 0;
  const counts = Array.from({ length: n }, (_, u) => {
    const ones = raters.reduce((s, r) => s + (r[u] === 1 ? 1 : 0), 0);
    return [raters.length - ones, ones];
  });
  return fleissKappaOf(counts);
}

export interface Interval {
  readonly lo: number | null;
  readonly hi: number | null;
  /** Resamples where the statistic was defined. */
  readonly defined: number;
}

/**
 * Percentile bootstrap (level 0.95 by default) of `stat` over clusters: each
 * resample draws as many clusters as there are, with replacement, and the
 * statistic is computed on their pooled units. Null bounds when fewer than
 * half the resamples give a defined value.
 */
export function bootstrapInterval<C>(
  clusters: readonly C[],
  stat: (sample: readonly C[]) => number | null,
  options: { readonly resamples: number; readonly rng: Rng; readonly level?: number },
): Interval {
  const values: number[] = [];
  const n = clusters.length;
  if (n === 0) return { lo: null, hi: null, defined: 0 };
  const sample = new Array<C>(n);
  for (let r = 0; r < options.resamples; r++) {
    for (let i = 0; i < n; i++) sample[i] = clusters[options.rng.int(n)];
    const v = stat(sample);
    if (v !== null && Number.isFinite(v)) values.push(v);
  }
  if (values.length < options.resamples / 2) return { lo: null, hi: null, defined: values.length };
  const alpha = (1 - (options.level ?? 0.95)) / 2;
  return { lo: quantile(values, alpha), hi: quantile(values, 1 - alpha), defined: values.length };
}
