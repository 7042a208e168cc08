/**
 * report.html of a training run: the run directory's files (config.json,
 * metrics.jsonl, eval.jsonl, samples.jsonl) rendered with the report module
 * (src/report): training curves first, then the reasoning-failure figures of
 * docs/method.md §8 for the evaluation before training and after the last step, then
 * a few rollouts with their step labels and shaped advantages.
 */
import { lineChartSvg, type Chart, type ChartRow } from '../report/charts.js';
import type { Table } from '../report/html.js';
import { renderReport, type ReportRun, type ReportSection } from '../report/report.js';
import type { FailureSummary } from '../algo/failure.js';
import { readLog, RunDir } from '../train/run-dir.js';
import { writeFileAtomic } from './io.js';

interface EvalLine {
  step: number;
  accuracy: number;
  summary: FailureSummary;
}

interface SampleLine {
  step: number;
  item: string;
  text: string;
  answer: string;
  correct: boolean;
  advantage: number;
  rewards: { answer: number; process: number; length: number };
  steps: Array<{ text: string; label: 0 | 1 | null; advantage: number }>;
}

async function curves(metrics: ReadonlyArray<Record<string, unknown>>): Promise<Chart[]> {
  const rows = metrics.filter((m) => typeof m.step === 'number') as ChartRow[];
  const trainRows = rows.filter((r) => (r.step as number) > 0);
  const has = (k: string) => trainRows.some((r) => typeof r[k] === 'number');
  const charts: Chart[] = [];
  if (has('reward/total'))
    charts.push(
      await lineChartSvg({ rows: trainRows, x: 'step', y: ['reward/total', 'reward/answer', 'reward/process', 'reward/length'], title: 'Rewards (training rollouts)', xTitle: 'step' }),
    );
  if (has('steps/ffp_early'))
    charts.push(
      await lineChartSvg({ rows: trainRows, x: 'step', y: ['steps/ffp_early', 'steps/ffp_mid', 'steps/ffp_late'], title: 'FFP stage shares (training rollouts)', xTitle: 'step', yFormat: 'percent', yDomain: [0, 1] }),
    );
  if (has('loss/total')) charts.push(await lineChartSvg({ rows: trainRows, x: 'step', y: ['loss/total'], title: 'Loss', xTitle: 'step' }));
  const evalRows = rows.filter((r) => typeof r['eval/accuracy'] === 'number');
  if (evalRows.length > 0)
    charts.push(
      await lineChartSvg({ rows: evalRows, x: 'step', y: ['eval/accuracy', 'eval/ffp_early'], title: 'Held-out accuracy and early-failure share', xTitle: 'step', yFormat: 'percent', yDomain: [0, 1] }),
    );
  return charts;
}

function samplesTable(samples: readonly SampleLine[]): Table {
  const last = samples.length === 0 ? 0 : samples[samples.length - 1].step;
  const rows = samples
    .filter((s) => s.step === last)
    .map((s) => [
      s.item,
      s.steps.map((st, i) => `[${i + 1}|${st.label === null ? '?' : st.label === 1 ? 'valid' : 'invalid'}|${st.advantage.toFixed(2)}] ${st.text}`).join('  '),
      s.answer,
      s.correct ? 'yes' : 'no',
      s.advantage,
    ]);
  return {
    caption: `Rollouts of step ${last}: each step as [k | label | advantage of its tokens] text`,
    columns: [{ title: 'item' }, { title: 'steps' }, { title: 'answer' }, { title: 'correct' }, { title: 'A_i', format: 'fixed3' }],
    rows,
  };
}

/** Renders `report.html` into the run directory and returns its path. */
export async function writeRunReport(runPath: string, title?: string): Promise<string> {
  const run = new RunDir(runPath);
  const config = (await run.readConfigJson()) as { algorithm?: string; steps?: number };
  const metrics = await readLog(run.file('metrics'));
  const evals = await readLog<EvalLine>(run.file('evals'));
  const samples = await readLog<SampleLine>(run.file('samples'));
  const runs: ReportRun[] = [];
  const first = evals[0];
  const last = evals[evals.length - 1];
  if (first !== undefined) runs.push({ label: `step ${first.step} (before)`, summary: first.summary });
  if (last !== undefined && last !== first) runs.push({ label: `step ${last.step} (after)`, summary: last.summary });
  const sections: ReportSection[] = [
    {
      title: 'Training',
      placement: 'before',
      paragraphs: [
        `Algorithm ${config.algorithm ?? '?'}, ${config.steps ?? '?'} steps. Evaluation: greedy answers on held-out items, steps judged against the gold rationale.`,
      ],
      charts: await curves(metrics),
      tables: [
        {
          caption: 'Held-out evaluations',
          columns: [{ title: 'step', format: 'integer' }, { title: 'accuracy', format: 'percent' }, { title: 'failed traces', format: 'integer' }, { title: 'early', format: 'percent' }, { title: 'mid', format: 'percent' }, { title: 'late', format: 'percent' }],
          rows: evals.map((e) => [e.step, e.accuracy, e.summary.withFailure, e.summary.stageShare.early, e.summary.stageShare.mid, e.summary.stageShare.late]),
        },
      ],
    },
  ];
  if (samples.length > 0) sections.push({ title: 'Sample rollouts', tables: [samplesTable(samples)] });
  const html = await renderReport({ title: title ?? `mrpo run: ${config.algorithm ?? ''}`, subtitle: runPath, runs, extraSections: sections });
  await writeFileAtomic(run.file('report'), html);
  return run.file('report');
}
