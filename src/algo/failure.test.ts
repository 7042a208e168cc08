import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { binOf, failurePoint, ffpBin, ffpStage, stageOf, summarizeFailures } from './failure.js';
import type { StepLabel } from '../types.js';

describe('failurePoint', () => {
  it('FFP = k*/K and FAR over the steps after k*', () => {
    // labels 1 0 1 0 0: k* = 2, K = 5 → FFP 0.4; after k*: 1 0 0 → 2 invalid of 3.
    expect(failurePoint([1, 0, 1, 0, 0])).toEqual({ ffp: 0.4, far: 2 / 3, firstInvalid: 2, steps: 5 });
  });
  it('clean traces and empty traces have no FFP', () => {
    expect(failurePoint([1, 1, 1])).toEqual({ ffp: null, far: null, firstInvalid: null, steps: 3 });
    expect(failurePoint([])).toEqual({ ffp: null, far: null, firstInvalid: null, steps: 0 });
  });
  it('FAR is undefined when the first failure is the last step', () => {
    expect(failurePoint([1, 1, 0])).toEqual({ ffp: 1, far: null, firstInvalid: 3, steps: 3 });
    expect(failurePoint([0])).toEqual({ ffp: 1, far: null, firstInvalid: 1, steps: 1 });
  });
  it('all invalid: FFP 1/K, FAR 1', () => {
    expect(failurePoint([0, 0, 0, 0])).toEqual({ ffp: 0.25, far: 1, firstInvalid: 1, steps: 4 });
  });
});

describe('stages and bins', () => {
  it('stage edges are inclusive above: 1/3 early, 2/3 mid', () => {
    expect(stageOf(1, 3)).toBe('early');
    expect(stageOf(2, 6)).toBe('early');
    expect(stageOf(2, 3)).toBe('mid');
    expect(stageOf(3, 4)).toBe('late');
    expect(ffpStage(1 / 3)).toBe('early');
    expect(ffpStage(0.34)).toBe('mid');
    expect(ffpStage(2 / 3)).toBe('mid');
    expect(ffpStage(0.67)).toBe('late');
  });
  it('bins are (0,0.2], (0.2,0.4], … with the upper edge inclusive', () => {
    expect(ffpBin(0.1)).toBe(0);
    expect(ffpBin(0.2)).toBe(0);
    expect(ffpBin(0.21)).toBe(1);
    expect(ffpBin(0.6)).toBe(2);
    expect(ffpBin(3 / 5)).toBe(2);
    expect(ffpBin(0.8)).toBe(3);
    expect(ffpBin(1)).toBe(4);
    expect(binOf(1, 5)).toBe(0);
    expect(binOf(3, 5)).toBe(2);
    expect(binOf(6, 10)).toBe(2);
    expect(binOf(7, 10)).toBe(3);
  });
  it('exact and floating classifications agree for every k ≤ K ≤ 40', () => {
    for (let K = 1; K <= 40; K++)
      for (let k = 1; k <= K; k++) {
        expect(ffpStage(k / K)).toBe(stageOf(k, K));
        expect(ffpBin(k / K)).toBe(binOf(k, K));
      }
  });
});

describe('summarizeFailures', () => {
  it('summarises a hand-built set of traces', () => {
    const traces = [
      { correct: true, stepLabels: [1, 1, 1] as StepLabel[] }, // clean
      { correct: false, stepLabels: [0, 0, 1, 0, 1] as StepLabel[] }, // k*=1, K=5: FFP 0.2 bin0 early, FAR 2/4
      { correct: true, stepLabels: [0, 1, 1, 1, 1] as StepLabel[] }, // FFP 0.2 bin0 early, FAR 0
      { correct: false, stepLabels: [1, 1, 0] as StepLabel[] }, // FFP 1 bin4 late, FAR null
      { correct: false, stepLabels: [1, 0, 1, 1] as StepLabel[] }, // FFP 0.5 bin2 mid, FAR 0
      { correct: false, stepLabels: [] as StepLabel[] }, // no steps
    ];
    const s = summarizeFailures(traces);
    expect(s.traces).toBe(6);
    expect(s.withFailure).toBe(4);
    expect(s.withoutSteps).toBe(1);
    expect(s.accuracy).toBeCloseTo(2 / 6, 12);
    expect(s.stageShare).toEqual({ early: 0.5, mid: 0.25, late: 0.25 });
    expect(s.bins.map((b) => b.count)).toEqual([2, 0, 1, 0, 1]);
    expect(s.bins[0]).toEqual({ lo: 0, hi: 0.2, count: 2, incorrectRate: 0.5, far: { all: 0.25, correct: 0, incorrect: 0.5 } });
    expect(s.bins[1].incorrectRate).toBeNull();
    expect(s.bins[1].far).toEqual({ all: null, correct: null, incorrect: null });
    expect(s.bins[4]).toMatchObject({ count: 1, incorrectRate: 1, far: { all: null, correct: null, incorrect: null } });
    expect(s.bins.map((b) => [b.lo, b.hi])).toEqual([[0, 0.2], [0.2, 0.4], [0.4, 0.6], [0.6, 0.8], [0.8, 1]]);
  });
  it('no failed traces: shares are null, not 0', () => {
    expect(summarizeFailures([{ correct: true, stepLabels: [1] }]).stageShare).toEqual({ early: null, mid: null, late: null });
    expect(summarizeFailures([]).stageShare).toEqual({ early: null, mid: null, late: null });
  });
  it('stage shares sum to 1 and bin counts to withFailure (property)', () => {
    const trace = fc.record({ correct: fc.boolean(), stepLabels: fc.array(fc.constantFrom(0 as const, 1 as const), { maxLength: 12 }) });
    fc.assert(
      fc.property(fc.array(trace, { maxLength: 40 }), (traces) => {
        const s = summarizeFailures(traces);
        expect(s.bins.reduce((a, b) => a + b.count, 0)).toBe(s.withFailure);
        if (s.withFailure > 0) expect((s.stageShare.early ?? NaN) + (s.stageShare.mid ?? NaN) + (s.stageShare.late ?? NaN)).toBeCloseTo(1, 12);
        else expect(s.stageShare).toEqual({ early: null, mid: null, late: null });
      }),
    );
  });
});
