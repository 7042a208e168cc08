import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { numberToWords, parseNumberWords, spellNumbers, wordsToNumber } from './number-words.js';

describe('numberToWords', () => {
  it('spells integers, American style, hyphenated 21–99', () => {
    const cases: Array<[number, string]> = [
      [0, 'zero'],
      [7, 'seven'],
      [13, 'thirteen'],
      [20, 'twenty'],
      [21, 'twenty-one'],
      [99, 'ninety-nine'],
      [100, 'one hundred'],
      [101, 'one hundred one'],
      [110, 'one hundred ten'],
      [999, 'nine hundred ninety-nine'],
      [1000, 'one thousand'],
      [1001, 'one thousand one'],
      [2305, 'two thousand three hundred five'],
      [10_000, 'ten thousand'],
      [99_999, 'ninety-nine thousand nine hundred ninety-nine'],
      [100_000, 'one hundred thousand'],
      [999_999, 'nine hundred ninety-nine thousand nine hundred ninety-nine'],
      [1_000_000, 'one million'],
      [1_234_567, 'one million two hundred thirty-four thousand five hundred sixty-seven'],
      [2_000_000_001, 'two billion one'],
      [-7, 'minus seven'],
    ];
    for (const [n, words] of cases) expect(numberToWords(n)).toBe(words);
  });

  it('rejects non-integers and out-of-range values', () => {
    expect(() => numberToWords(2.5)).toThrow(RangeError);
    expect(() => numberToWords(Number.NaN)).toThrow(RangeError);
    expect(() => numberToWords(1e15)).toThrow(RangeError);
  });
});

describe('wordsToNumber', () => {
  it('reads hand-written forms', () => {
    const cases: Array<[string, number]> = [
      ['zero', 0],
      ['two', 2],
      ['Twenty-One', 21],
      ['twenty one', 21],
      ['two thousand three hundred and five', 2305],
      ['two thousand three hundred five', 2305],
      ['one thousand and five', 1005],
      ['one hundred and one', 101],
      ['five hundred thousand', 500_000],
      ['one million two hundred thousand', 1_200_000],
      ['  nine  hundred   ninety-nine thousand ', 999_000],
      ['minus seven', -7],
    ];
    for (const [text, n] of cases) expect(wordsToNumber(text), text).toBe(n);
  });

  it('returns null for anything that is not wholly a number', () => {
    for (const text of ['', 'two three', 'hundred', 'a hundred', 'one and two', 'thousand', 'two lesions', 'zero one', 'one thousand thousand', '2', 'twenty-one-two', 'and five']) {
      expect(wordsToNumber(text), text).toBeNull();
    }
  });

  it('round-trips every integer 0 … 999,999', () => {
    for (let n = 0; n <= 999_999; n++) {
      if (wordsToNumber(numberToWords(n)) !== n) throw new Error(`round trip failed at ${n}: ${numberToWords(n)}`);
    }
  });

  it('round-trips random integers up to 10^15 − 1, with and without "and" after hundred', () => {
    fc.assert(
      fc.property(fc.integer({ min: -999_999_999_999_999, max: 999_999_999_999_999 }), (n) => {
        const words = numberToWords(n);
        expect(wordsToNumber(words)).toBe(n);
        expect(wordsToNumber(words.replace(/hundred (?!thousand|million|billion|trillion)/g, 'hundred and ').replaceAll('-', ' '))).toBe(n);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('parseNumberWords', () => {
  it('takes the longest grammatical run and stops before a repeated scale', () => {
    expect(parseNumberWords(['one', 'thousand', 'two', 'thousand'], 0)).toEqual({ value: 1000, end: 2 });
    expect(parseNumberWords(['two', 'lesions'], 0)).toEqual({ value: 2, end: 1 });
    expect(parseNumberWords(['one', 'hundred', 'and'], 0)).toEqual({ value: 100, end: 2 });
    expect(parseNumberWords(['lesions'], 0)).toBeNull();
  });
});

describe('spellNumbers', () => {
  it('spells standalone integers and leaves everything else', () => {
    expect(spellNumbers('3 lesions, 1,000 cells and 21 nodes.')).toBe('three lesions, one thousand cells and twenty-one nodes.');
    expect(spellNumbers('It is 5.')).toBe('It is five.');
    expect(spellNumbers('(2)')).toBe('(two)');
    expect(spellNumbers('2.5 cm, T2, 3cm, C5-C6, 007, 1,5')).toBe('2.5 cm, T2, 3cm, C5-C6, 007, 1,5');
    expect(spellNumbers('0 and 10')).toBe('zero and ten');
    expect(spellNumbers('12345678901234567890')).toBe('12345678901234567890');
    expect(spellNumbers('no digits')).toBe('no digits');
  });

  it('is a fixed point after one application and leaves no standalone integer', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 999_999 }).map(String), fc.constantFrom('cm', 'of', ',', '.', ' ', '2.5')), { maxLength: 8 }), (parts) => {
        const once = spellNumbers(parts.join(' '));
        expect(spellNumbers(once)).toBe(once);
      }),
    );
  });
});
