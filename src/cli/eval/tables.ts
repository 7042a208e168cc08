/**
 * The benchmark table of `mrpo eval`, from the judged files of every
 * (model, benchmark): for each scoring convention, rows = models, columns =
 * benchmarks (in-distribution first, then out-of-distribution) and the macro
 * averages over ID, OOD and all benchmarks, each for all / open / closed
 * questions; every cell a mean with its n and 95% bootstrap interval. Plus
 * the reasoning-failure figures per (model, benchmark): FFP stage shares
 * (over traces with a failure) and FAR, also with bootstrap intervals. Step
 * verdicts need a gold rationale (docs/method.md §3), so benchmarks without
 * one (the OOD sets) have no FFP/FAR cells.
 */
import { failurePoint, stageOf, summarizeFailures, type FailureSummary, type FfpStage } from '../../algo/failure.js';
import type { StepLabel } from '../../types.js';
import { bootstrapMacroMean, bootstrapMean, bootstrapStatistic, type BootstrapOptions, type Interval } from './bootstrap.js';
import { lexicalScores, type Convention } from './scoring.js';

export const SUBSETS = ['all', 'open', 'closed'] as const;
export type Subset = (typeof SUBSETS)[number];
export const AVERAGES = ['avg-id', 'avg-ood', 'avg-all'] as const;

/** One judged item, as the table reads it. */
export interface JudgedRow {
  readonly answerType: 'open' | 'closed';
  readonly prediction: string;
  readonly answers: readonly string[];
  readonly correct: boolean | null;
  readonly stepLabels: readonly StepLabel[] | null;
}

export interface TableBenchmark {
  readonly name: string;
  readonly group: 'id' | 'ood';
  /** Items in the sample. */
  readonly items: number;
}

export type CellSet = Readonly<Record<Subset, Interval>>;

export interface FailureCells {
  readonly traces: number;
  readonly withFailure: number;
  readonly early: Interval;
  readonly mid: Interval;
  readonly late: Interval;
  /** Mean per-trace FAR over failed traces where it is defined. */
  readonly far: Interval;
  readonly farCorrect: Interval;
  readonly farIncorrect: Interval;
}

export interface EvalTables {
  readonly conventions: readonly Convention[];
  readonly models: readonly string[];
  readonly benchmarks: readonly TableBenchmark[];
  /** scores[convention][model][benchmark | avg-id | avg-ood | avg-all][subset]. */
  readonly scores: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, CellSet>>>>>>;
  /** failure[model][benchmark | all]. */
  readonly failure: Readonly<Record<string, Readonly<Record<string, FailureCells>>>>;
  /** judged[model][benchmark]: items judged so far (of `items`). */
  readonly judged: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly bootstrap: { readonly resamples: number; readonly seed: number };
}

