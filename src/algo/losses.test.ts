import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { aggregateLosses, lossMetrics, tokenLosses } from './losses.js';

const base = { epsLow: 0.2, epsHigh: 0.2, beta: 0 };

describe('tokenLosses', () => {
  it('is −A with gradient −A when the ratio is 1 (one update per batch)', () => {
    const out = tokenLosses({ ...base, logp_T: [-1, -2], oldLogp_T: [-1, -2], adv_T: [0.5, -2] });
    expect(Array.from(out.loss_T)).toEqual([-0.5, 2]);
    expect(Array.from(out.dLogp_T)).toEqual([-0.5, 2]);
    expect(Array.from(out.clipped_T)).toEqual([0, 0]);
  });

  it('clips a positive advantage above 1+ε and a negative one below 1−ε, with zero gradient there', () => {
    // r = e^0.5 ≈ 1.6487 > 1.2, A = 1: min(1.6487, 1.2) = 1.2 → loss −1.2, clipped.
    // r = e^-0.5 ≈ 0.6065 < 0.8, A = −1: min(−0.6065, −0.8) = −0.8 → loss 0.8, clipped.
    const out = tokenLosses({ ...base, logp_T: [0.5, -0.5], oldLogp_T: [0, 0], adv_T: [1, -1] });
    expect(out.loss_T[0]).toBeCloseTo(-1.2, 12);
    expect(out.loss_T[1]).toBeCloseTo(0.8, 12);
    expect(Array.from(out.dLogp_T)).toEqual([0, 0]);
    expect(Array.from(out.clipped_T)).toEqual([1, 1]);
  });

  it('does not clip the pessimistic side: positive A with r < 1−ε keeps r·A and its gradient', () => {
    const r = Math.exp(-0.5);
    const out = tokenLosses({ ...base, logp_T: [-0.5], oldLogp_T: [0], adv_T: [2] });
    expect(out.loss_T[0]).toBeCloseTo(-2 * r, 12);
    expect(out.dLogp_T[0]).toBeCloseTo(-2 * r, 12);
    expect(out.clipped_T[0]).toBe(0);
  });

  it('adds β·k3 KL: exp(ref−logp) − (ref−logp) − 1', () => {
    // ref − logp = 1: kl = e − 2; d kl/d logp = 1 − e.
    const out = tokenLosses({ ...base, beta: 0.04, logp_T: [-2], oldLogp_T: [-2], refLogp_T: [-1], adv_T: [0] });
    expect(out.kl_T[0]).toBeCloseTo(Math.E - 2, 12);
    expect(out.loss_T[0]).toBeCloseTo(0.04 * (Math.E - 2), 12);
    expect(out.dLogp_T[0]).toBeCloseTo(0.04 * (1 - Math.E), 12);
  });

  it('KL is zero when the policy equals the reference', () => {
    const out = tokenLosses({ ...base, beta: 1, logp_T: [-0.3], oldLogp_T: [-0.3], refLogp_T: [-0.3], adv_T: [0] });
    expect(out.kl_T[0]).toBe(0);
  });

  it('gradient matches central finite differences away from clip edges', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ lp: fc.double({ min: -3, max: 0, noNaN: true }), d: fc.double({ min: -0.6, max: 0.6, noNaN: true }), ref: fc.double({ min: -3, max: 0, noNaN: true }), a: fc.double({ min: -3, max: 3, noNaN: true }) }), { minLength: 1, maxLength: 8 }),
        (rows) => {
          const logp = rows.map((r) => r.lp);
          const old = rows.map((r) => r.lp - r.d);
          const ref = rows.map((r) => r.ref);
          const adv = rows.map((r) => r.a);
          const args = { epsLow: 0.2, epsHigh: 0.28, beta: 0.04, oldLogp_T: old, refLogp_T: ref, adv_T: adv };
          const out = tokenLosses({ ...args, logp_T: logp });
          const h = 1e-6;
          rows.forEach((r, t) => {
            const ratio = Math.exp(r.d);
            if (Math.abs(ratio - 0.8) < 1e-3 || Math.abs(ratio - 1.28) < 1e-3) return; // kink of the clip
            const up = tokenLosses({ ...args, logp_T: logp.map((x, i) => (i === t ? x + h : x)) }).loss_T[t];
            const down = tokenLosses({ ...args, logp_T: logp.map((x, i) => (i === t ? x - h : x)) }).loss_T[t];
            expect(out.dLogp_T[t]).toBeCloseTo((up - down) / (2 * h), 4);
          });
        },
      ),
    );
  });

  it('rejects arrays of different lengths and β without a reference', () => {
    expect(() => tokenLosses({ ...base, logp_T: [0, 0], oldLogp_T: [0], adv_T: [0, 0] })).toThrow(/equal length/);
    expect(() => tokenLosses({ ...base, beta: 0.1, logp_T: [0], oldLogp_T: [0], adv_T: [0] })).toThrow(/refLogp_T/);
  });
});

describe('aggregateLosses', () => {
  const rows = [[1, 2, 3], [4], []];
  it('seq-mean-token-mean: mean of per-completion means over non-empty completions', () => {
    const out = aggregateLosses(rows, 'seq-mean-token-mean');
    expect(out.value).toBeCloseTo((2 + 4) / 2, 12);
    expect(Array.from(out.weight_B_T[0])).toEqual([1 / 6, 1 / 6, 1 / 6]);
    expect(Array.from(out.weight_B_T[1])).toEqual([0.5]);
    expect(out.weight_B_T[2].length).toBe(0);
  });
  it('token-mean: sum over all tokens ÷ token count', () => {
    expect(aggregateLosses(rows, 'token-mean').value).toBeCloseTo(10 / 4, 12);
  });
  it('seq-sum-const: sum ÷ (completions × constant), constant defaulting to the longest row', () => {
    expect(aggregateLosses(rows, 'seq-sum-const', 5).value).toBeCloseTo(10 / 15, 12);
    expect(aggregateLosses(rows, 'seq-sum-const').value).toBeCloseTo(10 / 9, 12);
  });
  it('an empty batch aggregates to 0', () => {
    expect(aggregateLosses([], 'token-mean').value).toBe(0);
    expect(aggregateLosses([[], []], 'seq-mean-token-mean').value).toBe(0);
  });
  it('value equals Σ weight·loss for every mode (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { maxLength: 6 }), { minLength: 1, maxLength: 5 }), fc.constantFrom('seq-mean-token-mean' as const, 'token-mean' as const, 'seq-sum-const' as const), (b, mode) => {
        const out = aggregateLosses(b, mode, 7);
        let s = 0;
        b.forEach((row, i) => row.forEach((x, t) => (s += out.weight_B_T[i][t] * x)));
        expect(out.value).toBeCloseTo(s, 9);
      }),
    );
  });
});

describe('lossMetrics', () => {
  it('token-averages clip fraction, KL and ratio', () => {
    const a = tokenLosses({ ...base, logp_T: [0.5, 0], oldLogp_T: [0, 0], adv_T: [1, 1] });
    const m = lossMetrics([a]);
    expect(m['loss/clipfrac']).toBe(0.5);
    expect(m['loss/ratio_mean']).toBeCloseTo((Math.exp(0.5) + 1) / 2, 12);
  });
});
