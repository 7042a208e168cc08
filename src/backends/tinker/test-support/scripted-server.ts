/**
 * TEST SUPPORT ONLY. A real HTTP server on 127.0.0.1 that answers requests
 * from a script (status, body, headers — or a dropped connection), in order,
 * and records what it received. For testing the client's outcome tables.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ScriptedReply =
  | { readonly status: number; readonly body?: unknown; readonly raw?: string; readonly headers?: Readonly<Record<string, string>>; readonly delayMs?: number }
  | 'drop';

export interface RecordedRequest {
  readonly route: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

export interface ScriptedServer {
  readonly url: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Replies in order; after the script runs out, `fallback` answers every request. */
export async function startScriptedServer(script: readonly ScriptedReply[], fallback: ScriptedReply = { status: 500, body: { detail: 'script exhausted' } }): Promise<ScriptedServer> {
  const requests: RecordedRequest[] = [];
  let i = 0;
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      requests.push({ route: (req.url ?? '').replace(/^\/api\/v1\//, ''), headers: req.headers, body: Buffer.concat(parts).toString('utf8') });
      const reply = script[i++] ?? fallback;
      if (reply === 'drop') {
        req.socket.destroy();
        return;
      }
      const answer = (): void => {
        const text = reply.raw ?? (reply.body === undefined ? '' : JSON.stringify(reply.body));
        res.writeHead(reply.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...reply.headers });
        res.end(text);
      };
      if (reply.delayMs) setTimeout(answer, reply.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A virtual clock: `sleep` records the delay, advances time and returns at once. */
export function virtualClock(): { now(): number; sleep(ms: number): Promise<void>; readonly sleeps: number[] } {
  let t = 0;
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
    sleeps,
  };
}
