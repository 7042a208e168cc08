/**
 * The training loop shared by every backend (issue 4): SFT or RL (GRPO, GDPO,
 * MRPO) for `config.steps` optimiser steps, with periodic held-out evaluation,
 * a run directory (run-dir.ts) and atomic checkpoints it can resume from.
 *
 * Reproducibility: everything random in step n (which items, the sampler's
 * seed, the SFT chains) is derived from (seed, n), so a run resumed from the
 * checkpoint of step n continues exactly as the uninterrupted run would have,
 * given a deterministic backend.
 *
 * The loop never prints: it reports through a `TrainObserver` (the CLI draws
 * the progress bar) and reads the clock through `now`.
 */
import type { FailureSummary } from '../algo/failure.js';
import type { OptimizerSpec, PolicyBackend } from '../backends/backend.js';
import { UsageError } from '../errors.js';
import type { Item } from '../types.js';
import { createRng, type Rng } from '../utils/rng.js';
import { redactSecrets, type TrainConfig } from './config.js';
import { evaluate, type EvalResult } from './evaluate.js';
import { rlStep } from './rl-step.js';
import type { TrainTask } from './rollout.js';
import { RunDir } from './run-dir.js';
import { sftStep } from './sft-step.js';

export interface TrainObserver {
  start?(info: { readonly startStep: number; readonly totalSteps: number; readonly algorithm: string; readonly resumedFrom: number | null }): void;
  step?(step: number, metrics: Readonly<Record<string, number>>): void;
  evaluated?(step: number, result: EvalResult): void;
  checkpoint?(step: number, dir: string): void;
  end?(): void;
}

export interface RunTrainingInput {
  readonly config: TrainConfig;
  readonly runDir: string;
  readonly backend: PolicyBackend;
  readonly task: TrainTask;
  /** Continue from the run directory's latest checkpoint (or from scratch when it has none). */
  readonly resume?: boolean;
  readonly observer?: TrainObserver;
  /** Milliseconds clock (performance.now in the CLI). */
  readonly now?: () => number;
  /** Extra fields written next to the config in config.json (e.g. what the warm start was). */
  readonly provenance?: Readonly<Record<string, unknown>>;
}

export interface EvalRecord {
  readonly step: number;
  readonly accuracy: number;
  readonly summary: FailureSummary;
}

export interface RunTrainingResult {
  readonly runDir: string;
  readonly lastStep: number;
  readonly resumedFrom: number | null;
  /** Evaluations made by this invocation. */
  readonly evals: readonly EvalRecord[];
}

/** A 32-bit seed for (run seed, step, purpose). */
export function stepSeed(seed: number, step: number, purpose: number): number {
  const r = createRng((Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca6b) ^ Math.imul(purpose + 1, 0xc2b2ae35)) >>> 0);
  return Math.floor(r.next() * 4294967296);
}

const PURPOSE = { items: 1, sample: 2, eval: 3, sft: 4 } as const;

/** `count` distinct items (all of them when there are fewer), chosen with rng. */
export function pickItems(items: readonly Item[], count: number, rng: Rng): Item[] {
  const idx = items.map((_, i) => i);
  const n = Math.min(count, idx.length);
  for (let i = 0; i < n; i++) {
    const j = i + rng.int(idx.length - i);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, n).map((i) => items[i]);
}

export function optimizerAt(config: TrainConfig, step: number): OptimizerSpec {
  const frac = config.lrSchedule === 'linear' && config.steps > 0 ? 1 - (step - 1) / config.steps : 1;
  return {
    learningRate: config.learningRate * frac,
    gradClip: config.gradClip,
    beta1: config.adamBeta1,
    beta2: config.adamBeta2,
    eps: config.adamEps,
    weightDecay: config.weightDecay,
  };
}

