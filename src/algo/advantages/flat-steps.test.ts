/** The token mapping with steps given flat (an Int32Array `start₀, end₀, …`, what shape() segments into). */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { computeAdvantages, mapTokensToSteps, stepCount, tokenAdvantagesFor } from './index.js';
import type { TokenOffset } from '../../types.js';

/** The rule written out over every step (flat bounds): most overlapping characters, the earlier step on a tie, −1 for none. */
function bruteStep(s: number, e: number, b: readonly number[]): number {
  let best = -1;
  let bestOverlap = 0;
  for (let k = 0; 2 * k < b.length; k++) {
    const overlap = Math.min(e, b[2 * k + 1]) - Math.max(s, b[2 * k]);
    if (overlap > bestOverlap) {
      bestOverlap = overlap;
      best = k;
    }
  }
  return best;
}

const boundsArb = fc.array(fc.tuple(fc.nat(4), fc.integer({ min: 1, max: 9 })), { maxLength: 40 }).map((raw) => {
  const b: number[] = [];
  let at = 0;
  for (const [gap, len] of raw) {
    b.push(at + gap, at + gap + len);
    at += gap + len;
  }
  return b;
});
const tokensArb = fc.oneof(
  fc.array(fc.nat(5), { maxLength: 80 }).map((lens) => {
    let at = 0;
    return lens.map((len) => [at, (at += len)] as TokenOffset);
  }),
  fc.array(fc.tuple(fc.nat(200), fc.nat(12)), { maxLength: 60 }).map((raw) => raw.map(([s, len]) => [s, s + len] as TokenOffset)),
);

describe('flat steps', () => {
  it('map tokens as the brute-force rule says, for both offset forms, also as a view inside a larger buffer (property)', () => {
    fc.assert(
      fc.property(boundsArb, tokensArb, (b, offs) => {
        // the steps as a view with other values around them, as shape() hands them over
        const buffer = Int32Array.from([99, 100, ...b, 0, 1]);
        const steps = new Int32Array(buffer.buffer, 8, b.length);
        const K = b.length / 2;
        expect(stepCount(steps)).toBe(K);
        const values = Array.from({ length: K }, (_, k) => k - 0.5);
        const expected_T = offs.map(([s, e]) => bruteStep(s, e, b));
        const unmapped = K - new Set(expected_T.filter((k) => k >= 0)).size;
        for (const form of [offs, Int32Array.from(offs.flat())]) {
          const got = tokenAdvantagesFor(form, steps, 0.75, values);
          expect(got.tokenAdvantages).toEqual(expected_T.map((k) => (k < 0 ? 0.75 : values[k])));
          expect(got.unmappedSteps).toBe(unmapped);
          expect(Array.from(mapTokensToSteps(form, steps).step_T)).toEqual(expected_T);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('ignores a trailing odd value of flat steps (a half pair), as the pairs would not have it', () => {
    const got = tokenAdvantagesFor([[0, 2], [2, 4]], Int32Array.from([0, 2, 9]), 0, [5]);
    expect(got).toEqual({ tokenAdvantages: [5, 0], unmappedSteps: 0 });
  });

  it('shape a completion in MRPO the same as the same steps given as objects (hand-worked values)', () => {
    // Two completions, answer rewards 1 and 0: A = ±(0.5)/(0.7071 + 1e-4). The second is reshaped: step 1 valid → |A|,
    // step 2 invalid → −w₂·|A| with K = 2, w₂ = exp(0) = 1.
    const offs: TokenOffset[] = [[0, 2], [2, 4], [4, 6], [6, 8]];
    const steps = Int32Array.from([2, 4, 4, 8]);
    const mk = (answer: number) => ({ rewards: { answer, process: 0, length: 0 }, steps, stepLabels: [1, 0] as const, tokenOffsets: offs });
    const result = computeAdvantages('mrpo', { groups: [{ completions: [mk(1), mk(0)] }] });
    const a = 0.5 / (Math.SQRT1_2 + 1e-4);
    const [c0, c1] = result.value.groups[0].completions;
    expect(c0.tokenAdvantages?.map((x) => x.toFixed(12))).toEqual([a, a, a, a].map((x) => x.toFixed(12)));
    expect(c1.tokenAdvantages?.map((x) => x.toFixed(12))).toEqual([-a, a, -a, -a].map((x) => x.toFixed(12)));
    expect(c1.stepWeights).toEqual([null, 1]);
  });
});
