/**
 * Reasoning-failure metrics of docs/method.md §8: First Failure Point (FFP), Failure
 * Accumulation Rate (FAR), FFP stages and 0.2-wide FFP bins. Pure functions
 * over per-step validity labels (1 = valid, 0 = invalid).
 *
 * - FFP = k* ÷ K with k* the 1-based index of the first invalid step; no invalid
 *   step → null (a clean trace); K = 0 → null.
 * - FAR = (invalid steps after k*) / (K − k*); null when k* = K (nothing follows).
 * - Stage: early FFP ≤ 1/3, mid 1/3 < FFP ≤ 2/3, late FFP > 2/3. Decided on the
 *   integers (3k* ≤ K, …) so no rounding can move a trace across an edge.
 * - Bins: (0, 0.2], (0.2, 0.4], …, (0.8, 1], upper edge inclusive (5k* ≤ bK).
 */
import type { StepLabel } from '../types.js';

export type FfpStage = 'early' | 'mid' | 'late';

export interface FailurePoint {
  /** k* ÷ K, or null for a clean trace (or no steps). */
  readonly ffp: number | null;
  /** Share of invalid steps after the first failure, or null when undefined. */
  readonly far: number | null;
  /** k*, 1-based, or null. */
  readonly firstInvalid: number | null;
  /** K. */
  readonly steps: number;
}

export function failurePoint(labels_K: readonly StepLabel[]): FailurePoint {
  const K = labels_K.length;
  const idx = labels_K.indexOf(0);
  if (idx < 0) return { ffp: null, far: null, firstInvalid: null, steps: K };
  const k = idx + 1;
  let invalidAfter = 0;
  for (let j = k; j < K; j++) if (labels_K[j] === 0) invalidAfter++;
  return { ffp: k / K, far: k === K ? null : invalidAfter / (K - k), firstInvalid: k, steps: K };
}

/** Stage of a failure from k* and K (exact integer comparison). */
export function stageOf(firstInvalid: number, steps: number): FfpStage {
  if (3 * firstInvalid <= steps) return 'early';
  if (3 * firstInvalid <= 2 * steps) return 'mid';
  return 'late';
}

/** Stage of an FFP value in (0, 1]; a tolerance of 1e-12 absorbs rounding of k/K at the edges. */
export function ffpStage(ffp: number): FfpStage {
  if (ffp <= 1 / 3 + 1e-12) return 'early';
  if (ffp <= 2 / 3 + 1e-12) return 'mid';
  return 'late';
}

export const FFP_BIN_COUNT = 5;

/** Bin index 0…4 of an FFP value in (0, 1]: bin b covers (b/5, (b+1)/5]. */
export function ffpBin(ffp: number): number {
  const b = Math.ceil(ffp * FFP_BIN_COUNT - 1e-9) - 1;
  return Math.min(FFP_BIN_COUNT - 1, Math.max(0, b));
}

/** Bin index from k* and K, exact: the smallest b with 5k* ≤ (b+1)K. */
export function binOf(firstInvalid: number, steps: number): number {
  for (let b = 0; b < FFP_BIN_COUNT; b++) if (FFP_BIN_COUNT * firstInvalid <= (b + 1) * steps) return b;
  return FFP_BIN_COUNT - 1;
}

export interface FailureTrace {
  readonly correct: boolean;
  readonly stepLabels: readonly StepLabel[];
}

export interface FfpBinSummary {
  readonly lo: number;
  readonly hi: number;
  /** Failed traces whose FFP falls in (lo, hi]. */
  readonly count: number;
  /** Share of those traces with an incorrect answer; null when count = 0. */
  readonly incorrectRate: number | null;
  /** Mean per-trace FAR over the bin's traces where FAR is defined; null when there are none. */
  readonly far: { readonly all: number | null; readonly correct: number | null; readonly incorrect: number | null };
}

export interface FailureSummary {
  readonly traces: number;
  /** Traces with at least one invalid step. */
  readonly withFailure: number;
  /** Traces with no steps at all (K = 0): they have no FFP. */
  readonly withoutSteps: number;
  readonly accuracy: number | null;
  /** Shares of the failed traces in each stage (each 0 when no trace failed). */
  /** Share of failed traces whose first invalid step is in each stage; null when no trace failed (a share of nothing is undefined, not 0). */
  readonly stageShare: { readonly early: number | null; readonly mid: number | null; readonly late: number | null };
  readonly stageCount: { readonly early: number; readonly mid: number; readonly late: number };
  readonly bins: readonly FfpBinSummary[];
  /** Mean FAR over failed traces where FAR is defined, split by answer correctness. */
  readonly far: { readonly all: number | null; readonly correct: number | null; readonly incorrect: number | null };
}

interface MeanAcc {
  sum: number;
  n: number;
}
const meanOf = (a: MeanAcc): number | null => (a.n === 0 ? null : a.sum / a.n);
const farAcc = () => ({ all: { sum: 0, n: 0 }, correct: { sum: 0, n: 0 }, incorrect: { sum: 0, n: 0 } });

/** The `mrpo analyze` summary (issue 3) of a set of judged traces (docs/method.md §8). */
export function summarizeFailures(traces: readonly FailureTrace[]): FailureSummary {
  const stageCount = { early: 0, mid: 0, late: 0 };
  const bins = Array.from({ length: FFP_BIN_COUNT }, () => ({ count: 0, incorrect: 0, far: farAcc() }));
  const far = farAcc();
  let withFailure = 0;
  let withoutSteps = 0;
  let correct = 0;
  for (const trace of traces) {
    if (trace.correct) correct++;
    if (trace.stepLabels.length === 0) withoutSteps++;
    const fp = failurePoint(trace.stepLabels);
    if (fp.firstInvalid === null) continue;
    withFailure++;
    stageCount[stageOf(fp.firstInvalid, fp.steps)]++;
    const bin = bins[binOf(fp.firstInvalid, fp.steps)];
    bin.count++;
    if (!trace.correct) bin.incorrect++;
    if (fp.far !== null) {
      for (const acc of [bin.far, far]) {
        acc.all.sum += fp.far;
        acc.all.n++;
        const side = trace.correct ? acc.correct : acc.incorrect;
        side.sum += fp.far;
        side.n++;
      }
    }
  }
  const share = (n: number): number | null => (withFailure === 0 ? null : n / withFailure);
  return {
    traces: traces.length,
    withFailure,
    withoutSteps,
    accuracy: traces.length === 0 ? null : correct / traces.length,
    stageShare: { early: share(stageCount.early), mid: share(stageCount.mid), late: share(stageCount.late) },
    stageCount,
    bins: bins.map((b, i) => ({
      lo: i / FFP_BIN_COUNT,
      hi: (i + 1) / FFP_BIN_COUNT,
      count: b.count,
      incorrectRate: b.count === 0 ? null : b.incorrect / b.count,
      far: { all: meanOf(b.far.all), correct: meanOf(b.far.correct), incorrect: meanOf(b.far.incorrect) },
    })),
    far: { all: meanOf(far.all), correct: meanOf(far.correct), incorrect: meanOf(far.incorrect) },
  };
}