export async function runTraining(input: RunTrainingInput): Promise<RunTrainingResult> {
  const { config, backend, task } = input;
  const observer = input.observer ?? {};
  const now = input.now ?? (() => Date.now());
  const run = new RunDir(input.runDir);
  const { startStep, resumedFrom } = await openRun(run, input);
  await run.create();

  const evalItems = task.evalItems.slice(0, config.evalSize);
  const evals: EvalRecord[] = [];
  const runEval = async (step: number): Promise<Record<string, number>> => {
    const t0 = now();
    const result = await evaluate({ config, backend, task, items: evalItems, seed: stepSeed(config.seed, step, PURPOSE.eval) });
    evals.push({ step, accuracy: result.accuracy, summary: result.summary });
    await run.append('evals', { step, accuracy: result.accuracy, summary: result.summary, examples: result.examples });
    observer.evaluated?.(step, result);
    return { ...result.metrics, 'time/eval_s': (now() - t0) / 1000 };
  };
  const checkpoint = async (step: number): Promise<void> => {
    const dir = await run.saveCheckpoint({ step, algorithm: config.algorithm, seed: config.seed }, (d) => backend.save(d), config.keepCheckpoints);
    observer.checkpoint?.(step, dir);
  };

  observer.start?.({ startStep, totalSteps: config.steps, algorithm: config.algorithm, resumedFrom });
  if (startStep === 1) {
    const metrics = { step: 0, ...(await runEval(0)) };
    await run.append('metrics', metrics);
    observer.step?.(0, metrics);
    if (config.steps === 0) await checkpoint(0);
  }

  for (let step = startStep; step <= config.steps; step++) {
    const { metrics: stepMetrics, samples } = await trainStep(config, backend, task, step, now);
    let metrics = stepMetrics;
    const isEval = step === config.steps || (config.evalInterval > 0 && step % config.evalInterval === 0);
    if (isEval) metrics = { ...metrics, ...(await runEval(step)) };
    const line = { step, ...metrics };
    await run.append('metrics', line);
    await run.appendMany('samples', samples);
    if (step === config.steps || step % config.checkpointInterval === 0) await checkpoint(step);
    observer.step?.(step, line);
  }
  observer.end?.();
  return { runDir: input.runDir, lastStep: config.steps, resumedFrom, evals };
}

/** A new run directory (refused if one is there), or the resumed one: its latest checkpoint loaded and logs cut back to it. */
async function openRun(run: RunDir, input: RunTrainingInput): Promise<{ startStep: number; resumedFrom: number | null }> {
  const { config, backend } = input;
  let startStep = 1;
  let resumedFrom: number | null = null;
  if (input.resume === true) {
    if (!(await run.exists())) throw new UsageError(`--resume ${input.runDir}: not a run directory (no config.json)`);
    await run.removeTemporaries();
    const ckpt = await run.latestCheckpoint();
    if (ckpt !== null) {
      await backend.load(`${ckpt.dir}/policy`);
      startStep = ckpt.step + 1;
      resumedFrom = ckpt.step;
    }
    for (const log of ['metrics', 'evals', 'samples'] as const) await run.truncateLog(log, resumedFrom ?? -1);
  } else {
    if (await run.exists()) throw new UsageError(`${input.runDir} already holds a run; resume it with --resume or choose another --out`);
    await run.create();
    await run.writeJson('config', { ...(redactSecrets(config) as object), ...(input.provenance ?? {}) });
    for (const log of ['metrics', 'evals', 'samples'] as const) await run.truncateLog(log, -1);
  }
  return { startStep, resumedFrom };
}

/** Training step `step`: SFT or one RL step, with all randomness derived from (seed, step). */
async function trainStep(
  config: TrainConfig,
  backend: PolicyBackend,
  task: TrainTask,
  step: number,
  now: () => number,
): Promise<{ metrics: Record<string, number>; samples: object[] }> {
  const rng = createRng(stepSeed(config.seed, step, PURPOSE.items));
  const optimizer = optimizerAt(config, step);
  if (config.algorithm === 'sft') {
    const metrics = await sftStep({
      backend,
      task,
      items: pickItems(task.trainItems, config.sftBatchSize, rng),
      rng: createRng(stepSeed(config.seed, step, PURPOSE.sft)),
      optimizer,
      now,
    });
    return { metrics, samples: [] };
  }
  const result = await rlStep({
    config,
    backend,
    task,
    items: pickItems(task.trainItems, config.promptsPerStep, rng),
    sampleSeed: stepSeed(config.seed, step, PURPOSE.sample),
    optimizer,
    now,
  });
  return { metrics: result.metrics, samples: result.samples.map((s) => ({ step, ...s })) };
}
