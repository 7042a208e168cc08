/**
 * The paper's reasoning-failure figures (docs/method.md §8) and the accuracy-per-
 * benchmark figure (§9), as charts over one or several runs coloured by run
 * label: share of failed traces per FFP stage, FAR per FFP bin for correct vs
 * incorrect answers, incorrect-answer rate per FFP bin, accuracy per source.
 * Null values (an empty bin, FAR undefined) are gaps, never zeros.
 */
import { barChartSvg, valueLabelLayer, vegaLiteChart, type Chart, type ChartRow } from './charts.js';
import type { ReportRun } from './report-types.js';

export const STAGES = ['early', 'mid', 'late'] as const;

/** "(0, 0.2]" … "(0.8, 1]" — upper edge inclusive, as the bins are defined. */
export function binLabel(lo: number, hi: number): string {
  const f = (v: number) => String(Math.round(v * 1000) / 1000);
  return `(${f(lo)}, ${f(hi)}]`;
}

export function stageShareChart(runs: readonly ReportRun[]): Promise<Chart> {
  // Shares of zero failed traces are undefined: a gap (the summary reports 0s there).
  const rows: ChartRow[] = runs.flatMap((run) =>
    STAGES.map((stage) => ({ stage, share: run.summary.withFailure > 0 ? run.summary.stageShare[stage] : null, run: run.label })),
  );
  return barChartSvg({
    rows,
    x: 'stage',
    y: 'share',
    series: 'run',
    seriesOrder: runs.map((r) => r.label),
    xOrder: STAGES,
    title: 'Share of failed traces per FFP stage',
    xTitle: 'FFP stage (early ≤ 1/3 < mid ≤ 2/3 < late)',
    yTitle: 'share of failed traces',
    yFormat: 'percent',
    yDomain: [0, 1],
  });
}

export function incorrectRateChart(runs: readonly ReportRun[]): Promise<Chart> {
  const rows: ChartRow[] = runs.flatMap((run) =>
    run.summary.bins.map((b) => ({ bin: binLabel(b.lo, b.hi), rate: b.incorrectRate, run: run.label })),
  );
  return barChartSvg({
    rows,
    x: 'bin',
    y: 'rate',
    series: 'run',
    seriesOrder: runs.map((r) => r.label),
    xOrder: binOrder(runs),
    title: 'Incorrect-answer rate per FFP bin',
    xTitle: 'FFP bin',
    yTitle: 'incorrect answers',
    yFormat: 'percent',
    yDomain: [0, 1],
  });
}

/**
 * FAR per FFP bin for correct vs incorrect answers. One run: bars coloured by
 * answer correctness. Several runs: one panel per correctness, bars coloured by run.
 */
export function farChart(runs: readonly ReportRun[]): Promise<Chart> {
  const title = 'Failure accumulation rate (FAR) per FFP bin, correct vs incorrect answers';
  const bins = binOrder(runs);
  if (runs.length === 1) {
    const rows: ChartRow[] = runs[0].summary.bins.flatMap((b) => [
      { bin: binLabel(b.lo, b.hi), far: b.far.correct, answer: 'correct' },
      { bin: binLabel(b.lo, b.hi), far: b.far.incorrect, answer: 'incorrect' },
    ]);
    return barChartSvg({
      rows,
      x: 'bin',
      y: 'far',
      series: 'answer',
      seriesOrder: ['correct', 'incorrect'],
      xOrder: bins,
      title,
      xTitle: 'FFP bin',
      yTitle: 'mean FAR',
      yFormat: 'percent',
      yDomain: [0, 1],
    });
  }
  const values = runs.flatMap((run) =>
    run.summary.bins.flatMap((b) =>
      (['correct', 'incorrect'] as const).flatMap((answer) => {
        const far = b.far[answer];
        return far === null || !Number.isFinite(far) ? [] : [{ bin: binLabel(b.lo, b.hi), far, run: run.label, answer: `${answer} answers` }];
      }),
    ),
  );
  const labels = runs.map((r) => r.label);
  return vegaLiteChart(title, {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values },
    facet: { column: { field: 'answer', type: 'nominal', title: null, sort: ['correct answers', 'incorrect answers'] } },
    spec: {
      width: 260,
      height: 200,
      encoding: {
        x: { field: 'bin', type: 'nominal', sort: bins, scale: { domain: bins }, title: 'FFP bin', axis: { labelAngle: -30 } },
        xOffset: { field: 'run', type: 'nominal', scale: { domain: labels } },
        y: { field: 'far', type: 'quantitative', title: 'mean FAR', axis: { format: '.0%' }, scale: { domain: [0, 1] } },
      },
      layer: [
        { mark: { type: 'bar', tooltip: false }, encoding: { color: { field: 'run', type: 'nominal', scale: { domain: labels }, legend: { title: 'run', orient: 'bottom' } } } },
        ...(values.length <= 24 ? [valueLabelLayer('far', 'percent')] : []),
      ],
    },
    resolve: { scale: { x: 'shared' } },
    config: { font: 'sans-serif', axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' }, header: { labelFontSize: 12 } },
  });
}

/** Accuracy per source (benchmark), with an "overall" group first; null when no run has per-source accuracy. */
export async function accuracyChart(runs: readonly ReportRun[]): Promise<Chart | null> {
  if (!runs.some((r) => (r.accuracyBySource?.length ?? 0) > 0)) return null;
  const rows: ChartRow[] = [];
  const order = ['overall'];
  for (const run of runs) {
    if (run.summary.accuracy !== undefined && run.summary.accuracy !== null) rows.push({ source: 'overall', accuracy: run.summary.accuracy, run: run.label });
    for (const s of run.accuracyBySource ?? []) {
      if (!order.includes(s.source)) order.push(s.source);
      rows.push({ source: s.source, accuracy: s.accuracy, run: run.label });
    }
  }
  return barChartSvg({
    rows,
    x: 'source',
    y: 'accuracy',
    series: 'run',
    seriesOrder: runs.map((r) => r.label),
    xOrder: order,
    title: 'Accuracy per benchmark',
    xTitle: 'benchmark (source)',
    yTitle: 'accuracy',
    yFormat: 'percent',
    yDomain: [0, 1],
  });
}

function binOrder(runs: readonly ReportRun[]): string[] {
  const order: string[] = [];
  for (const run of runs) for (const b of run.summary.bins) if (!order.includes(binLabel(b.lo, b.hi))) order.push(binLabel(b.lo, b.hi));
  return order;
}
