/**
 * MRPO under judge noise (docs/judge-audit.md): per method and noise level the
 * final held-out accuracy and early-failure share (the share of failed traces
 * whose first failure is in the first third, docs/method.md §8) as the mean
 * with a 95% t-interval over seeds, and per noise level a paired comparison of
 * MRPO against GRPO on the seeds both ran (per-seed differences, their mean
 * and 95% t-interval). Pure.
 */
import type { FailureSummary } from '../algo/failure.js';
import { meanInterval95 } from '../utils/stats.js';

export interface NoiseRun {
  readonly algorithm: string;
  /** Noise level label: "0", "0.1", "early:0.2". */
  readonly noise: string;
  readonly seed: number;
  readonly accuracy: number;
  readonly summary: FailureSummary;
}

export interface Interval {
  readonly mean: number | null;
  readonly lo: number | null;
  readonly hi: number | null;
  readonly n: number;
}

export interface NoiseRow {
  readonly algorithm: string;
  readonly noise: string;
  readonly seeds: readonly number[];
  readonly accuracy: Interval;
  readonly earlyShare: Interval;
}

export interface PairedRow {
  readonly noise: string;
  readonly seeds: readonly number[];
  /** MRPO − GRPO accuracy, per seed and summarised. */
  readonly accuracyDiff: Interval;
  readonly earlyShareDiff: Interval;
  /** Seeds on which MRPO's accuracy was higher / equal / lower. */
  readonly wins: number;
  readonly ties: number;
  readonly losses: number;
}

const earlyOf = (s: FailureSummary): number | null => (s.withFailure === 0 ? null : s.stageShare.early);

export function noiseRows(runs: readonly NoiseRun[], algorithms: readonly string[], levels: readonly string[]): NoiseRow[] {
  const rows: NoiseRow[] = [];
  for (const noise of levels)
    for (const algorithm of algorithms) {
      const rs = runs.filter((r) => r.algorithm === algorithm && r.noise === noise);
      if (rs.length === 0) continue;
      rows.push({
        algorithm,
        noise,
        seeds: rs.map((r) => r.seed),
        accuracy: meanInterval95(rs.map((r) => r.accuracy)),
        earlyShare: meanInterval95(rs.map((r) => earlyOf(r.summary)).filter((x): x is number => x !== null)),
      });
    }
  return rows;
}

export function pairedRows(runs: readonly NoiseRun[], levels: readonly string[], a = 'mrpo', b = 'grpo'): PairedRow[] {
  const out: PairedRow[] = [];
  for (const noise of levels) {
    const byA = new Map(runs.filter((r) => r.algorithm === a && r.noise === noise).map((r) => [r.seed, r]));
    const pairs = runs.filter((r) => r.algorithm === b && r.noise === noise && byA.has(r.seed)).map((rb) => [byA.get(rb.seed) as NoiseRun, rb] as const);
    if (pairs.length === 0) continue;
    const acc = pairs.map(([x, y]) => x.accuracy - y.accuracy);
    const early = pairs.flatMap(([x, y]) => {
      const ex = earlyOf(x.summary);
      const ey = earlyOf(y.summary);
      return ex === null || ey === null ? [] : [ex - ey];
    });
    out.push({
      noise,
      seeds: pairs.map(([x]) => x.seed),
      accuracyDiff: meanInterval95(acc),
      earlyShareDiff: meanInterval95(early),
      wins: acc.filter((d) => d > 0).length,
      ties: acc.filter((d) => d === 0).length,
      losses: acc.filter((d) => d < 0).length,
    });
  }
  return out;
}

const pct = (x: number | null, signed = false): string => (x === null ? '–' : `${signed && x > 0 ? '+' : ''}${(x * 100).toFixed(1)}`);

/** "41.2% [35.0, 47.4]" or "41.2%" (one seed) or "–". */
export function formatInterval(x: Interval, signed = false): string {
  if (x.mean === null) return '–';
  const m = `${pct(x.mean, signed)}${signed ? ' pp' : '%'}`;
  return x.lo === null || x.hi === null ? m : `${m} [${pct(x.lo, signed)}, ${pct(x.hi, signed)}]`;
}

export function noiseMarkdown(rows: readonly NoiseRow[], paired: readonly PairedRow[]): string {
  const t1 = [
    '| noise | method | seeds | accuracy (95% CI) | early-failure share (95% CI) |',
    '|---|---|---|---:|---:|',
    ...rows.map((r) => `| ${r.noise} | ${r.algorithm} | ${r.seeds.length} | ${formatInterval(r.accuracy)} | ${formatInterval(r.earlyShare)} |`),
  ];
  const t2 = [
    '| noise | paired seeds | MRPO − GRPO accuracy (95% CI) | MRPO − GRPO early share (95% CI) | MRPO better / tie / worse |',
    '|---|---|---:|---:|---|',
    ...paired.map((p) => `| ${p.noise} | ${p.seeds.join(',')} | ${formatInterval(p.accuracyDiff, true)} | ${formatInterval(p.earlyShareDiff, true)} | ${p.wins} / ${p.ties} / ${p.losses} |`),
  ];
  return [...t1, '', ...t2].join('\n');
}
