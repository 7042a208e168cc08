/**
 * Agreement statistics against hand-computed small cases and published worked
 * examples (Cohen 1960 Table 1; Fleiss 1971 Table 1, with its overall and
 * per-category κ), and the bootstrap interval's coverage on simulated raters with a
 * known κ.
 */
import { describe, expect, it } from 'vitest';
import { createRng } from '../../utils/rng.js';
import { agreementOf, bootstrapInterval, cohenKappa, cohenKappaOf, confusion, fleissKappa, fleissKappaOf } from './agreement.js';

describe('Cohen’s κ and agreement', () => {
  it('matches a hand-computed case: p_o = 4/5, p_e = 12/25, κ = 0.32/0.52', () => {
    const a = [1, 1, 0, 0, 1];
    const b = [1, 0, 0, 0, 1];
    expect(confusion(a, b)).toEqual([
      [2, 0],
      [1, 2],
    ]);
    expect(agreementOf(confusion(a, b))).toBeCloseTo(0.8, 12);
    expect(cohenKappa(a, b)).toBeCloseTo(0.32 / 0.52, 12);
  });

  it('matches the worked example of the Wikipedia article "Cohen\'s kappa" (50 grant proposals: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no → p_o 0.7, p_e 0.5, κ 0.4)', () => {
    expect(cohenKappaOf([
      [20, 5],
      [10, 15],
    ])).toBeCloseTo(0.4, 12);
  });

  it('reproduces the worked example of Cohen (1960), "A coefficient of agreement for nominal scales", Table 1: 200 units, 3 categories, p_o = .70, p_c = .41, κ = .49', () => {
    // Cohen gives the table as proportions of N = 200; the counts are 200 × each cell.
    // Rows (judge A): .44 .07 .09 | .05 .20 .05 | .01 .03 .06 → row totals .60, .30, .10; column totals .50, .30, .20.
    const table = [
      [88, 14, 18],
      [10, 40, 10],
      [2, 6, 12],
    ];
    // By hand: p_o = .44 + .20 + .06 = .70; p_c = .60·.50 + .30·.30 + .10·.20 = .41; κ = .29 / .59.
    expect(agreementOf(table)).toBeCloseTo(0.7, 12);
    expect(cohenKappaOf(table)).toBeCloseTo(0.29 / 0.59, 12);
    expect(cohenKappaOf(table)).toBeCloseTo(0.492, 3); // the value printed in the paper
  });

  it('is 1 for identical raters, undefined (null) when both use one category, negative for systematic disagreement', () => {
    expect(cohenKappa([0, 1, 1, 0], [0, 1, 1, 0])).toBe(1);
    expect(cohenKappa([1, 1, 1], [1, 1, 1])).toBeNull();
    expect(cohenKappa([0, 1, 0, 1], [1, 0, 1, 0])).toBe(-1);
  });
});

