/**
 * `shape`: rewards and (per-token) advantages for groups of completions — the
 * JSON contract shared by `mrpo shape`, `mrpo serve` and other trainers.
 * Pure and synchronous: segmentation (docs/method.md §2) → rewards (§3; a reward
 * that is given is used as is, one that is absent is computed) → the chosen
 * advantage estimator (§4, §5, §7) → per-token advantages when token offsets
 * are given.
 */
import { computeAdvantages, type AdvantageCompletion, type CompletionAdvantage, type EstimatorName } from '../algo/advantages/index.js';
import { SpanBuffer } from '../algo/span-buffer.js';
import { extractAnswer, segmentSpansInto, type SegmentOptions, type SplitterName } from '../algo/steps.js';
import { activeAnswerComponents, DEFAULT_ANSWER_WEIGHTS, goldAnswerScorer, type AnswerComponent, type AnswerRewardResult } from '../rewards/answer.js';
import { lengthReward } from '../rewards/length.js';
import { processReward } from '../rewards/process.js';
import type { Rewards, StepLabel, TokenOffsets } from '../types.js';
import { plainObjectMaker } from '../utils/plain-object.js';
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

/** T without readonly (what a plainObjectMaker constructor assigns). */
type W<T> = { -readonly [K in keyof T]: T[K] };

/**
 * One completion's steps, rewards (given or computed) and, when computed, how its answer matched; with its labels and
 * offsets it is also the estimator's input completion (no second object per completion).
 */
interface Scored extends AdvantageCompletion {
  /** The completion's step spans, flat (start₀, end₀, …): a view into the request's SpanBuffer. */
  readonly steps: Int32Array;
  readonly rewards: Rewards;
  readonly answer: Pick<ShapedCompletion, 'answer' | 'answerMatch'> | undefined;
}

const ScoredRewards = plainObjectMaker(function (this: W<Rewards>, answer: number, process: number, length: number) {
  this.answer = answer;
  this.process = process;
  this.length = length;
});
const ScoredCompletion = plainObjectMaker(function (
  this: W<Scored>,
  rewards: Rewards,
  steps: Int32Array,
  stepLabels: readonly StepLabel[] | null,
  tokenOffsets: TokenOffsets | undefined,
  answer: Scored['answer'],
) {
  this.rewards = rewards;
  this.steps = steps;
  this.stepLabels = stepLabels;
  this.tokenOffsets = tokenOffsets;
  this.answer = answer;
});
const ComputedAnswer = plainObjectMaker(function (
  this: W<Pick<ShapedCompletion, 'answer' | 'answerMatch'>>,
  answer: string,
  answerMatch: NonNullable<ShapedCompletion['answerMatch']>,
) {
  this.answer = answer;
  this.answerMatch = answerMatch;
});

const InputGroup = plainObjectMaker(function (this: { completions: readonly AdvantageCompletion[] }, completions: readonly AdvantageCompletion[]) {
  this.completions = completions;
});
const OutputGroup = plainObjectMaker(function (this: { completions: readonly ShapedCompletion[] }, completions: readonly ShapedCompletion[]) {
  this.completions = completions;
});

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
  // Every completion's steps go flat into one buffer (no object per step); each completion keeps a view of its own.
  const spans = new SpanBuffer(4096);
  return request.groups.map((group, p) => {
    // Completions of a group often give the same answer: its reward (a pure function of it and the gold answer,
    // without a semantic score) is computed once per group.
    const rewardOf = new Map<string, AnswerRewardResult>();
    // The gold answer's tokens are made once per group, when a completion first needs them.
    let score: ReturnType<typeof goldAnswerScorer> | undefined;
    return group.completions.map((c, g): Scored => {
      const first = spans.count;
      const K = segmentSpansInto(c.text, segmentOptions, spans);
      const steps = spans.view(first, K);
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
          score ??= goldAnswerScorer(group.gold?.answer ?? '', { weights, renormalize: options.renormalize });
          r = score(prediction, semantic);
          if (semantic === undefined) rewardOf.set(prediction, r);
        }
        answer = r.value;
        counts.computedAnswers++;
        if (r.equivalent) counts.equivalent++;
        match = new ComputedAnswer(prediction, answerMatchOf(r));
      }
      const rewards = new ScoredRewards(answer, c.rewards?.process ?? processReward(c.stepLabels ?? null, K), c.rewards?.length ?? lengthReward(K, lengthOptions));
      return new ScoredCompletion(rewards, steps, c.stepLabels ?? null, c.tokenOffsets, match);
    });
  });
}

