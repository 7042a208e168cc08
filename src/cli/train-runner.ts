/**
 * Runs one training config end to end for the CLI: task and backend from the
 * config (training-setup.ts), the loop with a progress bar on stderr, then
 * report.html. Shared by `mrpo train`, `mrpo demo` and `mrpo experiment`.
 */
import { InputError } from '../errors.js';
import { describeAnswerReward } from '../rewards/answer-components.js';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { resolveConfig, type TrainConfig } from '../train/config.js';
import { runTraining, type RunTrainingResult, type TrainObserver } from '../train/loop.js';
import { RunDir } from '../train/run-dir.js';
import type { CliIo } from './command.js';
import { writeRunReport } from './run-report.js';
import { progressObserver } from './train-progress.js';
import { createBackend, createTask, noGoldWarning } from './training-setup.js';

export interface TrainRunOptions {
  readonly config: TrainConfig;
  readonly out: string;
  readonly io: CliIo;
  readonly label: string;
  readonly resume?: boolean;
  readonly report?: boolean;
  readonly provenance?: Readonly<Record<string, unknown>>;
  readonly observer?: TrainObserver;
  /** Draw a progress bar (default: when stderr is a TTY). */
  readonly bar?: boolean;
}

export interface TrainRunResult extends RunTrainingResult {
  readonly reportPath: string | null;
}

/** The config saved in a run directory (its `provenance` block is not part of the schema). */
export async function savedConfig(runPath: string): Promise<TrainConfig> {
  const raw = (await new RunDir(runPath).readConfigJson()) as Record<string, unknown>;
  const { provenance: _ignored, ...rest } = raw;
  return resolveConfig(rest, `${runPath}/config.json`);
}

export async function trainRun(options: TrainRunOptions): Promise<TrainRunResult> {
  const config: TrainConfig = options.config.init === undefined ? options.config : { ...options.config, init: resolve(options.io.cwd, options.config.init) };
  const out = resolve(options.io.cwd, options.out);
  const task = await createTask(config, options.io.cwd, options.io.env);
  const goldWarning = noGoldWarning(config, task); // throws for noGold: refuse, before the run directory exists
  if (goldWarning !== null) options.io.stderr.write(`[${options.label}] ${goldWarning}\n`);
  // Said once, at start: which answer-reward components are active (a semantic weight without a scorer is renormalised away).
  if (config.algorithm !== 'sft') options.io.stderr.write(`[${options.label}] ${describeAnswerReward({ weights: config.answerWeights, semantic: task.semantic })}\n`);
  // Checked before the run directory is created, rather than at the first rollout.
  if (config.backend.name !== 'tinker') {
    const encoded = [...task.trainItems, ...task.evalItems].find((item) => typeof item.image === 'string' || !('pixels' in item.image));
    if (encoded !== undefined)
      throw new InputError(`item ${encoded.id} field "image"`, 'the embedded policy needs raw pixels ({ pixels, width, height, channels }), got an encoded image or a path (use backend.name: tinker for real images)');
  }
  const backend = await createBackend(config, options.io.env, (m) => options.io.stderr.write(`${m}\n`));
  try {
    const progress = progressObserver({ stream: options.io.stderr, label: options.label, bar: options.bar });
    const observer = options.observer === undefined ? progress : mergeObserver(progress, options.observer);
    const result = await runTraining({
      config,
      runDir: out,
      backend,
      task,
      resume: options.resume,
      observer,
      now: () => performance.now(),
      provenance: options.provenance === undefined ? undefined : { provenance: options.provenance },
    });
    const reportPath = options.report === false ? null : await writeRunReport(out, `mrpo ${options.label}`);
    return { ...result, reportPath };
  } finally {
    await backend.close();
  }
}

function mergeObserver(a: TrainObserver, b: TrainObserver): TrainObserver {
  return {
    start: (i) => (a.start?.(i), b.start?.(i)),
    step: (s, m) => (a.step?.(s, m), b.step?.(s, m)),
    evaluated: (s, r) => (a.evaluated?.(s, r), b.evaluated?.(s, r)),
    checkpoint: (s, d) => (a.checkpoint?.(s, d), b.checkpoint?.(s, d)),
    end: () => (a.end?.(), b.end?.()),
  };
}
