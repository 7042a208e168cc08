/**
 * The bootstrap against values derived independently of it:
 * - the exact bootstrap distribution of the mean of [0, 0, 1] (27 equally
 *   likely resamples, enumerated by hand below) and its percentiles;
 * - constant data gives a zero-width interval;
 * - for Bernoulli data with n = 400, p = 0.3 the interval is close to the
 *   normal-approximation interval p ± 1.96·√(p(1−p)/n) (the bootstrap's
 *   large-sample property);
 * - the macro average of two groups against the hand-computed mean of means;
 * - a fixed seed reproduces the interval, another seed changes it.
 */
import { describe, expect, it } from 'vitest';
import { bootstrapMacroMean, bootstrapMean, bootstrapMeanDraws, bootstrapStatistic, macroFromDraws } from './bootstrap.js';

describe('bootstrapMean', () => {
  it('matches the exact bootstrap distribution of a 3-value sample', () => {
    // Resamples of [0, 0, 1]: the number of 1s is Binomial(3, 1/3): P(0)=8/27, P(1)=12/27, P(2)=6/27, P(3)=1/27,
    // so the resampled mean is 0, 1/3, 2/3, 1 with those probabilities. CDF: 8/27=0.296, 20/27=0.741, 26/27=0.963.
    // The 2.5th percentile lies in the first atom (0); the 97.5th lies in the last atom (1) since 26/27 < 0.975.
    const r = bootstrapMean([0, 0, 1], { resamples: 20000, seed: 1 });
    expect(r.value).toBeCloseTo(1 / 3, 12);
    expect(r.n).toBe(3);
    expect(r.lo).toBe(0);
    expect(r.hi).toBe(1);
    // With level 0.5 (25th/75th percentiles): 0.25 < 0.296 → 0; 0.75 is just past 20/27 = 0.741 → 2/3.
    const half = bootstrapMean([0, 0, 1], { resamples: 20000, seed: 1, level: 0.5 });
    expect(half.lo).toBe(0);
    expect(half.hi).toBeCloseTo(2 / 3, 12);
  });

  it('gives a zero-width interval for constant data and nulls for no data', () => {
    expect(bootstrapMean([0.5, 0.5, 0.5, 0.5])).toEqual({ value: 0.5, lo: 0.5, hi: 0.5, n: 4 });
    expect(bootstrapMean([])).toEqual({ value: null, lo: null, hi: null, n: 0 });
  });

  it('is close to the normal-approximation interval for a large Bernoulli sample', () => {
    const n = 400;
    const values = Array.from({ length: n }, (_, i) => (i < 120 ? 1 : 0)); // p = 0.3
    const half = 1.96 * Math.sqrt((0.3 * 0.7) / n); // 0.0449
    const r = bootstrapMean(values, { resamples: 4000, seed: 7 });
    expect(r.value).toBeCloseTo(0.3, 12);
    expect(Math.abs((r.lo ?? 0) - (0.3 - half))).toBeLessThan(0.008);
    expect(Math.abs((r.hi ?? 0) - (0.3 + half))).toBeLessThan(0.008);
  });

  it('is reproducible for a seed and differs across seeds', () => {
    const values = [0.1, 0.9, 0.4, 0.3, 0.8, 0.2, 0.6];
    expect(bootstrapMean(values, { seed: 3 })).toEqual(bootstrapMean(values, { seed: 3 }));
    expect(bootstrapMean(values, { seed: 3 }).lo).not.toBe(bootstrapMean(values, { seed: 4 }).lo);
  });
});

describe('bootstrapMacroMean', () => {
  it('averages the group means and resamples each group alone', () => {
    // Group means 1/2 and 1 → macro mean 3/4 (the pooled mean would be 5/6).
    const r = bootstrapMacroMean([[0, 1], [1, 1, 1, 1]], { resamples: 5000, seed: 2 });
    expect(r.value).toBeCloseTo(0.75, 12);
    expect(r.n).toBe(6);
    // The second group never varies; the first group's resampled mean is 0, 1/2, 1 (P 1/4, 1/2, 1/4),
    // so the macro mean is 1/2, 3/4 or 1 and the 95% bounds are the extremes.
    expect(r.lo).toBe(0.5);
    expect(r.hi).toBe(1);
    expect(bootstrapMacroMean([[], [0.2, 0.2]])).toMatchObject({ value: 0.2, lo: 0.2, hi: 0.2, n: 2 });
  });
});

describe('macroFromDraws', () => {
  it('averages the groups\' own resamples: the same distribution as bootstrapMacroMean', () => {
    // As above: group means 1/2 and 1, macro mean 3/4; resampled macro means 1/2, 3/4, 1 with P 1/4, 1/2, 1/4.
    const a = bootstrapMeanDraws([0, 1], { resamples: 5000, seed: 11 });
    const b = bootstrapMeanDraws([1, 1, 1, 1], { resamples: 5000, seed: 12 });
    const r = macroFromDraws([a, b]);
    expect(r).toMatchObject({ lo: 0.5, hi: 1, n: 6 });
    expect(r.value).toBeCloseTo(0.75, 12);
    expect(macroFromDraws([bootstrapMeanDraws([]), b])).toMatchObject({ value: 1, lo: 1, hi: 1, n: 4 });
  });
});

describe('bootstrapStatistic', () => {
  it('skips resamples where the statistic is undefined', () => {
    // Share of "early" among failures; a resample with no failure has no share.
    const traces = ['early', 'none', 'none', 'late'];
    const share = (s: readonly string[]) => {
      const failed = s.filter((t) => t !== 'none');
      return failed.length === 0 ? null : failed.filter((t) => t === 'early').length / failed.length;
    };
    const r = bootstrapStatistic(traces, share, { resamples: 3000, seed: 5 });
    expect(r.value).toBe(0.5);
    expect(r.lo).toBe(0);
    expect(r.hi).toBe(1);
    expect(bootstrapStatistic(['none'], share)).toEqual({ value: null, lo: null, hi: null, n: 1 });
  });
});
