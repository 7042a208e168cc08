/**
 * One HTTP exchange over node:http / node:https with keep-alive agents: the
 * request goes out whole, the response comes back whole (decompressed when
 * the server compressed it). It is the transport under the `fetch` handed to
 * the openai SDK (http-fetch.ts) and under the judge's chat-completions
 * client (judges/openai/chat-client.ts). Node 20's global fetch (undici and
 * web streams) costs about 0.75 ms of main-thread CPU per chat completion
 * more than this (`npm run bench -- judge`).
 *
 * Failures: a socket error rejects with that error; an abort with the
 * signal's reason (an `AbortError` DOMException when it has none); an
 * exceeded `timeoutMs` with a `TimeoutError` DOMException.
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

/** Sends one request and reads its whole response. */
export function sendHttp(agents: HttpAgents, url: URL, exchange: HttpExchange): Promise<HttpReply> {
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
    if (exchange.timeoutMs !== undefined)
      timer = setTimeout(() => cut(new DOMException(`no response within ${exchange.timeoutMs} ms`, 'TimeoutError')), exchange.timeoutMs);
    req.on('error', (error) => finish(() => reject(error)));
    req.on('response', (res) => {
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
