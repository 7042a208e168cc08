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
import { grpoAdvantages } from './grpo.js';
import { summarizeAdvantages } from './metrics.js';
import { tokenAdvantagesFor } from './token-map.js';
import { DEFAULT_TAU, type AdvantageEstimator, type CompletionAdvantage } from './types.js';

/** w_k for k = 1..K (1-based k), optionally rounded to two decimals. */
export function stepWeight(k: number, K: number, round = true): number {
  const w = K > 1 ? Math.exp(1 - (k - 1) / (K - 1)) : 1;
  return round ? Math.round(w * 100) / 100 : w;
}

export const mrpo: AdvantageEstimator = (input) => {
  const tau = input.options?.tau ?? DEFAULT_TAU;
  const round = input.options?.roundWeights ?? true;
  const adv_P_G = grpoAdvantages(input);
  const groups: CompletionAdvantage[][] = input.groups.map((group, p) =>
    group.completions.map((c, g): CompletionAdvantage => {
      const advantage = adv_P_G[p][g];
      const steps = c.steps ?? [];
      const labels = c.stepLabels;
      // An empty label list is "no labels" (how the reference records a failed judgement), not "all invalid".
      const reshape = c.rewards.answer <= tau && labels !== null && labels !== undefined && labels.length > 0 && steps.length > 0;
      if (!reshape) {
        if (c.tokenOffsets === undefined) return { advantage };
        return { advantage, ...tokenAdvantagesFor(c.tokenOffsets, steps, advantage, undefined) };
      }
      const K = steps.length;
      const mag = Math.abs(advantage);
      const stepAdvantages = new Array<number>(K);
      const stepWeights = new Array<number | null>(K);
      for (let k = 0; k < K; k++) {
        if (labels[k] === 1) {
          stepAdvantages[k] = mag;
          stepWeights[k] = null;
        } else {
          const w = stepWeight(k + 1, K, round);
          stepAdvantages[k] = -w * mag;
          stepWeights[k] = w;
        }
      }
      if (c.tokenOffsets === undefined) return { advantage, stepAdvantages, stepWeights };
      return { advantage, stepAdvantages, stepWeights, ...tokenAdvantagesFor(c.tokenOffsets, steps, advantage, stepAdvantages) };
    }),
  );
  return { value: { groups: groups.map((completions) => ({ completions })) }, metrics: summarizeAdvantages(groups) };
};
