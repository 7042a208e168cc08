import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { memoryIo } from '../test-support/memory-io.js';
import { exampleShapeRequest, GOLD_ANSWER, GOLD_REASONING, QUESTION, TEXT_CORRECT, TEXT_WRONG } from '../../serve/test-support/fixtures.js';
import { holdRequest, listeningUrl, postJson, until } from '../../serve/test-support/http.js';
import { countPromptSteps, KEY_ECHO_STATUSES, keyEchoReply, startChatServer, stepVerdictsContent } from '../../judges/test-support/chat-server.js';

const root = new URL('../../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'mrpo-serve-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Spawned {
  readonly child: ChildProcess;
  readonly url: string;
  readonly stderr: () => string;
  readonly exit: Promise<number | null>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Runs `mrpo serve` in its own Node process (through tsx) and waits for its "listening" log line. */
async function spawnServe(args: string[], env: Record<string, string> = {}): Promise<Spawned> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'serve', '--port', '0', ...args], {
    cwd: root, // where `--import tsx` is resolved
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let err = '';
  let out = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString('utf8')));
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await listeningUrl(child, () => err);
  expect(out).toBe('');
  return { child, url, stderr: () => err, exit };
}

describe('mrpo serve (process)', () => {
  it('serves, then on SIGTERM finishes the request in flight and exits 0; logs are JSON lines without the token', async () => {
    const token = 'cli-test-token-123';
    const s = await spawnServe(['--judge', 'offline', '--concurrency', '2'], { MRPO_SERVE_TOKEN: token });
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const auth = { authorization: `Bearer ${token}` };
    expect((await postJson(`${s.url}/v1/shape`, exampleShapeRequest())).status).toBe(401);

    // /v1/score with the offline judge picked by the composition root.
    const scored = await postJson(
      `${s.url}/v1/score`,
      {
        estimator: 'mrpo',
        groups: [{ item: { image: 'data:image/png;base64,AAAA', question: QUESTION, answer: GOLD_ANSWER, goldReasoning: GOLD_REASONING }, completions: [{ text: TEXT_CORRECT }, { text: TEXT_WRONG }] }],
      },
      auth,
    );
    expect(scored.status).toBe(200);
    const body = scored.body as { judge: { name: string }; groups: Array<{ completions: Array<{ judge: { status: string }; stepVerdicts: unknown[] }> }> };
    expect(body.judge.name).toMatch(/^offline-lexical/);
    expect(body.groups[0].completions.map((c) => c.judge.status)).toEqual(['judged', 'judged']);
    expect(body.groups[0].completions[1].stepVerdicts).toHaveLength(3);

    const held = holdRequest(`${s.url}/v1/shape`, exampleShapeRequest(), auth);
    // The held request is still receiving its body (it takes no slot until the body is complete); a later request on
    // another connection being answered means the server has seen it.
    await new Promise((r) => setTimeout(r, 100));
    expect((await fetch(`${s.url}/metrics`, { headers: auth })).status).toBe(200);
    s.child.kill('SIGTERM');
    await until(() => s.stderr().includes('"msg":"shutting down"'));
    const reply = await held.finish();
    expect(reply.status).toBe(200);
    expect(await s.exit).toBe(0);

    const lines = s.stderr().trim().split('\n');
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.map((r) => r.msg)).toContain('stopped');
    expect(records.find((r) => r.msg === 'shutting down')).toMatchObject({ signal: 'SIGTERM', inFlight: 1 });
    const requests = records.filter((r) => r.msg === 'request');
    expect(requests.map((r) => [r.route, r.status])).toEqual([
      ['/v1/shape', 401],
      ['/v1/score', 200],
      ...requests.slice(2, -1).map(() => ['/metrics', 200]),
      ['/v1/shape', 200],
    ]);
    expect(s.stderr()).not.toContain(token);
  });
});

