/**
 * Test support for `mrpo serve`: start a real server on 127.0.0.1 port 0,
 * send JSON with fetch, and hold a request open by sending its body in two
 * parts (the request is accepted — it holds a concurrency slot — while the
 * rest of its body is still to come). Excluded from the build.
 */
import { request as httpRequest, type Agent, type IncomingMessage } from 'node:http';
import { createMrpoServer, type MrpoServer, type ServeOptions } from '../server.js';

export interface RunningServer {
  readonly url: string;
  readonly server: MrpoServer;
}

export async function startServer(options: ServeOptions = {}): Promise<RunningServer> {
  const server = createMrpoServer(options);
  const url = await server.listen(0, '127.0.0.1');
  return { url, server };
}

export interface JsonReply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonReply> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? null : (JSON.parse(text) as unknown) };
}

export interface HeldRequest {
  /** Sends the rest of the body; resolves with the reply. */
  finish(): Promise<{ status: number; headers: IncomingMessage['headers']; body: unknown }>;
  /** Drops the connection before the body is complete. */
  abort(): void;
}

/**
 * Starts a POST whose body is sent in two parts: the first byte now, the rest
 * on `finish()`. Content-Length is declared, so the server knows the size.
 * Without an agent the client asks for `Connection: close`; pass a keep-alive
 * agent to see what the server decides.
 */
export function holdRequest(url: string, body: unknown, headers: Record<string, string> = {}, agent: Agent | false = false): HeldRequest {
  const text = Buffer.from(JSON.stringify(body), 'utf8');
  const target = new URL(url);
  let settle: (value: { status: number; headers: IncomingMessage['headers']; body: unknown }) => void = () => {};
  let fail: (error: unknown) => void = () => {};
  const reply = new Promise<{ status: number; headers: IncomingMessage['headers']; body: unknown }>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  const req = httpRequest(
    { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': String(text.length), ...headers } },
    (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        settle({ status: res.statusCode ?? 0, headers: res.headers, body: raw === '' ? null : (JSON.parse(raw) as unknown) });
      });
      res.on('error', fail);
    },
  );
  req.on('error', fail);
  reply.catch(() => {}); // an aborted request's reply is never awaited
  req.write(text.subarray(0, 1));
  return {
    finish() {
      req.end(text.subarray(1));
      return reply;
    },
    abort() {
      req.destroy();
    },
  };
}

/** Reads one sample value from Prometheus text (`name{labels} value`); NaN when absent. */
export function metricValue(text: string, sample: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    if (line.slice(0, cut) === sample) return Number(line.slice(cut + 1));
  }
  return Number.NaN;
}

/** Polls `check` every 10 ms until it is true (at most `timeoutMs`). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The URL a `mrpo serve` child process logs as listening (`stderr()` is what it has written so far); fails if it exits first. */
export async function listeningUrl(child: { readonly exitCode: number | null }, stderr: () => string, timeoutMs = 30_000): Promise<string> {
  let url = '';
  await until(() => {
    const line = stderr()
      .split('\n')
      .find((l) => l.includes('"msg":"listening"'));
    if (line !== undefined) url = (JSON.parse(line) as { url: string }).url;
    if (child.exitCode !== null) throw new Error(`mrpo serve exited early (${child.exitCode}): ${stderr()}`);
    return url !== '';
  }, timeoutMs);
  return url;
}
