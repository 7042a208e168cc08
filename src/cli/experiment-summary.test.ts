import { describe, expect, it } from 'vitest';
import { summarizeFailures } from '../algo/failure.js';
import { formatSpread, markdownTable, spread, summarizeAlgorithm } from './experiment-summary.js';

describe('experiment summary', () => {
  it('mean and sample std across seeds, ignoring undefined values', () => {
    const s = spread([0.5, 0.7, null]);
    expect(s.n).toBe(2);
    expect(s.mean).toBeCloseTo(0.6, 12);
    expect(s.std).toBeCloseTo(Math.sqrt(0.02), 12); // ((0.1² + 0.1²)/1)^½
    expect(spread([0.3])).toEqual({ mean: 0.3, std: null, n: 1 });
    expect(spread([])).toEqual({ mean: null, std: null, n: 0 });
    expect(formatSpread({ mean: 0.6, std: Math.sqrt(0.02), n: 2 })).toBe('60.0% ± 14.1');
    expect(formatSpread({ mean: null, std: null, n: 0 })).toBe('–');
  });

  it('aggregates stage shares and FAR per bin by hand', () => {
    // seed 0: two failed traces, FFP 1/5 (early, FAR 2/4) and 4/5 (late, FAR 0/1); seed 1: one failed trace FFP 1/4 (early, FAR 3/3)
    const s0 = summarizeFailures([
      { correct: false, stepLabels: [0, 1, 0, 1, 0] },
      { correct: true, stepLabels: [1, 1, 1, 0, 1] },
      { correct: true, stepLabels: [1, 1, 1, 1] },
    ]);
    const s1 = summarizeFailures([{ correct: false, stepLabels: [0, 0, 0, 0] }]);
    const r = summarizeAlgorithm('mrpo', [
      { algorithm: 'mrpo', seed: 0, accuracy: 2 / 3, summary: s0 },
      { algorithm: 'mrpo', seed: 1, accuracy: 0, summary: s1 },
    ]);
    expect(r.stageShare.early.mean).toBeCloseTo((0.5 + 1) / 2, 12);
    expect(r.stageShare.late.mean).toBeCloseTo((0.5 + 0) / 2, 12);
    expect(r.failedShare.mean).toBeCloseTo((2 / 3 + 1) / 2, 12);
    expect(r.accuracy.mean).toBeCloseTo(1 / 3, 12);
    // bin 1 (0, 0.2]: seed 0 FAR 0.5 (FFP 0.2); bin 2 (0.2, 0.4]: seed 1 FAR 1 (FFP 0.25); bin 4 (0.6, 0.8]: seed 0 FAR 0
    expect(r.farByBin.map((b) => b.mean)).toEqual([0.5, 1, null, 0, null]);
    expect(r.meanSummary.bins[0].count).toBe(1);
    const md = markdownTable([r]);
    expect(md.split('\n')[0]).toBe('| method | seeds | accuracy | failed traces | early | mid | late | FAR (0.0,0.2] | FAR (0.2,0.4] | FAR (0.4,0.6] | FAR (0.6,0.8] | FAR (0.8,1.0] |');
    expect(md.split('\n')[2]).toContain('| mrpo | 2 | 33.3% ± 47.1 |');
  });
});
