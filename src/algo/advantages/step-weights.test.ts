import { describe, expect, it } from 'vitest';
import { computeAdvantages } from './index.js';
import { STEP_WEIGHT_CACHE_MAX_K, stepWeightsFor } from './mrpo.js';
import type { Step } from '../../types.js';

/** w_k = exp(1 − (k−1)/(K−1)) for k = 1..K, w_1 = 1 when K = 1 (docs/method.md §5), written out here. */
const exact = (K: number) => Array.from({ length: K }, (_, i) => (K > 1 ? Math.exp(1 - i / (K - 1)) : 1));

describe('MRPO step weights cached per step count and rounding', () => {
  it('gives each K and rounding mode its own weights, whatever was asked before', () => {
    // By hand: e = 2.718…, e^(3/4) = 2.117, e^(1/2) = 1.6487, e^(1/4) = 1.284, e^(2/3) = 1.9477, e^(1/3) = 1.3956.
    expect([...stepWeightsFor(5)]).toEqual([2.72, 2.12, 1.65, 1.28, 1]);
    expect([...stepWeightsFor(4)]).toEqual([2.72, 1.95, 1.4, 1]);
    expect([...stepWeightsFor(5, false)]).toEqual(exact(5));
    expect([...stepWeightsFor(4, false)]).toEqual(exact(4));
    // Asked again after the others: still the values of its own K and mode.
    expect([...stepWeightsFor(5)]).toEqual([2.72, 2.12, 1.65, 1.28, 1]);
    expect([...stepWeightsFor(4, false)]).toEqual(exact(4));
    expect([...stepWeightsFor(1)]).toEqual([1]);
    expect([...stepWeightsFor(1, false)]).toEqual([1]);
    expect([...stepWeightsFor(2, false)]).toEqual([Math.E, 1]);
  });

  it('keeps at most the step counts up to its bound; larger ones are computed each time and still right', () => {
    expect(stepWeightsFor(7)).toBe(stepWeightsFor(7));
    const big = STEP_WEIGHT_CACHE_MAX_K + 1;
    const a = stepWeightsFor(big, false);
    expect(stepWeightsFor(big, false)).not.toBe(a);
    expect(a.length).toBe(big);
    expect(a[0]).toBe(Math.E);
    expect(a[big - 1]).toBe(1);
    expect(a[(big - 1) / 2]).toBeCloseTo(Math.exp(0.5), 14);
  });

  it('mrpo uses the weights of each completion’s own K and of the call’s rounding option', () => {
    const steps = (K: number): Step[] => Array.from({ length: K }, (_, k) => ({ start: 10 * k, end: 10 * k + 8, text: 'x'.repeat(8) }));
    const group = (K1: number, K2: number) => [
      { completions: [
        { rewards: { answer: 0, process: 0, length: 0 }, steps: steps(K1), stepLabels: Array<0>(K1).fill(0) },
        { rewards: { answer: 1, process: 0, length: 0 }, steps: steps(1), stepLabels: [1 as const] },
        { rewards: { answer: 0.5, process: 0, length: 0 }, steps: steps(K2), stepLabels: Array<0>(K2).fill(0) },
      ] },
    ];
    const weightsOf = (K1: number, K2: number, roundWeights: boolean) =>
      computeAdvantages('mrpo', { groups: group(K1, K2), options: { roundWeights } }).value.groups[0].completions.map((c) => c.stepWeights);
    expect(weightsOf(3, 4, true)).toEqual([[2.72, 1.65, 1], undefined, [2.72, 1.95, 1.4, 1]]);
    expect(weightsOf(4, 3, true)).toEqual([[2.72, 1.95, 1.4, 1], undefined, [2.72, 1.65, 1]]);
    expect(weightsOf(3, 4, false)).toEqual([exact(3), undefined, exact(4)]);
    expect(weightsOf(4, 3, true)).toEqual([[2.72, 1.95, 1.4, 1], undefined, [2.72, 1.65, 1]]);
  });
});
