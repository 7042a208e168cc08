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
import { shapeCommand } from './commands/shape.js';
import { analyzeCommand } from './commands/analyze.js';
import { serveCommand } from './commands/serve.js';
import { dataCommand } from './commands/data.js';
import { inferCommand } from './commands/infer.js';
import { judgeCommand } from './commands/judge.js';
import { trainCommand } from './commands/train.js';
import { experimentCommand } from './commands/experiment.js';
import { demoCommand } from './commands/demo.js';
import { tinkerCommand } from './commands/tinker.js';
import { evalCommand } from './commands/eval.js';
import { relaunchWithNodeFlags } from './node-flags.js';

/** Every sub-command, in the order `mrpo --help` lists them. */
export const commands = [shapeCommand, dataCommand, inferCommand, judgeCommand, analyzeCommand, evalCommand, trainCommand, experimentCommand, serveCommand, demoCommand, tinkerCommand] as const satisfies readonly Command[];

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
  const command = commands.find((c) => c.name === name);
  try {
    if (command === undefined) throw new UnknownNameError('command', name, commands.map((c) => c.name));
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
