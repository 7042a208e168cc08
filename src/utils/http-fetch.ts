/**
 * A small `fetch` over node:http / node:https with a keep-alive agent, for
 * the OpenAI SDK's `fetch` option (judges, the OpenAI sampler). Node 20's
 * global fetch (undici + web streams) costs about 0.75 ms of main-thread CPU
 * per chat completion more than this (measured with `npm run bench -- judge`),
 * and the judge client is CPU-bound on one thread.
 *
 * What it supports is what the SDK uses: a URL, method, headers, a string or
 * byte body, and an AbortSignal. The whole response body is read into memory
 * (chat completions are small; no streaming) and decompressed when the server
 * compressed it. Failures look like fetch's: a `TypeError('fetch failed')`
 * with the socket error as `cause`, and the signal's reason (an `AbortError`)
 * on abort, so the SDK classifies them as it does for global fetch.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';

export interface HttpFetchOptions {
  /** Sockets per host (default 64); set it to the request concurrency. */
  readonly maxSockets?: number;
}

type FetchInput = string | URL | { readonly url: string };
type HeadersLike = RequestInit['headers'];
type BodyLike = RequestInit['body'];

function headerRecord(headers: HeadersLike): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers === undefined) return out;
  if (headers instanceof Headers) {
    headers.forEach((v, k) => {
      out[k] = v;
    });
  } else if (Array.isArray(headers)) {
    for (const [k, v] of headers) out[k.toLowerCase()] = v;
  } else {
    for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k.toLowerCase()] = String(v);
  }
  return out;
}

function bodyBytes(body: BodyLike): Buffer | undefined {
  if (body === null || body === undefined) return undefined;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof URLSearchParams) return Buffer.from(body.toString(), 'utf8');
  throw new TypeError('http-fetch: only string and byte bodies are supported');
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
      throw new TypeError(`http-fetch: unsupported content-encoding "${encoding}"`);
  }
}

function responseHeaders(res: IncomingMessage): Headers {
  const headers = new Headers();
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
    const name = res.rawHeaders[i];
    if (name.toLowerCase() === 'content-encoding' || name.toLowerCase() === 'content-length') continue;
    headers.append(name, res.rawHeaders[i + 1]);
  }
  return headers;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** A `fetch` for one client: keep-alive agents (http and https) shared by its requests. */
export function createHttpFetch(options: HttpFetchOptions = {}): typeof fetch {
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 64 };
  const agents = { http: new HttpAgent(agentOptions), https: new HttpsAgent(agentOptions) };
  const httpFetch = (input: FetchInput, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const signal = init.signal ?? undefined;
    return new Promise<Response>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      let body: Buffer | undefined;
      try {
        body = bodyBytes(init.body);
      } catch (error) {
        reject(error);
        return;
      }
      const headers = headerRecord(init.headers);
      if (body !== undefined) headers['content-length'] = String(body.byteLength);
      headers['accept-encoding'] ??= 'gzip, deflate, br';
      const secure = url.protocol === 'https:';
      if (!secure && url.protocol !== 'http:') {
        reject(new TypeError(`http-fetch: unsupported protocol ${url.protocol}`));
        return;
      }
      const send = secure ? httpsRequest : httpRequest;
      const req = send(url, { method: init.method ?? 'GET', headers, agent: secure ? agents.https : agents.http });
      let settled = false;
      const onAbort = (): void => {
        if (settled) return;
        settled = true;
        req.destroy();
        reject(abortReason(signal as AbortSignal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const finish = (outcome: () => void): void => {
        signal?.removeEventListener('abort', onAbort);
        if (settled) return;
        settled = true;
        outcome();
      };
      req.on('error', (error) => finish(() => reject(Object.assign(new TypeError('fetch failed'), { cause: error }))));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (error) => finish(() => reject(Object.assign(new TypeError('fetch failed'), { cause: error }))));
        res.on('end', () =>
          finish(() => {
            try {
              const status = res.statusCode ?? 0;
              const nullBody = status === 204 || status === 205 || status === 304 || init.method === 'HEAD';
              const data = nullBody ? null : decode(Buffer.concat(chunks), res.headers['content-encoding']);
              resolve(new Response(data, { status, statusText: res.statusMessage ?? '', headers: responseHeaders(res) }));
            } catch (error) {
              reject(Object.assign(new TypeError('fetch failed'), { cause: error }));
            }
          }),
        );
      });
      req.end(body);
    });
  };
  return httpFetch as typeof fetch;
}
