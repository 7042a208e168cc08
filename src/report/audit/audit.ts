/**
 * The judge audit (docs/judge-audit.md): two or more judges' verdicts on the
 * same completions, optionally against hand labels, compared per criterion —
 * the step label (Alignment ∨ Contribution, docs/method.md §3), Alignment,
 * Contribution, and the answer verdict. Per comparison: agreement, Cohen's κ
 * (pairs) or Fleiss' κ (all judges, when more than two) with cluster-bootstrap
 * 95% intervals over completions, the confusion matrix, and the same split by
 * step position (FFP stage of the step, first third / middle / last) and by
 * FFP bin. Per judge: invalid rate by stage against the reference (position
 * bias), what its labels do to the FFP stage shares and FAR, unjudged counts
 * and cost. Pure: the CLI (src/cli/commands/judge-audit.ts) reads the files.
 */
import { binOf, FFP_BIN_COUNT, stageOf, summarizeFailures, type FfpStage } from '../../algo/failure.js';
import type { StepLabel } from '../../types.js';
import { createRng, type Rng } from '../../utils/rng.js';
import { agreementOf, bootstrapInterval, cohenKappaOf, confusion, fleissKappa, type Confusion, type Interval } from './agreement.js';

export interface AuditVerdict {
  readonly alignment: 0 | 1;
  readonly contribution: 0 | 1;
}

/** One rater's view of one completion; null fields are unjudged (or not labelled). */
export interface AuditCompletion {
  readonly correct: boolean | null;
  readonly stepLabels: readonly StepLabel[] | null;
  readonly verdicts: readonly AuditVerdict[] | null;
}

export interface AuditRater {
  readonly name: string;
  /** Aligned with the audit's completion keys. */
  readonly completions: readonly AuditCompletion[];
  /** Verdicts the judge did not give (filled as invalid) and gave beyond the steps, summed. */
  readonly missing?: number;
  readonly extra?: number;
  /** What judging cost, summed over the lines that record it (answer and step judgements); null when none does. */
  readonly cost?: JudgeCost | null;
}

export interface JudgeCost {
  /** Lines that record their cost (of the audit's completions). */
  readonly lines: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** USD at the prices the judging ran with; null when some tokens had no known price. */
  readonly costUsd: number | null;
}

export const CRITERIA = ['label', 'alignment', 'contribution', 'answer'] as const;
export type Criterion = (typeof CRITERIA)[number];

export interface AuditOptions {
  readonly resamples: number;
  readonly seed: number;
  /** `retest`: the judges are two runs of one judge; the pair's κ is test–retest reliability. */
  readonly mode: 'judges' | 'retest';
}

export interface AgreementStats {
  readonly units: number;
  readonly completions: number;
  readonly agreement: number | null;
  readonly agreementCI: Interval;
  /** Cohen's κ (pairs) or Fleiss' κ (more than two raters). */
  readonly kappa: number | null;
  readonly kappaCI: Interval;
}

export interface Comparison extends AgreementStats {
  readonly raters: readonly string[];
  readonly statistic: 'cohen' | 'fleiss';
  /** Pairs only: rows = first rater (0, 1), columns = second. */
  readonly confusion: Confusion | null;
  /** Step criteria only: by the FFP stage and FFP bin of the step's position. */
  readonly byStage: Readonly<Record<FfpStage, AgreementStats>> | null;
  readonly byBin: readonly AgreementStats[] | null;
}

export interface PositionBias {
  readonly judge: string;
  /** Share of steps labelled invalid, by stage, by the judge and by the reference on the same steps. */
  readonly invalidRate: Readonly<Record<FfpStage, { readonly judge: number | null; readonly reference: number | null; readonly steps: number }>>;
  /** Judge − reference invalid rate on early steps minus the same on late steps: > 0 means the judge is harsher early than late, relative to the reference. */
  readonly earlyMinusLate: number | null;
}

export interface FailureImpact {
  readonly rater: string;
  readonly traces: number;
  readonly failedShare: number | null;
  readonly stageShare: { readonly early: number | null; readonly mid: number | null; readonly late: number | null };
  readonly far: number | null;
  /** This rater minus the baseline (the reference, or the first judge) on the same traces. */
  readonly delta: { readonly failedShare: number | null; readonly early: number | null; readonly mid: number | null; readonly late: number | null; readonly far: number | null };
}

export interface JudgeCounts {
  readonly judge: string;
  readonly completions: number;
  readonly unjudgedSteps: number;
  readonly unjudgedAnswers: number;
  readonly missing: number | null;
  readonly extra: number | null;
  readonly cost: JudgeCost | null;
}