describe('mrpo serve (process) shutdown', () => {
  it('on SIGTERM answers every request already sent (200 or a clean 503), none reset; a second signal is logged, not fatal', async () => {
    const s = await spawnServe(['--judge', 'none']);
    const n = 8;
    const agent = new Agent({ keepAlive: true, maxSockets: n });
    const send = (path: string, body?: string) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const target = new URL(`${s.url}${path}`);
        const req = httpRequest(
          { host: target.hostname, port: target.port, path: target.pathname, method: body === undefined ? 'GET' : 'POST', agent, headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString('utf8')));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    // Open n keep-alive connections (idle once answered), then send a request on each and SIGTERM at once.
    expect((await Promise.all(Array.from({ length: n }, () => send('/healthz')))).map((r) => r.status)).toEqual(Array(n).fill(200));
    // A request whose body is half sent keeps the drain going until it is finished, so the second signal surely
    // comes during the drain (the others may all be answered before the first one lands).
    const held = holdRequest(`${s.url}/v1/shape`, exampleShapeRequest());
    await new Promise((r) => setTimeout(r, 100));
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    const body = JSON.stringify(exampleShapeRequest());
    const replies = Array.from({ length: n }, () => send('/v1/shape', body).then((r) => r, (e: Error) => ({ status: -1, text: e.message })));
    await new Promise((r) => setImmediate(r));
    s.child.kill('SIGTERM');
    await until(() => s.stderr().includes('"msg":"shutting down"'));
    s.child.kill('SIGTERM'); // a second signal while draining
    await until(() => s.stderr().includes('signal received again; still draining'));
    expect(s.child.exitCode).toBe(null);
    expect((await held.finish()).status).toBe(200);
    const results = await Promise.all(replies);
    agent.destroy();
    for (const r of results) expect([200, 503], r.text).toContain(r.status);
    expect(await s.exit).toBe(0);
    expect(s.stderr()).toContain('"msg":"stopped"');
  });
});

