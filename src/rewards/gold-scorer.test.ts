import { describe, expect, it } from 'vitest';
import { answerReward, goldAnswerScorer } from './answer.js';

describe('goldAnswerScorer', () => {
  it('scores predictions against one gold answer as answerReward does (hand-worked ROUGE-1/BLEU-1 mix)', () => {
    const score = goldAnswerScorer('left lobe');
    // "lobe" against "left lobe": ROUGE-1 P = 1, R = 1/2, F = 2/3; BLEU-1 precision 1 with brevity penalty
    // exp(1 − 2/1) = e⁻¹; weights 0.25 / 0.25 renormalised over the two active components.
    const r = score('lobe');
    expect(r.equivalent).toBe(false);
    expect(r.components.rouge1).toBeCloseTo(2 / 3, 12);
    expect(r.components.bleu1).toBeCloseTo(Math.exp(-1), 12);
    expect(r.value).toBeCloseTo((2 / 3 + Math.exp(-1)) / 2, 12);
    expect(score('Left Lobe.')).toEqual({ value: 1, equivalent: true, components: {}, active: ['rouge1', 'bleu1'] });
    // With a semantic score 0.4 (weight 0.5): (0.25·2/3 + 0.25·e⁻¹ + 0.5·0.4) / 1.
    expect(score('lobe', 0.4).value).toBeCloseTo(0.25 * (2 / 3) + 0.25 * Math.exp(-1) + 0.5 * 0.4, 12);
  });

  it('gives what answerReward gives, call after call, for every option set', () => {
    const answers = ['left lobe', 'two', '2', '', 'the <b>right</b> kidney', 'five percent', '5%', 'liver'];
    for (const options of [{}, { weights: { rouge1: 0 } }, { renormalize: false }, { weights: { bleu1: 0, semantic: 0 } }]) {
      for (const gold of answers) {
        const score = goldAnswerScorer(gold, options);
        for (const prediction of [...answers, ...answers])
          for (const semantic of [undefined, 0.7]) expect(score(prediction, semantic)).toEqual(answerReward(prediction, gold, { ...options, semantic }));
      }
    }
  });
});
