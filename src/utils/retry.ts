/**
 * Retrying remote calls: exponential backoff with jitter, the server's
 * `Retry-After` (seconds or an HTTP date; OpenAI's `retry-after-ms` too)
 * honoured when it is given, errors classified by shape, and one retry loop
 * (`retryLoop`) shared by the OpenAI-compatible sampler and judge endpoint.
 * The Tinker client has its own loops (idempotent re-submission, long polls)
 * but takes its delays from here (`exponentialDelay`, `retryAfterWithin`).
 * Clock, sleep and randomness are passed in.
 */
import { redactSecrets } from './redact.js';
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

/** min(base·2^retry, max): the capped exponential delay before retry number `retry` (0 = first), without jitter. */
export function exponentialDelay(retry: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** retry);
}

/**
 * Delay before retry number `retry` (0 = first retry): base·2^retry capped at
 * max, then "equal jitter" — uniformly in [d/2, d) — so concurrent clients
 * spread out but never retry immediately.
 */
export function backoffDelay(retry: number, options: BackoffOptions, rng: Rng): number {
  const d = exponentialDelay(retry, options.baseDelayMs, options.maxDelayMs);
  return d / 2 + rng.next() * (d / 2);
}

interface HeaderSource {
  get(name: string): string | null;
}

/** OpenAI's `retry-after-ms`, in ms; null when absent or not a number. */
function retryAfterMsHeader(headers: HeaderSource): number | null {
  const ms = headers.get('retry-after-ms');
  return ms !== null && ms.trim() !== '' && Number.isFinite(Number(ms)) ? Math.max(0, Number(ms)) : null;
}

/** `Retry-After` (seconds or an HTTP date), in ms; null when absent or unreadable. */
function retryAfterHeader(headers: HeaderSource, nowMs: number): number | null {
  const value = headers.get('retry-after');
  if (value === null || value.trim() === '') return null;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs);
}

/** The wait a response asks for, in ms, from `retry-after-ms` or `Retry-After`; null when absent or unreadable. */
export function retryAfterMs(headers: HeaderSource | undefined, nowMs: number): number | null {
  if (!headers) return null;
  return retryAfterMsHeader(headers) ?? retryAfterHeader(headers, nowMs);
}

/**
 * The first of `retry-after-ms`, `Retry-After` that asks for a wait in
 * (0, maxMs]; null when neither does (a longer request is ignored, not
 * shortened: the Tinker SDK's rule, with 60 s).
 */
