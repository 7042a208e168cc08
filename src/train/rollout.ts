/**
 * Judging and scoring sampled completions (docs/method.md §2–§3): steps from the
 * think block, step labels from the step judge (Alignment or Contribution),
 * the answer reward, the process reward and the length reward. A judge failure
 * is a value (`unjudged` with its reason), never an exception; the caller's
 * policy decides what it means for training.
 */
import { extractAnswer, segmentSteps, type SplitterName } from '../algo/steps.js';
import type { Prompt, SampledCompletion } from '../backends/backend.js';
import type { AnswerJudge, StepJudge } from '../judges/judge.js';
import { stepLabelsOf } from '../judges/judge.js';
import { answerReward, type AnswerWeights } from '../rewards/answer.js';
import { lengthReward } from '../rewards/length.js';
import { processReward } from '../rewards/process.js';
import type { SemanticScorer } from '../rewards/semantic.js';
import type { Item, Rewards, Step, StepLabel } from '../types.js';
import type { Rng } from '../utils/rng.js';

/** What the loop needs from a task: items, SFT targets and its judges. */
export interface TrainTask {
  readonly name: string;
  readonly trainItems: readonly Item[];
  readonly evalItems: readonly Item[];
  /** The SFT target completion for an item (gold chain, or the task's warm-start mix), in the §1 format. */
  sftTarget(item: Item, rng: Rng): string;
  readonly stepJudge: StepJudge;
  /** The step judge of RL rollouts when it differs from the evaluation's (a noise model, docs/judge-audit.md). */
  readonly trainStepJudge?: StepJudge;
  readonly answerJudge: AnswerJudge;
  /** Renders the prompt text of an item (question + think/answer instruction). */
  promptText(item: Item): string;
  /** The answer reward's semantic component (BERTScore), when configured (`semantic: { model }`). */
  readonly semantic?: SemanticScorer;
}

export interface ScoringOptions {
  readonly splitter: SplitterName;
  readonly answerWeights: AnswerWeights;
  readonly minSteps: number;
  readonly maxSteps: number;
}

export interface JudgedCompletion {
  readonly completion: SampledCompletion;
  readonly steps: readonly Step[];
  readonly answer: string;
  /** Step labels, or null: no steps, or unjudged. */
  readonly labels: StepLabel[] | null;
  /** Why the step judge gave no verdict (null when it did, or when there were no steps to judge). */
  readonly unjudged: string | null;
  /** Verdicts the judge did not give (filled as invalid) and gave beyond K (dropped). */
  readonly missing: number;
  readonly extra: number;
  readonly rewards: Rewards;
  /** The answer matched the gold answer exactly or numerically (R_ans = 1). */
  readonly equivalent: boolean;
  /**
   * The completion has steps but its item has no gold rationale, so the step
   * judge was not asked: R_proc = 0 and no shaping (MRPO acts as GRPO on it).
   * Counted in `judge/no_gold`; the `noGold` config decides what training does.
   */
  readonly noGold: boolean;
}

/** The step judge needs a gold rationale; an empty or blank one counts as none. */
export function hasGoldReasoning(item: Item): boolean {
  return (item.goldReasoning ?? '').trim() !== '';
}

export function promptFor(task: TrainTask, item: Item): Prompt {
  return { item, text: task.promptText(item) };
}

/** Steps, labels and rewards of one completion for one item. */
export async function judgeCompletion(
  item: Item,
  completion: SampledCompletion,
  judge: StepJudge,
  options: ScoringOptions,
  semanticScore?: number,
): Promise<JudgedCompletion> {
  const steps = segmentSteps(completion.text, { splitter: options.splitter });
  const answer = extractAnswer(completion.text);
  let labels: StepLabel[] | null = null;
  let unjudged: string | null = null;
  let missing = 0;
  let extra = 0;
  if (steps.length > 0 && hasGoldReasoning(item)) {
    const j = await judge.judgeSteps({ item, steps: steps.map((s) => s.text) });
    if (j.kind === 'judged') {
      labels = stepLabelsOf(j.verdicts).slice(0, steps.length);
      while (labels.length < steps.length) labels.push(0); // aligned by step number; missing = invalid (docs/method.md §3)
      missing = j.missing;
      extra = j.extra;
    } else unjudged = j.reason;
  }
  const ans = answerReward(answer, item.answer, { weights: options.answerWeights, semantic: semanticScore });
  const rewards: Rewards = {
    answer: ans.value,
    process: processReward(labels, steps.length),
    length: lengthReward(steps.length, { minSteps: options.minSteps, maxSteps: options.maxSteps }),
  };
  const noGold = steps.length > 0 && !hasGoldReasoning(item);
  return { completion, steps, answer, labels, unjudged, missing, extra, rewards, equivalent: ans.equivalent, noGold };
}

/** Judges every completion of every group; with a semantic scorer (and a semantic weight > 0), one scorer call scores all their answers first. */
export async function judgeGroups(
  items: readonly Item[],
  completions_P_G: readonly (readonly SampledCompletion[])[],
  judge: StepJudge,
  options: ScoringOptions,
  semantic?: SemanticScorer,
): Promise<JudgedCompletion[][]> {
  let scores: number[] = [];
  const scored = semantic !== undefined && options.answerWeights.semantic > 0;
  if (scored) {
    const pairs = items.flatMap((item, p) => completions_P_G[p].map((c) => ({ prediction: extractAnswer(c.text), reference: item.answer })));
    scores = pairs.length === 0 ? [] : await semantic.score(pairs);
  }
  let i = 0;
  return Promise.all(
    items.map((item, p) => Promise.all(completions_P_G[p].map((c) => judgeCompletion(item, c, judge, options, scored ? scores[i++] : undefined)))),
  );
}
