/** Diagnostics common to every estimator. */
import type { CompletionAdvantage } from './types.js';

export function summarizeAdvantages(groups: readonly (readonly CompletionAdvantage[])[]): Record<string, number> {
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  let reshaped = 0;
  let unmapped = 0;
  let tokens = 0;
  for (const g of groups)
    for (const c of g) {
      n++;
      sum += c.advantage;
      sumSq += c.advantage * c.advantage;
      if (c.stepAdvantages !== undefined) reshaped++;
      unmapped += c.unmappedSteps ?? 0;
      tokens += c.tokenAdvantages?.length ?? 0;
    }
  const mean = n === 0 ? 0 : sum / n;
  return {
    'adv/mean': mean,
    'adv/std': n < 2 ? 0 : Math.sqrt(Math.max(0, (sumSq - n * mean * mean) / (n - 1))),
    'adv/completions': n,
    'adv/tokens': tokens,
    'shape/reshaped': reshaped,
    'shape/unmapped_steps': unmapped,
  };
}
