/**
 * The judge noise model: flip probabilities by position (hand-computed), the
 * observed flip rate over many labels within a binomial bound, determinism,
 * and rate 0 = the clean judge.
 */
import { describe, expect, it } from 'vitest';
import type { StepVerdict } from '../types.js';
import type { StepJudge } from './judge.js';
import { flipProbability, noisyVerdicts, withJudgeNoise } from './noise.js';

const valid: StepVerdict = { alignment: 1, contribution: 0 };
const invalid: StepVerdict = { alignment: 0, contribution: 0 };
const isValid = (v: StepVerdict): boolean => v.alignment === 1 || v.contribution === 1;

describe('flipProbability', () => {
  it('is the rate everywhere when uniform, and 2·rate falling linearly to 0 when early', () => {
    expect(flipProbability({ mode: 'uniform', rate: 0.1 }, 3, 5)).toBe(0.1);
    // 5 steps, rate 0.2: 0.4, 0.3, 0.2, 0.1, 0 (by hand: 2·0.2·(1 − i/4)).
    const early = [0, 1, 2, 3, 4].map((i) => flipProbability({ mode: 'early', rate: 0.2 }, i, 5));
    [0.4, 0.3, 0.2, 0.1, 0].forEach((p, i) => expect(early[i]).toBeCloseTo(p, 12));
    expect(flipProbability({ mode: 'early', rate: 0.2 }, 0, 1)).toBe(0.2);
    expect(flipProbability({ mode: 'early', rate: 0.8 }, 0, 3)).toBe(1); // capped
  });
});

/** Many labels: `items` completions of `n` steps, alternating valid/invalid. */
function flipsOver(mode: 'uniform' | 'early', rate: number, items: number, n: number, seed = 0): number[][] {
  const verdicts = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? valid : invalid));
  return Array.from({ length: items }, (_, k) => noisyVerdicts(verdicts, { mode, rate }, `${seed}|item-${k}`).map((v, i) => (isValid(v) === isValid(verdicts[i]) ? 0 : 1)));
}

/** |observed − expected| within 4 binomial standard deviations (two-sided p ≈ 6e-5 for a correct model). */
function expectBinomial(flips: number, trials: number, p: number): void {
  const sd = Math.sqrt(trials * p * (1 - p));
  expect(Math.abs(flips - trials * p)).toBeLessThanOrEqual(4 * sd);
}

describe('noisyVerdicts', () => {
  it('flips step labels at the configured rate over many labels (uniform 0.1 and 0.2)', () => {
    for (const rate of [0.1, 0.2]) {
      const f = flipsOver('uniform', rate, 4000, 5).flat();
      expectBinomial(f.reduce((a, b) => a + b, 0), f.length, rate);
    }
  });

  it('flips early steps more when position-biased: 2·rate at the first step, none at the last, rate on average', () => {
    const f = flipsOver('early', 0.2, 5000, 5);
    const at = (i: number) => f.reduce((a, row) => a + row[i], 0);
    expectBinomial(at(0), 5000, 0.4);
    expectBinomial(at(2), 5000, 0.2);
    expect(at(4)).toBe(0);
    expectBinomial(f.flat().reduce((a, b) => a + b, 0), 25000, 0.2);
  });

  it('flips a valid step to {0,0} and an invalid one to {1,1}, and is a fixed function of the key', () => {
    const out = noisyVerdicts([valid, invalid], { mode: 'uniform', rate: 1 }, 'k');
    expect(out).toEqual([{ alignment: 0, contribution: 0 }, { alignment: 1, contribution: 1 }]);
    expect(flipsOver('uniform', 0.3, 50, 6, 7)).toEqual(flipsOver('uniform', 0.3, 50, 6, 7));
    expect(flipsOver('uniform', 0.3, 50, 6, 7)).not.toEqual(flipsOver('uniform', 0.3, 50, 6, 8));
  });
});

