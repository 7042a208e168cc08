/**
 * The runs of `mrpo experiment`: every (noise level, seed, algorithm) from one
 * warm start with the same settings; a finished run is reused, an unfinished
 * one resumed with the settings it was started with.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../../errors.js';
import type { JudgeNoise } from '../../../judges/noise.js';
import type { ChartRow } from '../../../report/charts.js';
import type { Algorithm, TrainConfig } from '../../../train/config.js';
import type { EvalRecord } from '../../../train/loop.js';
import { readLog } from '../../../train/run-dir.js';
import type { CliIo } from '../../command.js';
import type { RunOutcome } from '../../experiment-summary.js';
import type { NoiseRun } from '../../noise-summary.js';
import { savedConfig, trainRun } from '../../train-runner.js';
import { noiseLabel } from './noise-levels.js';

export interface ExperimentPlan {
  readonly out: string;
  readonly base: TrainConfig;
  readonly algorithms: readonly Algorithm[];
  readonly seeds: readonly number[];
  readonly levels: readonly JudgeNoise[];
  /** True with --noise: run directories and names carry the noise level. */
  readonly sweep: boolean;
  readonly warm: { readonly path: string; readonly how: string };
}

export interface ExperimentRuns {
  readonly outcomes: RunOutcome[];
  readonly noiseRuns: NoiseRun[];
  /** Held-out accuracy per (run name, step), every seed. */
  readonly curves: ChartRow[];
  /** The evaluation at step 0 (the warm start), from the first run that logged one. */
  readonly warmEval: EvalRecord | null;
}

/** The name of a method in tables: the algorithm, with the noise level when sweeping. */
export const runName = (plan: Pick<ExperimentPlan, 'sweep'>, algorithm: string, label: string): string => (plan.sweep ? `${algorithm} noise ${label}` : algorithm);

function runDir(plan: ExperimentPlan, algorithm: Algorithm, label: string, seed: number): string {
  return join(plan.out, plan.sweep ? `${algorithm}-noise${label.replace(':', '')}-seed${seed}` : `${algorithm}-seed${seed}`);
}

/** Trains (or resumes) one run unless it is finished, and returns its evaluation log. */
async function trainOrReuse(plan: ExperimentPlan, config: TrainConfig, dir: string, io: CliIo): Promise<EvalRecord[]> {
  const finished = existsSync(join(dir, 'checkpoints', `step-${config.steps}`, 'trainer.json'));
  if (!finished) {
    // An unfinished run resumes with the settings it was started with.
    const resume = existsSync(join(dir, 'config.json'));
    const runConfig = resume ? await savedConfig(dir) : config;
    await trainRun({ config: runConfig, out: dir, io, label: `${config.algorithm} seed ${config.seed}`, resume, provenance: { warmStart: plan.warm.how, experiment: plan.out } });
  }
  const evals = await readLog<EvalRecord>(join(dir, 'eval.jsonl'));
  const last = evals[evals.length - 1];
  if (last === undefined || last.step !== config.steps) throw new UsageError(`${dir}: no final evaluation in eval.jsonl; delete the run directory to retrain it`);
  return evals;
}

export async function runExperiment(plan: ExperimentPlan, io: CliIo): Promise<ExperimentRuns> {
  const runs: ExperimentRuns = { outcomes: [], noiseRuns: [], curves: [], warmEval: null };
  let warmEval: EvalRecord | null = null;
  const { base } = plan;
  for (const noise of plan.levels)
    for (const seed of plan.seeds)
      for (const algorithm of plan.algorithms) {
        const label = noiseLabel(noise);
        const config: TrainConfig = { ...base, algorithm, seed, init: plan.warm.path, sftData: algorithm === 'sft' ? 'gold' : base.sftData, judgeNoise: { target: 'label', ...noise } };
        const evals = await trainOrReuse(plan, config, runDir(plan, algorithm, label, seed), io);
        const last = evals[evals.length - 1];
        if (warmEval === null && evals[0]?.step === 0) warmEval = evals[0];
        const name = runName(plan, algorithm, label);
        runs.outcomes.push({ algorithm: name, seed, accuracy: last.accuracy, summary: last.summary });
        runs.noiseRuns.push({ algorithm, noise: label, seed, accuracy: last.accuracy, summary: last.summary });
        for (const e of evals) runs.curves.push({ step: e.step, accuracy: e.accuracy, algorithm: name });
      }
  return { ...runs, warmEval };
}
