/**
 * Retry timing for remote judge calls: exponential backoff with jitter, and
 * the server's `Retry-After` (seconds or an HTTP date; OpenAI's
 * `retry-after-ms` too) honoured when it is given. Clock and randomness are
 * passed in.
 */
import type { Rng } from './rng.js';

export interface BackoffOptions {
  /** Delay before the first retry, before jitter (ms). */
  readonly baseDelayMs: number;
  /** Cap on the exponential delay (ms). */
  readonly maxDelayMs: number;
  /** Cap on a server-requested Retry-After (ms); longer requests are shortened to this. */
  readonly maxRetryAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseDelayMs: 500, maxDelayMs: 30_000, maxRetryAfterMs: 120_000 };

/**
 * Delay before retry number `retry` (0 = first retry): base·2^retry capped at
 * max, then "equal jitter" — uniformly in [d/2, d) — so concurrent clients
 * spread out but never retry immediately.
 */
export function backoffDelay(retry: number, options: BackoffOptions, rng: Rng): number {
  const d = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** retry);
  return d / 2 + rng.next() * (d / 2);
}

/** The wait a response asks for, in ms, from `retry-after-ms` or `Retry-After`; null when absent or unreadable. */
export function retryAfterMs(headers: { get(name: string): string | null } | undefined, nowMs: number): number | null {
  if (!headers) return null;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = headers.get('retry-after');
  if (value === null || value.trim() === '') return null;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs);
}

/** Sleeps `ms`, or rejects early when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** What went wrong with one remote call, and whether trying again may help. */
export interface RemoteFailure {
  /** Short category used for counting: `http 500`, `timeout`, `connection error`, `malformed response`, `aborted`. */
  readonly category: string;
  readonly status: number | null;
  readonly retryable: boolean;
  /** The wait the server asked for (Retry-After), in ms. */
  readonly retryAfterMs: number | null;
  /** The error's own message (may echo request data: redact before showing). */
  readonly message: string;
}

const RETRYABLE_STATUS = new Set([408, 409, 425, 429, 500, 502, 503, 504]);

/**
 * The error's `name` and the class names along its prototype chain: the
 * `openai` SDK's errors keep `name === 'Error'`, so `APIConnectionError` (and
 * its subclass `APIConnectionTimeoutError`) show only as class names.
 */
function errorNames(error: unknown): Set<string> {
  const names = new Set<string>();
  if (error === null || typeof error !== 'object') return names;
  const name = (error as { name?: unknown }).name;
  if (typeof name === 'string') names.add(name);
  for (let proto: unknown = Object.getPrototypeOf(error); proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    const ctor = (proto as { constructor?: { name?: unknown } }).constructor;
    if (typeof ctor?.name === 'string' && ctor.name !== '') names.add(ctor.name);
  }
  return names;
}

/**
 * Classifies an error thrown by an HTTP client such as the `openai` SDK, by
 * shape rather than class (`status`, `headers`, the SDK's error names), so
 * this leaf module imports no client library.
 */
export function classifyRemoteError(error: unknown, nowMs: number): RemoteFailure {
  const e = error as { name?: unknown; status?: unknown; headers?: unknown; message?: unknown } | null;
  const names = errorNames(error);
  const is = (...candidates: string[]): boolean => candidates.some((c) => names.has(c));
  const message = typeof e?.message === 'string' ? e.message : String(error);
  const status = typeof e?.status === 'number' ? e.status : null;
  if (is('APIUserAbortError', 'AbortError')) return { category: 'aborted', status: null, retryable: false, retryAfterMs: null, message };
  if (is('APIConnectionTimeoutError', 'TimeoutError') || (status === null && /timed? ?out/i.test(message)))
    return { category: 'timeout', status: null, retryable: true, retryAfterMs: null, message };
  if (status !== null) {
    const headers = e?.headers as { get(name: string): string | null } | undefined;
    const retryAfter = typeof headers?.get === 'function' ? retryAfterMs(headers, nowMs) : null;
    return { category: `http ${status}`, status, retryable: RETRYABLE_STATUS.has(status) || status >= 500, retryAfterMs: retryAfter, message };
  }
  if (is('APIConnectionError')) return { category: 'connection error', status: null, retryable: true, retryAfterMs: null, message };
  if (error instanceof SyntaxError) return { category: 'malformed response', status: null, retryable: true, retryAfterMs: null, message };
  return { category: 'client error', status: null, retryable: false, retryAfterMs: null, message };
}
