/**
 * The composition root of the `mrpo` command line: the static registry of
 * sub-commands, the only place that owns argv, environment, stdout and exit
 * codes. Errors become one readable line on stderr (exit 2 for bad input or
 * usage, 1 for failed work); `--debug` adds the stack.
 */
import { pathToFileURL } from 'node:url';
import { realpathSync } from 'node:fs';
import { exitCodeFor, MrpoError, UnknownNameError } from '../errors.js';
import type { CliIo, Command } from './command.js';
import { relaunchWithNodeFlags } from './node-flags.js';

/** A sub-command as the registry knows it: its name, its line in `mrpo --help`, and how to load it. */
interface Entry {
  readonly name: string;
  readonly summary: string;
  readonly load: () => Promise<Command>;
}

/**
 * Every sub-command, in the order `mrpo --help` lists them. A command's module is imported only when it runs
 * (or shows its --help): importing all of them cost 0.6–0.8 s at every start, one of them 0.2–0.8 s.
 */
export const commands: readonly Entry[] = [
  { name: 'shape', summary: 'rewards and (per-token) advantages for groups of completions: JSON in, JSON out', load: async () => (await import('./commands/shape.js')).shapeCommand },
  { name: 'data', summary: 'data build: the open-ended train/test sets from VQA-RAD, SLAKE, PathVQA and MedThink; data convert: any benchmark → items JSONL', load: async () => (await import('./commands/data.js')).dataCommand },
  { name: 'infer', summary: 'run a model behind an OpenAI-compatible endpoint over items → completions JSONL', load: async () => (await import('./commands/infer.js')).inferCommand },
  { name: 'judge', summary: 'LLM-as-judge over completions: `judge answers` (correct?), `judge steps` (step labels), `judge audit` (agreement, κ), `judge retest` (test–retest κ)', load: async () => (await import('./commands/judge.js')).judgeCommand },
  { name: 'analyze', summary: 'FFP/FAR reasoning-failure summary (JSON) and HTML report from judged JSONL', load: async () => (await import('./commands/analyze.js')).analyzeCommand },
  { name: 'eval', summary: 'the benchmark table: models × benchmarks, every scoring convention, bootstrap intervals, FFP/FAR', load: async () => (await import('./commands/eval.js')).evalCommand },
  { name: 'train', summary: 'SFT / GRPO / GDPO / MRPO on the embedded policy: config → run directory (resumable)', load: async () => (await import('./commands/train.js')).trainCommand },
  { name: 'experiment', summary: 'SFT, GRPO, GDPO and MRPO from one warm start over several seeds → one comparison report', load: async () => (await import('./commands/experiment.js')).experimentCommand },
  { name: 'serve', summary: 'HTTP service: /v1/shape and /v1/score (judged) for trainers in other languages (TRL, verl)', load: async () => (await import('./commands/serve.js')).serveCommand },
  { name: 'demo', summary: 'the embedded default end to end (npm start): warm start, then MRPO, then a before/after table', load: async () => (await import('./commands/demo.js')).demoCommand },
  { name: 'tinker', summary: 'check the Tinker training API endpoint (hosted Tinker or SkyRL tx) in the environment', load: async () => (await import('./commands/tinker.js')).tinkerCommand },
];

function topHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'mrpo — step-aware RL (MRPO, GRPO, GDPO) for multimodal medical reasoning',
    '',
    'Usage: mrpo <command> [flags]        (from a clone: npm run -s mrpo -- <command> [flags])',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `mrpo <command> --help` for flags and an example.',
    'Global flags: --debug (show stack traces), --help, --version.',
    '',
  ].join('\n');
}

export function defaultIo(): CliIo {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

export async function main(argv: readonly string[], io: CliIo = defaultIo()): Promise<number> {
  const debug = argv.includes('--debug');
  const args = argv.filter((a) => a !== '--debug');
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(topHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    io.stdout.write('mrpo 0.1.0\n');
    return 0;
  }
  const entry = commands.find((c) => c.name === name);
  try {
    if (entry === undefined) throw new UnknownNameError('command', name, commands.map((c) => c.name));
    const command = await entry.load();
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(command.help.endsWith('\n') ? command.help : `${command.help}\n`);
      return 0;
    }
    return await command.run(rest, io);
  } catch (error) {
    const code = exitCodeFor(error);
    if (debug && error instanceof Error) io.stderr.write(`${error.stack ?? error.message}\n`);
    else if (error instanceof MrpoError) io.stderr.write(`mrpo ${name}: ${error.message}\n`);
    else io.stderr.write(`mrpo ${name}: unexpected error: ${error instanceof Error ? error.message : String(error)} (run with --debug for details)\n`);
    return code;
  }
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  // `serve` runs in a child process with V8 flags that make it faster (node-flags.ts).
  process.exitCode = (await relaunchWithNodeFlags(process.argv.slice(2))) ?? (await main(process.argv.slice(2)));
}
