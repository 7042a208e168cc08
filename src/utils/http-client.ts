/**
 * One HTTP exchange over node:http / node:https with keep-alive agents: the
 * request goes out whole, the response comes back whole (decompressed when
 * the server compressed it). It is the transport under the chat-completions
 * client (chat-client.ts) of the judges and the OpenAI sampler. Node 20's
 * global fetch (undici and web streams) costs about 0.75 ms of main-thread
 * CPU per chat completion more than this (`npm run bench -- judge`).
 *
 * Failures: a socket error rejects with that error; an abort with the
 * signal's reason (an `AbortError` DOMException when it has none); an
 * exceeded `timeoutMs` with a `TimeoutError` DOMException.
 *
 * A request sent on a kept-alive socket that the server closed while it sat
 * idle fails with ECONNRESET or "socket hang up" before any response: that
 * one is sent again at once on a fresh socket (Node's documented remedy),
 * within the same `timeoutMs`.
 * Servers close idle sockets on their own clock (uvicorn, under `transformers
 * serve`, after 5 s without sending a Keep-Alive header), so the race is real:
 * measured against `transformers serve` 5.18, a request sent about 5 s after
 * the previous reply got "socket hang up".
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';

export interface HttpAgents {
  readonly http: HttpAgent;
  readonly https: HttpsAgent;
}

/** Keep-alive agents with `maxSockets` sockets per host (default 64). */
export function createHttpAgents(maxSockets = 64): HttpAgents {
  const options = { keepAlive: true, maxSockets };
  return { http: new HttpAgent(options), https: new HttpsAgent(options) };
}

export interface HttpExchange {
  readonly method: string;
  /** Lower-case names. `content-length` is set from the body. */
  readonly headers: Record<string, string>;
  readonly body?: Buffer;
  readonly signal?: AbortSignal;
  /** Whole-exchange deadline in ms (none by default). */
  readonly timeoutMs?: number;
}

export interface HttpReply {
  readonly status: number;
  readonly statusText: string;
  /** Name, value, name, value… as received (`content-encoding` and `content-length` describe the raw body). */
  readonly rawHeaders: readonly string[];
  /** Null for 204, 205, 304 and HEAD. */
  readonly body: Buffer | null;
  /** The value of a header (case-insensitive; several values joined by ", "), null when absent. */
  header(name: string): string | null;
}

function decode(raw: Buffer, encoding: string | undefined): Buffer {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case '':
    case 'identity':
      return raw;
    case 'gzip':
    case 'x-gzip':
      return gunzipSync(raw);
    case 'deflate':
      return inflateSync(raw);
    case 'br':
      return brotliDecompressSync(raw);
    default:
      throw new TypeError(`unsupported content-encoding "${encoding}"`);
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

function reply(res: IncomingMessage, body: Buffer | null): HttpReply {
  const rawHeaders = res.rawHeaders;
  return {
    status: res.statusCode ?? 0,
    statusText: res.statusMessage ?? '',
    rawHeaders,
    body,
    header(name) {
      const wanted = name.toLowerCase();
      let out: string | null = null;
      for (let i = 0; i + 1 < rawHeaders.length; i += 2) if (rawHeaders[i].toLowerCase() === wanted) out = out === null ? rawHeaders[i + 1] : `${out}, ${rawHeaders[i + 1]}`;
      return out;
    },
  };
}

/** A kept-alive socket the server had closed: reset or hung up before any response. */
function staleSocket(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  return e?.code === 'ECONNRESET' || e?.code === 'EPIPE' || e?.message === 'socket hang up';
}

/** Sends one request and reads its whole response. */
export function sendHttp(agents: HttpAgents, url: URL, exchange: HttpExchange): Promise<HttpReply> {
  return sendOnce(agents, url, exchange, exchange.timeoutMs === undefined ? undefined : Date.now() + exchange.timeoutMs, true);
}

/** One attempt; `deadline` (epoch ms) bounds it and its resend together. */
function sendOnce(agents: HttpAgents, url: URL, exchange: HttpExchange, deadline: number | undefined, resendIfStale: boolean): Promise<HttpReply> {
  const { signal, body } = exchange;
  return new Promise<HttpReply>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:') {
      reject(new TypeError(`unsupported protocol ${url.protocol}`));
      return;
    }
    const headers = body === undefined ? exchange.headers : { ...exchange.headers, 'content-length': String(body.byteLength) };
    const req = (secure ? httpsRequest : httpRequest)(url, { method: exchange.method, headers, agent: secure ? agents.https : agents.http });
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      outcome();
    };
    const cut = (reason: unknown): void =>
      finish(() => {
        req.destroy();
        reject(reason);
      });
    const onAbort = (): void => cut(abortReason(signal as AbortSignal));
    signal?.addEventListener('abort', onAbort, { once: true });
    if (deadline !== undefined)
      timer = setTimeout(() => cut(new DOMException(`no response within ${exchange.timeoutMs} ms`, 'TimeoutError')), Math.max(0, deadline - Date.now()));
    let responded = false;
    req.on('error', (error) =>
      finish(() => {
        if (resendIfStale && !responded && req.reusedSocket && staleSocket(error)) resolve(sendOnce(agents, url, exchange, deadline, false));
        else reject(error);
      }),
    );
    req.on('response', (res) => {
      responded = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (error) => finish(() => reject(error)));
      res.on('end', () =>
        finish(() => {
          const status = res.statusCode ?? 0;
          const nullBody = status === 204 || status === 205 || status === 304 || exchange.method === 'HEAD';
          try {
            resolve(reply(res, nullBody ? null : decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks), res.headers['content-encoding'])));
          } catch (error) {
            reject(error);
          }
        }),
      );
    });
    req.end(body);
  });
}
