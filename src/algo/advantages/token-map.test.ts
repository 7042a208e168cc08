import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mapTokensToSteps, tokenAdvantagesFor, type StepSpan } from './token-map.js';
import type { TokenOffset } from '../../types.js';

/** The rule written out over every step: most overlapping characters, the earlier step on a tie, −1 for none. */
function bruteStep(s: number, e: number, steps: readonly StepSpan[]): number {
  let best = -1;
  let bestOverlap = 0;
  for (let k = 0; k < steps.length; k++) {
    const overlap = Math.min(e, steps[k].end) - Math.max(s, steps[k].start);
    if (overlap > bestOverlap) {
      bestOverlap = overlap;
      best = k;
    }
  }
  return best;
}

/** Sorted, non-overlapping steps from (gap, length) pairs; tokens from (start, length) pairs, in any order. */
const stepsArb = fc.array(fc.tuple(fc.nat(4), fc.integer({ min: 1, max: 9 })), { maxLength: 40 }).map((raw) => {
  const steps: StepSpan[] = [];
  let at = 0;
  for (const [gap, len] of raw) {
    steps.push({ start: at + gap, end: at + gap + len });
    at += gap + len;
  }
  return steps;
});
const tokensArb = fc.oneof(
  // in text order, contiguous like a tokenizer's (some empty), ...
  fc.array(fc.nat(5), { maxLength: 80 }).map((lens) => {
    let at = 0;
    return lens.map((len) => [at, (at += len)] as TokenOffset);
  }),
  // ... or anywhere, out of order
  fc.array(fc.tuple(fc.nat(200), fc.nat(12)), { maxLength: 60 }).map((raw) => raw.map(([s, len]) => [s, s + len] as TokenOffset)),
);
const flat = (offs: readonly TokenOffset[]) => Int32Array.from(offs.flat());

describe('tokenAdvantagesFor', () => {
  it('gives each token its step value or the advantage, as the brute-force rule says, in both offset forms (property)', () => {
    fc.assert(
      fc.property(stepsArb, tokensArb, (steps, offs) => {
        const values = steps.map((_, k) => k + 0.5);
        const expected = offs.map(([s, e]) => {
          const k = bruteStep(s, e, steps);
          return k < 0 ? -0.25 : values[k];
        });
        const mapped = new Set(offs.map(([s, e]) => bruteStep(s, e, steps)).filter((k) => k >= 0));
        for (const form of [offs, flat(offs)]) {
          const got = tokenAdvantagesFor(form, steps, -0.25, values);
          expect(got.tokenAdvantages).toEqual(expected);
          expect(got.unmappedSteps).toBe(steps.length - mapped.size);
          const constant = tokenAdvantagesFor(form, steps, -0.25, undefined);
          expect(constant.tokenAdvantages).toEqual(offs.map(() => -0.25));
          expect(constant.unmappedSteps).toBe(steps.length - mapped.size);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('maps tokens straddling steps, empty tokens and tokens after a run (hand-worked)', () => {
    // steps [2, 6) and [6, 9) touch; [12, 14) after a gap
    const steps: StepSpan[] = [{ start: 2, end: 6 }, { start: 6, end: 9 }, { start: 12, end: 14 }];
    const offs: TokenOffset[] = [[0, 2], [1, 4], [4, 5], [5, 5], [5, 7], [5, 8], [8, 12], [12, 13], [3, 4], [13, 20]];
    // [1,4): 2 chars in step 0; [4,5): inside step 0; [5,5): empty; [5,7): 1 and 1, tie → step 0; [5,8): 1 and 2 → step 1;
    // [8,12): 1 char of step 1; [12,13): step 2; [3,4): out of order, step 0; [13,20): 1 char of step 2.
    const got = tokenAdvantagesFor(offs, steps, -1, [10, 11, 12]);
    expect(got.tokenAdvantages).toEqual([-1, 10, 10, -1, 10, 11, 11, 12, 10, 12]);
    expect(got.unmappedSteps).toBe(0);
    expect(Array.from(mapTokensToSteps(flat(offs), steps).step_T)).toEqual([-1, 0, 0, -1, 0, 1, 1, 2, 0, 2]);
  });

  it('keeps the advantage on every token without steps, and counts steps no token reaches', () => {
    expect(tokenAdvantagesFor([[0, 3], [3, 5]], [], 0.5, undefined)).toEqual({ tokenAdvantages: [0.5, 0.5], unmappedSteps: 0 });
    expect(tokenAdvantagesFor([[0, 3]], [{ start: 0, end: 3 }, { start: 4, end: 6 }], 0.5, [1, 2])).toEqual({ tokenAdvantages: [1], unmappedSteps: 1 });
  });
});

describe('mapTokensToSteps', () => {
  it('agrees with the brute-force rule in both offset forms and counts tokens per step (property)', () => {
    fc.assert(
      fc.property(stepsArb, tokensArb, (steps, offs) => {
        const expected = offs.map(([s, e]) => bruteStep(s, e, steps));
        for (const form of [offs, flat(offs)]) {
          const map = mapTokensToSteps(form, steps);
          expect(Array.from(map.step_T)).toEqual(expected);
          expect(Array.from(map.tokens_K)).toEqual(steps.map((_, k) => expected.filter((x) => x === k).length));
        }
      }),
      { numRuns: 300 },
    );
  });
});
