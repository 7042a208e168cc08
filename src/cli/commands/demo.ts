/**
 * `mrpo demo` (`npm start`): the embedded default end to end. A small
 * vision-language policy, warm-started to fail early on the synthetic medical
 * VQA task (from the checkpoint committed in `assets/warm-start`, or trained on
 * the spot with SFT on the task's warm-start mix), is trained with MRPO; the
 * demo ends with a before/after table (accuracy and the share of failed traces
 * whose first failure is early) and the path of the report.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveConfig, type TrainConfig } from '../../train/config.js';
import { loadTrainConfig } from '../../train/config-file.js';
import type { EvalRecord } from '../../train/loop.js';
import { numberFlag, parseFlags, stringFlag } from '../args.js';
import type { CliIo, Command } from '../command.js';
import { trainRun } from '../train-runner.js';
import { checkPathKind } from '../io.js';
import { UsageError } from '../../errors.js';
import { configFlagSpec, configFlagValues } from './train.js';

/** The committed warm start: `<package root>/assets/warm-start` (policy files of the embedded backend). */
export const BUNDLED_WARM_START = resolve(dirname(fileURLToPath(import.meta.url)), '../../../assets/warm-start');

/** Settings of the demo's MRPO phase (and the experiment's RL runs): sized for ≈5 minutes on 2 CPU cores. */
export const DEMO_RL: Partial<TrainConfig> = {
  steps: 30,
  promptsPerStep: 8,
  groupSize: 8,
  learningRate: 1e-3,
  evalInterval: 10,
  evalSize: 64,
  checkpointInterval: 10,
};

/** Settings of an SFT warm start trained on the spot (what produced assets/warm-start). */
export const WARM_START_SFT: Partial<TrainConfig> = {
  algorithm: 'sft',
  sftData: 'warm-start-mix',
  steps: 250,
  sftBatchSize: 32,
  learningRate: 3e-3,
  lrSchedule: 'constant',
  evalInterval: 50,
  evalSize: 64,
  checkpointInterval: 25,
};

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
}

/** The warm-start checkpoint to use: a given path, the bundled one, or one trained now into `<out>/warm-start`. */
export async function ensureWarmStart(options: {
  readonly given: string | undefined;
  readonly out: string;
  readonly seed: number;
  readonly io: CliIo;
  readonly warmSteps?: number;
}): Promise<{ path: string; how: string }> {
  const { given, io } = options;
  if (given !== undefined && given !== 'train') return { path: resolve(io.cwd, given), how: `checkpoint ${given}` };
  if (given === undefined && existsSync(join(BUNDLED_WARM_START, 'tokenizer.json'))) return { path: BUNDLED_WARM_START, how: 'the committed checkpoint assets/warm-start' };
  const dir = join(options.out, 'warm-start');
  const config = resolveConfig({ ...WARM_START_SFT, seed: options.seed, ...(options.warmSteps === undefined ? {} : { steps: options.warmSteps }) }, 'warm start');
  const done = existsSync(join(dir, 'checkpoints', `step-${config.steps}`, 'trainer.json'));
  if (!done) await trainRun({ config, out: dir, io, label: 'warm start (SFT)', resume: existsSync(join(dir, 'config.json')), report: false });
  return { path: dir, how: `SFT on the warm-start mix, ${config.steps} steps (${dir})` };
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

export function beforeAfterTable(before: EvalRecord, after: EvalRecord, afterLabel: string): string {
  const rows: Array<[string, EvalRecord]> = [
    ['before (warm start)', before],
    [afterLabel, after],
  ];
  const header = ['', 'accuracy', 'early-failure share', 'failed traces'];
  const body = rows.map(([label, e]) => [label, pct(e.accuracy), e.summary.stageShare.early === null ? '–' : pct(e.summary.stageShare.early), `${e.summary.withFailure}/${e.summary.traces}`]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('   ');
  return [line(header), ...body.map(line)].join('\n');
}

export const demoCommand: Command = {
  name: 'demo',
  help: [
    'Usage: mrpo demo [--steps N] [--out DIR] [--seed S] [--warm-start DIR|train] [--warm-steps N]',
    '',
    'Trains a small vision-language policy on the CPU with MRPO on the synthetic medical VQA task,',
    'starting from a warm start that fails early (the committed checkpoint assets/warm-start, or',
    'SFT on the spot with --warm-start train), and prints accuracy and the early-failure share of',
    'failed traces before and after, with the path of the HTML report.',
    '',
    'Flags:',
    `  --steps N          MRPO steps (default ${DEMO_RL.steps})`,
    '  --out DIR          output directory (default runs/demo-<date>-<time>)',
    '  --seed S           training seed (default 0)',
    '  --warm-start DIR   start from this checkpoint (a run directory or checkpoints/step-N);',
    '                     `train` trains the warm start now (SFT, several minutes on 2 cores)',
    `  --warm-steps N     SFT steps when training the warm start (default ${WARM_START_SFT.steps})`,
    '  --<config key> V   any `mrpo train` config flag overrides the demo\'s MRPO settings',
    `                     (defaults: ${Object.entries(DEMO_RL).map(([k, v]) => `${k} ${String(v)}`).join(', ')})`,
    '',
    'Example:',
    '  npm start -- --steps 10 --out runs/demo-small --seed 1',
  ].join('\n'),
  async run(args, io) {
    const parsed = parseFlags('demo', args, {
      ...configFlagSpec,
      out: { type: 'string' },
      'warm-start': { type: 'string' },
      'warm-steps': { type: 'string' },
    });
    const steps = numberFlag(parsed, 'steps', { integer: true, min: 1 }) ?? (DEMO_RL.steps as number);
    const seed = numberFlag(parsed, 'seed', { integer: true, min: 0 }) ?? 0;
    const out = resolve(io.cwd, stringFlag(parsed, 'out') ?? join('runs', `demo-${stamp()}`));
    const flags = configFlagValues(parsed.values);
    // Validate the flags before any training starts.
    const base = { ...DEMO_RL, evalInterval: Math.min(DEMO_RL.evalInterval as number, steps) };
    const planned = await loadTrainConfig({ base: { ...base, algorithm: 'mrpo' }, flags });
    await checkPathKind(out, '--out', 'directory', io);
    if (existsSync(join(out, planned.algorithm, 'config.json')))
      throw new UsageError(`--out ${out}: already holds a demo run (${planned.algorithm}/config.json); choose another --out or remove it (the demo starts afresh)`);
    const warm = await ensureWarmStart({ given: stringFlag(parsed, 'warm-start'), out, seed, io, warmSteps: numberFlag(parsed, 'warm-steps', { integer: true, min: 1 }) });
    io.stderr.write(`warm start: ${warm.how}\n`);
    const config = await loadTrainConfig({ base: { ...base, algorithm: 'mrpo', init: warm.path }, flags });
    const name = config.algorithm.toUpperCase();
    const result = await trainRun({ config, out: join(out, config.algorithm), io, label: name, provenance: { warmStart: warm.how } });
    const before = result.evals[0];
    const after = result.evals[result.evals.length - 1];
    io.stdout.write(`\n${beforeAfterTable(before, after, `after ${name} (${config.steps} steps)`)}\n\n`);
    io.stdout.write(`Early-failure share: of the failed traces (some step judged invalid), the share whose first invalid step is in the first third.\n`);
    io.stdout.write(`report: ${result.reportPath ?? '(none)'}\n`);
    return 0;
  },
};
