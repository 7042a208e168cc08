/**
 * A small `fetch` over node:http / node:https keep-alive agents (the
 * exchange itself is http-client.ts), for the OpenAI SDK's `fetch` option in
 * the OpenAI sampler: Node 20's global fetch costs about 0.75 ms of
 * main-thread CPU per chat completion more.
 *
 * What it supports is what the SDK uses: a URL, method, headers, a string or
 * byte body, and an AbortSignal. The whole response body is read into memory
 * (chat completions are small; no streaming) and decompressed when the server
 * compressed it. Failures look like fetch's: a `TypeError('fetch failed')`
 * with the socket error as `cause`, and the signal's reason (an `AbortError`)
 * on abort, so the SDK classifies them as it does for global fetch.
 */
import { createHttpAgents, sendHttp, type HttpReply } from './http-client.js';

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

function responseHeaders(reply: HttpReply): Headers {
  const headers = new Headers();
  const raw = reply.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (name === 'content-encoding' || name === 'content-length') continue;
    headers.append(raw[i], raw[i + 1]);
  }
  return headers;
}

/** A `fetch` for one client: keep-alive agents (http and https) shared by its requests. */
export function createHttpFetch(options: HttpFetchOptions = {}): typeof fetch {
  const agents = createHttpAgents(options.maxSockets ?? 64);
  const httpFetch = async (input: FetchInput, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const signal = init.signal ?? undefined;
    if (signal?.aborted) throw signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`http-fetch: unsupported protocol ${url.protocol}`);
    const body = bodyBytes(init.body);
    const headers = headerRecord(init.headers);
    headers['accept-encoding'] ??= 'gzip, deflate, br';
    let reply: HttpReply;
    try {
      reply = await sendHttp(agents, url, { method: init.method ?? 'GET', headers, ...(body !== undefined ? { body } : {}), ...(signal ? { signal } : {}) });
    } catch (error) {
      // An abort fails with the signal's reason, anything else as fetch's TypeError with the cause attached.
      if (signal?.aborted) throw error;
      throw Object.assign(new TypeError('fetch failed'), { cause: error });
    }
    return new Response(reply.body, { status: reply.status, statusText: reply.statusText, headers: responseHeaders(reply) });
  };
  return httpFetch as typeof fetch;
}
