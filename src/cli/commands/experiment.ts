/**
 * `mrpo experiment`: SFT, GRPO, GDPO and MRPO trained from the same warm start
 * over several seeds, on the same footing (same steps, prompts, group size,
 * learning rate, evaluation items), then one comparison report: accuracy, FFP
 * stage shares, failed-trace share and FAR per FFP bin, each as mean ± sample
 * std across seeds. Resumable: a finished run is reused, an unfinished one is
 * resumed from its checkpoint. The pieces: experiment/noise-levels.ts (--noise),
 * experiment/runs.ts (training the runs), experiment/report.ts (summary and report).
 */
import { join, resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import type { JudgeNoise } from '../../judges/noise.js';
import { ALGORITHMS, type Algorithm } from '../../train/config.js';
import { loadTrainConfig } from '../../train/config-file.js';
import { numberFlag, parseFlags, stringFlag } from '../args.js';
import type { Command } from '../command.js';
import { DEMO_RL, ensureWarmStart, WARM_START_SFT } from './demo.js';
import { parseList, parseNoiseLevel } from './experiment/noise-levels.js';
import { writeExperimentReport } from './experiment/report.js';
import { runExperiment } from './experiment/runs.js';
import { configFlagSpec, configFlagValues } from './train.js';

export const experimentCommand: Command = {
  name: 'experiment',
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
    '                     uniform:R or early:R (the step label flips), criteria:R or criteria-early:R',
    '                     (alignment and contribution flip each on its own), e.g. 0,0.1,0.2,early:0.2; runs go to',
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
    const levels: readonly JudgeNoise[] = noiseList ?? [base.judgeNoise];
    const plan = { out, base, algorithms, seeds, levels, sweep: noiseList !== undefined, warm };
    const table = await writeExperimentReport(plan, await runExperiment(plan, io));
    io.stdout.write(`${table}\n\nreport: ${join(out, 'report.html')}\n`);
    return 0;
  },
};