describe('mrpo serve (process) with the OpenAI-compatible judge', () => {
  it('sends the steps to the judge endpoint with the key from the environment, caches verdicts in SQLite, logs no secret', async () => {
    const chat = await startChatServer({ responder: (r) => ({ kind: 'content', content: stepVerdictsContent(Array.from({ length: countPromptSteps(r.body) }, () => [1, 1] as const)) }) });
    try {
      const key = 'sk-test-judge-key-456';
      const cache = join(dir, 'verdicts.sqlite');
      const s = await spawnServe(['--judge-base-url', chat.baseUrl, '--judge-model', 'local-judge', '--judge-cache', cache], { MRPO_JUDGE_API_KEY: key });
      const request = {
        estimator: 'mrpo',
        groups: [{ item: { image: 'data:image/png;base64,AAAA', question: QUESTION, answer: GOLD_ANSWER, goldReasoning: GOLD_REASONING }, completions: [{ text: TEXT_CORRECT }, { text: TEXT_WRONG }] }],
      };
      // The image is not a decodable PNG: the judge reports it, the request still succeeds.
      const bad = await postJson(`${s.url}/v1/score`, request);
      expect(bad.status).toBe(200);
      const badBody = bad.body as { groups: Array<{ completions: Array<{ judge: { status: string; reason?: string } }> }> };
      expect(badBody.groups[0].completions[0].judge.status).toBe('unjudged');
      expect(badBody.groups[0].completions[0].judge.reason).toMatch(/^bad image/);
      expect(chat.requests).toHaveLength(0);

      const png = await sharp({ create: { width: 2, height: 2, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toBuffer();
      request.groups[0].item.image = `data:image/png;base64,${png.toString('base64')}`;
      const ok = await postJson(`${s.url}/v1/score`, request);
      expect(ok.status).toBe(200);
      const body = ok.body as { judge: { name: string }; groups: Array<{ completions: Array<{ stepVerdicts: unknown[]; rewards: { process: number } }> }> };
      expect(body.judge.name).toBe('openai:local-judge@step-v1');
      expect(body.groups[0].completions.map((c) => c.rewards.process)).toEqual([1, 1]);
      expect(chat.requests).toHaveLength(2);
      expect(chat.requests[0].headers.authorization).toBe(`Bearer ${key}`);
      expect(chat.requests[0].body.model).toBe('local-judge');
      expect(existsSync(cache)).toBe(true);

      s.child.kill('SIGINT');
      expect(await s.exit).toBe(0);
      expect(s.stderr()).not.toContain(key);
      expect(s.stderr()).toContain(`"judge":"openai:local-judge@step-v1 at ${chat.baseUrl}"`);
    } finally {
      await chat.close();
    }
  });
});

describe('mrpo serve (process) with a judge that echoes the key', () => {
  it('on 400, 401 and 500 the judge key and the serve token are in no log line, response or cache file', async () => {
    let status: number = KEY_ECHO_STATUSES[0];
    const chat = await startChatServer({ responder: (r) => keyEchoReply(r, status) });
    try {
      // Neither looks like an sk- key: only the redaction of the known secrets can catch them.
      const key = 'serve-judge-SECRET-1b7e5a';
      const token = 'serve-token-SECRET-4c8d2f';
      const auth = { authorization: `Bearer ${token}` };
      const png = await sharp({ create: { width: 2, height: 2, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toBuffer();
      const request = (question: string) => ({
        estimator: 'mrpo',
        groups: [{ item: { image: `data:image/png;base64,${png.toString('base64')}`, question, answer: GOLD_ANSWER, goldReasoning: GOLD_REASONING }, completions: [{ text: TEXT_CORRECT }, { text: TEXT_WRONG }] }],
      });
      const replies: string[] = [];
      for (const mode of ['no-labels', 'fail']) {
        const cache = join(dir, `echo-${mode}.sqlite`);
        const s = await spawnServe(['--judge-base-url', chat.baseUrl, '--judge-cache', cache, '--judge-retries', '0', '--on-unjudged', mode], { MRPO_JUDGE_API_KEY: key, MRPO_SERVE_TOKEN: token });
        for (status of KEY_ECHO_STATUSES) {
          const before = chat.requests.length;
          // A new question each time, so that no verdict is shared or cached.
          const reply = await postJson(`${s.url}/v1/score`, request(`Q ${mode} ${status}?`), auth);
          expect(chat.requests.slice(before).map((r) => r.headers.authorization)).toContain(`Bearer ${key}`); // the key was sent
          const text = JSON.stringify(reply.body);
          if (mode === 'fail') expect(reply.status, text).toBe(502);
          else {
            expect(reply.status, text).toBe(200);
            expect(text).toContain(`http ${status}`); // the judge's failure is reported…
          }
          // A 4xx keeps the server's words, with the key taken out (a 500 is retried, then only counted).
          if (status !== 500) expect(text).toContain('Incorrect API key provided: [redacted]');
          replies.push(text);
        }
        s.child.kill('SIGTERM');
        expect(await s.exit).toBe(0);
        const logs = s.stderr();
        expect(logs).toContain(`"route":"/v1/score","status":${mode === 'fail' ? 502 : 200}`);
        for (const text of [logs, ...replies, ...readdirSync(dir).filter((f) => f.startsWith(`echo-${mode}`)).map((f) => readFileSync(join(dir, f)).toString('latin1'))])
          expect(text).not.toContain('SECRET'); // …without the key or the token
      }
    } finally {
      await chat.close();
    }
  });
});

describe('mrpo serve (configuration)', () => {
  it('--dry-run prints the resolved configuration: defaults < file < flags', async () => {
    const config = join(dir, 'serve.yaml');
    writeFileSync(config, 'port: 9000\nconcurrency: 3\njudge:\n  kind: offline\n  model: judge-from-file\n');
    const io = memoryIo('', {}, dir);
    expect(await main(['serve', '--config', config, '--concurrency', '5', '--judge-model', 'judge-from-flag', '--retry-after-seconds', '3', '--judge-max-pixels', '1000', '--close-grace-ms', '0', '--drain-timeout-ms', '5000', '--dry-run'], io)).toBe(0);
    const resolved = JSON.parse(io.out()) as Record<string, unknown>;
    expect(resolved).toMatchObject({ host: '127.0.0.1', port: 9000, concurrency: 5, queue: 32, maxBodyBytes: 33554432, retryAfterSeconds: 3, imageRoot: null, onUnjudged: 'no-labels', closeGraceMs: 0, drainTimeoutMs: 5000 });
    expect(resolved.judge).toMatchObject({ kind: 'offline', model: 'judge-from-flag', cache: '.cache/judge-verdicts.sqlite', maxPixels: 1000 });
  });

  it('a judge base URL with credentials (flag or config file) is exit 2 with one line that does not print them', async () => {
    const file = join(dir, 'creds.yaml');
    writeFileSync(file, 'judge:\n  baseUrl: https://judge-user:judge-PASSWORD@judge.example/v1\n');
    const cases: Array<[string[], string]> = [
      [['serve', '--judge-base-url', 'https://judge-user:judge-PASSWORD@127.0.0.1:9/v1', '--dry-run'], '--judge-base-url'],
      [['serve', '--judge-base-url', 'http://judge-PASSWORD@127.0.0.1:9/v1'], '--judge-base-url'],
      [['serve', '--judge', 'none', '--judge-base-url', 'https://judge-user:judge-PASSWORD@127.0.0.1:9/v1'], '--judge-base-url'],
      [['serve', '--config', file], `${file} $.judge.baseUrl`],
    ];
    for (const [args, where] of cases) {
      const io = memoryIo('', { MRPO_JUDGE_API_KEY: 'sk-env-key-0123456789' }, dir);
      expect(await main(args, io), args.join(' ')).toBe(2);
      expect(io.out()).toBe('');
      expect(io.err()).toBe(`mrpo serve: ${where}: credentials in the URL are not accepted; set MRPO_JUDGE_API_KEY (or OPENAI_API_KEY) instead\n`);
    }
    const notHttp = memoryIo('', {}, dir);
    expect(await main(['serve', '--judge-base-url', 'ftp://judge.example/v1'], notHttp)).toBe(2);
    expect(notHttp.err()).toBe('mrpo serve: --judge-base-url: expected an http(s) URL, got ftp:\n');
  });

  it('as a process: exit 2, one line on stderr without the credentials, nothing on stdout', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'serve', '--port', '0', '--judge-base-url', 'https://judge-user:judge-PASSWORD@127.0.0.1:9/v1'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr!.on('data', (c: Buffer) => (err += c.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toBe('mrpo serve: --judge-base-url: credentials in the URL are not accepted; set MRPO_JUDGE_API_KEY (or OPENAI_API_KEY) instead\n');
    expect(err).not.toContain('judge-user');
  });

  it('exits 2 naming the key, flag or file for bad configuration, and refuses secrets in files', async () => {
    const secret = join(dir, 'secret.yaml');
    writeFileSync(secret, 'judge:\n  apiKey: sk-should-not-be-here\n');
    const badType = join(dir, 'bad.json');
    writeFileSync(badType, '{"queue": "many"}');
    const cases: Array<[string[], RegExp]> = [
      [['serve', '--config', secret], /secret\.yaml.*\$\.judge\.apiKey: secrets are not read from config files/],
      [['serve', '--config', badType], /bad\.json.*\$\.queue: expected number/],
      [['serve', '--config', join(dir, 'none.yaml')], /none\.yaml: config file not found/],
      [['serve', '--port', 'abc'], /--port must be an integer/],
      [['serve', '--port', '70000'], /--port must be ≤ 65535/],
      [['serve', '--judge', 'gpt'], /--judge: expected one of auto, openai, offline, none/],
      [['serve', '--judge', 'openai'], /needs MRPO_JUDGE_API_KEY or OPENAI_API_KEY/],
      [['serve', '--on-unjudged', 'drop'], /\$\.onUnjudged/],
      [['serve', '--close-grace-ms=-1'], /--close-grace-ms must be ≥ 0/],
      [['serve', '--drain-timeout-ms', '0'], /--drain-timeout-ms must be ≥ 1/],
      [['serve', '--judge', 'none', '--image-root', 'no-such-dir'], /--image-root: "no-such-dir" is not a directory/],
    ];
    for (const [args, pattern] of cases) {
      const io = memoryIo('', {}, dir);
      expect(await main(args, io), args.join(' ')).toBe(2);
      expect(io.err()).toMatch(pattern);
      expect(io.err()).not.toContain('sk-should-not-be-here');
      expect(io.err()).not.toMatch(/\n\s+at /);
    }
  });
});
