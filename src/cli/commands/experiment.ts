/**
 * `mrpo experiment`: SFT, GRPO, GDPO and MRPO trained from the same warm start
 * over several seeds, on the same footing (same steps, prompts, group size,
 * learning rate, evaluation items), then one comparison report: accuracy, FFP
 * stage shares, failed-trace share and FAR per FFP bin, each as mean ± sample
 * std across seeds. Resumable: a finished run is reused, an unfinished one is
 * resumed from its checkpoint.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { lineChartSvg, type ChartRow } from '../../report/charts.js';
import { renderReport, type ReportRun } from '../../report/report.js';
import { ALGORITHMS, type Algorithm } from '../../train/config.js';
import { loadTrainConfig } from '../../train/config-file.js';
import type { EvalRecord } from '../../train/loop.js';
import { readLog } from '../../train/run-dir.js';
import { numberFlag, parseFlags, stringFlag } from '../args.js';
import type { Command } from '../command.js';
import { formatSpread, markdownTable, summarizeAlgorithm, type AlgorithmSummary, type RunOutcome } from '../experiment-summary.js';
import { writeFileAtomic } from '../io.js';
import { formatInterval, noiseMarkdown, noiseRows, pairedRows, type NoiseRun } from '../noise-summary.js';
import type { JudgeNoise, NoiseMode } from '../../judges/noise.js';
import { savedConfig, trainRun } from '../train-runner.js';
import { DEMO_RL, ensureWarmStart, WARM_START_SFT } from './demo.js';
import { configFlagSpec, configFlagValues } from './train.js';

/** A noise level of `--noise`: `R` or `uniform:R` (every step label flips with R), `early:R` (position-biased). */
export function parseNoiseLevel(raw: string): JudgeNoise {
  const m = /^(?:(uniform|early):)?([0-9]*\.?[0-9]+)$/.exec(raw);
  const rate = m === null ? Number.NaN : Number(m[2]);
  if (m === null || !(rate >= 0 && rate <= 1)) throw new UsageError(`--noise: expected R, uniform:R or early:R with R in [0, 1], got "${raw}"`);
  return { mode: (m[1] as NoiseMode | undefined) ?? 'uniform', rate };
}

/** The label of a noise level in tables and run directory names: "0", "0.1", "early:0.2". */
export function noiseLabel(n: JudgeNoise): string {
  return n.mode === 'uniform' || n.rate === 0 ? String(n.rate) : `${n.mode}:${n.rate}`;
}

function parseList(raw: string | undefined, flag: string): string[] | undefined {
  if (raw === undefined) return undefined;
  const xs = raw.split(',').map((x) => x.trim()).filter((x) => x !== '');
  if (xs.length === 0) throw new UsageError(`--${flag} must list at least one value`);
  return xs;
}

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

