/**
 * `shape`: rewards and (per-token) advantages for groups of completions — the
 * JSON contract shared by `mrpo shape`, `mrpo serve` and other trainers.
 * Pure and synchronous: segmentation (docs/method.md §2) → rewards (§3; a reward
 * that is given is used as is, one that is absent is computed) → the chosen
 * advantage estimator (§4, §5, §7) → per-token advantages when token offsets
 * are given.
 */
import { computeAdvantages, type AdvantageCompletion, type CompletionAdvantage, type EstimatorName } from '../algo/advantages/index.js';
import { extractAnswer, segmentSpans, type SegmentOptions, type Span, type SplitterName } from '../algo/steps.js';
import { activeAnswerComponents, answerReward, DEFAULT_ANSWER_WEIGHTS, type AnswerComponent, type AnswerRewardResult } from '../rewards/answer.js';
import { lengthReward } from '../rewards/length.js';
import { processReward } from '../rewards/process.js';
import type { Rewards, StepLabel } from '../types.js';
import type { ShapeRequest } from './schema.js';

export interface ShapedStep {
  readonly start: number;
  readonly end: number;
  /** From stepLabels (a missing label counts as invalid); absent without labels. */
  readonly valid?: boolean;
  /** MRPO: w_k of an invalid step in a reshaped completion. */
  readonly weight?: number;
  /** MRPO: the advantage every token of this step gets, in a reshaped completion. */
  readonly advantage?: number;
}

export interface ShapedCompletion {
  readonly id?: string | number;
  readonly rewards: Rewards & { readonly total: number };
  readonly advantage: number;
  readonly steps: readonly ShapedStep[];
  /** The extracted answer the answer reward was computed from (absent when the reward was given). */
  readonly answer?: string;
  /** How the answer reward was computed (absent when it was given). */
  readonly answerMatch?: { readonly equivalent: boolean; readonly rouge1?: number; readonly bleu1?: number; readonly semantic?: number };
  readonly tokenAdvantages?: number[];
  readonly unmappedSteps?: number;
}

export interface ShapeResponse {
  readonly estimator: EstimatorName;
  readonly splitter: SplitterName;
  /** The components of the answer reward that were active for computed answer rewards. */
  readonly answerComponents: readonly AnswerComponent[];
  readonly groups: ReadonlyArray<{ readonly id?: string | number; readonly completions: readonly ShapedCompletion[] }>;
  readonly metrics: Readonly<Record<string, number>>;
}

export interface ShapeExtras {
  /** Semantic-similarity scores (e.g. BERTScore F1) per group and completion, when a scorer ran. */
  readonly semantic_P_G?: ReadonlyArray<ReadonlyArray<number | undefined>>;
}

/**
 * One completion's steps, rewards (given or computed) and, when computed, how its answer matched; with its labels and
 * offsets it is also the estimator's input completion (no second object per completion).
 */
interface Scored extends AdvantageCompletion {
  readonly steps: Span[];
  readonly rewards: Rewards;
  readonly answer: Pick<ShapedCompletion, 'answer' | 'answerMatch'> | undefined;
}

/** Counters over the request, for the response's metrics. */
interface ScoreCounts {
  computedAnswers: number;
  equivalent: number;
  noThink: number;
  labelsShort: number;
  labelsLong: number;
  stepsTotal: number;
  withSemantic: number;
}

/** Segmentation and rewards (docs/method.md §2–§3): a reward that is given is used as is, one that is absent is computed. */
function scoreCompletions(request: ShapeRequest, extras: ShapeExtras, counts: ScoreCounts): Scored[][] {
  const options = request.options ?? {};
  const splitter = (options.splitter ?? 'regex') as SplitterName;
  const weights = { ...DEFAULT_ANSWER_WEIGHTS, ...options.answerWeights };
  const lengthOptions = { minSteps: options.minSteps, maxSteps: options.maxSteps };
  const segmentOptions: SegmentOptions = { splitter };
  return request.groups.map((group, p) => {
    // Completions of a group often give the same answer: its reward (a pure function of it and the gold answer,
    // without a semantic score) is computed once per group.
    const rewardOf = new Map<string, AnswerRewardResult>();
    return group.completions.map((c, g): Scored => {
      const steps = segmentSpans(c.text, segmentOptions);
      const K = steps.length;
      counts.stepsTotal += K;
      if (K === 0) counts.noThink++;
      if (c.stepLabels !== undefined) {
        if (c.stepLabels.length < K) counts.labelsShort++;
        if (c.stepLabels.length > K) counts.labelsLong++;
      }
      let answer = c.rewards?.answer;
      let match: Pick<ShapedCompletion, 'answer' | 'answerMatch'> | undefined;
      if (answer === undefined) {
        // The schema guarantees gold.answer here.
        const prediction = extractAnswer(c.text);
        const semantic = extras.semantic_P_G?.[p]?.[g];
        if (semantic !== undefined) counts.withSemantic++;
        let r = semantic === undefined ? rewardOf.get(prediction) : undefined;
        if (r === undefined) {
          r = answerReward(prediction, group.gold?.answer ?? '', { weights, semantic, renormalize: options.renormalize });
          if (semantic === undefined) rewardOf.set(prediction, r);
        }
        answer = r.value;
        counts.computedAnswers++;
        if (r.equivalent) counts.equivalent++;
        match = { answer: prediction, answerMatch: { equivalent: r.equivalent, ...r.components } };
      }
      const rewards: Rewards = {
        answer,
        process: c.rewards?.process ?? processReward(c.stepLabels ?? null, K),
        length: c.rewards?.length ?? lengthReward(K, lengthOptions),
      };
      return { rewards, steps, stepLabels: c.stepLabels ?? null, tokenOffsets: c.tokenOffsets, answer: match };
    });
  });
}

