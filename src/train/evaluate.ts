/**
 * Periodic evaluation on the held-out split (docs/architecture.md: the same path as
 * training without the update): one completion per item (greedy by default),
 * steps judged by the step judge, answers by the answer judge; accuracy and
 * the FFP/FAR summary of docs/method.md §8 (`summarizeFailures`).
 */
import type { FailureSummary } from '../algo/failure.js';
import type { PolicyBackend } from '../backends/backend.js';
import type { Item } from '../types.js';
import type { TrainConfig } from './config.js';
import { judgeGroups, promptFor, type TrainTask } from './rollout.js';
import { failureMetrics, failureSummaryOf } from './step-metrics.js';

export interface EvalResult {
  readonly accuracy: number;
  readonly summary: FailureSummary;
  readonly metrics: Record<string, number>;
  /** A few judged completions (for the report and samples). */
  readonly examples: ReadonlyArray<{ item: string; text: string; correct: boolean; labels: readonly number[] | null }>;
}

export async function evaluate(input: {
  readonly config: TrainConfig;
  readonly backend: PolicyBackend;
  readonly task: TrainTask;
  readonly items: readonly Item[];
  readonly seed: number;
}): Promise<EvalResult> {
  const { config, backend, task, items } = input;
  const prompts = items.map((item) => promptFor(task, item));
  const completions = await backend.sample(prompts, 1, { temperature: config.evalTemperature, maxTokens: config.maxTokens, seed: input.seed });
  const judged = (await judgeGroups(items, completions, task.stepJudge, config, task.semantic)).map((g) => g[0]);
  const verdicts = await Promise.all(items.map((item, i) => task.answerJudge.judgeAnswer({ item, answer: judged[i].answer })));
  const correct = verdicts.map((v) => v.kind === 'judged' && v.correct);
  const accuracy = correct.filter(Boolean).length / Math.max(1, items.length);
  const summary = failureSummaryOf(judged, (_c, i) => correct[i]);
  const labelled = judged.filter((c) => c.labels !== null);
  const metrics: Record<string, number> = {
    'eval/accuracy': accuracy,
    ...failureMetrics(summary, 'eval'),
    'eval/process': labelled.length === 0 ? 0 : labelled.reduce((a, c) => a + c.rewards.process, 0) / labelled.length,
    'eval/steps': judged.reduce((a, c) => a + c.steps.length, 0) / Math.max(1, judged.length),
    'eval/unjudged_steps': judged.filter((c) => c.unjudged !== null).length,
    'eval/unjudged_answers': verdicts.filter((v) => v.kind === 'unjudged').length,
  };
  return {
    accuracy,
    summary,
    metrics,
    examples: judged.slice(0, 8).map((c, i) => ({ item: items[i].id, text: c.completion.text, correct: correct[i], labels: c.labels })),
  };
}