export const experimentCommand: Command = {
  name: 'experiment',
  summary: 'SFT, GRPO, GDPO and MRPO from one warm start over several seeds → one comparison report',
  help: [
    'Usage: mrpo experiment [--config FILE] [--<config key> VALUE …] [--algorithms LIST] [--seeds LIST]',
    '                       [--warm-start DIR|train] --out DIR',
    '',
    'Trains every algorithm for every seed from the same warm start with the same settings',
    '(config file and flags as for `mrpo train`; algorithm, seed and init are set per run; the',
    'SFT baseline trains on gold rationales), writes <out>/<algorithm>-seed<S>/ run directories,',
    '<out>/summary.json, <out>/summary.md and <out>/report.html. Re-running skips finished runs',
    'and resumes unfinished ones.',
    '',
    'Flags:',
    '  --noise LIST       sweep judge noise on the training step judge (docs/judge-audit.md): levels R,',
    '                     uniform:R or early:R, e.g. 0,0.1,0.2,early:0.2; runs go to',
    '                     <algorithm>-noise<level>-seed<S>/ and summary.json/md add accuracy and',
    '                     early-failure share with 95% intervals and MRPO − GRPO paired by seed',
    '                     (default: the config\'s judgeNoise, one level)',
    `  --algorithms LIST  comma-separated, from ${ALGORITHMS.join(',')} (default all)`,
    '  --seeds LIST       comma-separated training seeds (default 0,1,2)',
    '  --warm-start DIR   checkpoint to start every run from (default: the committed assets/warm-start;',
    '                     `train` trains one now with SFT on the warm-start mix)',
    `  --warm-steps N     SFT steps when training the warm start (default ${WARM_START_SFT.steps})`,
    `  --steps N          optimiser steps per run (default ${DEMO_RL.steps}); every config key has a flag (see mrpo train --help)`,
    '',
    'Example (small):',
    '  npm run -s mrpo -- experiment --seeds 0,1 --steps 10 --out runs/exp-small',
  ].join('\n'),
  async run(args, io) {
    const parsed = parseFlags('experiment', args, {
      ...configFlagSpec,
      config: { type: 'string' },
      out: { type: 'string' },
      algorithms: { type: 'string' },
      seeds: { type: 'string' },
      'warm-start': { type: 'string' },
      'warm-steps': { type: 'string' },
      noise: { type: 'string' },
    });
    const outFlag = stringFlag(parsed, 'out');
    if (outFlag === undefined) throw new UsageError('--out DIR is required');
    const out = resolve(io.cwd, outFlag);
    const algorithms = (parseList(stringFlag(parsed, 'algorithms'), 'algorithms') ?? [...ALGORITHMS]).map((a) => {
      if (!(ALGORITHMS as readonly string[]).includes(a)) throw new UsageError(`--algorithms: unknown algorithm "${a}"; expected some of ${ALGORITHMS.join(', ')}`);
      return a as Algorithm;
    });
    const seeds = (parseList(stringFlag(parsed, 'seeds'), 'seeds') ?? ['0', '1', '2']).map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 0) throw new UsageError(`--seeds: expected non-negative integers, got "${s}"`);
      return n;
    });
    const noiseList = parseList(stringFlag(parsed, 'noise'), 'noise')?.map(parseNoiseLevel);
    const file = stringFlag(parsed, 'config');
    const base = await loadTrainConfig({
      base: { ...DEMO_RL },
      file: file === undefined ? undefined : resolve(io.cwd, file),
      flags: configFlagValues(parsed.values),
    });
    const warm = await ensureWarmStart({
      given: stringFlag(parsed, 'warm-start') ?? base.init,
      out,
      seed: seeds[0],
      io,
      warmSteps: numberFlag(parsed, 'warm-steps', { integer: true, min: 1 }),
    });
    io.stderr.write(`warm start: ${warm.how}\n`);

    const sweep = noiseList !== undefined;
    const levels: readonly JudgeNoise[] = noiseList ?? [base.judgeNoise];
    const levelLabels = levels.map(noiseLabel);
    const noiseRuns: NoiseRun[] = [];
    const outcomes: RunOutcome[] = [];
    let warmEval: EvalRecord | null = null;
    const curves: ChartRow[] = [];
    for (const noise of levels)
    for (const seed of seeds)
      for (const algorithm of algorithms) {
        const label = noiseLabel(noise);
        const dir = join(out, sweep ? `${algorithm}-noise${label.replace(':', '')}-seed${seed}` : `${algorithm}-seed${seed}`);
        const config = { ...base, algorithm, seed, init: warm.path, sftData: algorithm === 'sft' ? ('gold' as const) : base.sftData, judgeNoise: noise };
        const finished = existsSync(join(dir, 'checkpoints', `step-${config.steps}`, 'trainer.json'));
        if (!finished) {
          // An unfinished run resumes with the settings it was started with.
          const resume = existsSync(join(dir, 'config.json'));
          const runConfig = resume ? await savedConfig(dir) : config;
          await trainRun({ config: runConfig, out: dir, io, label: `${algorithm} seed ${seed}`, resume, provenance: { warmStart: warm.how, experiment: out } });
        }
        const evals = await readLog<EvalRecord>(join(dir, 'eval.jsonl'));
        const last = evals[evals.length - 1];
        if (last === undefined || last.step !== config.steps) throw new UsageError(`${dir}: no final evaluation in eval.jsonl; delete the run directory to retrain it`);
        if (warmEval === null && evals[0]?.step === 0) warmEval = evals[0];
        const name = sweep ? `${algorithm} noise ${label}` : algorithm;
        outcomes.push({ algorithm: name, seed, accuracy: last.accuracy, summary: last.summary });
        noiseRuns.push({ algorithm, noise: label, seed, accuracy: last.accuracy, summary: last.summary });
        for (const e of evals) curves.push({ step: e.step, accuracy: e.accuracy, algorithm: name });
      }

    const rows: AlgorithmSummary[] = [];
    if (warmEval !== null) rows.push(summarizeAlgorithm('warm start', [{ algorithm: 'warm start', seed: 0, accuracy: warmEval.accuracy, summary: warmEval.summary }]));
    const names = levelLabels.flatMap((l) => algorithms.map((a) => (sweep ? `${a} noise ${l}` : a)));
    for (const a of names) rows.push(summarizeAlgorithm(a, outcomes.filter((o) => o.algorithm === a)));
    const byNoise = noiseRows(noiseRuns, algorithms, levelLabels);
    const paired = pairedRows(noiseRuns, levelLabels);
    const table = sweep ? `${markdownTable(rows)}\n\n${noiseMarkdown(byNoise, paired)}` : markdownTable(rows);
    const meta = { warmStart: warm.how, seeds, algorithms, noise: levelLabels, steps: base.steps, promptsPerStep: base.promptsPerStep, groupSize: base.groupSize, learningRate: base.learningRate, evalSize: base.evalSize };
    await writeFileAtomic(join(out, 'summary.json'), `${JSON.stringify({ ...meta, runs: outcomes, byAlgorithm: rows, ...(sweep ? { byNoise, pairedMrpoVsGrpo: paired } : {}) }, null, 2)}\n`);
    await writeFileAtomic(join(out, 'summary.md'), `${table}\n`);

    const reportRuns: ReportRun[] = rows.map((r) => ({ label: r.algorithm, summary: r.meanSummary, notes: [`seeds: ${r.seeds.join(', ')}`] }));
    const html = await renderReport({
      title: 'mrpo experiment: SFT vs GRPO vs GDPO vs MRPO from one warm start',
      subtitle: out,
      runs: reportRuns,
      extraSections: [
        {
          title: 'Comparison (final held-out evaluation, mean ± sample std across seeds)',
          placement: 'before',
          paragraphs: [
            `Warm start: ${warm.how}. ${base.steps} steps per run; RL runs sample ${base.promptsPerStep} prompts × ${base.groupSize} completions per step; evaluation is greedy on ${base.evalSize} held-out items, steps judged by the exact synthetic judge.`,
            'The figures below pool the seeds by averaging their summaries.',
          ],
          charts: [
            await lineChartSvg({
              rows: meanCurves(curves),
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
        },
        ...(sweep
          ? [
              {
                title: 'MRPO under judge noise (docs/judge-audit.md)',
                placement: 'before' as const,
                paragraphs: ['Training sees the noisy step judge, evaluation the clean one. Means over seeds with 95% t-intervals; MRPO − GRPO paired by seed.'],
                tables: [
                  {
                    columns: [{ title: 'noise' }, { title: 'method' }, { title: 'seeds', format: 'integer' as const }, { title: 'accuracy' }, { title: 'early-failure share' }],
                    rows: byNoise.map((r) => [r.noise, r.algorithm, r.seeds.length, formatInterval(r.accuracy), formatInterval(r.earlyShare)]),
                  },
                  {
                    columns: [{ title: 'noise' }, { title: 'paired seeds' }, { title: 'Δ accuracy' }, { title: 'Δ early share' }, { title: 'MRPO better / tie / worse' }],
                    rows: paired.map((p) => [p.noise, p.seeds.join(', '), formatInterval(p.accuracyDiff, true), formatInterval(p.earlyShareDiff, true), `${p.wins} / ${p.ties} / ${p.losses}`]),
                  },
                ],
              },
            ]
          : []),
      ],
    });
    await writeFileAtomic(join(out, 'report.html'), html);
    io.stdout.write(`${table}\n\nreport: ${join(out, 'report.html')}\n`);
    return 0;
  },
};
