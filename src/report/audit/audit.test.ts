/**
 * auditJudges on a case small enough to compute by hand (two completions of
 * three steps: step 1 early, 2 mid, 3 late).
 */
import { describe, expect, it } from 'vitest';
import type { StepLabel } from '../../types.js';
import { auditJudges, type AuditRater } from './audit.js';

const rater = (name: string, labels: StepLabel[][], correct: boolean[]): AuditRater => ({
  name,
  completions: labels.map((l, i) => ({ stepLabels: l, verdicts: null, correct: correct[i] })),
});
const R = rater('hand', [[1, 0, 0], [0, 1, 1]], [true, false]);
const A = rater('A', [[0, 0, 0], [0, 1, 1]], [true, true]);
const B = rater('B', [[1, 0, 0], [1, 1, 1]], [true, false]);
const C = rater('C', [[1, 0, 0], [0, 1, 1]], [true, false]);
const options = { resamples: 200, seed: 1, mode: 'judges' as const };

describe('auditJudges', () => {
  const r = auditJudges([A, B], R, options);

  it('compares each judge with the reference: A vs hand → confusion [[3,1],[0,2]], p_o 5/6, p_e 1/2, κ 2/3', () => {
    const a = r.criteria.label.vsReference[0];
    expect(a.raters).toEqual(['A', 'hand']);
    expect(a.confusion).toEqual([[3, 1], [0, 2]]);
    expect(a.agreement).toBeCloseTo(5 / 6, 12);
    expect(a.kappa).toBeCloseTo(2 / 3, 12);
    expect(a.units).toBe(6);
    // By position: early units (A, hand) = (0,1), (0,0) → agreement 1/2; late = (0,0), (1,1) → 1.
    expect(a.byStage?.early.agreement).toBeCloseTo(0.5, 12);
    expect(a.byStage?.late.agreement).toBe(1);
  });

  it('compares the judges with each other: A vs B → confusion [[2,2],[0,2]], κ (2/3 − 4/9)/(5/9) = 0.4; answers A vs hand κ 0', () => {
    const ab = r.criteria.label.betweenJudges[0];
    expect(ab.confusion).toEqual([[2, 2], [0, 2]]);
    expect(ab.kappa).toBeCloseTo(0.4, 12);
    expect(r.criteria.answer.vsReference[0].confusion).toEqual([[0, 0], [1, 1]]);
    expect(r.criteria.answer.vsReference[0].kappa).toBeCloseTo(0, 12);
    expect(r.criteria.alignment.vsReference[0].units).toBe(0); // no verdicts given
  });

  it('uses Fleiss’ κ over three judges: P̄ = 7/9, p_e = 1/2 → 5/9', () => {
    const three = auditJudges([A, B, C], null, options);
    const all = three.criteria.label.betweenJudges.find((c) => c.raters.length === 3);
    expect(all?.statistic).toBe('fleiss');
    expect(all?.kappa).toBeCloseTo(5 / 9, 12);
    expect(three.criteria.label.betweenJudges).toHaveLength(4); // 3 pairs + all
  });

  it('measures position bias: A calls 2/2 early steps invalid where the hand labels call 1/2; late 1/2 each → gap 0.5', () => {
    const a = r.positionBias[0];
    expect(a.invalidRate.early).toEqual({ judge: 1, reference: 0.5, steps: 2 });
    expect(a.invalidRate.late).toEqual({ judge: 0.5, reference: 0.5, steps: 2 });
    expect(a.earlyMinusLate).toBeCloseTo(0.5, 12);
  });

  it('shows what a judge does to FFP and FAR: A moves both failures early (hand: one mid), FAR unchanged at 0.5', () => {
    const hand = r.failureImpact.find((f) => f.rater === 'hand');
    const a = r.failureImpact.find((f) => f.rater === 'A');
    expect(hand?.stageShare).toEqual({ early: 0.5, mid: 0.5, late: 0 });
    expect(a?.stageShare).toEqual({ early: 1, mid: 0, late: 0 });
    expect(a?.far).toBeCloseTo(0.5, 12);
    expect(a?.delta.early).toBeCloseTo(0.5, 12);
    expect(a?.delta.far).toBeCloseTo(0, 12);
  });

  it('is deterministic for a seed, and its intervals contain κ here', () => {
    expect(auditJudges([A, B], R, options)).toEqual(r);
    const b = r.criteria.label.vsReference[1];
    expect(b.kappaCI.lo).toBeLessThanOrEqual(b.kappa as number);
    expect(b.kappaCI.hi).toBeGreaterThanOrEqual(b.kappa as number);
  });
});
