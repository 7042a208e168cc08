/**
 * GRPO advantage (docs/method.md §4, §7): R = R_ans + R_proc + R_len summed without
 * weights, then per group A_i = (R_i − μ)/(σ + 1e-4) with σ the sample std.
 * Every token gets A_i.
 */
import { AdvantageGroup, AdvantageOnly, AdvantageTokens } from './completion-advantage.js';
import { NO_STEPS, tokenAdvantagesFor } from './token-map.js';
import { DEFAULT_EPSILON, type AdvantageEstimator, type AdvantageInput, type CompletionAdvantage } from './types.js';
import { summarizeAdvantages } from './metrics.js';
import { normalize as normalizeGroup } from './normalize.js';

/** The per-group GRPO advantages A_G of every group: adv_P_G[p][g]. */
export function grpoAdvantages(input: AdvantageInput): Float64Array[] {
  const eps = input.options?.epsilon ?? DEFAULT_EPSILON;
  return input.groups.map((group) => {
    const total_G = group.completions.map((c) => c.rewards.answer + c.rewards.process + c.rewards.length);
    return normalizeGroup(total_G, eps);
  });
}


/** Completion results with a constant advantage on every token. */
export function constantAdvantages(input: AdvantageInput, adv_P_G: readonly Float64Array[]): CompletionAdvantage[][] {
  return input.groups.map((group, p) =>
    group.completions.map((c, g) => {
      const advantage = adv_P_G[p][g];
      if (c.tokenOffsets === undefined) return new AdvantageOnly(advantage);
      const t = tokenAdvantagesFor(c.tokenOffsets, c.steps ?? NO_STEPS, advantage, undefined);
      return new AdvantageTokens(advantage, t.tokenAdvantages, t.unmappedSteps);
    }),
  );
}

export const grpo: AdvantageEstimator = (input) => {
  const groups = constantAdvantages(input, grpoAdvantages(input));
  return { value: { groups: groups.map((completions) => new AdvantageGroup(completions)) }, metrics: summarizeAdvantages(groups) };
};
