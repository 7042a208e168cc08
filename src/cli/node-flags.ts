/**
 * V8 flags for `mrpo serve`. A `/v1/shape` request allocates tens of MiB of
 * short-lived objects (the body, its texts, 272k per-token numbers, the
 * response), and Node's default young generation (16 MiB semi-spaces) scavenges
 * many times per request. `--max-semi-space-size=64` cut a request's CPU by
 * 15–22% here (README "mrpo serve", bench/serve.bench.ts). Heap sizes can only be set when a
 * process starts (`v8.setFlagsFromString` has no effect on them afterwards), so
 * the entry points (bin/mrpo.js, src/cli/main.ts) run `serve` in a child Node
 * process with the flags added:
 *
 * - `MRPO_SERVE_NODE_OPTIONS` replaces the flags (empty: no child process);
 * - a flag the user already gave (in `NODE_OPTIONS` or on the node command line)
 *   is not added again, so `NODE_OPTIONS=--max-semi-space-size=32` wins;
 * - `--help`, `-h` and `--dry-run` run in place, and so does everything on
 *   Windows (no process groups or POSIX signals to forward) and under
 *   `--inspect` (the child would contend for the debugger's port).
 *
 * The child is in its own process group, so that a terminal's Ctrl-C reaches it
 * once, forwarded by this process: SIGINT, SIGTERM and SIGHUP are forwarded, and
 * this process exits with the child's code. Should this process die without
 * forwarding anything (SIGKILL), the child sees its IPC channel close and shuts
 * down as on SIGTERM (serveWatchesParent).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

export const DEFAULT_SERVE_NODE_OPTIONS = '--max-semi-space-size=64';
/** Set in the child's environment: it is the relaunched `serve`. */
const RELAUNCHED = 'MRPO_SERVE_RELAUNCHED';
const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

const flagName = (flag: string): string => flag.replace(/=.*$/s, '').replace(/_/g, '-');

/** The flags to add for `argv` (a CLI command line without node and the script), or [] to run in place. */
export function serveNodeFlags(argv: readonly string[], env: NodeJS.ProcessEnv, execArgv: readonly string[], platform: NodeJS.Platform = process.platform): string[] {
  if (argv[0] !== 'serve' || env[RELAUNCHED] === '1' || platform === 'win32') return [];
  if ([...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)].some((f) => f.startsWith('--inspect'))) return [];
  if (argv.some((a) => a === '--help' || a === '-h' || a === '--dry-run')) return [];
  const given = new Set([...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)].filter((f) => f.startsWith('--')).map(flagName));
  const wanted = (env.MRPO_SERVE_NODE_OPTIONS ?? DEFAULT_SERVE_NODE_OPTIONS).split(/\s+/).filter((f) => f !== '');
  return wanted.filter((f) => !given.has(flagName(f)));
}

/**
 * Runs this command line again in a child Node process with serveNodeFlags added, and resolves to its exit code;
 * resolves to null (run in place) when there is nothing to add.
 */
export async function relaunchWithNodeFlags(argv: readonly string[]): Promise<number | null> {
  const flags = serveNodeFlags(argv, process.env, process.execArgv);
  const script = process.argv[1];
  if (flags.length === 0 || script === undefined) return null;
  const child = spawn(process.execPath, [...process.execArgv, ...flags, script, ...argv], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [RELAUNCHED]: '1' },
    detached: true,
  });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  for (const signal of FORWARDED) process.on(signal, forward);
  try {
    return await new Promise<number>((resolveExit, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolveExit(code ?? (signal === null ? 1 : 128 + (constants.signals[signal] ?? 0))));
    });
  } finally {
    for (const signal of FORWARDED) process.off(signal, forward);
  }
}

/** In a relaunched `serve`: when the parent's IPC channel closes (the parent died), shut down as on SIGTERM. */
export function serveWatchesParent(): void {
  if (process.env[RELAUNCHED] !== '1' || process.channel === undefined) return;
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