export interface AuditResult {
  readonly mode: 'judges' | 'retest';
  readonly judges: readonly string[];
  readonly reference: string | null;
  readonly completions: number;
  readonly resamples: number;
  readonly seed: number;
  /** Per criterion: between the judges (every pair, and Fleiss over all when more than two), and each judge against the reference. */
  readonly criteria: Readonly<Record<Criterion, { readonly betweenJudges: readonly Comparison[]; readonly vsReference: readonly Comparison[] }>>;
  readonly positionBias: readonly PositionBias[];
  readonly failureImpact: readonly FailureImpact[];
  readonly counts: readonly JudgeCounts[];
}

/** One unit: the labels of every rater in a comparison, with the step's position. */
interface Unit {
  readonly labels: readonly number[];
  readonly stage: FfpStage | null;
  readonly bin: number | null;
}

function labelsOf(c: AuditCompletion, criterion: Criterion): readonly number[] | null {
  switch (criterion) {
    case 'answer':
      return c.correct === null ? null : [c.correct ? 1 : 0];
    case 'label':
      return c.stepLabels ?? (c.verdicts === null ? null : c.verdicts.map((v) => (v.alignment === 1 || v.contribution === 1 ? 1 : 0)));
    case 'alignment':
      return c.verdicts === null || c.verdicts.length === 0 ? null : c.verdicts.map((v) => v.alignment);
    case 'contribution':
      return c.verdicts === null || c.verdicts.length === 0 ? null : c.verdicts.map((v) => v.contribution);
  }
}

/** Clusters (one per completion) of units every rater labelled. */
function clustersFor(raters: readonly AuditRater[], criterion: Criterion, n: number): Unit[][] {
  const out: Unit[][] = [];
  for (let i = 0; i < n; i++) {
    const ls = raters.map((r) => labelsOf(r.completions[i], criterion));
    if (ls.some((l) => l === null)) continue;
    const len = Math.min(...ls.map((l) => (l as readonly number[]).length));
    const units: Unit[] = [];
    for (let s = 0; s < len; s++)
      units.push({
        labels: ls.map((l) => (l as readonly number[])[s]),
        stage: criterion === 'answer' ? null : stageOf(s + 1, len),
        bin: criterion === 'answer' ? null : binOf(s + 1, len),
      });
    if (units.length > 0) out.push(units);
  }
  return out;
}

function kappaOf(units: readonly Unit[], raters: number): number | null {
  if (units.length === 0) return null;
  if (raters === 2) return cohenKappaOf(confusion(units.map((u) => u.labels[0]), units.map((u) => u.labels[1])));
  return fleissKappa(Array.from({ length: raters }, (_, r) => units.map((u) => u.labels[r])));
}

/** Mean pairwise agreement of a unit (1 when all raters agree, for two raters). */
function agreementOfUnits(units: readonly Unit[], raters: number): number | null {
  if (units.length === 0) return null;
  if (raters === 2) return agreementOf(confusion(units.map((u) => u.labels[0]), units.map((u) => u.labels[1])));
  let s = 0;
  for (const u of units) {
    const ones = u.labels.reduce((a, x) => a + x, 0);
    const zeros = raters - ones;
    s += (ones * (ones - 1) + zeros * (zeros - 1)) / (raters * (raters - 1));
  }
  return s / units.length;
}

function stats(clusters: readonly (readonly Unit[])[], raters: number, options: AuditOptions, rng: Rng): AgreementStats {
  const units = clusters.flat();
  const pooled = (f: (u: readonly Unit[]) => number | null) => (sample: readonly (readonly Unit[])[]) => f(sample.flat());
  return {
    units: units.length,
    completions: clusters.length,
    agreement: agreementOfUnits(units, raters),
    agreementCI: bootstrapInterval(clusters, pooled((u) => agreementOfUnits(u, raters)), { resamples: options.resamples, rng: rng.fork() }),
    kappa: kappaOf(units, raters),
    kappaCI: bootstrapInterval(clusters, pooled((u) => kappaOf(u, raters)), { resamples: options.resamples, rng: rng.fork() }),
  };
}

function compare(raters: readonly AuditRater[], criterion: Criterion, n: number, options: AuditOptions, rng: Rng): Comparison {
  const clusters = clustersFor(raters, criterion, n);
  const units = clusters.flat();
  const k = raters.length;
  const split = (keep: (u: Unit) => boolean) =>
    stats(
      clusters.map((c) => c.filter(keep)).filter((c) => c.length > 0),
      k,
      options,
      rng,
    );
  const steps = criterion !== 'answer';
  return {
    raters: raters.map((r) => r.name),
    statistic: k === 2 ? 'cohen' : 'fleiss',
    ...stats(clusters, k, options, rng),
    confusion: k === 2 ? confusion(units.map((u) => u.labels[0]), units.map((u) => u.labels[1])) : null,
    byStage: steps ? { early: split((u) => u.stage === 'early'), mid: split((u) => u.stage === 'mid'), late: split((u) => u.stage === 'late') } : null,
    byBin: steps ? Array.from({ length: FFP_BIN_COUNT }, (_, b) => split((u) => u.bin === b)) : null,
  };
}