describe('Fleiss’ κ', () => {
  it('matches the worked example of the Wikipedia article "Fleiss\' kappa" (10 subjects, 14 raters, 5 categories; published κ = 0.210, P̄ = 0.378, P̄e = 0.213)', () => {
    const table = [
      [0, 0, 0, 0, 14],
      [0, 2, 6, 4, 2],
      [0, 0, 3, 5, 6],
      [0, 3, 9, 2, 0],
      [2, 2, 8, 1, 1],
      [7, 7, 0, 0, 0],
      [3, 2, 6, 3, 0],
      [2, 5, 3, 2, 2],
      [6, 5, 2, 1, 0],
      [0, 2, 2, 3, 7],
    ];
    expect(fleissKappaOf(table)).toBeCloseTo(0.21, 2);
    // By hand from the table: P̄ = 0.37802, P̄e = Σ p_j² with p = (20, 28, 39, 21, 32)/140.
    const pe = [20, 28, 39, 21, 32].reduce((s, c) => s + (c / 140) ** 2, 0);
    expect(fleissKappaOf(table)).toBeCloseTo((0.378022 - pe) / (1 - pe), 5);
  });

  it('reproduces the worked example of Fleiss (1971), "Measuring nominal scale agreement among many raters", Table 1: 30 patients, 6 ratings each, 5 diagnoses; published κ = .430', () => {
    // Columns: depression, personality disorder, schizophrenia, neurosis, other (the paper's Table 1).
    const table = [
      [0, 0, 0, 6, 0], [0, 3, 0, 0, 3], [0, 1, 4, 0, 1], [0, 0, 0, 0, 6], [0, 3, 0, 3, 0],
      [2, 0, 4, 0, 0], [0, 0, 4, 0, 2], [2, 0, 3, 1, 0], [2, 0, 0, 4, 0], [0, 0, 0, 0, 6],
      [1, 0, 0, 5, 0], [1, 1, 0, 4, 0], [0, 3, 3, 0, 0], [1, 0, 0, 5, 0], [0, 2, 0, 3, 1],
      [0, 0, 5, 0, 1], [3, 0, 0, 1, 2], [5, 1, 0, 0, 0], [0, 2, 0, 4, 0], [1, 0, 2, 0, 3],
      [0, 0, 0, 0, 6], [0, 1, 0, 5, 0], [0, 2, 0, 1, 3], [2, 0, 0, 4, 0], [1, 0, 0, 4, 1],
      [0, 5, 0, 1, 0], [4, 0, 0, 0, 2], [0, 2, 0, 4, 0], [1, 0, 5, 0, 0], [0, 0, 0, 0, 6],
    ];
    expect(table.every((row) => row.reduce((a, b) => a + b, 0) === 6)).toBe(true);
    expect(fleissKappaOf(table)).toBeCloseTo(0.43, 3); // the paper's κ = .430
    // By hand from the paper's formulas: category totals 26, 26, 30, 55, 43 of 180 ratings →
    // P̄e = (26² + 26² + 30² + 55² + 43²) / 180² = 7126 / 32400; P̄ = (1/30) Σ_i (Σ_j n_ij² − 6) / 30 = 0.5556 (= 5/9).
    const pe = 7126 / 32400;
    expect(fleissKappaOf(table)).toBeCloseTo((5 / 9 - pe) / (1 - pe), 12);
    // With two categories Fleiss' κ equals the κ of either category, so "neurosis or not" must give
    // the paper's category κ for neurosis, .471 — and it goes through the binary path the audit uses.
    const neurosis = table.map((row) => row[3]);
    const raters = Array.from({ length: 6 }, (_, r) => neurosis.map((n) => (r < n ? 1 : 0)));
    expect(fleissKappa(raters)).toBeCloseTo(0.471, 3);
    const schizophrenia = table.map((row) => row[2]);
    expect(fleissKappa(Array.from({ length: 6 }, (_, r) => schizophrenia.map((n) => (r < n ? 1 : 0))))).toBeCloseTo(0.52, 3); // the paper's .520
  });

  it('equals Scott’s π for two raters (hand-computed: p_o 0.8, pooled p 0.5 → 0.6)', () => {
    expect(fleissKappa([
      [1, 1, 0, 0, 1],
      [1, 0, 0, 0, 1],
    ])).toBeCloseTo(0.6, 12);
  });
});

describe('bootstrapInterval', () => {
  it('is deterministic for a seed', () => {
    const clusters = Array.from({ length: 40 }, (_, i) => [i % 3 === 0 ? 1 : 0, i % 2]);
    const stat = (s: readonly number[][]) => cohenKappa(s.map((u) => u[0]), s.map((u) => u[1]));
    const one = bootstrapInterval(clusters, stat, { resamples: 200, rng: createRng(5) });
    expect(bootstrapInterval(clusters, stat, { resamples: 200, rng: createRng(5) })).toEqual(one);
  });

  it('covers the true κ in ≥ 90% of 95% intervals over 200 simulated datasets (raters right with prob. 0.85 on a balanced truth → κ = (2·0.85 − 1)² = 0.49)', () => {
    const trueKappa = (2 * 0.85 - 1) ** 2;
    const rng = createRng(2026);
    let covered = 0;
    let width = 0;
    const N = 200;
    for (let d = 0; d < N; d++) {
      const units = Array.from({ length: 150 }, () => {
        const t = rng.next() < 0.5 ? 1 : 0;
        const rate = () => (rng.next() < 0.85 ? t : 1 - t);
        return [rate(), rate()];
      });
      const ci = bootstrapInterval(units, (s) => cohenKappa(s.map((u) => u[0]), s.map((u) => u[1])), { resamples: 300, rng: rng.fork() });
      if (ci.lo === null || ci.hi === null) throw new Error('undefined interval');
      if (ci.lo <= trueKappa && trueKappa <= ci.hi) covered++;
      width += ci.hi - ci.lo;
    }
    expect(covered / N).toBeGreaterThanOrEqual(0.9);
    expect(covered / N).toBeLessThanOrEqual(0.99); // not trivially wide
    // The analytic SE of κ here is ≈ 0.07, so a 95% interval is ≈ 0.28 wide.
    expect(width / N).toBeGreaterThan(0.2);
    expect(width / N).toBeLessThan(0.4);
  });
});
