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
import { bootstrapMeanDraws, macroFromDraws, type BootstrapOptions, type Interval, type MeanDraws } from './bootstrap.js';
import { createRng } from '../../utils/rng.js';
import { quantile } from '../../utils/stats.js';
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

/** The lexical scores of each row, computed once (they are the expensive part of a table). */
const lexicalCache = new WeakMap<JudgedRow, Readonly<Record<Exclude<Convention, 'judge'>, number>>>();

function lexicalOf(row: JudgedRow): Readonly<Record<Exclude<Convention, 'judge'>, number>> {
  let scores = lexicalCache.get(row);
  if (scores === undefined) {
    scores = lexicalScores(row.prediction, row.answers);
    lexicalCache.set(row, scores);
  }
  return scores;
}

/** Per-item values of a convention for the rows of a subset; the judge leaves out unjudged answers. */
export function itemValues(rows: readonly JudgedRow[], convention: Convention, subset: Subset): number[] {
  const kept = subset === 'all' ? rows : rows.filter((r) => r.answerType === subset);
  if (convention === 'judge') return kept.filter((r) => r.correct !== null).map((r) => (r.correct ? 1 : 0));
  return kept.map((r) => lexicalOf(r)[convention]);
}

const STAGE_CODE: Readonly<Record<FfpStage, number>> = { early: 0, mid: 1, late: 2 };
const STAT_NAMES = ['early', 'mid', 'late', 'far', 'farCorrect', 'farIncorrect'] as const;

/**
 * The six failure statistics of one resample (index list `pick`, or the data
 * itself): stage shares over failed traces and mean FAR (all, correct,
 * incorrect) over failed traces with a FAR; NaN where undefined.
 */
function failureStats(stage: Int8Array, far: Float64Array, correct: Uint8Array, pick: Int32Array | null, out: Float64Array): void {
  const n = stage.length;
  let failed = 0;
  const hits = [0, 0, 0];
  const sum = [0, 0, 0];
  const cnt = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    const k = pick === null ? i : (pick[i] as number);
    const st = stage[k] as number;
    if (st < 0) continue;
    failed++;
    hits[st]!++;
    const f = far[k] as number;
    if (Number.isNaN(f)) continue;
    sum[0]! += f;
    cnt[0]!++;
    const side = correct[k] === 1 ? 1 : 2;
    sum[side]! += f;
    cnt[side]!++;
  }
  for (let s = 0; s < 3; s++) out[s] = failed === 0 ? Number.NaN : (hits[s] as number) / failed;
  for (let s = 0; s < 3; s++) out[3 + s] = cnt[s] === 0 ? Number.NaN : (sum[s] as number) / (cnt[s] as number);
}

function failureCells(rows: readonly JudgedRow[], boot: Required<Pick<BootstrapOptions, 'resamples' | 'seed'>>, key: string): FailureCells {
  const facts = rows.filter((r) => r.correct !== null && r.stepLabels !== null);
  const n = facts.length;
  const stage = new Int8Array(n);
  const far = new Float64Array(n);
  const correct = new Uint8Array(n);
  facts.forEach((r, i) => {
    const fp = failurePoint(r.stepLabels as StepLabel[]);
    stage[i] = fp.firstInvalid === null ? -1 : STAGE_CODE[stageOf(fp.firstInvalid, fp.steps)];
    far[i] = fp.firstInvalid === null || fp.far === null ? Number.NaN : fp.far;
    correct[i] = r.correct === true ? 1 : 0;
  });
  const failedN = Array.from(stage).filter((s) => s >= 0).length;
  const farN = (side: 0 | 1 | 2) => facts.filter((_, i) => (stage[i] as number) >= 0 && !Number.isNaN(far[i] as number) && (side === 0 || (side === 1) === (correct[i] === 1))).length;
  const counts = [failedN, failedN, failedN, farN(0), farN(1), farN(2)];
  const point = new Float64Array(6);
  failureStats(stage, far, correct, null, point);
  // Traces are resampled as a whole, one draw serving all six statistics; resamples where a statistic is undefined are left out of its percentiles.
  const draws = STAT_NAMES.map(() => [] as number[]);
  if (n > 0) {
    const rng = createRng(seedFor(boot.seed, `${key}/failure`));
    const pick = new Int32Array(n);
    const out = new Float64Array(6);
    for (let b = 0; b < boot.resamples; b++) {
      for (let i = 0; i < n; i++) pick[i] = rng.int(n);
      failureStats(stage, far, correct, pick, out);
      for (let s = 0; s < 6; s++) if (!Number.isNaN(out[s] as number)) draws[s]!.push(out[s] as number);
    }
  }
  const cell = (s: number): Interval => {
    const v = point[s] as number;
    if (Number.isNaN(v)) return { value: null, lo: null, hi: null, n: counts[s] as number };
    const d = draws[s] as number[];
    return d.length === 0 ? { value: v, lo: null, hi: null, n: counts[s] as number } : { value: v, lo: quantile(d, 0.025), hi: quantile(d, 0.975), n: counts[s] as number };
  };
  return { traces: n, withFailure: failedN, early: cell(0), mid: cell(1), late: cell(2), far: cell(3), farCorrect: cell(4), farIncorrect: cell(5) };
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
      const draws: Record<string, Record<Subset, MeanDraws>> = {};
      for (const b of ordered) {
        const r = rows[m]?.[b.name] ?? [];
        const per = {} as Record<Subset, MeanDraws>;
        for (const s of SUBSETS) per[s] = bootstrapMeanDraws(itemValues(r, c, s), { resamples: bootstrap.resamples, seed: seedFor(bootstrap.seed, `${c}/${m}/${b.name}/${s}`) });
        draws[b.name] = per;
        byBench[b.name] = { all: per.all.interval, open: per.open.interval, closed: per.closed.interval };
      }
      const groups: Record<(typeof AVERAGES)[number], readonly TableBenchmark[]> = {
        'avg-id': ordered.filter((b) => b.group === 'id'),
        'avg-ood': ordered.filter((b) => b.group === 'ood'),
        'avg-all': ordered,
      };
      // Each benchmark is resampled on its own (its own seed); an average's resample b is the mean of the benchmarks' resample b.
      for (const avg of AVERAGES)
        byBench[avg] = Object.fromEntries(SUBSETS.map((s) => [s, macroFromDraws(groups[avg].map((b) => draws[b.name]![s]))])) as CellSet;
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
