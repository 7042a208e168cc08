/**
 * `mrpo train`: SFT, GRPO, GDPO or MRPO on a backend, from a config file
 * and/or flags (every config key has a flag, derived from the schema), into a
 * run directory; `--resume DIR` continues a killed or crashed run from its
 * latest checkpoint.
 */
import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { CONFIG_FLAGS } from '../../train/config.js';
import { loadTrainConfig } from '../../train/config-file.js';
import { boolFlag, parseFlags, stringFlag, type FlagSpec } from '../args.js';
import type { Command } from '../command.js';
import { checkPathKind } from '../io.js';
import { savedConfig, trainRun } from '../train-runner.js';

export const configFlagSpec: FlagSpec = Object.fromEntries(CONFIG_FLAGS.map((f) => [f.flag, { type: 'string' as const }]));

/** Config flag values from parsed args (flag → raw text). */
export function configFlagValues(values: Record<string, unknown>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const f of CONFIG_FLAGS) {
    const v = values[f.flag];
    if (typeof v === 'string') out[f.flag] = v;
  }
  return out;
}

function flagHelp(): string {
  return CONFIG_FLAGS.map((f) => {
    const type = f.kind === 'enum' ? (f.choices ?? []).join('|') : f.kind;
    const def = f.defaultValue === undefined ? '' : ` (default ${JSON.stringify(f.defaultValue)})`;
    return `  --${f.flag} ${type}${def}`;
  }).join('\n');
}

export const trainCommand: Command = {
  name: 'train',
  help: [
    'Usage: mrpo train [--config FILE] [--<key> VALUE …] --out DIR',
    '       mrpo train --resume DIR',
    '',
    'Trains a policy and writes a run directory: config.json, metrics.jsonl, eval.jsonl,',
    'samples.jsonl, checkpoints/step-N/ and report.html. Flags override the config file',
    '(YAML or JSON, camelCase keys as below); --dry-run prints the resolved config.',
    '',
    'Flags:',
    '  --config FILE     YAML or JSON config',
    '  --out DIR         run directory to create (must not hold a run)',
    '  --resume DIR      continue the run in DIR from its latest checkpoint (its config.json is used)',
    '  --dry-run         print the resolved config as JSON and exit',
    '  --no-report       do not write report.html',
    '',
    'Config keys (as flags):',
    flagHelp(),
    '',
    'Example (a warm start on the synthetic task, then MRPO from it):',
    '  npm run -s mrpo -- train --algorithm sft --sft-data warm-start-mix --steps 150 --learning-rate 3e-3 --out runs/warm',
    '  npm run -s mrpo -- train --algorithm mrpo --init runs/warm --steps 40 --out runs/mrpo',
  ].join('\n'),
  async run(args, io) {
    const parsed = parseFlags('train', args, {
      ...configFlagSpec,
      config: { type: 'string' },
      out: { type: 'string' },
      resume: { type: 'string' },
      'dry-run': { type: 'boolean' },
      'no-report': { type: 'boolean' },
    });
    const resumeFlag = stringFlag(parsed, 'resume');
    const resume = resumeFlag === undefined ? undefined : resolve(io.cwd, resumeFlag);
    const flags = configFlagValues(parsed.values);
    if (resume !== undefined) {
      if (stringFlag(parsed, 'config') !== undefined || Object.keys(flags).length > 0 || stringFlag(parsed, 'out') !== undefined)
        throw new UsageError('--resume takes the run directory only: its config.json fixes every setting');
      const config = await savedConfig(resume);
      if (boolFlag(parsed, 'dry-run')) {
        io.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
        return 0;
      }
      const result = await trainRun({ config, out: resume, io, label: config.algorithm, resume: true, report: !boolFlag(parsed, 'no-report') });
      io.stderr.write(`run: ${result.runDir}${result.reportPath === null ? '' : `\nreport: ${result.reportPath}`}\n`);
      return 0;
    }
    const file = stringFlag(parsed, 'config');
    const config = await loadTrainConfig({ file: file === undefined ? undefined : resolve(io.cwd, file), flags });
    if (boolFlag(parsed, 'dry-run')) {
      io.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
      return 0;
    }
    const out = stringFlag(parsed, 'out');
    if (out === undefined) throw new UsageError('--out DIR is required (the run directory to create)');
    await checkPathKind(out, '--out', 'directory', io);
    const result = await trainRun({ config, out, io, label: config.algorithm, report: !boolFlag(parsed, 'no-report') });
    io.stderr.write(`run: ${result.runDir}${result.reportPath === null ? '' : `\nreport: ${result.reportPath}`}\n`);
    return 0;
  },
};
