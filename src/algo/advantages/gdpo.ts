/**
 * GDPO advantage (docs/method.md §7, docs/reference-facts.md §1, the TRL-GDPO form):
 * each reward component n ∈ {answer, process, length} is normalised within its
 * group, A_n = (r_n − μ_n)/(σ_n + 1e-4); the sum A = Σ_n A_n (unit weights) is
 * then normalised once over every completion of the batch,
 * Â = (A − mean_batch)/(std_batch + 1e-4). Sample std throughout. Every token
 * gets Â.
 */
import { AdvantageGroup } from './completion-advantage.js';
import { constantAdvantages } from './grpo.js';
import { summarizeAdvantages } from './metrics.js';
import { normalize } from './normalize.js';
import { DEFAULT_EPSILON, type AdvantageEstimator, type AdvantageInput } from './types.js';

const COMPONENTS = ['answer', 'process', 'length'] as const;

export function gdpoAdvantages(input: AdvantageInput): Float64Array[] {
  const eps = input.options?.epsilon ?? DEFAULT_EPSILON;
  const summed_P_G = input.groups.map((group) => {
    const G = group.completions.length;
    const sum_G = new Float64Array(G);
    for (const name of COMPONENTS) {
      const norm_G = normalize(
        group.completions.map((c) => c.rewards[name]),
        eps,
      );
      for (let g = 0; g < G; g++) sum_G[g] += norm_G[g];
    }
    return sum_G;
  });
  const flat = normalize(Float64Array.from(summed_P_G.flatMap((x) => Array.from(x))), eps);
  let i = 0;
  return summed_P_G.map((row) => row.map(() => flat[i++]));
}

export const gdpo: AdvantageEstimator = (input) => {
  const groups = constantAdvantages(input, gdpoAdvantages(input));
  return { value: { groups: groups.map((completions) => new AdvantageGroup(completions)) }, metrics: summarizeAdvantages(groups) };
};
