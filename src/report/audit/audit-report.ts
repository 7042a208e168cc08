/**
 * The judge audit as text (stdout) and as an HTML report section with
 * figures (κ by step position, invalid rate by stage against the reference),
 * from the pure result of audit.ts.
 */
import { barChartSvg, type ChartRow } from '../charts.js';
import type { Table } from '../html.js';
import { renderReport } from '../report.js';
import type { ReportSection } from '../report-types.js';
import { CRITERIA, type AgreementStats, type AuditResult, type Comparison, type Criterion, type JudgeCost } from './audit.js';

const CRITERION_TITLE: Readonly<Record<Criterion, string>> = {
  label: 'final validity (alignment ∨ contribution)',
  alignment: 'alignment',
  contribution: 'contribution',
  answer: 'answer (correct)',
};

const num = (x: number | null, d = 3): string => (x === null ? '–' : x.toFixed(d));
const ci = (s: AgreementStats): string => (s.kappaCI.lo === null || s.kappaCI.hi === null ? '' : ` [${num(s.kappaCI.lo, 2)}, ${num(s.kappaCI.hi, 2)}]`);
const kappaName = (c: Comparison, retest: boolean): string => (retest ? 'test–retest κ' : c.statistic === 'cohen' ? 'Cohen κ' : 'Fleiss κ');

function comparisonLine(c: Comparison, retest: boolean): string {
  if (c.units === 0) return `  ${c.raters.join(' vs ')}: no units both labelled\n`;
  const m = c.confusion === null ? '' : `  confusion [[${c.confusion[0].join(', ')}], [${c.confusion[1].join(', ')}]]`;
  const stages = c.byStage === null ? '' : `  κ early/mid/late ${num(c.byStage.early.kappa, 2)}/${num(c.byStage.mid.kappa, 2)}/${num(c.byStage.late.kappa, 2)}`;
  return `  ${c.raters.join(' vs ')}: ${c.units} units, agreement ${num(c.agreement)}, ${kappaName(c, retest)} ${num(c.kappa)}${ci(c)}${m}${stages}\n`;
}

/** "tokens 1200 in / 80 out, cost $0.0005" (with "over N of M lines" when not every line records it). */
function costText(cost: JudgeCost | null, completions: number): string {
  if (cost === null) return 'cost not recorded';
  const over = cost.lines === completions ? '' : ` (recorded on ${cost.lines} of ${completions} lines)`;
  return `tokens ${cost.promptTokens} in / ${cost.completionTokens} out, cost ${cost.costUsd === null ? 'unknown (no prices for the model)' : `$${cost.costUsd.toFixed(4)}`}${over}`;
}

export function auditText(r: AuditResult): string {
  const parts: string[] = [`judge audit: ${r.judges.join(', ')}${r.reference === null ? '' : ` against ${r.reference}`}; ${r.completions} completions; ${r.resamples} bootstrap resamples (seed ${r.seed}), 95% intervals\n`];
  for (const k of CRITERIA) {
    const { betweenJudges, vsReference } = r.criteria[k];
    parts.push(`${CRITERION_TITLE[k]}:\n`);
    for (const c of [...betweenJudges, ...vsReference]) parts.push(comparisonLine(c, r.mode === 'retest'));
  }
  for (const b of r.positionBias)
    parts.push(
      `position bias ${b.judge}: invalid early ${num(b.invalidRate.early.judge, 2)} vs ${num(b.invalidRate.early.reference, 2)} (reference), late ${num(b.invalidRate.late.judge, 2)} vs ${num(b.invalidRate.late.reference, 2)}; early−late gap ${num(b.earlyMinusLate, 2)}\n`,
    );
  for (const f of r.failureImpact)
    parts.push(`FFP/FAR ${f.rater}: ${f.traces} traces, failed ${num(f.failedShare, 2)}, early/mid/late ${num(f.stageShare.early, 2)}/${num(f.stageShare.mid, 2)}/${num(f.stageShare.late, 2)}, FAR ${num(f.far, 2)}\n`);
  for (const c of r.counts)
    parts.push(`${c.judge}: unjudged steps ${c.unjudgedSteps}, unjudged answers ${c.unjudgedAnswers}, missing ${c.missing ?? '–'}, extra ${c.extra ?? '–'}, ${costText(c.cost, c.completions)}\n`);
  return parts.join('');
}

const kappaRow = (criterion: Criterion, c: Comparison): (string | number | null)[] => [
  CRITERION_TITLE[criterion],
  c.raters.join(' vs '),
  c.units,
  c.agreement,
  c.kappa,
  c.kappaCI.lo,
  c.kappaCI.hi,
  c.confusion === null ? '–' : `[[${c.confusion[0].join(', ')}], [${c.confusion[1].join(', ')}]]`,
];

