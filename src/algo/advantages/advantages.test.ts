import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { computeAdvantages, ESTIMATOR_NAMES, getEstimator, mapTokensToSteps, stepWeight } from './index.js';
import type { AdvantageCompletion } from './types.js';
import type { Step, StepLabel, TokenOffset } from '../../types.js';

const r = (answer: number, process = 0, length = 0) => ({ answer, process, length });
const advs = (name: 'grpo' | 'gdpo' | 'mrpo', completions: AdvantageCompletion[][], options = {}) =>
  computeAdvantages(name, { groups: completions.map((c) => ({ completions: c })), options }).value.groups.map((g) => g.completions);

/** Steps at arbitrary positions: step k covers [10k, 10k + 8). */
const fakeSteps = (K: number): Step[] => Array.from({ length: K }, (_, k) => ({ start: 10 * k, end: 10 * k + 8, text: 'x'.repeat(8) }));

describe('registry', () => {
  it('has exactly grpo, gdpo, mrpo and rejects unknown names with the list', () => {
    expect(ESTIMATOR_NAMES).toEqual(['grpo', 'gdpo', 'mrpo']);
    expect(() => getEstimator('ppo')).toThrow('unknown advantage estimator "ppo"; expected one of: grpo, gdpo, mrpo');
    expect(() => getEstimator('toString')).toThrow(/unknown/);
  });
});

describe('GRPO', () => {
  it('normalises the summed reward by the group mean and sample std + 1e-4 (hand-computed)', () => {
    // totals 1, 0, 0, 0: mean 0.25, sample std sqrt((0.5625 + 3·0.0625)/3) = 0.5
    const [g] = advs('grpo', [[{ rewards: r(1) }, { rewards: r(0) }, { rewards: r(0) }, { rewards: r(0) }]]);
    expect(g[0].advantage).toBeCloseTo(0.75 / 0.5001, 12);
    expect(g[1].advantage).toBeCloseTo(-0.25 / 0.5001, 12);
  });
  it('sums the three components without weights', () => {
    const [g] = advs('grpo', [[{ rewards: r(0.5, 0.5, -0.25) }, { rewards: r(0, 0, 0) }]]);
    // totals 0.75, 0: std = 0.75/√2
    expect(g[0].advantage).toBeCloseTo(0.375 / (0.75 / Math.SQRT2 + 1e-4), 12);
  });
  it('gives 0 when all rewards in a group are equal, and for a group of one', () => {
    const [g, single] = advs('grpo', [[{ rewards: r(0.3) }, { rewards: r(0.3) }], [{ rewards: r(1) }]]);
    expect(g.map((c) => c.advantage)).toEqual([0, 0]);
    expect(single[0].advantage).toBe(0);
  });
  it('advantages sum to about zero per group (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -2, max: 3, noNaN: true }), { minLength: 2, maxLength: 16 }), (totals) => {
        const [g] = advs('grpo', [totals.map((t) => ({ rewards: r(t) }))]);
        expect(Math.abs(g.reduce((s, c) => s + c.advantage, 0))).toBeLessThan(1e-9 * totals.length + 1e-9);
      }),
    );
  });
  it('every token gets A_i when offsets are given', () => {
    const offsets: TokenOffset[] = [[0, 3], [3, 9], [9, 9]];
    const [g] = advs('grpo', [[{ rewards: r(1), tokenOffsets: offsets, steps: fakeSteps(1) }, { rewards: r(0), tokenOffsets: offsets }]]);
    expect(Array.from(g[0].tokenAdvantages!)).toEqual([g[0].advantage, g[0].advantage, g[0].advantage]);
    expect(g[1].tokenAdvantages!.length).toBe(3);
  });
});