function seedFor(base: number, key: string): number {
  let h = 2166136261 ^ base;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Per-item values of a convention for the rows of a subset; the judge leaves out unjudged answers. */
export function itemValues(rows: readonly JudgedRow[], convention: Convention, subset: Subset): number[] {
  const kept = subset === 'all' ? rows : rows.filter((r) => r.answerType === subset);
  if (convention === 'judge') return kept.filter((r) => r.correct !== null).map((r) => (r.correct ? 1 : 0));
  return kept.map((r) => lexicalScores(r.prediction, r.answers)[convention]);
}

interface TraceFacts {
  readonly stage: FfpStage | null;
  readonly far: number | null;
  readonly correct: boolean;
}

function failureCells(rows: readonly JudgedRow[], boot: Required<Pick<BootstrapOptions, 'resamples' | 'seed'>>, key: string): FailureCells {
  const traces: TraceFacts[] = [];
  for (const r of rows) {
    if (r.correct === null || r.stepLabels === null) continue;
    const fp = failurePoint(r.stepLabels);
    traces.push({ stage: fp.firstInvalid === null ? null : stageOf(fp.firstInvalid, fp.steps), far: fp.far, correct: r.correct });
  }
  const share = (stage: FfpStage) => (s: readonly TraceFacts[]) => {
    let failed = 0;
    let hit = 0;
    for (const t of s) {
      if (t.stage === null) continue;
      failed++;
      if (t.stage === stage) hit++;
    }
    return failed === 0 ? null : hit / failed;
  };
  const farMean = (filter: (t: TraceFacts) => boolean) => (s: readonly TraceFacts[]) => {
    let sum = 0;
    let n = 0;
    for (const t of s) if (t.stage !== null && t.far !== null && filter(t)) ((sum += t.far), n++);
    return n === 0 ? null : sum / n;
  };
  const opt = (name: string) => ({ resamples: boot.resamples, seed: seedFor(boot.seed, `${key}/${name}`) });
  // Traces are resampled as a whole; n is what the statistic is over (failed traces, or those with a FAR).
  const withN = (i: Interval, n: number): Interval => ({ ...i, n });
  const failed = traces.filter((t) => t.stage !== null);
  const farN = (filter: (t: TraceFacts) => boolean) => failed.filter((t) => t.far !== null && filter(t)).length;
  return {
    traces: traces.length,
    withFailure: failed.length,
    early: withN(bootstrapStatistic(traces, share('early'), opt('early')), failed.length),
    mid: withN(bootstrapStatistic(traces, share('mid'), opt('mid')), failed.length),
    late: withN(bootstrapStatistic(traces, share('late'), opt('late')), failed.length),
    far: withN(bootstrapStatistic(traces, farMean(() => true), opt('far')), farN(() => true)),
    farCorrect: withN(bootstrapStatistic(traces, farMean((t) => t.correct), opt('far-correct')), farN((t) => t.correct)),
    farIncorrect: withN(bootstrapStatistic(traces, farMean((t) => !t.correct), opt('far-incorrect')), farN((t) => !t.correct)),
  };
}

/** Builds every table from the judged rows: rows[model][benchmark]. */
export function buildTables(input: {
  readonly conventions: readonly Convention[];
  readonly models: readonly string[];
  readonly benchmarks: readonly TableBenchmark[];
  readonly rows: Readonly<Record<string, Readonly<Record<string, readonly JudgedRow[]>>>>;
  readonly bootstrap: { readonly resamples: number; readonly seed: number };
}): EvalTables {
  const { conventions, models, benchmarks, rows, bootstrap } = input;
  const ordered = [...benchmarks.filter((b) => b.group === 'id'), ...benchmarks.filter((b) => b.group === 'ood')];
  const scores: Record<string, Record<string, Record<string, CellSet>>> = {};
  for (const c of conventions) {
    scores[c] = {};
    for (const m of models) {
      const byBench: Record<string, CellSet> = {};
      const values: Record<string, Record<Subset, number[]>> = {};
      for (const b of ordered) {
        const r = rows[m]?.[b.name] ?? [];
        values[b.name] = { all: itemValues(r, c, 'all'), open: itemValues(r, c, 'open'), closed: itemValues(r, c, 'closed') };
        byBench[b.name] = Object.fromEntries(
          SUBSETS.map((s) => [s, bootstrapMean(values[b.name]![s], { resamples: bootstrap.resamples, seed: seedFor(bootstrap.seed, `${c}/${m}/${b.name}/${s}`) })]),
        ) as CellSet;
      }
      const groups: Record<(typeof AVERAGES)[number], readonly TableBenchmark[]> = {
        'avg-id': ordered.filter((b) => b.group === 'id'),
        'avg-ood': ordered.filter((b) => b.group === 'ood'),
        'avg-all': ordered,
      };
      for (const avg of AVERAGES)
        byBench[avg] = Object.fromEntries(
          SUBSETS.map((s) => [s, bootstrapMacroMean(groups[avg].map((b) => values[b.name]![s]), { resamples: bootstrap.resamples, seed: seedFor(bootstrap.seed, `${c}/${m}/${avg}/${s}`) })]),
        ) as CellSet;
      scores[c][m] = byBench;
    }
  }
  const failure: Record<string, Record<string, FailureCells>> = {};
  const judged: Record<string, Record<string, number>> = {};
  for (const m of models) {
    failure[m] = {};
    judged[m] = {};
    for (const b of ordered) {
      failure[m][b.name] = failureCells(rows[m]?.[b.name] ?? [], bootstrap, `${m}/${b.name}`);
      judged[m][b.name] = (rows[m]?.[b.name] ?? []).length;
    }
    failure[m].all = failureCells(ordered.flatMap((b) => rows[m]?.[b.name] ?? []), bootstrap, `${m}/all`);
  }
  return { conventions, models, benchmarks: ordered, scores, failure, judged, bootstrap };
}

/** The FFP/FAR summary of one model over every benchmark (for the report's figures). */
export function modelFailureSummary(rows: readonly JudgedRow[]): FailureSummary {
  return summarizeFailures(rows.filter((r) => r.correct !== null && r.stepLabels !== null).map((r) => ({ correct: r.correct as boolean, stepLabels: r.stepLabels as StepLabel[] })));
}
