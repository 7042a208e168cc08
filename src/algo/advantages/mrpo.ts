/**
 * MRPO step-wise advantage shaping (docs/method.md §5) on top of the GRPO advantage A_i.
 *
 * - R_ans,i > τ (correct; exactly τ counts as incorrect): every token gets A_i.
 * - Otherwise, when the completion has step labels: step k of K gets
 *   +|A_i| if valid, −w_k·|A_i| if invalid, w_k = exp(1 − (k−1)/(K−1)) for
 *   K > 1 (e at the first step falling to 1 at the last), w_1 = 1 for K = 1,
 *   rounded to two decimals by default (faithful to the reference).
 *   Labels are aligned by step number; a missing label counts as invalid
 *   (docs/method.md §3), extra labels are ignored.
 * - Tokens outside every step keep A_i; a completion without labels (null,
 *   absent or an empty list) keeps A_i
 *   everywhere.
 */
import { AdvantageGroup, AdvantageOnly, AdvantageSteps, AdvantageStepsTokens, AdvantageTokens } from './completion-advantage.js';
import { grpoAdvantages } from './grpo.js';
import { summarizeAdvantages } from './metrics.js';
import { NO_STEPS, stepCount, tokenAdvantagesFor } from './token-map.js';
import { DEFAULT_TAU, type AdvantageEstimator, type CompletionAdvantage } from './types.js';

/** w_k for k = 1..K (1-based k), optionally rounded to two decimals. */
export function stepWeight(k: number, K: number, round = true): number {
  const w = K > 1 ? Math.exp(1 - (k - 1) / (K - 1)) : 1;
  return round ? Math.round(w * 100) / 100 : w;
}

/** Step counts whose weights are cached, per rounding mode (larger K are computed on every call). */
export const STEP_WEIGHT_CACHE_MAX_K = 512;
// weights_K[K] holds w_1..w_K of K steps; one table per rounding mode. At most STEP_WEIGHT_CACHE_MAX_K entries each.
const roundedWeights: Array<Float64Array | undefined> = [];
const exactWeights: Array<Float64Array | undefined> = [];

/**
 * The weights w_1..w_K of a completion with K steps (index k − 1 holds w_k), as stepWeight gives them. They depend only
 * on K and the rounding, so they are computed once per K and mode for K ≤ STEP_WEIGHT_CACHE_MAX_K. Read-only.
 */
export function stepWeightsFor(K: number, round = true): Float64Array {
  const table = round ? roundedWeights : exactWeights;
  const cached = K <= STEP_WEIGHT_CACHE_MAX_K ? table[K] : undefined;
  if (cached !== undefined) return cached;
  const w_K = new Float64Array(K);
  for (let k = 0; k < K; k++) w_K[k] = stepWeight(k + 1, K, round);
  if (K <= STEP_WEIGHT_CACHE_MAX_K) table[K] = w_K;
  return w_K;
}

export const mrpo: AdvantageEstimator = (input) => {
  const tau = input.options?.tau ?? DEFAULT_TAU;
  const round = input.options?.roundWeights ?? true;
  const adv_P_G = grpoAdvantages(input);
  const groups: CompletionAdvantage[][] = input.groups.map((group, p) =>
    group.completions.map((c, g): CompletionAdvantage => {
      const advantage = adv_P_G[p][g];
      const steps = c.steps ?? NO_STEPS;
      const K = stepCount(steps);
      const labels = c.stepLabels;
      // An empty label list is "no labels" (how the reference records a failed judgement), not "all invalid".
      const reshape = c.rewards.answer <= tau && labels !== null && labels !== undefined && labels.length > 0 && K > 0;
      if (!reshape) {
        if (c.tokenOffsets === undefined) return new AdvantageOnly(advantage);
        const t = tokenAdvantagesFor(c.tokenOffsets, steps, advantage, undefined);
        return new AdvantageTokens(advantage, t.tokenAdvantages, t.unmappedSteps);
      }
      const mag = Math.abs(advantage);
      const w_K = stepWeightsFor(K, round);
      const stepAdvantages = new Array<number>(K);
      const stepWeights = new Array<number | null>(K);
      for (let k = 0; k < K; k++) {
        if (labels[k] === 1) {
          stepAdvantages[k] = mag;
          stepWeights[k] = null;
        } else {
          stepAdvantages[k] = -w_K[k] * mag;
          stepWeights[k] = w_K[k];
        }
      }
      if (c.tokenOffsets === undefined) return new AdvantageSteps(advantage, stepAdvantages, stepWeights);
      const t = tokenAdvantagesFor(c.tokenOffsets, steps, advantage, stepAdvantages);
      return new AdvantageStepsTokens(advantage, stepAdvantages, stepWeights, t.tokenAdvantages, t.unmappedSteps);
    }),
  );
  return { value: { groups: groups.map((completions) => new AdvantageGroup(completions)) }, metrics: summarizeAdvantages(groups) };
};
