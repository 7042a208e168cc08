/**
 * HTTP transport to a Tinker API server (docs/tinker-protocol.md §1): routes under
 * `<base>/api/v1/`, JSON bodies, the API key (or the JWT obtained with it) in
 * `X-API-Key`. The credential is read through a function at send time and is
 * never put into an error message or a log line.
 *
 * A response is returned whatever its status; only a failure to get one (a
 * dropped connection, a refused connection, a timeout) throws, as a
 * `TransportError`, which the retry layers treat as transient.
 */
import { redactSecrets } from '../../utils/redact.js';
import { MrpoError } from '../../errors.js';

/** Time, injected so that tests and retries never depend on the wall clock. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

export interface HttpResponse {
  readonly status: number;
  readonly headers: Headers;
  /** The body as UTF-8 text (empty for a binary body that is not text). */
  readonly text: string;
  readonly bytes: Uint8Array;
}

/** A request body that is not JSON (the protobuf wire format). */
export interface RawBody {
  readonly bytes: Uint8Array;
  readonly contentType: string;
}

/** No response was received (connection refused or dropped, timeout). */
export class TransportError extends MrpoError {
  override readonly name: string = 'TransportError';
}

export interface TransportOptions {
  readonly baseUrl: string;
  /** The value for `X-API-Key` (API key or JWT); called per request. */
  readonly credential: () => Promise<string>;
  readonly userAgent?: string;
  readonly fetch?: typeof fetch;
}

export interface RequestOptions {
  readonly timeoutMs: number;
  /** Aborts the request (the client was closed). */
  readonly signal?: AbortSignal;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface Transport {
  readonly baseUrl: string;
  post(route: string, body: string | RawBody, options: RequestOptions): Promise<HttpResponse>;
  get(route: string, options: RequestOptions): Promise<HttpResponse>;
}

/** `<base>/api/v1/<route>`, the base URL treated as a directory. */
export function routeUrl(baseUrl: string, route: string): string {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return new URL(`api/v1/${route}`, base).toString();
}

function describeCause(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'timed out';
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof Error) return `${error.message}: ${(cause as { code?: string }).code ?? cause.message}`;
    return error.message;
  }
  return String(error);
}

export function createTransport(options: TransportOptions): Transport {
  const doFetch = options.fetch ?? fetch;
  const send = async (method: 'GET' | 'POST', route: string, body: string | RawBody | undefined, req: RequestOptions): Promise<HttpResponse> => {
    const url = routeUrl(options.baseUrl, route);
    const headers: Record<string, string> = {
      Accept: 'application/json',
      'X-API-Key': await options.credential(),
      'User-Agent': options.userAgent ?? 'mrpo-tinker-client',
      ...req.headers,
    };
    if (body !== undefined) headers['Content-Type'] = typeof body === 'string' ? 'application/json' : body.contentType;
    try {
      const timeout = AbortSignal.timeout(req.timeoutMs);
      const signal = req.signal === undefined ? timeout : AbortSignal.any([timeout, req.signal]);
      const payload = body === undefined || typeof body === 'string' ? body : body.bytes;
      const response = await doFetch(url, { method, headers, body: payload, signal });
      const bytes = new Uint8Array(await response.arrayBuffer());
      const binary = (response.headers.get('content-type') ?? '').includes('protobuf');
      return { status: response.status, headers: response.headers, text: binary ? '' : Buffer.from(bytes).toString('utf8'), bytes };
    } catch (error) {
      throw new TransportError(`${method} ${route}: no response from ${new URL(url).origin} (${describeCause(error)})`, { cause: error });
    }
  };
  return {
    baseUrl: options.baseUrl,
    post: (route, body, req) => send('POST', route, body, req),
    get: (route, req) => send('GET', route, undefined, req),
  };
}

/** The body as JSON, or undefined when it is empty or not JSON. */
export function jsonBody(response: HttpResponse): unknown {
  if (response.text.length === 0) return undefined;
  try {
    return JSON.parse(response.text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * A short, secret-free description of an error response for messages: the
 * server's `detail`/`error`/`message` (or its text) passed through
 * `redactSecrets` with `secrets` (the API key and any JWT), since a server or
 * proxy may echo the request's credentials in its error body.
 */
export function describeErrorBody(response: HttpResponse, secrets: ReadonlyArray<string | undefined> = []): string {
  const body = jsonBody(response);
  if (body !== null && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const detail = b.detail ?? b.error ?? b.message;
    if (detail !== undefined) return redactSecrets(typeof detail === 'string' ? detail : JSON.stringify(detail), secrets);
  }
  const text = response.text.trim();
  return text.length === 0 ? '(empty body)' : redactSecrets(text, secrets);
}
