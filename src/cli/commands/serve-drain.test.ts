/**
 * Shutdown of `mrpo serve` started as users start it — `npm run -s mrpo -- serve` and the installed bin
 * (`node bin/mrpo.js serve`, over a build of src/ made here), each a real child process in its own process group —
 * on Ctrl-C (SIGINT to the group, as a terminal sends it) and on SIGTERM (to the started process only, as `kill` or
 * a supervisor sends it): requests in flight on open sockets are answered, requests already sent on idle keep-alive
 * connections are answered (200 or a clean 503), new connections are refused, a client that never finishes its body
 * is cut at `--drain-timeout-ms` instead of holding the exit, the drain is logged, and the exit code is 0.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exampleShapeRequest } from '../../serve/test-support/fixtures.js';
import { holdRequest, listeningUrl, until } from '../../serve/test-support/http.js';

const root = new URL('../../../', import.meta.url).pathname;

const groups: number[] = [];
afterEach(() => {
  for (const pid of groups.splice(0))
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
});

/** An installed-package layout: bin/mrpo.js as shipped, dist/ built from src/ now, the dependencies linked. */
let installed = '';
beforeAll(() => {
  installed = mkdtempSync(join(tmpdir(), 'mrpo-bin-'));
  mkdirSync(join(installed, 'bin'));
  copyFileSync(join(root, 'bin/mrpo.js'), join(installed, 'bin/mrpo.js'));
  copyFileSync(join(root, 'package.json'), join(installed, 'package.json'));
  symlinkSync(join(root, 'node_modules'), join(installed, 'node_modules'));
  symlinkSync(join(root, 'assets'), join(installed, 'assets'));
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(installed, 'dist')], { cwd: root, stdio: 'pipe' });
}, 120_000);
afterAll(() => rmSync(installed, { recursive: true, force: true }));

interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  readonly stderr: () => string;
  readonly exit: Promise<number | null>;
}

type Launcher = 'npm' | 'bin';

/** `mrpo serve …` through npm or the bin, in its own process group (a terminal's foreground job); waits for "listening". */
async function startServe(via: Launcher, args: string[]): Promise<Started> {
  const serveArgs = ['serve', '--port', '0', '--judge', 'none', ...args];
  const [command, argv, cwd] = via === 'npm' ? ['npm', ['run', '-s', 'mrpo', '--', ...serveArgs], root] : [process.execPath, [join(installed, 'bin/mrpo.js'), ...serveArgs], installed];
  const child = spawn(command, argv, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  groups.push(child.pid!);
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await listeningUrl(child, () => err);
  return { child, url, stderr: () => err, exit };
}

/** A request on `agent`; resolves with the status, or -1 and the error when the connection failed. */
function send(url: string, agent: Agent, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const target = new URL(url);
    const req = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: body === undefined ? 'GET' : 'POST',
        agent,
        headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', (e) => resolve({ status: -1, text: e.message }));
      },
    );
    req.on('error', (e) => resolve({ status: -1, text: e.message }));
    req.end(body);
  });
}

/** Whether a new TCP connection to the server's port is refused. */
function refused(url: string): Promise<boolean> {
  const target = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(target.port), target.hostname);
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

const SIGNALS: Array<[string, (s: Started) => void]> = [
  ['Ctrl-C (SIGINT to the process group)', (s) => process.kill(-s.child.pid!, 'SIGINT')],
  ['SIGTERM to the started process', (s) => s.child.kill('SIGTERM')],
];

describe('mrpo serve shutdown, started by npm run and by the bin', () => {
  for (const via of ['npm', 'bin'] as const)
  for (const [name, signal] of SIGNALS)
    it(`${via}, ${name}: in-flight requests answered, new connections refused, a stalled upload cut at the drain timeout, exit 0`, async () => {
      const s = await startServe(via, ['--concurrency', '2', '--drain-timeout-ms', '2000', '--close-grace-ms', '300']);
      const n = 6;
      const agent = new Agent({ keepAlive: true, maxSockets: n });
      // n idle keep-alive connections, then a request on each sent just before the signal.
      expect((await Promise.all(Array.from({ length: n }, () => send(`${s.url}/healthz`, agent)))).map((r) => r.status)).toEqual(Array(n).fill(200));
      // In flight: its body is half sent, so the request is being handled when the signal comes.
      const inFlight = holdRequest(`${s.url}/v1/shape`, exampleShapeRequest());
      // A slow client that never sends the rest of its body (the 30 s body timeout would outlast the drain).
      const stalled = holdRequest(`${s.url}/v1/shape`, exampleShapeRequest());
      const body = JSON.stringify(exampleShapeRequest());
      // A slow client that sends part of its headers and then nothing (the 10 s headers timeout would outlast the drain).
      const target = new URL(s.url);
      const trickler = connect(Number(target.port), target.hostname);
      const tricklerClosed = new Promise<void>((resolve) => trickler.on('close', () => resolve()));
      trickler.on('error', () => {});
      trickler.write('POST /v1/shape HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl');
      // Both held requests have reached the server once a later request (on another connection) is answered.
      await new Promise((r) => setTimeout(r, 100));
      expect((await send(`${s.url}/healthz`, new Agent())).status).toBe(200);
      const onWire = Array.from({ length: n }, () => send(`${s.url}/v1/shape`, agent, body));
      await new Promise((r) => setImmediate(r));
      signal(s);
      await until(() => s.stderr().includes('"msg":"shutting down"'));
      expect(await refused(s.url)).toBe(true);
      const reply = await inFlight.finish();
      expect(reply.status).toBe(200);
      for (const r of await Promise.all(onWire)) expect([200, 503], r.text).toContain(r.status);
      agent.destroy();
      expect(await s.exit).toBe(0);
      await tricklerClosed; // the server closed it (else the socket would stay open)
      const records = s.stderr().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const messages = records.map((r) => r.msg);
      expect(messages).toContain('drain timeout: closing connections with requests still in flight');
      expect(messages.at(-1)).toBe('stopped');
      expect(records.find((r) => r.msg === 'drain timeout: closing connections with requests still in flight')).toMatchObject({ inFlight: 1, drainTimeoutMs: 2000 });
      stalled.abort();
    });
});
