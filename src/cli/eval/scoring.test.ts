/**
 * The per-item scorers, against values worked out by hand and the NLTK /
 * rouge_score golden values of src/algo/fixtures/metrics-nltk.json.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lexicalScores, scoreAnswer, tokenF1 } from './scoring.js';

const nltk = JSON.parse(readFileSync(new URL('../../algo/fixtures/metrics-nltk.json', import.meta.url), 'utf8')) as {
  pairs: Array<{ pred: string; gold: string; rouge1: [number, number, number]; bleu1: number }>;
};

describe('tokenF1', () => {
  it('is 2PR/(P+R) over normalised tokens', () => {
    // p = [left, lower, lobe, nodule], g = [left, lower, lobe]: overlap 3, P = 3/4, R = 1, F1 = 6/7.
    expect(tokenF1('Left lower lobe nodule.', 'left lower lobe')).toBeCloseTo(6 / 7, 12);
    // Clipped overlap: p = [lung, lung], g = [lung]: overlap 1, P = 1/2, R = 1, F1 = 2/3.
    expect(tokenF1('lung lung', 'Lung')).toBeCloseTo(2 / 3, 12);
    expect(tokenF1('', 'lung')).toBe(0);
    expect(tokenF1('heart', 'lung')).toBe(0);
  });
});

describe('scoreAnswer over accepted answers', () => {
  it('takes the best match', () => {
    const answers = ['avascular necrosis', 'extensive degenerative changes of the femoral heads'];
    expect(scoreAnswer('exact', 'Avascular necrosis.', answers)).toBe(1);
    expect(scoreAnswer('exact', 'degenerative changes', answers)).toBe(0);
    // Against the second answer: p = [degenerative, changes], g has 7 tokens: overlap 2, P = 1, R = 2/7, F1 = 4/9.
    expect(scoreAnswer('f1', 'degenerative changes', answers)).toBeCloseTo(4 / 9, 12);
    expect(scoreAnswer('exact', 'two', ['2'])).toBe(1);
  });

  it('matches the NLTK BLEU-1 and rouge_score ROUGE-1 golden values', () => {
    for (const pair of nltk.pairs.slice(0, 40)) {
      const s = lexicalScores(pair.pred, [pair.gold]);
      expect(s.bleu1).toBeCloseTo(pair.bleu1, 10);
      expect(s.rouge1).toBeCloseTo(pair.rouge1[2], 10);
      // The reward: 1 when equivalent, else the mean of the two (weights 0.25/0.25 renormalised).
      const expected = s.exact === 1 ? 1 : (pair.bleu1 + pair.rouge1[2]) / 2;
      expect(s.reward).toBeCloseTo(expected, 10);
    }
  });
});
