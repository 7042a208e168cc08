/** The noise summary: t-intervals and the MRPO − GRPO pairing by seed, by hand. */
import { describe, expect, it } from 'vitest';
import type { FailureSummary } from '../algo/failure.js';
import { formatInterval, noiseRows, pairedRows, type NoiseRun } from './noise-summary.js';

const summary = (early: number | null): FailureSummary => ({
  traces: 10,
  withFailure: early === null ? 0 : 10,
  withoutSteps: 0,
  accuracy: null,
  stageShare: { early, mid: null, late: null },
  stageCount: { early: 0, mid: 0, late: 0 },
  bins: [],
  far: { all: null, correct: null, incorrect: null },
});
const run = (algorithm: string, noise: string, seed: number, accuracy: number, early: number | null): NoiseRun => ({ algorithm, noise, seed, accuracy, summary: summary(early) });

describe('noise summary', () => {
  const runs = [
    run('grpo', '0', 0, 0.1, 0.5), run('grpo', '0', 1, 0.2, 0.6), run('grpo', '0', 2, 0.3, null),
    run('mrpo', '0', 0, 0.3, 0.4), run('mrpo', '0', 1, 0.2, 0.4), run('mrpo', '0', 2, 0.4, 0.3),
  ];

  it('gives mean ± t_{0.975,n−1}·s/√n over seeds (0.1, 0.2, 0.3: 0.2 ± 4.303·0.1/√3)', () => {
    const [g] = noiseRows(runs, ['grpo', 'mrpo'], ['0']);
    expect(g.accuracy.mean).toBeCloseTo(0.2, 12);
    expect(g.accuracy.lo).toBeCloseTo(0.2 - (4.303 * 0.1) / Math.sqrt(3), 10);
    expect(g.accuracy.hi).toBeCloseTo(0.2 + (4.303 * 0.1) / Math.sqrt(3), 10);
    expect(g.earlyShare.n).toBe(2); // seed 2 had no failed trace: no early share
    expect(formatInterval(g.accuracy)).toBe('20.0% [-4.8, 44.8]');
  });

  it('pairs MRPO with GRPO by seed: differences 0.2, 0, 0.1 → mean 0.1, 2 better / 1 tie', () => {
    const [p] = pairedRows(runs, ['0']);
    expect(p.seeds).toEqual([0, 1, 2]);
    expect(p.accuracyDiff.mean).toBeCloseTo(0.1, 12);
    expect([p.wins, p.ties, p.losses]).toEqual([2, 1, 0]);
    // early share: seeds 0 and 1 only (−0.1, −0.2), t_{0.975,1} = 12.706
    expect(p.earlyShareDiff.mean).toBeCloseTo(-0.15, 12);
    expect(p.earlyShareDiff.hi).toBeCloseTo(-0.15 + (12.706 * Math.sqrt(0.005)) / Math.sqrt(2), 10);
  });
});
