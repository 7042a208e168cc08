import { describe, expect, it } from 'vitest';
import { answerReward } from './answer.js';

// Golden lexical scores (docs/reference-facts.md §5): "the left lung" vs "left lung" has
// ROUGE-1 F = 0.8 (P 2/3, R 1) and BLEU-1 = 2/3 (3 hypothesis tokens, 2 matches, no brevity penalty).
const PRED = 'the left lung';
const GOLD = 'left lung';

describe('answerReward', () => {
  it('is 1 for an equivalent answer, with no components computed', () => {
    expect(answerReward('Two', '2')).toEqual({ value: 1, equivalent: true, components: {}, active: ['rouge1', 'bleu1'] });
    expect(answerReward('Left lung.', 'left lung').value).toBe(1);
  });

  it('renormalises 0.25/0.25 over ROUGE-1 and BLEU-1 when no semantic score is given', () => {
    const r = answerReward(PRED, GOLD);
    expect(r.equivalent).toBe(false);
    expect(r.active).toEqual(['rouge1', 'bleu1']);
    expect(r.components.rouge1).toBeCloseTo(0.8, 12);
    expect(r.components.bleu1).toBeCloseTo(2 / 3, 12);
    expect(r.value).toBeCloseTo((0.25 * 0.8 + 0.25 * (2 / 3)) / 0.5, 12); // 0.7333…
  });

  it('uses 0.25·ROUGE-1 + 0.25·BLEU-1 + 0.5·semantic when a semantic score is given', () => {
    const r = answerReward(PRED, GOLD, { semantic: 0.9 });
    expect(r.active).toEqual(['rouge1', 'bleu1', 'semantic']);
    expect(r.value).toBeCloseTo(0.2 + 1 / 6 + 0.45, 12);
    // Weights are relative: doubling all of them changes nothing.
    expect(answerReward(PRED, GOLD, { semantic: 0.9, weights: { rouge1: 0.5, bleu1: 0.5, semantic: 1 } }).value).toBeCloseTo(0.2 + 1 / 6 + 0.45, 12);
  });

  it('renormalize: false reproduces the reference, where a missing semantic score counts 0', () => {
    expect(answerReward(PRED, GOLD, { renormalize: false }).value).toBeCloseTo(0.2 + 1 / 6, 12);
  });

  it('drops components whose weight is 0; all weights 0 gives 0', () => {
    const r = answerReward(PRED, GOLD, { weights: { bleu1: 0 } });
    expect(r.active).toEqual(['rouge1']);
    expect(r.components).toEqual({ rouge1: expect.closeTo(0.8, 12) as number });
    expect(r.value).toBeCloseTo(0.8, 12);
    expect(answerReward(PRED, GOLD, { weights: { rouge1: 0, bleu1: 0, semantic: 0 }, semantic: 1 })).toMatchObject({ value: 0, active: [] });
  });

  it('an empty answer earns 0 and never matches, not even an empty gold answer', () => {
    expect(answerReward('', GOLD)).toMatchObject({ value: 0, equivalent: false, components: { rouge1: 0, bleu1: 0 } });
    expect(answerReward('', '')).toMatchObject({ value: 0, equivalent: false });
    expect(answerReward('  ', 'lung', { semantic: 0 }).value).toBe(0);
  });

  it('clamps the mix to [0, 1] (the reference takes max(0, score))', () => {
    // "right" vs "left": ROUGE-1 0, BLEU-1 0; a (pathological) negative semantic score.
    expect(answerReward('right', 'left', { semantic: -0.2 }).value).toBe(0);
    expect(answerReward(PRED, GOLD, { semantic: 1.5 }).value).toBe(1);
  });
});
