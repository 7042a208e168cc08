import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { normalizeForRouge, rouge1, rouge1F, rougeTokenize } from './rouge.js';

interface MetricsFixture {
  readonly generated_by: string;
  readonly pairs: ReadonlyArray<{ pred: string; gold: string; rouge1: [number, number, number] }>;
}
const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/metrics-nltk.json', import.meta.url), 'utf8'),
) as MetricsFixture;

describe('rougeTokenize', () => {
  it('lower-cases, splits on non-[a-z0-9] runs and drops non-ASCII letters', () => {
    expect(rougeTokenize('Left-sided  PLEURAL, effusion!', false)).toEqual(['left', 'sided', 'pleural', 'effusion']);
    expect(rougeTokenize('café 2.5cm', false)).toEqual(['caf', '2', '5cm']);
    expect(rougeTokenize('  ', false)).toEqual([]);
    expect(rougeTokenize('', true)).toEqual([]);
  });

  it('stems only tokens longer than 3 characters', () => {
    // 'lungs' → 'lung'; 'ties' (4) → 'tie'; 'sky'/'was' (3) stay as they are ('was' would stem to 'wa').
    expect(rougeTokenize('Lungs ties was sky', true)).toEqual(['lung', 'tie', 'was', 'sky']);
    expect(rougeTokenize('Left-sided pleural effusions.', true)).toEqual(['left', 'side', 'pleural', 'effus']);
  });
});

describe('rouge1', () => {
  it('hand-computed: P = overlap/|pred|, R = overlap/|target|, counts clipped', () => {
    // target: a a b (3), prediction: a c (2): overlap min(2,1)=1 → P = 1/2, R = 1/3, F = 2·(1/6)/(5/6) = 0.4
    const s = rouge1('a a b', 'a c');
    expect(s.precision).toBe(0.5);
    expect(s.recall).toBeCloseTo(1 / 3, 15);
    expect(s.fmeasure).toBeCloseTo(0.4, 15);
    expect(rouge1('', '')).toEqual({ precision: 0, recall: 0, fmeasure: 0 });
    expect(rouge1('left lung', '')).toEqual({ precision: 0, recall: 0, fmeasure: 0 });
  });

  it('does not stem unless asked (rouge_score default)', () => {
    expect(rouge1('lungs', 'lung').fmeasure).toBe(0);
    expect(rouge1('lungs', 'lung', true).fmeasure).toBe(1);
  });

  it('F does not depend on the argument order; P and R swap', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), (a, b) => {
        const ab = rouge1(a, b, true);
        const ba = rouge1(b, a, true);
        expect(ab.fmeasure).toBe(ba.fmeasure);
        expect(ab.precision).toBe(ba.recall);
        expect(ab.fmeasure).toBeGreaterThanOrEqual(0);
        expect(ab.fmeasure).toBeLessThanOrEqual(1);
      }),
    );
  });
});

describe('normalizeForRouge and rouge1F', () => {
  it('normalises like the reference: tags → space, lower-case, collapse, strip', () => {
    expect(normalizeForRouge('<answer> Left\n\tLUNG </answer>')).toBe('left lung');
    expect(normalizeForRouge('a<b>b')).toBe('a b');
    expect(normalizeForRouge('\u00a0x\u3000 y\u001c')).toBe('x y');
    expect(normalizeForRouge('\ufeffx')).toBe('\ufeffx'); // U+FEFF is not Python whitespace
    expect(normalizeForRouge('   ')).toBe('');
  });

  it('matches the golden table of reference-facts §5b', () => {
    const golden: Array<[string, string, number]> = [
      ['The left lungs', 'left lung', 0.8],
      ['pneumonia in the right lower lobe', 'right lower lobe', 0.6666666667],
      ['Left-sided pleural effusions.', 'left pleural effusion', 0.8571428571],
      ['x-ray', 'X-Ray', 1.0],
      ['2.5 cm', '2.5cm', 0.4],
      ['café', 'cafe', 0],
    ];
    for (const [pred, gold, f] of golden) expect(rouge1F(pred, gold), `${pred} | ${gold}`).toBeCloseTo(f, 9);
  });

  it('ignores the content of tags', () => {
    expect(rouge1F('<answer>left lung</answer>', 'left lung')).toBe(1);
    expect(rouge1F('<b class="x">lung</b>', 'lung')).toBe(1);
  });

  it(`equals rouge_score + NLTK on ${fixture.pairs.length} generated pairs`, () => {
    for (const { pred, gold, rouge1: [p, r, f] } of fixture.pairs) {
      const s = rouge1(normalizeForRouge(gold), normalizeForRouge(pred), true);
      expect([s.precision, s.recall, s.fmeasure], JSON.stringify([pred, gold])).toEqual([p, r, f]);
      expect(rouge1F(pred, gold)).toBe(f);
    }
  });

  it('the fast path equals rouge1 on normalised text', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'B', 'lungs', ' ', '<', '>', '-', '\n', 'é', '2', 'ies', '\u00a0') });
    fc.assert(
      fc.property(text, text, (pred, gold) => {
        expect(rouge1F(pred, gold)).toBe(rouge1(normalizeForRouge(gold), normalizeForRouge(pred), true).fmeasure);
        expect(rouge1F(pred, gold)).toBe(rouge1F(gold, pred));
      }),
    );
  });
});