export function retryAfterWithin(headers: HeaderSource, nowMs: number, maxMs: number): number | null {
  for (const ms of [retryAfterMsHeader(headers), retryAfterHeader(headers, nowMs)]) if (ms !== null && ms > 0 && ms <= maxMs) return ms;
  return null;
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
 * Classifies an error thrown by an HTTP client (utils/chat-client.ts, or any
 * client that throws the same shapes), by shape rather than class (`status`,
 * `headers`, the error's `name`), so this leaf module imports no client.
 */
export function classifyRemoteError(error: unknown, nowMs: number): RemoteFailure {
  const e = error as { name?: unknown; status?: unknown; headers?: unknown; message?: unknown } | null;
  const name = typeof e?.name === 'string' ? e.name : '';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  const status = typeof e?.status === 'number' ? e.status : null;
  if (name === 'AbortError') return { category: 'aborted', status: null, retryable: false, retryAfterMs: null, message };
  if (name === 'TimeoutError' || (status === null && /timed? ?out/i.test(message)))
    return { category: 'timeout', status: null, retryable: true, retryAfterMs: null, message };
  if (status !== null) {
    const headers = e?.headers as { get(name: string): string | null } | undefined;
    const retryAfter = typeof headers?.get === 'function' ? retryAfterMs(headers, nowMs) : null;
    return { category: `http ${status}`, status, retryable: RETRYABLE_STATUS.has(status) || status >= 500, retryAfterMs: retryAfter, message };
  }
  if (name === 'ConnectionError') return { category: 'connection error', status: null, retryable: true, retryAfterMs: null, message };
  if (error instanceof SyntaxError) return { category: 'malformed response', status: null, retryable: true, retryAfterMs: null, message };
  return { category: 'client error', status: null, retryable: false, retryAfterMs: null, message };
}

/** What an attempt returns to be made again at once: no wait, and not counted against `maxRetries`. */
export const AGAIN: unique symbol = Symbol('retry again at once');

export interface RetryLoopOptions {
  /** Retries after retryable failures (so at most maxRetries + 1 such attempts). */
  readonly maxRetries: number;
  readonly backoff: BackoffOptions;
  /** Randomness of the jitter. */
  readonly rng: Rng;
  /** How to wait (default: a timer that an abort cuts short). */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** The clock used to read Retry-After dates (default Date.now). */
  readonly now?: () => number;
  readonly signal?: AbortSignal;
  /** A failure to try again at once instead of backing off or giving up (e.g. a response format the server refuses). */
  readonly retryAtOnce?: (failure: RemoteFailure) => boolean;
  /** Told of each retry before its wait (for counters): `retry` 0 is the first. */
  readonly onRetry?: (event: { readonly failure: RemoteFailure; readonly retry: number; readonly delayMs: number }) => void;
}

export type RetryOutcome<T> =
  | { readonly kind: 'ok'; readonly value: T; readonly attempts: number }
  /** Not retryable, or still failing after maxRetries retries. */
  | { readonly kind: 'failed'; readonly failure: RemoteFailure; readonly attempts: number }
  | { readonly kind: 'aborted'; readonly attempts: number };

/**
 * The wait before retry number `retry`: the server's Retry-After when it
 * gave one (capped at `maxRetryAfterMs`), else `backoffDelay`.
 */
export function retryDelay(failure: RemoteFailure, retry: number, backoff: BackoffOptions, rng: Rng): number {
  return failure.retryAfterMs !== null ? Math.min(failure.retryAfterMs, backoff.maxRetryAfterMs) : backoffDelay(retry, backoff, rng);
}

/**
 * Calls `attempt` (with its 1-based number) until it returns a value: a
 * thrown error is classified (`classifyRemoteError`); a retryable one is
 * retried after `retryDelay`, up to `maxRetries` times; anything else ends the
 * loop as `failed`. An abort — before an attempt, during one, or during a
 * wait — ends it as `aborted`. Never throws for the attempt's errors.
 */
export async function retryLoop<T>(attempt: (n: number) => Promise<T | typeof AGAIN>, options: RetryLoopOptions): Promise<RetryOutcome<T>> {
  const wait = options.sleep ?? sleep;
  const now = options.now ?? Date.now;
  const signal = options.signal;
  let attempts = 0;
  let retries = 0;
  for (;;) {
    if (signal?.aborted) return { kind: 'aborted', attempts };
    attempts += 1;
    let failure: RemoteFailure;
    try {
      const value = await attempt(attempts);
      if (value !== AGAIN) return { kind: 'ok', value: value as T, attempts };
      continue;
    } catch (error) {
      failure = classifyRemoteError(error, now());
    }
    if (signal?.aborted || failure.category === 'aborted') return { kind: 'aborted', attempts };
    if (options.retryAtOnce?.(failure)) continue;
    if (!failure.retryable || retries >= options.maxRetries) return { kind: 'failed', failure, attempts };
    const delayMs = retryDelay(failure, retries, options.backoff, options.rng);
    options.onRetry?.({ failure, retry: retries, delayMs });
    retries += 1;
    try {
      await wait(delayMs, signal);
    } catch {
      return { kind: 'aborted', attempts };
    }
  }
}

/**
 * The bracketed detail of a final failure: the attempt count, and for a
 * failure that retrying could not fix, its message with secrets removed.
 */
export function failureDetail(failure: RemoteFailure, attempts: number, secrets: ReadonlyArray<string | undefined>): string {
  const count = `after ${attempts} attempt${attempts === 1 ? '' : 's'}`;
  return failure.retryable ? count : `${count}: ${redactSecrets(failure.message, secrets, 200)}`;
}

/** The category of a failure reason written as `category (detail)`: `http 500 (after 5 attempts)` → `http 500`. */
export function reasonCategory(reason: string): string {
  return reason.replace(/\s*\(.*$/s, '');
}

/** A 400/422 that says the server serves another model: `transformers serve` pinned to one model answers `400 Server is pinned to 'X'; requested 'Y'.`. */
const OTHER_MODEL = /\bpinned to\b|\bmodel\b[^.;]*\b(does not exist|not found|is not served|not available)\b/i;

/**
 * The category of a final failure reason (`category (detail)`, as the sampler
 * and the judges write it) that every later call to the endpoint would
 * repeat, or null: HTTP 401/403/404 (wrong key, model or route), or a 400/422
 * whose message says the server serves another model (`transformers serve`
 * answers a wrong model name with 400, not 404). A run stops at the first.
 */
export function endpointRefusal(reason: string): string | null {
  const category = reasonCategory(reason);
  if (/^http (401|403|404)$/.test(category)) return category;
  if (/^http (400|422)$/.test(category) && OTHER_MODEL.test(reason)) return `${category}, wrong model`;
  return null;
}