describe('GDPO', () => {
  it('normalises each component per group, sums, then normalises over the batch (reference formula)', () => {
    const eps = 1e-4;
    const norm = (xs: number[]) => {
      const m = xs.reduce((a, b) => a + b, 0) / xs.length;
      const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
      return xs.map((x) => (x - m) / (sd + eps));
    };
    const groups = [
      [r(1, 1, 0), r(0, 0, 0), r(0, 0.5, -0.25)],
      [r(0.2, 0, 0), r(0.4, 1, 0), r(0.9, 0, -0.5)],
    ];
    const summed = groups.flatMap((g) => {
      const a = norm(g.map((x) => x.answer));
      const p = norm(g.map((x) => x.process));
      const l = norm(g.map((x) => x.length));
      return g.map((_, i) => a[i] + p[i] + l[i]);
    });
    const expected = norm(summed);
    const got = advs('gdpo', groups.map((g) => g.map((rewards) => ({ rewards })))).flat().map((c) => c.advantage);
    got.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 12));
  });
  it('a component that is constant in a group contributes 0', () => {
    // answer 1,0; process constant; length constant → per-group A = ±0.5/(√0.5+ε); batch of 2 → ±1/(√2+ε)·…
    const got = advs('gdpo', [[{ rewards: r(1, 0.5, 0) }, { rewards: r(0, 0.5, 0) }]])[0].map((c) => c.advantage);
    const a = 0.5 / (Math.sqrt(0.5) + 1e-4);
    const sd = Math.sqrt(2 * a * a);
    expect(got[0]).toBeCloseTo(a / (sd + 1e-4), 12);
    expect(got[1]).toBeCloseTo(-a / (sd + 1e-4), 12);
  });
  it('has batch mean ≈ 0 (property)', () => {
    const rew = fc.record({ answer: fc.double({ min: 0, max: 1, noNaN: true }), process: fc.double({ min: 0, max: 1, noNaN: true }), length: fc.double({ min: -1, max: 0, noNaN: true }) });
    fc.assert(
      fc.property(fc.array(fc.array(rew, { minLength: 2, maxLength: 6 }), { minLength: 1, maxLength: 4 }), (groups) => {
        const all = advs('gdpo', groups.map((g) => g.map((rewards) => ({ rewards })))).flat();
        expect(Math.abs(all.reduce((s, c) => s + c.advantage, 0) / all.length)).toBeLessThan(1e-9);
      }),
    );
  });
});

describe('MRPO step weights', () => {
  it('w_k = exp(1 − (k−1)/(K−1)), rounded to two decimals by default; w_1 = 1 when K = 1', () => {
    expect([1, 2, 3, 4, 5].map((k) => stepWeight(k, 5))).toEqual([2.72, 2.12, 1.65, 1.28, 1]);
    expect(stepWeight(1, 1)).toBe(1);
    expect(stepWeight(1, 2, false)).toBe(Math.E);
    expect(stepWeight(2, 4, false)).toBeCloseTo(Math.exp(2 / 3), 15);
    expect(stepWeight(2, 4)).toBe(1.95);
  });
});

