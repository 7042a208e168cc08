import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bertScoreFromEmbeddings, type TokenEmbeddings } from './bertscore-match.js';

/** rows: one vector per token; special: indices with weight 0 ([CLS]/[SEP]). */
function emb(rows: number[][], special: number[] = []): TokenEmbeddings {
  return { data: rows.flat(), tokens: rows.length, dim: rows[0]?.length ?? 2, weights: rows.map((_, i) => (special.includes(i) ? 0 : 1)) };
}

// 2-D toy vocabulary: [CLS]=(1,0) [SEP]=(0,1) left=(1,0) right=(0,1) lung=(3,4)→(.6,.8) kidney=(4,3)→(.8,.6)
const CLS = [1, 0];
const SEP = [0, 1];
const LEFT = [1, 0];
const RIGHT = [0, 1];
const LUNG = [3, 4];
const KIDNEY = [4, 3];

describe('bertScoreFromEmbeddings', () => {
  it('matches hand-computed P/R/F with [CLS]/[SEP] weighted 0', () => {
    // cand [CLS] left lung [SEP] vs ref [CLS] left kidney [SEP]:
    // left→1, lung→max(.6,.6,.96,.8)=.96 → P=.98; left→1, kidney→.96 → R=.98; F=.98
    const s = bertScoreFromEmbeddings(emb([CLS, LEFT, LUNG, SEP], [0, 3]), emb([CLS, LEFT, KIDNEY, SEP], [0, 3]));
    expect(s.precision).toBeCloseTo(0.98, 12);
    expect(s.recall).toBeCloseTo(0.98, 12);
    expect(s.f1).toBeCloseTo(0.98, 12);
  });

  it('lets words match the other side\'s [CLS]/[SEP] (bert_score masks only padding)', () => {
    // cand "right lung" vs ref "left kidney": right matches ref [SEP] with cosine 1 (0 with every ref word's
    // best being kidney .6), ref "left" matches cand [CLS] with cosine 1.
    const s = bertScoreFromEmbeddings(emb([CLS, RIGHT, LUNG, SEP], [0, 3]), emb([CLS, LEFT, KIDNEY, SEP], [0, 3]));
    expect(s.precision).toBeCloseTo(0.98, 12);
    expect(s.recall).toBeCloseTo(0.98, 12);
    // Without the special tokens in the pool the scores drop: right→.6 (kidney), lung→.96 → P=.78.
    const bare = bertScoreFromEmbeddings(emb([RIGHT, LUNG]), emb([LEFT, KIDNEY]));
    expect(bare.precision).toBeCloseTo(0.78, 12);
    // left→max(0, .6)=.6, kidney→.96 → R=.78
    expect(bare.recall).toBeCloseTo(0.78, 12);
  });

  it('computes an asymmetric case: P=1/2, R=1, F=2/3', () => {
    // cand a=(1,0), b=(0,1); ref c=(2,0): a→1, b→0 → P=.5; c→1 → R=1; F=2·.5·1/1.5
    const s = bertScoreFromEmbeddings(emb([[1, 0], [0, 1]]), emb([[2, 0]]));
    expect(s).toEqual({ precision: 0.5, recall: 1, f1: 2 / 3 });
  });

  it('is invariant to the scale of each embedding row', () => {
    const a = bertScoreFromEmbeddings(emb([CLS, LEFT, LUNG, SEP], [0, 3]), emb([CLS, KIDNEY, SEP], [0, 2]));
    const b = bertScoreFromEmbeddings(emb([[7, 0], [0.1, 0], [30, 40], [0, 5]], [0, 3]), emb([[2, 0], [0.4, 0.3], [0, 9]], [0, 2]));
    expect(b.f1).toBeCloseTo(a.f1, 12);
    // left→1 (the reference's [CLS]), lung→.96 → P=.98; kidney→.96 → R=.96
    expect(a.precision).toBeCloseTo(0.98, 12);
    expect(a.recall).toBeCloseTo(0.96, 12);
  });

  it('gives 0 for an empty side (only [CLS][SEP]), as bert_score does', () => {
    expect(bertScoreFromEmbeddings(emb([CLS, SEP], [0, 1]), emb([CLS, LEFT, SEP], [0, 2]))).toEqual({ precision: 0, recall: 0, f1: 0 });
    expect(bertScoreFromEmbeddings(emb([CLS, LEFT, SEP], [0, 2]), emb([CLS, SEP], [0, 1]))).toEqual({ precision: 0, recall: 0, f1: 0 });
  });

  it('rejects inconsistent shapes', () => {
    expect(() => bertScoreFromEmbeddings(emb([[1, 0]]), emb([[1, 0, 0]]))).toThrow('dim');
    expect(() => bertScoreFromEmbeddings({ data: [1, 2, 3], tokens: 2, dim: 2, weights: [1, 1] }, emb([[1, 0]]))).toThrow('expected tokens × dim');
  });

  const rowsArb = (dim: number) =>
    fc.array(fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: dim, maxLength: dim }), { minLength: 1, maxLength: 6 }).filter((rows) =>
      rows.every((r) => Math.hypot(...r) > 1e-3),
    );

  it('property: a sentence scored against itself is 1; swapping sides swaps P and R and keeps F', () => {
    fc.assert(
      fc.property(rowsArb(3), rowsArb(3), (a, b) => {
        const self = bertScoreFromEmbeddings(emb(a), emb(a));
        expect(self.f1).toBeCloseTo(1, 9);
        const ab = bertScoreFromEmbeddings(emb(a), emb(b));
        const ba = bertScoreFromEmbeddings(emb(b), emb(a));
        expect(ba.precision).toBeCloseTo(ab.recall, 12);
        expect(ba.recall).toBeCloseTo(ab.precision, 12);
        expect(ba.f1).toBeCloseTo(ab.f1, 12);
        expect(ab.precision).toBeLessThanOrEqual(1 + 1e-12);
        expect(ab.precision).toBeGreaterThanOrEqual(-1 - 1e-12);
      }),
      { numRuns: 200, seed: 42 },
    );
  });
});
