/**
 * What `mrpo experiment` writes after the runs: summary.json, summary.md and
 * report.html (the comparison table and accuracy curves, and with --noise the
 * per-level table and MRPO − GRPO paired by seed).
 */
import { join } from 'node:path';
import { lineChartSvg, type ChartRow } from '../../../report/charts.js';
import { renderReport, type ReportRun } from '../../../report/report.js';
import type { ReportSection } from '../../../report/report-types.js';
import { formatSpread, markdownTable, summarizeAlgorithm, type AlgorithmSummary } from '../../experiment-summary.js';
import { writeFileAtomic } from '../../io.js';
import { formatInterval, noiseMarkdown, noiseRows, pairedRows, type NoiseRow, type PairedRow } from '../../noise-summary.js';
import { noiseLabel } from './noise-levels.js';
import { runName, type ExperimentPlan, type ExperimentRuns } from './runs.js';

/** Mean accuracy per (algorithm, step) over the seeds. */
function meanCurves(rows: readonly ChartRow[]): ChartRow[] {
  const acc = new Map<string, { algorithm: string; step: number; sum: number; n: number }>();
  for (const r of rows) {
    const key = `${String(r.algorithm)}|${String(r.step)}`;
    const a = acc.get(key) ?? { algorithm: String(r.algorithm), step: Number(r.step), sum: 0, n: 0 };
    a.sum += Number(r.accuracy);
    a.n++;
    acc.set(key, a);
  }
  return [...acc.values()].map((a) => ({ algorithm: a.algorithm, step: a.step, accuracy: a.sum / a.n }));
}

async function comparisonSection(plan: ExperimentPlan, runs: ExperimentRuns, rows: readonly AlgorithmSummary[], names: readonly string[]): Promise<ReportSection> {
  const { base } = plan;
  return {
    title: 'Comparison (final held-out evaluation, mean ± sample std across seeds)',
    placement: 'before',
    paragraphs: [
      `Warm start: ${plan.warm.how}. ${base.steps} steps per run; RL runs sample ${base.promptsPerStep} prompts × ${base.groupSize} completions per step; evaluation is greedy on ${base.evalSize} held-out items, steps judged by the exact synthetic judge.`,
      'The figures below pool the seeds by averaging their summaries.',
    ],
    charts: [
      await lineChartSvg({
        rows: meanCurves(runs.curves),
        x: 'step',
        y: 'accuracy',
        series: 'algorithm',
        seriesOrder: ['warm start', ...names], // the same colours as the figures below
        title: 'Held-out accuracy during training (mean over seeds)',
        xTitle: 'step',
        yFormat: 'percent',
        yDomain: [0, 1],
      }),
    ],
    tables: [
      {
        columns: [{ title: 'method' }, { title: 'seeds', format: 'integer' }, { title: 'accuracy' }, { title: 'failed traces' }, { title: 'early' }, { title: 'mid' }, { title: 'late' }, ...rows[0].farByBin.map((_, b) => ({ title: `FAR bin ${b + 1}` }))],
        rows: rows.map((r) => [r.algorithm, r.seeds.length, formatSpread(r.accuracy), formatSpread(r.failedShare), formatSpread(r.stageShare.early), formatSpread(r.stageShare.mid), formatSpread(r.stageShare.late), ...r.farByBin.map(formatSpread)]),
      },
    ],
  };
}

function noiseSection(byNoise: readonly NoiseRow[], paired: readonly PairedRow[]): ReportSection {
  return {
    title: 'MRPO under judge noise (docs/judge-audit.md)',
    placement: 'before',
    paragraphs: ['Training sees the noisy step judge, evaluation the clean one. Means over seeds with 95% t-intervals; MRPO − GRPO paired by seed.'],
    tables: [
      {
        columns: [{ title: 'noise' }, { title: 'method' }, { title: 'seeds', format: 'integer' }, { title: 'accuracy' }, { title: 'early-failure share' }],
        rows: byNoise.map((r) => [r.noise, r.algorithm, r.seeds.length, formatInterval(r.accuracy), formatInterval(r.earlyShare)]),
      },
      {
        columns: [{ title: 'noise' }, { title: 'paired seeds' }, { title: 'Δ accuracy' }, { title: 'Δ early share' }, { title: 'MRPO better / tie / worse' }],
        rows: paired.map((p) => [p.noise, p.seeds.join(', '), formatInterval(p.accuracyDiff, true), formatInterval(p.earlyShareDiff, true), `${p.wins} / ${p.ties} / ${p.losses}`]),
      },
    ],
  };
}

/** Writes summary.json, summary.md and report.html under the experiment directory; returns the markdown table. */
export async function writeExperimentReport(plan: ExperimentPlan, runs: ExperimentRuns): Promise<string> {
  const { base, out, sweep, algorithms } = plan;
  const levelLabels = plan.levels.map(noiseLabel);
  const rows: AlgorithmSummary[] = [];
  if (runs.warmEval !== null) rows.push(summarizeAlgorithm('warm start', [{ algorithm: 'warm start', seed: 0, accuracy: runs.warmEval.accuracy, summary: runs.warmEval.summary }]));
  const names = levelLabels.flatMap((l) => algorithms.map((a) => runName(plan, a, l)));
  for (const a of names) rows.push(summarizeAlgorithm(a, runs.outcomes.filter((o) => o.algorithm === a)));
  const byNoise = noiseRows(runs.noiseRuns, algorithms, levelLabels);
  const paired = pairedRows(runs.noiseRuns, levelLabels);
  const table = sweep ? `${markdownTable(rows)}\n\n${noiseMarkdown(byNoise, paired)}` : markdownTable(rows);
  const meta = { warmStart: plan.warm.how, seeds: plan.seeds, algorithms, noise: levelLabels, steps: base.steps, promptsPerStep: base.promptsPerStep, groupSize: base.groupSize, learningRate: base.learningRate, evalSize: base.evalSize };
  await writeFileAtomic(join(out, 'summary.json'), `${JSON.stringify({ ...meta, runs: runs.outcomes, byAlgorithm: rows, ...(sweep ? { byNoise, pairedMrpoVsGrpo: paired } : {}) }, null, 2)}\n`);
  await writeFileAtomic(join(out, 'summary.md'), `${table}\n`);

  const reportRuns: ReportRun[] = rows.map((r) => ({ label: r.algorithm, summary: r.meanSummary, notes: [`seeds: ${r.seeds.join(', ')}`] }));
  const html = await renderReport({
    title: 'mrpo experiment: SFT vs GRPO vs GDPO vs MRPO from one warm start',
    subtitle: out,
    runs: reportRuns,
    extraSections: [await comparisonSection(plan, runs, rows, names), ...(sweep ? [noiseSection(byNoise, paired)] : [])],
  });
  await writeFileAtomic(join(out, 'report.html'), html);
  return table;
}