describe('noisyVerdicts, target criteria (each criterion flips on its own)', () => {
  /** Observed flips of alignment, contribution and the step label for `items` copies of one verdict at one position. */
  function criteriaFlips(v: StepVerdict, rate: number, items: number) {
    const noise = { mode: 'uniform' as const, rate, target: 'criteria' as const };
    let a = 0;
    let c = 0;
    let label = 0;
    for (let k = 0; k < items; k++) {
      const [out] = noisyVerdicts([v], noise, `item-${k}`);
      a += out.alignment === v.alignment ? 0 : 1;
      c += out.contribution === v.contribution ? 0 : 1;
      label += isValid(out) === isValid(v) ? 0 : 1;
    }
    return { a, c, label };
  }

  it('flips alignment and contribution each at the rate, and the label at the rate the algebra gives', () => {
    const p = 0.2;
    const n = 20000;
    // {1, 0}: invalid only when alignment flips and contribution does not: p(1 − p) = 0.16.
    const one = criteriaFlips({ alignment: 1, contribution: 0 }, p, n);
    expectBinomial(one.a, n, p);
    expectBinomial(one.c, n, p);
    expectBinomial(one.label, n, p * (1 - p));
    // {1, 1}: invalid only when both flip: p² = 0.04.
    expectBinomial(criteriaFlips({ alignment: 1, contribution: 1 }, p, n).label, n, p * p);
    // {0, 0}: valid when either flips: 1 − (1 − p)² = 0.36.
    expectBinomial(criteriaFlips({ alignment: 0, contribution: 0 }, p, n).label, n, 1 - (1 - p) ** 2);
  });

  it('draws the two criteria independently (both flip with p², not p)', () => {
    const p = 0.3;
    const n = 20000;
    let both = 0;
    for (let k = 0; k < n; k++) {
      const [out] = noisyVerdicts([{ alignment: 0, contribution: 0 }], { mode: 'uniform', rate: p, target: 'criteria' }, `k${k}`);
      if (out.alignment === 1 && out.contribution === 1) both++;
    }
    expectBinomial(both, n, p * p);
  });

  it('is position-biased with mode early: 2·rate per criterion at the first step, none at the last', () => {
    const n = 5000;
    let first = 0;
    let last = 0;
    for (let k = 0; k < n; k++) {
      const out = noisyVerdicts([valid, valid, valid], { mode: 'early', rate: 0.2, target: 'criteria' }, `k${k}`);
      first += out[0].alignment === 0 ? 1 : 0;
      last += out[2].alignment === valid.alignment && out[2].contribution === valid.contribution ? 0 : 1;
    }
    expectBinomial(first, n, 0.4);
    expect(last).toBe(0);
  });
});

describe('withJudgeNoise', () => {
  const clean: StepJudge = {
    name: 'clean',
    judgeSteps: async ({ steps }) => ({ kind: 'judged', verdicts: steps.map(() => valid), missing: 0, extra: 0 }),
  };
  const item = { id: 'x', question: 'q', answer: 'a', goldReasoning: 'g', image: { kind: 'none' } } as never;

  it('is the clean judge itself at rate 0', () => {
    expect(withJudgeNoise(clean, { mode: 'uniform', rate: 0 }, 1)).toBe(clean);
  });

  it('applies the flips to judged results, the same for the same request, different under another seed', async () => {
    const steps = Array.from({ length: 40 }, (_, i) => `step ${i}`);
    const a = await withJudgeNoise(clean, { mode: 'uniform', rate: 0.5 }, 1).judgeSteps({ item, steps });
    const b = await withJudgeNoise(clean, { mode: 'uniform', rate: 0.5 }, 1).judgeSteps({ item, steps });
    const c = await withJudgeNoise(clean, { mode: 'uniform', rate: 0.5 }, 2).judgeSteps({ item, steps });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    if (a.kind !== 'judged') throw new Error('expected judged');
    expect(a.verdicts.filter((v) => !isValid(v)).length).toBeGreaterThan(0);
  });

  it('passes an unjudged result through', async () => {
    const failing: StepJudge = { name: 'f', judgeSteps: async () => ({ kind: 'unjudged', reason: 'timeout' }) };
    expect(await withJudgeNoise(failing, { mode: 'early', rate: 0.3 }, 0).judgeSteps({ item, steps: ['a'] })).toEqual({ kind: 'unjudged', reason: 'timeout' });
  });
});
