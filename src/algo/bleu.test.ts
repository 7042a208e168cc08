import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bleu1, brevityPenalty, closestRefLength, fsum, modifiedPrecision, sentenceBleu } from './bleu.js';
import { pythonSplit, pythonStrip } from './python-text.js';

interface MetricsFixture {
  readonly generated_by: string;
  readonly pairs: ReadonlyArray<{ pred: string; gold: string; bleu1: number; bleu2: number; bleu4: number }>;
}
const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/metrics-nltk.json', import.meta.url), 'utf8'),
) as MetricsFixture;

/** |a − b| ≤ 1e-12 relative: libm's log/exp and V8's may differ in the last bit. */
function expectClose(actual: number, expected: number, label: string): void {
  expect(Math.abs(actual - expected), `${label}: ${actual} vs ${expected}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(expected)));
}

describe('pythonSplit / pythonStrip', () => {
  it("splits on Python's whitespace set, not JavaScript's", () => {
    expect(pythonSplit('  a\tb\n\nc  ')).toEqual(['a', 'b', 'c']);
    expect(pythonSplit('a\u001cb\u0085c\u00a0d\u3000e')).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(pythonSplit('a\ufeffb')).toEqual(['a\ufeffb']); // U+FEFF is \s in JS but not Python whitespace
    expect(pythonSplit('a\u200bb')).toEqual(['a\u200bb']);
    expect(pythonSplit('')).toEqual([]);
    expect(pythonSplit(' \t ')).toEqual([]);
    expect(pythonStrip('\u001c x \u0085')).toBe('x');
    expect(pythonStrip('\ufeffx ')).toBe('\ufeffx');
  });
});

describe('fsum', () => {
  it('is exactly rounded like math.fsum', () => {
    expect(fsum([])).toBe(0);
    expect(fsum(Array(10).fill(0.1))).toBe(1);
    expect(fsum([1e100, 1, -1e100, 1e-100, 1e50, -1, -1e50])).toBe(1e-100);
    expect(Object.is(fsum([-0]), 0)).toBe(true);
  });
});

describe('NLTK BLEU pieces', () => {
  it('modified precision clips by the largest count in any single reference', () => {
    // hyp: the the the the; refs: "the cat the" (2), "the" (1) → clipped 2 of 4
    expect(modifiedPrecision([['the', 'cat', 'the'], ['the']], ['the', 'the', 'the', 'the'], 1)).toEqual([2, 4]);
    // no n-grams of this order: denominator max(1, 0) = 1
    expect(modifiedPrecision([['a', 'b']], ['a'], 2)).toEqual([0, 1]);
  });

  it('closest reference length prefers the shorter on ties; BP as NLTK', () => {
    expect(closestRefLength([['a', 'b'], ['a', 'b', 'c', 'd']], 3)).toBe(2);
    expect(closestRefLength([['a', 'b', 'c', 'd'], ['a', 'b']], 3)).toBe(2);
    expect(closestRefLength([['a'], ['a', 'b', 'c', 'd', 'e']], 4)).toBe(5);
    expect(brevityPenalty(2, 3)).toBe(1);
    expect(brevityPenalty(2, 0)).toBe(0);
    expect(brevityPenalty(2, 1)).toBe(Math.exp(-1));
  });

  it('hand-computed method4 case', () => {
    // "a b c d e f" vs "a b": c = 6, p = 2/6, 1/5, 0/4, 0/3 → smoothed ln6/10/4 and ln6/20/3; BP = 1.
    const p3 = Math.log(6) / 10 / 4;
    const p4 = Math.log(6) / 20 / 3;
    const expected = Math.pow((2 / 6) * (1 / 5) * p3 * p4, 0.25);
    expectClose(sentenceBleu([['a', 'b']], 'a b c d e f'.split(' '), undefined, 'method4'), expected, 'a..f');
  });

  it('returns 0 at once when no unigram matches, whatever the smoothing', () => {
    expect(sentenceBleu([['left']], ['right'], [1, 0, 0, 0], 'method4')).toBe(0);
    expect(sentenceBleu([['left']], [], [1, 0, 0, 0], 'none')).toBe(0);
    expect(sentenceBleu([['left']], ['left'], [])).toBe(0);
  });

  it('without smoothing a zero order contributes log(sys.float_info.min), as NLTK method0', () => {
    // "left lung" vs itself plus junk: p1 = 2/3, p2 = 1/2, p3 = p4 = 0 → float_info.min
    const tiny = 2.2250738585072014e-308;
    const expected = Math.exp(0.25 * (Math.log(2 / 3) + Math.log(1 / 2) + 2 * Math.log(tiny)));
    expect(sentenceBleu([['left', 'lung']], ['the', 'left', 'lung'])).toBeGreaterThan(0);
    expectClose(sentenceBleu([['left', 'lung']], ['the', 'left', 'lung']), expected, 'method0');
  });

  it('rejects an empty reference list', () => {
    expect(() => sentenceBleu([], ['a'])).toThrow(RangeError);
  });
});

describe('bleu1 and BLEU-4 golden table (reference-facts §5a)', () => {
  const golden: Array<[string, string, number, number]> = [
    ['left lower lobe', 'left lower lobe', 1.0, 0.5757197301],
    ['the left lung', 'left lung', 0.6666666667, 0.2117797414],
    ['lung', 'left lung', 0.3678794412, 0.3678794412],
    ['right', 'left', 0, 0],
    ['pneumonia in the right lower lobe', 'right lower lobe', 0.5, 0.2337664138],
    ['Left Lung', 'left lung', 0, 0],
    ['a b c d e f', 'a b', 0.3333333333, 0.0971771659],
    ['', 'left lung', 0, 0],
    ['left lung.', 'left lung', 0.5, 0.0675443614],
  ];
  it.each(golden)('%j vs %j', (pred, gold, b1, b4) => {
    expect(bleu1(pred, gold)).toBeCloseTo(b1, 9);
    expect(sentenceBleu([pythonSplit(gold)], pythonSplit(pred), [0.25, 0.25, 0.25, 0.25], 'method4')).toBeCloseTo(b4, 9);
  });
});

describe('agreement with NLTK 3.8 on generated pairs', () => {
  it(`BLEU-1, BLEU-2 and BLEU-4 (method4) on ${fixture.pairs.length} pairs`, () => {
    for (const { pred, gold, bleu1: b1, bleu2: b2, bleu4: b4 } of fixture.pairs) {
      const label = JSON.stringify([pred, gold]);
      const ref = [pythonSplit(gold)];
      const hyp = pythonSplit(pred);
      expectClose(bleu1(pred, gold), b1, `bleu1 ${label}`);
      expectClose(sentenceBleu(ref, hyp, [0.5, 0.5], 'method4'), b2, `bleu2 ${label}`);
      expectClose(sentenceBleu(ref, hyp, undefined, 'method4'), b4, `bleu4 ${label}`);
    }
  });
});

describe('BLEU properties', () => {
  const words = fc.array(fc.constantFrom('left', 'lung', 'lobe', 'the', 'Left', 'lung.', 'a'), { maxLength: 12 });
  it('BLEU-1 is in [0, 1], 1 for identical non-empty token lists, and equals BP · matches / c', () => {
    fc.assert(
      fc.property(words, words, (hyp, ref) => {
        const b = sentenceBleu([ref], hyp, [1, 0, 0, 0], 'method4');
        expect(b).toBeGreaterThanOrEqual(0);
        expect(b).toBeLessThanOrEqual(1);
        if (hyp.length > 0) expect(sentenceBleu([hyp], hyp, [1, 0, 0, 0], 'method4')).toBe(1);
        // Independent formula: count clipped unigram matches by hand.
        const refCount = new Map<string, number>();
        for (const t of ref) refCount.set(t, (refCount.get(t) ?? 0) + 1);
        let matches = 0;
        for (const t of hyp) {
          const left = refCount.get(t) ?? 0;
          if (left > 0) {
            matches++;
            refCount.set(t, left - 1);
          }
        }
        const c = hyp.length;
        const r = ref.length;
        const bp = c > r ? 1 : c === 0 ? 0 : Math.exp(1 - r / c);
        const expected = matches === 0 ? 0 : bp * (matches / c);
        expect(Math.abs(b - expected)).toBeLessThanOrEqual(1e-15);
      }),
      { numRuns: 500 },
    );
  });
});