function positionBias(judge: AuditRater, reference: AuditRater, n: number): PositionBias {
  const units = clustersFor([judge, reference], 'label', n).flat();
  const rate = (stage: FfpStage) => {
    const us = units.filter((u) => u.stage === stage);
    const share = (r: number) => (us.length === 0 ? null : us.filter((u) => u.labels[r] === 0).length / us.length);
    return { judge: share(0), reference: share(1), steps: us.length };
  };
  const invalidRate = { early: rate('early'), mid: rate('mid'), late: rate('late') };
  const gap = (s: FfpStage) => {
    const x = invalidRate[s];
    return x.judge === null || x.reference === null ? null : x.judge - x.reference;
  };
  const e = gap('early');
  const l = gap('late');
  return { judge: judge.name, invalidRate, earlyMinusLate: e === null || l === null ? null : e - l };
}

const sub = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a - b);

function failureImpact(rater: AuditRater, baseline: AuditRater, n: number): FailureImpact {
  const traces = (r: AuditRater, idx: readonly number[]) =>
    idx.map((i) => {
      const c = r.completions[i];
      return { correct: c.correct as boolean, stepLabels: labelsOf(c, 'label') as StepLabel[] };
    });
  const complete = (c: AuditCompletion) => c.correct !== null && labelsOf(c, 'label') !== null;
  const idx = Array.from({ length: n }, (_, i) => i).filter((i) => complete(rater.completions[i]) && complete(baseline.completions[i]));
  const summary = (r: AuditRater) => {
    const s = summarizeFailures(traces(r, idx));
    return { failedShare: s.traces === 0 ? null : s.withFailure / s.traces, stageShare: s.stageShare, far: s.far.all };
  };
  const mine = summary(rater);
  const base = summary(baseline);
  return {
    rater: rater.name,
    traces: idx.length,
    ...mine,
    delta: {
      failedShare: sub(mine.failedShare, base.failedShare),
      early: sub(mine.stageShare.early, base.stageShare.early),
      mid: sub(mine.stageShare.mid, base.stageShare.mid),
      late: sub(mine.stageShare.late, base.stageShare.late),
      far: sub(mine.far, base.far),
    },
  };
}

export function auditJudges(judges: readonly AuditRater[], reference: AuditRater | null, options: AuditOptions): AuditResult {
  if (judges.length < 2 && reference === null) throw new RangeError('an audit needs two judges, or one judge and reference labels');
  const n = judges[0].completions.length;
  if ([...judges, ...(reference === null ? [] : [reference])].some((r) => r.completions.length !== n)) throw new RangeError('raters cover different completions');
  const rng = createRng(options.seed);
  const byCriterion = (criterion: Criterion) => {
    const betweenJudges: Comparison[] = [];
    for (let a = 0; a < judges.length; a++) for (let b = a + 1; b < judges.length; b++) betweenJudges.push(compare([judges[a], judges[b]], criterion, n, options, rng));
    if (judges.length > 2) betweenJudges.push(compare(judges, criterion, n, options, rng));
    const vsReference = reference === null ? [] : judges.map((j) => compare([j, reference], criterion, n, options, rng));
    return { betweenJudges, vsReference };
  };
  const criteria = { label: byCriterion('label'), alignment: byCriterion('alignment'), contribution: byCriterion('contribution'), answer: byCriterion('answer') };
  const baseline = reference ?? judges[0];
  return {
    mode: options.mode,
    judges: judges.map((j) => j.name),
    reference: reference?.name ?? null,
    completions: n,
    resamples: options.resamples,
    seed: options.seed,
    criteria,
    positionBias: reference === null ? [] : judges.map((j) => positionBias(j, reference, n)),
    failureImpact: [...(reference === null ? [] : [reference]), ...judges].map((r) => failureImpact(r, baseline, n)),
    counts: judges.map((j) => ({
      judge: j.name,
      completions: n,
      unjudgedSteps: j.completions.filter((c) => c.stepLabels === null && c.verdicts === null).length,
      unjudgedAnswers: j.completions.filter((c) => c.correct === null).length,
      missing: j.missing ?? null,
      extra: j.extra ?? null,
      cost: j.cost ?? null,
    })),
  };
}