describe('MRPO shaping', () => {
  // Group: a correct completion (total 2) and an incorrect one with labels 1 0 1 0 (total 0.7).
  const correct: AdvantageCompletion = { rewards: r(1, 1, 0), steps: fakeSteps(4), stepLabels: [0, 0, 0, 0] };
  const wrong: AdvantageCompletion = { rewards: r(0.2, 0.5, 0), steps: fakeSteps(4), stepLabels: [1, 0, 1, 0] };
  const a = 0.65 / (0.65 * Math.SQRT2 + 1e-4);

  it('keeps A_i for a correct answer and reshapes an incorrect one: +|A| valid, −w_k|A| invalid', () => {
    const [g] = advs('mrpo', [[correct, wrong]]);
    expect(g[0].advantage).toBeCloseTo(a, 12);
    expect(g[0].stepAdvantages).toBeUndefined();
    expect(g[1].advantage).toBeCloseTo(-a, 12);
    const expected = [a, -1.95 * a, a, -1 * a];
    g[1].stepAdvantages!.forEach((v, k) => expect(v).toBeCloseTo(expected[k], 12));
    expect(g[1].stepWeights).toEqual([null, 1.95, null, 1]);
  });

  it('maps step values onto tokens; tokens outside steps keep A_i', () => {
    const offsets: TokenOffset[] = [[0, 4], [4, 8], [8, 10], [10, 18], [25, 28], [40, 41]];
    const [g] = advs('mrpo', [[correct, { ...wrong, tokenOffsets: offsets }]]);
    const t = Array.from(g[1].tokenAdvantages!);
    // tokens 0,1 → step 0 (+a); token 2 [8,10) overlaps no step → A_i = −a; token 3 → step 1; token 4 → step 2; token 5 → none
    const expected = [a, a, -a, -1.95 * a, a, -a];
    t.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 12));
    expect(g[1].unmappedSteps).toBe(1); // step 3 [30,38) has no token
  });

  it('an answer reward of exactly τ counts as incorrect; just above τ as correct', () => {
    const at = advs('mrpo', [[{ ...wrong, rewards: r(0.6, 0.5) }, { ...correct, rewards: r(0, 0) }]])[0];
    expect(at[0].stepAdvantages).toBeDefined();
    const above = advs('mrpo', [[{ ...wrong, rewards: r(0.6000001, 0.5) }, { ...correct, rewards: r(0, 0) }]])[0];
    expect(above[0].stepAdvantages).toBeUndefined();
    const customTau = advs('mrpo', [[{ ...wrong, rewards: r(0.6, 0.5) }, correct]], { tau: 0.5 })[0];
    expect(customTau[0].stepAdvantages).toBeUndefined();
  });

  it('K = 1: an invalid step gets −|A| (w_1 = 1); K = 0 or no labels: no reshaping', () => {
    const one = advs('mrpo', [[{ rewards: r(0), steps: fakeSteps(1), stepLabels: [0] }, { rewards: r(1) }]])[0][0];
    expect(one.stepAdvantages![0]).toBeCloseTo(one.advantage, 12); // A < 0 here, so −|A| = A
    expect(one.stepWeights).toEqual([1]);
    const none = advs('mrpo', [[{ rewards: r(0), steps: [], stepLabels: [] }, { rewards: r(1) }]])[0][0];
    expect(none.stepAdvantages).toBeUndefined();
    const unlabeled = advs('mrpo', [[{ rewards: r(0), steps: fakeSteps(3), stepLabels: null }, { rewards: r(1) }]])[0][0];
    expect(unlabeled.stepAdvantages).toBeUndefined();
  });

  it('K = 1 with a positive advantage: an invalid step gets −A, a valid one +A; with a negative one a valid step gets +|A|', () => {
    // Totals 0.5 and 0: A = ±0.25/(0.5/√2 + 1e-4) = ±0.25/(0.353553… + 1e-4).
    const A = 0.25 / (0.5 / Math.SQRT2 + 1e-4);
    const [g] = advs('mrpo', [[{ rewards: r(0.5), steps: fakeSteps(1), stepLabels: [0] }, { rewards: r(0), steps: fakeSteps(1), stepLabels: [1] }]]);
    expect(g[0].advantage).toBeCloseTo(A, 12);
    expect(g[0].stepAdvantages![0]).toBeCloseTo(-A, 12);
    expect(g[0].stepWeights).toEqual([1]);
    expect(g[1].advantage).toBeCloseTo(-A, 12);
    expect(g[1].stepAdvantages![0]).toBeCloseTo(A, 12);
  });

  it('all rewards equal in a group: A = 0, so every step and token of a reshaped completion gets 0', () => {
    const offsets: TokenOffset[] = [[0, 8], [8, 10], [10, 18], [20, 28]];
    const same = (labels: StepLabel[]): AdvantageCompletion => ({ rewards: r(0.2, 0.5, -0.25), steps: fakeSteps(3), stepLabels: labels, tokenOffsets: offsets });
    const [g] = advs('mrpo', [[same([1, 0, 0]), same([0, 1, 1]), same([1, 1, 1])]]);
    for (const c of g) {
      expect(c.advantage).toBeCloseTo(0, 9);
      c.stepAdvantages!.forEach((v) => expect(v).toBeCloseTo(0, 9));
      c.tokenAdvantages!.forEach((v) => expect(v).toBeCloseTo(0, 9));
    }
    const gd = advs('gdpo', [[{ rewards: r(0.2, 0.5, -0.25) }, { rewards: r(0.2, 0.5, -0.25) }]])[0];
    gd.forEach((c) => expect(c.advantage).toBeCloseTo(0, 9));
  });

  it('labels shorter than K: missing labels are invalid; longer: extras ignored', () => {
    const [g] = advs('mrpo', [[{ rewards: r(0), steps: fakeSteps(3), stepLabels: [1] }, { rewards: r(1, 1) }]]);
    expect(g[0].stepWeights).toEqual([null, 1.65, 1]); // w_2 = e^0.5 ≈ 1.6487 → 1.65, w_3 = 1
    const [h] = advs('mrpo', [[{ rewards: r(0), steps: fakeSteps(2), stepLabels: [1, 1, 0, 0] }, { rewards: r(1, 1) }]]);
    expect(h[0].stepWeights).toEqual([null, null]);
  });

  it('a positive advantage on an incorrect answer still penalises invalid steps', () => {
    // The incorrect completion has the higher total in its group: A > 0, yet invalid steps get −w|A|.
    const [g] = advs('mrpo', [[{ rewards: r(0.5, 1), steps: fakeSteps(2), stepLabels: [0, 1] }, { rewards: r(0, 0) }]]);
    expect(g[0].advantage).toBeGreaterThan(0);
    expect(g[0].stepAdvantages![0]).toBeCloseTo(-2.72 * g[0].advantage, 12);
    expect(g[0].stepAdvantages![1]).toBeCloseTo(g[0].advantage, 12);
  });

  const completionArb = fc.integer({ min: 0, max: 8 }).chain((K) =>
    fc.record({
      answer: fc.double({ min: 0, max: 1, noNaN: true }),
      process: fc.double({ min: 0, max: 1, noNaN: true }),
      labels: fc.option(fc.array(fc.constantFrom(0 as const, 1 as const), { minLength: 0, maxLength: K + 2 }), { nil: null }),
      K: fc.constant(K),
    }),
  );

  it('properties: correct completions are never reshaped; valid steps never negative, invalid never positive', () => {
    fc.assert(
      fc.property(fc.array(completionArb, { minLength: 2, maxLength: 8 }), (cs) => {
        const completions: AdvantageCompletion[] = cs.map((c) => {
          const steps = fakeSteps(c.K);
          return { rewards: r(c.answer, c.process), steps, stepLabels: c.labels as StepLabel[] | null, tokenOffsets: steps.map((s) => [s.start, s.end] as TokenOffset) };
        });
        const [g] = advs('mrpo', [completions]);
        g.forEach((out, i) => {
          const c = cs[i];
          if (c.answer > 0.6) {
            expect(out.stepAdvantages).toBeUndefined();
            for (const v of out.tokenAdvantages!) expect(v).toBe(out.advantage);
          } else if (out.stepAdvantages !== undefined) {
            out.stepAdvantages.forEach((v, k) => {
              if (c.labels?.[k] === 1) expect(v).toBeGreaterThanOrEqual(0);
              else expect(v).toBeLessThanOrEqual(0);
              expect(out.tokenAdvantages![k]).toBe(v); // token k is exactly step k here
            });
          } else {
            expect(c.labels === null || c.labels.length === 0 || c.K === 0).toBe(true); // only unlabeled (null or []) or step-less completions escape reshaping
            for (const v of out.tokenAdvantages!) expect(v).toBe(out.advantage);
          }
          expect(out.unmappedSteps).toBe(0);
        });
      }),
    );
  });
});

