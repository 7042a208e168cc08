import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { answersEquivalent, bleu1, canonicalAnswerTokens, normalizeAnswerText, rouge1F, spellNumbers } from './answer-match.js';

describe('normalizeAnswerText', () => {
  it('lower-cases, strips punctuation, collapses whitespace, keeps decimal numbers whole', () => {
    expect(normalizeAnswerText('  The LEFT   lung. ')).toBe('the left lung');
    expect(normalizeAnswerText('Left-sided (pleural) effusion!')).toBe('left sided pleural effusion');
    expect(normalizeAnswerText("Crohn's disease")).toBe('crohns disease');
    expect(normalizeAnswerText('2.50 cm; 1,000 cells')).toBe('2.5 cm 1000 cells');
    expect(normalizeAnswerText('5%')).toBe('5 percent');
    expect(normalizeAnswerText('HER2+ ≥ 3')).toBe('her2 + ≥ 3');
    expect(normalizeAnswerText('ＡＢＣ　１２')).toBe('abc 12'); // NFKC: full-width letters and digits
    expect(normalizeAnswerText('...')).toBe('');
  });

  it('keeps number words as words (conversion happens only for equivalence)', () => {
    expect(normalizeAnswerText('Twenty-one')).toBe('twenty one');
    expect(canonicalAnswerTokens('Twenty-one lesions')).toEqual(['21', 'lesions']);
    expect(canonicalAnswerTokens('-3 and 5-10')).toEqual(['-3', 'and', '5', '10']);
    expect(canonicalAnswerTokens('.5 or 0.50 or 007')).toEqual(['0.5', 'or', '0.5', 'or', '7']);
  });
});

describe('answersEquivalent', () => {
  it('equates the same number written differently', () => {
    const same: Array<[string, string]> = [
      ['2', 'two'],
      ['Two.', '2'],
      ['2.0', '2'],
      ['2.00', 'two'],
      ['1,000', 'one thousand'],
      ['1000', '1,000'],
      ['twenty-one', '21'],
      ['two thousand three hundred and five', '2305'],
      ['3 cm', 'three cm'],
      ['3cm', '3 cm'],
      ['5%', 'five percent'],
      ['0.5', '.5'],
      ['2 or 3', 'two or three'],
    ];
    for (const [a, b] of same) expect(answersEquivalent(a, b), `${a} = ${b}`).toBe(true);
  });

  it('equates text up to case, whitespace and punctuation', () => {
    expect(answersEquivalent('Left  Lung.', 'left lung')).toBe(true);
    expect(answersEquivalent('left-lung', 'Left lung')).toBe(true);
    expect(answersEquivalent('"Pneumonia"', 'pneumonia')).toBe(true);
  });

  it('stays conservative', () => {
    const different: Array<[string, string]> = [
      ['2.5', '2'],
      ['25', '2.5'],
      ['2 5', '2.5'],
      ['left lung', 'lung'],
      ['the left lung', 'left lung'],
      ['3 cm', '3 mm'],
      ['3 cm', '3'],
      ['<5 mm', '5 mm'],
      ['-2', '2'],
      ['two three', '5'],
      ['one', 'won'],
      ['T2', 'T two'],
      ['', ''],
      ['...', '?'],
      ['', 'lung'],
    ];
    for (const [a, b] of different) expect(answersEquivalent(a, b), `${a} ≠ ${b}`).toBe(false);
  });

  it('is symmetric, and reflexive on texts with a letter, digit or symbol', () => {
    const piece = fc.constantFrom('2', 'two', '2.0', 'left', 'Lung', ' ', '.', ',', '-', '1,000', 'thousand', 'one', 'and', 'cm', '%', '+');
    const text = fc.array(piece, { maxLength: 6 }).map((p) => p.join(''));
    fc.assert(
      fc.property(text, text, (a, b) => {
        expect(answersEquivalent(a, b)).toBe(answersEquivalent(b, a));
        expect(answersEquivalent(a, a)).toBe(/[\p{L}\p{N}\p{S}%]/u.test(a));
      }),
    );
  });

  it('agrees with the judge-side spelling: spelling numbers out keeps an answer equivalent to itself', () => {
    // Numbers separated by other words: adjacent ones ("1,000 3") or ones joined by "and" ("1,000 and 1") read as
    // one number once spelled ("one thousand three", "one thousand and one"), as English does.
    const number = fc.oneof(fc.integer({ min: 0, max: 999_999 }).map(String), fc.constantFrom('1,000', '2.5', '007'));
    const word = fc.constantFrom('lesions', 'cm', 'or', 'left', 'of', 'to');
    const text = fc.array(fc.tuple(number, word), { minLength: 1, maxLength: 4 }).map((p) => p.flat().join(' '));
    fc.assert(
      fc.property(text, (a) => {
        expect(answersEquivalent(spellNumbers(a), a)).toBe(answersEquivalent(a, a));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('re-exports', () => {
  it('exposes the lexical metrics the reward uses', () => {
    expect(rouge1F('The left lungs', 'left lung')).toBeCloseTo(0.8, 12);
    expect(bleu1('the left lung', 'left lung')).toBeCloseTo(2 / 3, 12);
  });
});

/** Slow reference for the hand-written scanner: the token rule as one regular expression. */
function referenceNormalize(text: string): string {
  const TOKEN =
    /(?<num>(?:(?<![^\s([{])[-\u2212])?(?:(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?|\.\d+))|(?<word>[\p{L}\p{N}\p{M}]+(?:['\u2019\u02bc][\p{L}\p{N}\p{M}]+)*)|(?<sym>\p{S})/gu;
  const canonical = (literal: string): string => {
    const m = /^([-\u2212]?)(\d*)(?:\.(\d+))?$/.exec(literal.replaceAll(',', ''));
    if (m === null) throw new Error(`not a literal: ${literal}`);
    const int = m[2].replace(/^0+/, '') || '0';
    const frac = (m[3] ?? '').replace(/0+$/, '');
    const body = frac ? `${int}.${frac}` : int;
    return body === '0' ? '0' : (m[1] ? '-' : '') + body;
  };
  const prepared = text.normalize('NFKC').toLowerCase().replace(/%/g, ' percent ');
  const out: string[] = [];
  for (const m of prepared.matchAll(TOKEN)) {
    const g = m.groups ?? {};
    if (g.num !== undefined) out.push(canonical(g.num));
    else if (g.word !== undefined) out.push(g.word.replace(/['\u2019\u02bc]/g, ''));
    else out.push(m[0]);
  }
  return out.join(' ');
}

describe('the answer tokenizer', () => {
  it('equals the regular-expression reference on random text', () => {
    const unit = fc.constantFrom(
      '0', '1', '2', '5', '9', ',', '.', '-', '\u2212', ' ', '\t', '\u00a0', '(', '[', 'a', 'B', 'é', 'e\u0301', "'", '\u2019',
      '%', '+', '<', '≥', '°', '$', '_', '!', '😀', '\u00b2', 'ｆ', '１', 'x', '\ufeff',
    );
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 24 }), (text) => {
        expect(normalizeAnswerText(text)).toBe(referenceNormalize(text));
      }),
      { numRuns: 3000 },
    );
  });
});