export async function auditSection(r: AuditResult): Promise<ReportSection> {
  const comparisons = CRITERIA.flatMap((k) => [...r.criteria[k].betweenJudges, ...r.criteria[k].vsReference].map((c) => [k, c] as const));
  const kappaTable: Table = {
    caption: `κ per criterion (${r.mode === 'retest' ? 'test–retest' : 'Cohen for pairs, Fleiss for all judges'}), 95% cluster-bootstrap intervals over completions (${r.resamples} resamples, seed ${r.seed}); confusion rows = first rater, columns = second, [0, 1]`,
    columns: [{ title: 'criterion' }, { title: 'raters' }, { title: 'units', format: 'integer' }, { title: 'agreement', format: 'percent' }, { title: 'κ', format: 'fixed3' }, { title: 'κ low', format: 'fixed3' }, { title: 'κ high', format: 'fixed3' }, { title: 'confusion' }],
    rows: comparisons.map(([k, c]) => kappaRow(k, c)),
  };
  /** κ by step position (FFP stage) for one step criterion, every comparison (against the reference first). */
  const stageRows = (k: Criterion): ChartRow[] =>
    [...r.criteria[k].vsReference, ...r.criteria[k].betweenJudges].flatMap((c) =>
      c.byStage === null ? [] : (['early', 'mid', 'late'] as const).map((s) => ({ stage: s, κ: c.byStage?.[s].kappa ?? null, comparison: c.raters.join(' vs ') })),
    );
  const biasRows: ChartRow[] = r.positionBias.flatMap((b) =>
    (['early', 'mid', 'late'] as const).flatMap((s) => [
      { stage: s, rate: b.invalidRate[s].judge, rater: b.judge },
      ...(b === r.positionBias[0] ? [{ stage: s, rate: b.invalidRate[s].reference, rater: r.reference ?? 'reference' }] : []),
    ]),
  );
  const charts = [
    ...(await Promise.all(
      // A criterion no two raters labelled (e.g. files with step labels only) gets no figure.
      (['label', 'alignment', 'contribution'] as const).filter((k) => stageRows(k).some((row) => row.κ !== null)).map((k) =>
        barChartSvg({ rows: stageRows(k), x: 'stage', y: 'κ', series: 'comparison', title: `κ of ${CRITERION_TITLE[k]} by step position (FFP stage)`, xTitle: 'step position', yDomain: [-1, 1] }),
      ),
    )),
    ...(biasRows.length === 0 ? [] : [await barChartSvg({ rows: biasRows, x: 'stage', y: 'rate', series: 'rater', title: 'Share of steps labelled invalid, by position', xTitle: 'step position', yFormat: 'percent', yDomain: [0, 1] })]),
  ];
  const impact: Table = {
    caption: `FFP stage shares and FAR from each rater's labels (Δ against ${r.reference ?? r.judges[0]})`,
    columns: [{ title: 'rater' }, { title: 'traces', format: 'integer' }, { title: 'failed', format: 'percent' }, { title: 'early', format: 'percent' }, { title: 'mid', format: 'percent' }, { title: 'late', format: 'percent' }, { title: 'FAR', format: 'percent' }, { title: 'Δ early', format: 'percent' }, { title: 'Δ FAR', format: 'percent' }],
    rows: r.failureImpact.map((f) => [f.rater, f.traces, f.failedShare, f.stageShare.early, f.stageShare.mid, f.stageShare.late, f.far, f.delta.early, f.delta.far]),
  };
  const counts: Table = {
    caption: 'Unjudged and cost per judge (answer and step judgements; tokens as the endpoint reported them, 0 for cache hits and offline judges)',
    columns: [
      { title: 'judge' },
      { title: 'completions', format: 'integer' },
      { title: 'unjudged steps', format: 'integer' },
      { title: 'unjudged answers', format: 'integer' },
      { title: 'missing', format: 'integer' },
      { title: 'extra', format: 'integer' },
      { title: 'lines with cost', format: 'integer' },
      { title: 'tokens in', format: 'integer' },
      { title: 'tokens out', format: 'integer' },
      { title: 'cost USD' },
    ],
    rows: r.counts.map((c) => [
      c.judge,
      c.completions,
      c.unjudgedSteps,
      c.unjudgedAnswers,
      c.missing,
      c.extra,
      c.cost?.lines ?? 0,
      c.cost?.promptTokens ?? null,
      c.cost?.completionTokens ?? null,
      c.cost === null ? 'not recorded' : c.cost.costUsd === null ? 'unknown prices' : c.cost.costUsd.toFixed(4),
    ]),
  };
  return {
    title: r.mode === 'retest' ? 'Judge audit: test–retest' : 'Judge audit',
    placement: 'before',
    paragraphs: [`${r.judges.join(', ')}${r.reference === null ? '' : ` against ${r.reference}`}, over ${r.completions} completions (docs/judge-audit.md).`],
    charts,
    tables: [kappaTable, impact, counts],
  };
}

export async function auditHtml(r: AuditResult, files: readonly string[]): Promise<string> {
  return renderReport({ title: 'mrpo judge audit', subtitle: files.join(', '), runs: [], extraSections: [await auditSection(r)] });
}