describe('token ↔ step mapping', () => {
  // "<think>A b. C d.</think>": step 0 = [7, 11) "A b.", step 1 = [12, 16) "C d."
  const steps: Step[] = [{ start: 7, end: 11, text: 'A b.' }, { start: 12, end: 16, text: 'C d.' }];
  it('assigns a token to the step it overlaps most; tags and gaps map to none', () => {
    const map = mapTokensToSteps([[0, 7], [7, 8], [8, 10], [10, 11], [11, 13], [13, 16], [16, 24]], steps);
    expect(Array.from(map.step_T)).toEqual([-1, 0, 0, 0, 1, 1, -1]);
    expect(Array.from(map.tokens_K)).toEqual([3, 2]);
    expect(map.unmappedSteps).toBe(0);
  });
  it('a token straddling a boundary goes to the larger overlap, ties to the earlier step', () => {
    expect(Array.from(mapTokensToSteps([[10, 13]], steps).step_T)).toEqual([0]); // 1 char each
    expect(Array.from(mapTokensToSteps([[9, 14]], steps).step_T)).toEqual([0]); // 2 and 2
    expect(Array.from(mapTokensToSteps([[9, 15]], steps).step_T)).toEqual([1]); // 2 and 3
  });
  it('empty spans map to none; steps without tokens are counted', () => {
    const map = mapTokensToSteps([[8, 8], [7, 9]], steps);
    expect(Array.from(map.step_T)).toEqual([-1, 0]);
    expect(map.unmappedSteps).toBe(1);
  });
  it('handles tokens out of text order (property: same result as a brute-force overlap search)', () => {
    const brute = (offs: TokenOffset[], ss: Step[]) =>
      offs.map(([s, e]) => {
        let best = -1;
        let bo = 0;
        ss.forEach((st, k) => {
          const o = Math.min(e, st.end) - Math.max(s, st.start);
          if (o > bo) {
            bo = o;
            best = k;
          }
        });
        return best;
      });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(60), fc.nat(8)), { maxLength: 30 }), (raw) => {
        const offs = raw.map(([s, len]) => [s, s + len] as TokenOffset);
        const ss = fakeSteps(6);
        expect(Array.from(mapTokensToSteps(offs, ss).step_T)).toEqual(brute(offs, ss));
      }),
    );
  });
});

describe('MRPO: an empty label list means "no labels"', () => {
  it('keeps A_i on every step and token (docs/method.md §5; the reference records a failed judgement as [])', () => {
    const steps = fakeSteps(3);
    const [g] = advs('mrpo', [[{ rewards: r(0), steps, stepLabels: [], tokenOffsets: steps.map((s) => [s.start, s.end] as TokenOffset) }, { rewards: r(1) }]]);
    expect(g[0].stepAdvantages).toBeUndefined();
    expect(g[0].tokenAdvantages).toEqual([g[0].advantage, g[0].advantage, g[0].advantage]);
  });
});
