/**
 * Aggregates an experiment's runs (algorithm × seed, from one warm start):
 * the final held-out evaluation of each run, then per algorithm the mean and
 * sample standard deviation across seeds of accuracy, the FFP stage shares,
 * the failed-trace share and FAR per FFP bin (docs/method.md §8). Pure.
 */
import type { FailureSummary } from '../algo/failure.js';
import type { ReportFailureSummary } from '../report/report.js';
import { mean, sampleStd } from '../utils/stats.js';

export interface RunOutcome {
  readonly algorithm: string;
  readonly seed: number;
  readonly accuracy: number;
  readonly summary: FailureSummary;
}

export interface Spread {
  readonly mean: number | null;
  /** Sample std across seeds (null with fewer than two values). */
  readonly std: number | null;
  readonly n: number;
}

export interface AlgorithmSummary {
  readonly algorithm: string;
  readonly seeds: readonly number[];
  readonly accuracy: Spread;
  readonly failedShare: Spread;
  readonly stageShare: { readonly early: Spread; readonly mid: Spread; readonly late: Spread };
  /** FAR (all traces) per FFP bin (0.2 wide), mean over the seeds where the bin had a defined FAR. */
  readonly farByBin: readonly Spread[];
  /** Mean summary across seeds, in the report's input shape. */
  readonly meanSummary: ReportFailureSummary;
}

export function spread(values: ReadonlyArray<number | null>): Spread {
  const xs = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (xs.length === 0) return { mean: null, std: null, n: 0 };
  return { mean: mean(xs), std: xs.length < 2 ? null : sampleStd(xs), n: xs.length };
}

const meanOrNull = (values: ReadonlyArray<number | null>): number | null => spread(values).mean;

export function summarizeAlgorithm(algorithm: string, runs: readonly RunOutcome[]): AlgorithmSummary {
  const s = runs.map((r) => r.summary);
  const bins = s[0]?.bins.length ?? 5;
  const failed = s.map((x) => (x.traces === 0 ? null : x.withFailure / x.traces));
  const stage = (k: 'early' | 'mid' | 'late') => spread(s.map((x) => (x.withFailure === 0 ? null : x.stageShare[k])));
  const meanSummary: ReportFailureSummary = {
    traces: s.reduce((a, x) => a + x.traces, 0),
    withFailure: s.reduce((a, x) => a + x.withFailure, 0),
    accuracy: meanOrNull(runs.map((r) => r.accuracy)),
    stageShare: { early: stage('early').mean ?? 0, mid: stage('mid').mean ?? 0, late: stage('late').mean ?? 0 },
    bins: Array.from({ length: bins }, (_, b) => ({
      lo: s[0]?.bins[b]?.lo ?? b / bins,
      hi: s[0]?.bins[b]?.hi ?? (b + 1) / bins,
      count: s.reduce((a, x) => a + (x.bins[b]?.count ?? 0), 0),
      incorrectRate: meanOrNull(s.map((x) => x.bins[b]?.incorrectRate ?? null)),
      far: {
        all: meanOrNull(s.map((x) => x.bins[b]?.far.all ?? null)),
        correct: meanOrNull(s.map((x) => x.bins[b]?.far.correct ?? null)),
        incorrect: meanOrNull(s.map((x) => x.bins[b]?.far.incorrect ?? null)),
      },
    })),
    far: {
      all: meanOrNull(s.map((x) => x.far.all)),
      correct: meanOrNull(s.map((x) => x.far.correct)),
      incorrect: meanOrNull(s.map((x) => x.far.incorrect)),
    },
  };
  return {
    algorithm,
    seeds: runs.map((r) => r.seed),
    accuracy: spread(runs.map((r) => r.accuracy)),
    failedShare: spread(failed),
    stageShare: { early: stage('early'), mid: stage('mid'), late: stage('late') },
    farByBin: Array.from({ length: bins }, (_, b) => spread(s.map((x) => x.bins[b]?.far.all ?? null))),
    meanSummary,
  };
}

/** "41.2% ± 3.1" (percent) or "–". */
export function formatSpread(x: Spread): string {
  if (x.mean === null) return '–';
  const m = (x.mean * 100).toFixed(1);
  return x.std === null ? `${m}%` : `${m}% ± ${(x.std * 100).toFixed(1)}`;
}

/** A markdown table of the experiment (one row per algorithm). */
export function markdownTable(rows: readonly AlgorithmSummary[]): string {
  const binTitles = (rows[0]?.farByBin ?? []).map((_, b) => `FAR (${(b * 0.2).toFixed(1)},${((b + 1) * 0.2).toFixed(1)}]`);
  const header = ['method', 'seeds', 'accuracy', 'failed traces', 'early', 'mid', 'late', ...binTitles];
  const body = rows.map((r) => [
    r.algorithm,
    String(r.seeds.length),
    formatSpread(r.accuracy),
    formatSpread(r.failedShare),
    formatSpread(r.stageShare.early),
    formatSpread(r.stageShare.mid),
    formatSpread(r.stageShare.late),
    ...r.farByBin.map(formatSpread),
  ]);
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`,
    ...body.map((cells) => `| ${cells.join(' | ')} |`),
  ].join('\n');
}
