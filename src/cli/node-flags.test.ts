/**
 * `mrpo serve` runs in a child Node process with --max-semi-space-size=64 (node-flags.ts): which command lines get
 * it, that a flag the user gave wins, and, over real processes, that the child has the flag, signals reach it
 * through the parent, and it does not outlive a killed parent.
 */
import { execFileSync, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listeningUrl, until } from '../serve/test-support/http.js';
import { serveNodeFlags } from './node-flags.js';

const root = new URL('../../', import.meta.url).pathname;

describe('serveNodeFlags', () => {
  it('adds the semi-space flag to serve only, not to --help, -h or --dry-run, nor in the relaunched child', () => {
    expect(serveNodeFlags(['serve', '--port', '0'], {}, [])).toEqual(['--max-semi-space-size=64']);
    expect(serveNodeFlags(['shape', 'in.json'], {}, [])).toEqual([]);
    for (const flag of ['--help', '-h', '--dry-run']) expect(serveNodeFlags(['serve', flag], {}, [])).toEqual([]);
    expect(serveNodeFlags(['serve'], { MRPO_SERVE_RELAUNCHED: '1' }, [])).toEqual([]);
    expect(serveNodeFlags(['serve'], {}, [], 'win32')).toEqual([]);
    expect(serveNodeFlags(['serve'], {}, ['--inspect=9230'])).toEqual([]);
    expect(serveNodeFlags(['serve'], { NODE_OPTIONS: '--inspect-brk' }, [])).toEqual([]);
    expect(serveNodeFlags(['serve'], {}, [], 'linux')).toEqual(['--max-semi-space-size=64']);
  });

  it('leaves a flag the user gave in NODE_OPTIONS or on the node command line alone, and takes MRPO_SERVE_NODE_OPTIONS', () => {
    expect(serveNodeFlags(['serve'], { NODE_OPTIONS: '--enable-source-maps --max-semi-space-size=32' }, [])).toEqual([]);
    expect(serveNodeFlags(['serve'], { NODE_OPTIONS: '--max_semi_space_size=8' }, [])).toEqual([]);
    expect(serveNodeFlags(['serve'], {}, ['--import', 'tsx', '--max-semi-space-size=16'])).toEqual([]);
    expect(serveNodeFlags(['serve'], { MRPO_SERVE_NODE_OPTIONS: '' }, [])).toEqual([]);
    expect(serveNodeFlags(['serve'], { MRPO_SERVE_NODE_OPTIONS: ' --max-semi-space-size=32  --stack-size=2000 ' }, ['--stack-size=1000'])).toEqual(['--max-semi-space-size=32']);
  });
});

describe('mrpo serve relaunched with the flags (real processes)', () => {
  const groups: number[] = [];
  afterEach(() => {
    for (const pid of groups.splice(0))
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
  });

  async function start(): Promise<{ pid: number; serverPid: number; port: number; stderr: () => string; exit: Promise<number | null> }> {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'serve', '--port', '0', '--judge', 'none'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const url = await listeningUrl(child, () => err);
    const line = err.split('\n').find((l) => l.includes('"msg":"listening"'))!;
    const serverPid = (JSON.parse(line) as { pid: number }).pid;
    groups.push(serverPid, child.pid!);
    return { pid: child.pid!, serverPid, port: Number(new URL(url).port), stderr: () => err, exit };
  }

  const refused = (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(false)));
      socket.once('error', () => resolve(true));
    });

  it('serves from a child with the flag; SIGTERM to the started process drains it and exits 0', async () => {
    const s = await start();
    expect(s.serverPid).not.toBe(s.pid);
    expect(execFileSync('ps', ['-o', 'args=', '-p', String(s.serverPid)], { encoding: 'utf8' })).toContain('--max-semi-space-size=64');
    expect(await refused(s.port)).toBe(false);
    process.kill(s.pid, 'SIGTERM');
    expect(await s.exit).toBe(0);
    expect(s.stderr()).toMatch(/"msg":"shutting down","signal":"SIGTERM"/);
    expect(s.stderr()).not.toMatch(/signal received again/);
    expect(await refused(s.port)).toBe(true);
  }, 60_000);

  it('the child shuts down when the started process is killed outright', async () => {
    const s = await start();
    process.kill(s.pid, 'SIGKILL');
    await until(() => s.stderr().includes('"msg":"stopped"'), 20_000);
    expect(await refused(s.port)).toBe(true);
  }, 60_000);
});