/**
 * The steps of a shaped completion: span, validity from the labels, and MRPO's weight and advantage where it reshaped.
 * One object literal per case, so that the steps of a kind share one layout.
 */
function shapedSteps(steps: readonly Span[], labels: readonly StepLabel[] | undefined, adv: CompletionAdvantage): ShapedStep[] {
  const K = steps.length;
  const out = new Array<ShapedStep>(K);
  const labelled = labels !== undefined && labels.length > 0;
  const values = adv.stepAdvantages;
  const weights = adv.stepWeights;
  for (let k = 0; k < K; k++) {
    const { start, end } = steps[k];
    if (!labelled) out[k] = values === undefined ? { start, end } : { start, end, advantage: values[k] };
    else if (values === undefined) out[k] = { start, end, valid: labels[k] === 1 };
    else {
      const w = weights?.[k];
      out[k] = w === undefined || w === null ? { start, end, valid: labels[k] === 1, advantage: values[k] } : { start, end, valid: labels[k] === 1, weight: w, advantage: values[k] };
    }
  }
  return out;
}

/**
 * A completion of the response, its keys in the order of the contract (id, rewards, advantage, steps, answer,
 * answerMatch, tokenAdvantages, unmappedSteps; absent ones left out): the common case is one object literal.
 */
function shapedCompletion(
  id: string | number | undefined,
  rewards: ShapedCompletion['rewards'],
  adv: CompletionAdvantage,
  steps: ShapedStep[],
  match: Pick<ShapedCompletion, 'answer' | 'answerMatch'> | undefined,
): ShapedCompletion {
  const tokens = adv.tokenAdvantages;
  if (id === undefined && match !== undefined && tokens !== undefined) {
    const { advantage, unmappedSteps } = adv;
    return { rewards, advantage, steps, answer: match.answer, answerMatch: match.answerMatch, tokenAdvantages: tokens, unmappedSteps: unmappedSteps ?? 0 };
  }
  if (id === undefined && match === undefined && tokens !== undefined) {
    return { rewards, advantage: adv.advantage, steps, tokenAdvantages: tokens, unmappedSteps: adv.unmappedSteps ?? 0 };
  }
  return {
    ...(id !== undefined ? { id } : {}),
    rewards,
    advantage: adv.advantage,
    steps,
    ...match,
    ...(tokens !== undefined ? { tokenAdvantages: tokens, unmappedSteps: adv.unmappedSteps ?? 0 } : {}),
  };
}

export function shape(request: ShapeRequest, extras: ShapeExtras = {}): ShapeResponse {
  const options = request.options ?? {};
  const counts: ScoreCounts = { computedAnswers: 0, equivalent: 0, noThink: 0, labelsShort: 0, labelsLong: 0, stepsTotal: 0, withSemantic: 0 };
  const scored_P_G = scoreCompletions(request, extras, counts);

  const result = computeAdvantages(request.estimator, {
    groups: scored_P_G.map((completions) => ({ completions })),
    options: { tau: options.tau, roundWeights: options.roundWeights, epsilon: options.epsilon },
  });

  let n = 0;
  const sums = { answer: 0, process: 0, length: 0, total: 0 };
  const groups = request.groups.map((group, p) => ({
    ...(group.id !== undefined ? { id: group.id } : {}),
    completions: group.completions.map((c, g): ShapedCompletion => {
      const { rewards, steps, answer } = scored_P_G[p][g];
      const total = rewards.answer + rewards.process + rewards.length;
      n++;
      sums.answer += rewards.answer;
      sums.process += rewards.process;
      sums.length += rewards.length;
      sums.total += total;
      const adv = result.value.groups[p].completions[g];
      return shapedCompletion(c.id, { answer: rewards.answer, process: rewards.process, length: rewards.length, total }, adv, shapedSteps(steps, c.stepLabels, adv), answer);
    }),
  }));

  const mean = (x: number) => (n === 0 ? 0 : x / n);
  const weights = { ...DEFAULT_ANSWER_WEIGHTS, ...options.answerWeights };
  return {
    estimator: request.estimator,
    splitter: (options.splitter ?? 'regex') as SplitterName,
    answerComponents: activeAnswerComponents(weights, counts.withSemantic > 0),
    groups,
    metrics: {
      'reward/answer': mean(sums.answer),
      'reward/process': mean(sums.process),
      'reward/length': mean(sums.length),
      'reward/total': mean(sums.total),
      'answer/computed': counts.computedAnswers,
      'answer/equivalent': counts.equivalent,
      'steps/mean': mean(counts.stepsTotal),
      'steps/no_think': counts.noThink,
      'labels/shorter_than_steps': counts.labelsShort,
      'labels/longer_than_steps': counts.labelsLong,
      ...result.metrics,
    },
  };
}
