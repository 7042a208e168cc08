/**
 * `mrpo judge retest` (docs/judge-audit.md): the self-consistency mode of the
 * judge audit. Judges the steps of the same lines twice with the same judge,
 * the second time with another request seed (part of the verdict cache key,
 * so nothing is served from the first run), then reports test–retest κ with
 * `mrpo judge audit --retest`. Every judge flag of `judge steps` applies to
 * both runs; both runs are resumable like `judge steps`.
 */
import { join, resolve } from 'node:path';
import { UsageError } from '../../../errors.js';
import { numberFlag, parseFlags, stringFlag, type ParsedArgs } from '../../args.js';
import type { CliIo } from '../../command.js';
import { checkPathKind } from '../../io.js';
import { runJudgeAudit } from '../judge-audit.js';
import { JUDGE_FLAGS } from './config.js';

export const RETEST_HELP = `mrpo judge retest — one judge twice over the same lines: test–retest κ (docs/judge-audit.md)

Usage: mrpo judge retest --in answers.jsonl --out-dir DIR [--seeds S1,S2] [judge flags of \`judge steps\`]

Judges the steps of every line twice, sending request seed S1, then S2 (default 1,2), into
DIR/steps-seed<S>.jsonl (resumable, as \`judge steps --out\`); the seed is part of the verdict
cache key, so the second run is judged afresh. Then writes the test–retest audit: DIR/retest.json,
DIR/retest.html and the summary on stdout (as \`mrpo judge audit --retest\`).
Endpoints that ignore the seed still sample anew at a temperature above 0 (--temperature).
The offline judge is deterministic: its test–retest κ is 1 by construction.

Flags: --in FILE (required, a file), --out-dir DIR (required), --seeds S1,S2, --resamples N
  (bootstrap, default 1000), and the judge flags of \`mrpo judge steps\` except --out, --seed
  and --dry-run.

Example (needs an LLM judge; here a local OpenAI-compatible server):
  npm run -s mrpo -- judge retest --in answers.jsonl --out-dir runs/retest --base-url http://127.0.0.1:8000/v1 --model Qwen/Qwen2.5-VL-72B-Instruct --temperature 0.7
`;

/** The judge flags given, as arguments for `judge steps` (without --out and --seed, which the retest sets). */
function judgeArgs(parsed: ParsedArgs): string[] {
  const out: string[] = [];
  for (const [name, spec] of Object.entries(JUDGE_FLAGS)) {
    const v = parsed.values[name];
    if (v === undefined || name === 'out' || name === 'seed') continue;
    if (spec.type === 'boolean') {
      if (v === true) out.push(`--${name}`);
    } else out.push(`--${name}`, String(v));
  }
  return out;
}

/** `judge` runs `mrpo judge steps` with the given arguments (the judge command itself, passed in to avoid an import cycle). */
export async function runJudgeRetest(args: readonly string[], io: CliIo, judge: (args: string[], io: CliIo) => Promise<number>): Promise<number> {
  const parsed = parseFlags('judge retest', args, { ...JUDGE_FLAGS, 'out-dir': { type: 'string' }, seeds: { type: 'string' }, resamples: { type: 'string' } });
  if (stringFlag(parsed, 'out') !== undefined) throw new UsageError('judge retest writes into --out-dir DIR; --out is not used');
  if (stringFlag(parsed, 'seed') !== undefined) throw new UsageError('judge retest sets the seed of each run; give --seeds S1,S2 instead of --seed');
  if (parsed.values['dry-run'] === true) throw new UsageError('judge retest has no --dry-run; use `mrpo judge steps --dry-run` to see the resolved judge settings');
  const input = stringFlag(parsed, 'in');
  if (input === undefined || input === '-') throw new UsageError('--in FILE is required (a file: it is read twice)');
  const outDir = stringFlag(parsed, 'out-dir');
  if (outDir === undefined) throw new UsageError('--out-dir DIR is required');
  const seedsRaw = stringFlag(parsed, 'seeds') ?? '1,2';
  const seeds = seedsRaw.split(',').map((s) => s.trim());
  if (seeds.length !== 2 || seeds.some((s) => !/^-?\d+$/.test(s)) || seeds[0] === seeds[1])
    throw new UsageError(`--seeds must be two different integers S1,S2, got "${seedsRaw}"`);
  const resamples = numberFlag(parsed, 'resamples', { integer: true, min: 1 }) ?? 1000;
  await checkPathKind(input, '--in', 'file', io, { mustExist: true });
  await checkPathKind(outDir, '--out-dir', 'directory', io);
  const files = seeds.map((s) => join(resolve(io.cwd, outDir), `steps-seed${s}.jsonl`));
  for (let i = 0; i < 2; i++) {
    io.stderr.write(`mrpo judge retest: run ${i + 1} of 2 (seed ${seeds[i]}) → ${files[i]}\n`);
    const code = await judge(['steps', ...judgeArgs(parsed), '--out', files[i], '--seed', seeds[i]], io);
    if (code !== 0) return code;
  }
  const dir = resolve(io.cwd, outDir);
  return runJudgeAudit(
    ['--retest', ...files, '--names', seeds.map((s) => `seed ${s}`).join(','), '--resamples', String(resamples), '--out', join(dir, 'retest.json'), '--html', join(dir, 'retest.html')],
    io,
  );
}