// The response's per-step and per-completion objects, made by constructors rather than literals so that V8 does not
// allocate them in the old generation (src/utils/plain-object.ts). Each fixes one key order.
const StepSpanOnly = plainObjectMaker(function (this: W<ShapedStep>, start: number, end: number) {
  this.start = start;
  this.end = end;
});
const StepWithAdvantage = plainObjectMaker(function (this: W<ShapedStep>, start: number, end: number, advantage: number) {
  this.start = start;
  this.end = end;
  this.advantage = advantage;
});
const StepWithValid = plainObjectMaker(function (this: W<ShapedStep>, start: number, end: number, valid: boolean) {
  this.start = start;
  this.end = end;
  this.valid = valid;
});
const StepValidAdvantage = plainObjectMaker(function (this: W<ShapedStep>, start: number, end: number, valid: boolean, advantage: number) {
  this.start = start;
  this.end = end;
  this.valid = valid;
  this.advantage = advantage;
});
const StepValidWeightAdvantage = plainObjectMaker(function (this: W<ShapedStep>, start: number, end: number, valid: boolean, weight: number, advantage: number) {
  this.start = start;
  this.end = end;
  this.valid = valid;
  this.weight = weight;
  this.advantage = advantage;
});
const TotalRewards = plainObjectMaker(function (this: W<ShapedCompletion['rewards']>, answer: number, process: number, length: number, total: number) {
  this.answer = answer;
  this.process = process;
  this.length = length;
  this.total = total;
});
type AnswerMatch = NonNullable<ShapedCompletion['answerMatch']>;
const MatchEquivalent = plainObjectMaker(function (this: W<AnswerMatch>, equivalent: boolean) {
  this.equivalent = equivalent;
});
const MatchRougeBleu = plainObjectMaker(function (this: W<AnswerMatch>, equivalent: boolean, rouge1: number, bleu1: number) {
  this.equivalent = equivalent;
  this.rouge1 = rouge1;
  this.bleu1 = bleu1;
});
const CompletionWithAnswer = plainObjectMaker(function (
  this: W<ShapedCompletion>,
  rewards: ShapedCompletion['rewards'],
  advantage: number,
  steps: ShapedStep[],
  answer: string | undefined,
  answerMatch: AnswerMatch | undefined,
  tokenAdvantages: number[],
  unmappedSteps: number,
) {
  this.rewards = rewards;
  this.advantage = advantage;
  this.steps = steps;
  this.answer = answer;
  this.answerMatch = answerMatch;
  this.tokenAdvantages = tokenAdvantages;
  this.unmappedSteps = unmappedSteps;
});
const CompletionRewardsGiven = plainObjectMaker(function (
  this: W<ShapedCompletion>,
  rewards: ShapedCompletion['rewards'],
  advantage: number,
  steps: ShapedStep[],
  tokenAdvantages: number[],
  unmappedSteps: number,
) {
  this.rewards = rewards;
  this.advantage = advantage;
  this.steps = steps;
  this.tokenAdvantages = tokenAdvantages;
  this.unmappedSteps = unmappedSteps;
});

/** How a computed answer reward matched, keys in the order equivalent, then the components computed. */
function answerMatchOf(r: AnswerRewardResult): AnswerMatch {
  const c = r.components;
  if (c.rouge1 === undefined && c.bleu1 === undefined && c.semantic === undefined) return new MatchEquivalent(r.equivalent);
  if (c.rouge1 !== undefined && c.bleu1 !== undefined && c.semantic === undefined && Object.keys(c).length === 2)
    return new MatchRougeBleu(r.equivalent, c.rouge1, c.bleu1);
  return { equivalent: r.equivalent, ...c };
}

/**
 * The steps of a shaped completion: span, validity from the labels, and MRPO's weight and advantage where it reshaped.
 * One constructor per case, so that the steps of a kind share one layout.
 */
function shapedSteps(steps: Int32Array, labels: readonly StepLabel[] | undefined, adv: CompletionAdvantage): ShapedStep[] {
  const K = steps.length >> 1;
  const out = new Array<ShapedStep>(K);
  const labelled = labels !== undefined && labels.length > 0;
  const values = adv.stepAdvantages;
  const weights = adv.stepWeights;
  for (let k = 0; k < K; k++) {
    const start = steps[2 * k];
    const end = steps[2 * k + 1];
    if (!labelled) out[k] = values === undefined ? new StepSpanOnly(start, end) : new StepWithAdvantage(start, end, values[k]);
    else if (values === undefined) out[k] = new StepWithValid(start, end, labels[k] === 1);
    else {
      const w = weights?.[k];
      out[k] =
        w === undefined || w === null
          ? new StepValidAdvantage(start, end, labels[k] === 1, values[k])
          : new StepValidWeightAdvantage(start, end, labels[k] === 1, w, values[k]);
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
    return new CompletionWithAnswer(rewards, adv.advantage, steps, match.answer, match.answerMatch, tokens, adv.unmappedSteps ?? 0);
  }
  if (id === undefined && match === undefined && tokens !== undefined) {
    return new CompletionRewardsGiven(rewards, adv.advantage, steps, tokens, adv.unmappedSteps ?? 0);
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
    groups: scored_P_G.map((completions) => new InputGroup(completions)),
    options: { tau: options.tau, roundWeights: options.roundWeights, epsilon: options.epsilon },
  });

  let n = 0;
  const sums = { answer: 0, process: 0, length: 0, total: 0 };
  const groups = request.groups.map((group, p) => {
    const completions = group.completions.map((c, g): ShapedCompletion => {
      const { rewards, steps, answer } = scored_P_G[p][g];
      const total = rewards.answer + rewards.process + rewards.length;
      n++;
      sums.answer += rewards.answer;
      sums.process += rewards.process;
      sums.length += rewards.length;
      sums.total += total;
      const adv = result.value.groups[p].completions[g];
      return shapedCompletion(c.id, new TotalRewards(rewards.answer, rewards.process, rewards.length, total), adv, shapedSteps(steps, c.stepLabels, adv), answer);
    });
    return group.id !== undefined ? { id: group.id, completions } : new OutputGroup(completions);
  });

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
