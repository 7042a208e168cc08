import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { multisetOverlap } from './multiset.js';

/** Reference: Σ over distinct tokens of min(count in a, count in b). */
function referenceOverlap(a: readonly string[], b: readonly string[]): number {
  let total = 0;
  for (const t of new Set(a)) total += Math.min(a.filter((x) => x === t).length, b.filter((x) => x === t).length);
  return total;
}

describe('multisetOverlap', () => {
  it('hand-computed cases', () => {
    expect(multisetOverlap(['a', 'a', 'b'], ['a', 'c'])).toBe(1);
    expect(multisetOverlap(['a', 'a', 'b'], ['a', 'a', 'a', 'b'])).toBe(3);
    expect(multisetOverlap([], ['a'])).toBe(0);
    expect(multisetOverlap(['x'], [])).toBe(0);
  });

  it('equals Σ min(counts), symmetric, on short and long lists (both code paths)', () => {
    const token = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'lung', 'lobe');
    for (const maxLength of [12, 80]) {
      fc.assert(
        fc.property(fc.array(token, { maxLength }), fc.array(token, { maxLength }), (a, b) => {
          const expected = referenceOverlap(a, b);
          expect(multisetOverlap(a, b)).toBe(expected);
          expect(multisetOverlap(b, a)).toBe(expected);
        }),
        { numRuns: 300 },
      );
    }
  });
});
