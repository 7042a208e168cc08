/**
 * Metrics of a batch of judged completions, namespaced as docs/architecture.md's run
 * directory asks: `reward/*` (components and total, docs/method.md §3), `steps/*`
 * (K, valid share, FFP stage shares of the failed traces, docs/method.md §8) and
 * `judge/*` (unjudged, missing and extra verdicts).
 */
import { summarizeFailures, type FailureSummary } from '../algo/failure.js';
import type { JudgedCompletion } from './rollout.js';

const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

/**
 * The §8 summary of judged completions. A completion without steps enters with
 * no labels (counted in `withoutSteps`, no FFP); an unjudged one is left out
 * (its labels are unknown) and counted by the caller.
 */
export function failureSummaryOf(judged: readonly JudgedCompletion[], correct: (c: JudgedCompletion, i: number) => boolean): FailureSummary {
  return summarizeFailures(
    judged.flatMap((c, i) => (c.unjudged !== null ? [] : [{ correct: correct(c, i), stepLabels: c.labels ?? [] }])),
  );
}

/** Stage shares and FAR per bin of a failure summary, as flat metrics under `prefix`. */
export function failureMetrics(summary: FailureSummary, prefix: string): Record<string, number> {
  const out: Record<string, number> = {
    [`${prefix}/failed_share`]: summary.traces === 0 ? 0 : summary.withFailure / summary.traces,
  };
  // stage shares are undefined when no trace failed: no metric rather than a misleading 0
  for (const stage of ['early', 'mid', 'late'] as const) {
    const share = summary.stageShare[stage];
    if (share !== null) out[`${prefix}/ffp_${stage}`] = share;
  }
  if (summary.far.all !== null) out[`${prefix}/far`] = summary.far.all;
  summary.bins.forEach((b, i) => {
    if (b.far.all !== null) out[`${prefix}/far_bin${i + 1}`] = b.far.all;
  });
  return out;
}

export function rolloutMetrics(judged: readonly JudgedCompletion[]): Record<string, number> {
  const r = judged.map((c) => c.rewards);
  const summary = failureSummaryOf(judged, (c) => c.equivalent);
  const labelled = judged.filter((c) => c.labels !== null);
  return {
    'reward/answer': mean(r.map((x) => x.answer)),
    'reward/process': mean(r.map((x) => x.process)),
    'reward/length': mean(r.map((x) => x.length)),
    'reward/total': mean(r.map((x) => x.answer + x.process + x.length)),
    'reward/accuracy': mean(judged.map((c) => (c.equivalent ? 1 : 0))),
    'steps/count': mean(judged.map((c) => c.steps.length)),
    'steps/valid_share': mean(labelled.map((c) => (c.labels as number[]).reduce((a, b) => a + b, 0) / c.steps.length)),
    'steps/none': judged.filter((c) => c.steps.length === 0).length,
    ...failureMetrics(summary, 'steps'),
    'judge/unjudged': judged.filter((c) => c.unjudged !== null).length,
    'judge/no_gold': judged.filter((c) => c.noGold).length,
    'judge/missing': judged.reduce((a, c) => a + c.missing, 0),
    'judge/extra': judged.reduce((a, c) => a + c.extra, 0),
    'completion/tokens': mean(judged.map((c) => c.completion.tokenIds.length)),
    'completion/truncated': mean(judged.map((c) => (c.completion.finishReason === 'length' ? 1 : 0))),
  };
}
