/**
 * The two kinds of call to a Tinker server and their retry rules
 * (docs/tinker-protocol.md §2.2, §2.3, §9 items 6–8).
 *
 * `postWithRetries` — a submission or synchronous call. The body is serialised
 * once and the same bytes go out on every retry, with the same
 * `X-Idempotency-Key`; training requests also carry their `seq_id` inside that
 * body, so a server that dedupes on `(model_id, seq_id)` (SkyRL) returns the
 * original future. Outcomes:
 *   2xx → result · 408, 429, 5xx, no response → back off min(base·2ⁿ, max)
 *   (a `Retry-After(-ms)` ≤ 60 s wins) until the submission deadline ·
 *   402 → pause `billingPauseMs` and retry until `billingMaxPauseMs` ·
 *   400 with an empty body (a proxy rejection) → retry up to 3 times ·
 *   409 and every other 4xx → fail with the server's detail. (The SDK retries
 *   409; here a 409 can only mean the server saw different content under the
 *   same seq_id, which a retry cannot fix.)
 *
 * `retrieveFuture` — the long-poll for a future's result:
 *   200 `type: try_again` → poll again (a paused `queue_state` is
 *   reported once) · 200 with `error` → RequestFailedError (terminal) ·
 *   200 otherwise → result · 408 → poll again · 5xx → poll again after a short
 *   pause (also after a try_again or 408 that came back without holding, so
 *   a non-holding server is not polled in a hot loop) · 429 / no response →
 *   back off · 400 with a JSON `detail` (SkyRL's failed request) →
 *   RequestFailedError · 400 without → proxy glitch, ≤ 3 retries · 402 →
 *   billing pause · 410 → FutureExpiredError · other 4xx → fail. A poll's
 *   client timeout (`pollTimeoutMs`, ≥ 60 s by default) is shorter than
 *   SkyRL's 300 s hold; a timed-out poll is simply repeated.
 */
import { randomUUID } from 'node:crypto';
import { RemoteError } from '../../errors.js';
import { redactSecrets } from '../../utils/redact.js';
import { exponentialDelay, retryAfterWithin } from '../../utils/retry.js';
import { describeErrorBody, jsonBody, TransportError, type Clock, type HttpResponse, type RawBody, type Transport } from './http.js';

export interface RetryPolicy {
  /** Client timeout of a submission or synchronous call. */
  readonly requestTimeoutMs: number;
  /** Client timeout of one retrieve_future long-poll. */
  readonly pollTimeoutMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** Give up retrying a submission after this long (the SDK: 5 minutes). */
  readonly submitDeadlineMs: number;
  readonly billingPauseMs: number;
  readonly billingMaxPauseMs: number;
  readonly proxy400Retries: number;
  /** Pause before re-polling after a 5xx. */
  readonly serverErrorPollDelayMs: number;
  /** Give up waiting for one future after this long (the SDK's stuck detection: 2 h). */
  readonly futureDeadlineMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  requestTimeoutMs: 60_000,
  pollTimeoutMs: 75_000,
  backoffBaseMs: 1_000,
  backoffMaxMs: 30_000,
  submitDeadlineMs: 300_000,
  billingPauseMs: 5_000,
  billingMaxPauseMs: 3_600_000,
  proxy400Retries: 3,
  serverErrorPollDelayMs: 250,
  futureDeadlineMs: 7_200_000,
};

/** A "not yet" answer faster than this was not a held long-poll: pause before the next poll. */
const MIN_HOLD_MS = 100;

export interface Logger {
  warn(message: string): void;
}

export const nullLogger: Logger = { warn: () => {} };

export interface CallContext {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly policy: RetryPolicy;
  readonly log: Logger;
  /** Set when the client is closed: retry and poll loops stop, requests in flight are aborted. */
  readonly signal?: AbortSignal;
  /** Credentials (API key, JWTs; the list may grow) removed from every server text that goes into a message. */
  readonly secrets?: ReadonlyArray<string | undefined>;
}

function assertNotAborted(ctx: CallContext, what: string): void {
  if (ctx.signal?.aborted) throw new RemoteError(`${what}: stopped because the Tinker client was closed`);
}

/** A request the server reports as failed (terminal; retrying would fail again). */
export class RequestFailedError extends RemoteError {
  override readonly name: string = 'RequestFailedError';
  constructor(
    readonly requestId: string,
    readonly category: string,
    detail: string,
    label: string,
  ) {
    super(`${label}: the training service reports request ${requestId} failed (${category}): ${detail}`);
  }
}

/** The future is gone (HTTP 410); a sample may be re-submitted, a training request may not. */
export class FutureExpiredError extends RemoteError {
  override readonly name: string = 'FutureExpiredError';
}

/** The SDK's backoff: min(base·2ⁿ, max), no jitter. */
const backoff = (policy: RetryPolicy, attempt: number): number => exponentialDelay(attempt, policy.backoffBaseMs, policy.backoffMaxMs);

/** The longest `Retry-After(-ms)` honoured (the SDK's rule); a longer one is ignored in favour of the backoff. */
const MAX_RETRY_AFTER_MS = 60_000;

const serverWait = (response: HttpResponse, clock: Clock): number | null => retryAfterWithin(response.headers, clock.now(), MAX_RETRY_AFTER_MS);

function statusError(route: string, response: HttpResponse, secrets: ReadonlyArray<string | undefined> = [], afterUnansweredAttempt = false): RemoteError {
  const s = response.status;
  const hint =
    s === 401 || s === 403
      ? ' (check TINKER_API_KEY)'
      : s === 404 && route !== 'retrieve_future'
        ? ' (is TINKER_BASE_URL the API root of a Tinker-compatible server?)'
        : '';
  const message = `${route}: HTTP ${s} from the training service${hint}: ${describeErrorBody(response, secrets)}`;
  return s >= 400 && s < 500 ? new RejectedError(s, message, afterUnansweredAttempt) : new RemoteError(message);
}

/**
 * The server answered a call with a final 4xx (400 with a detail, 401, 403,
 * 404, 409, 422, …; not the retried 408/429/402): it refused the request, so
 * it does not hold it. Measured on SkyRL a956457: 409 for a repeated
 * save_weights name, 422 for an unknown loss_fn_config key, both at submission
 * (measured against a live a956457 server; docs/tinker-protocol.md §8).
 */
export class RejectedError extends RemoteError {
  override readonly name: string = 'RejectedError';
  constructor(
    readonly status: number,
    message: string,
    /**
     * An earlier attempt of the same submission got no answer or a 408/5xx,
     * so the server may have taken that one: the refusal can be of a
     * duplicate (SkyRL's 409 for a save_weights name it already has).
     */
    readonly afterUnansweredAttempt = false,
  ) {
    super(message);
  }
}

export interface PostOptions {
  readonly headers?: Readonly<Record<string, string>>;
}

/** POSTs `body` (serialised once; a RawBody is sent as is) with the submission retry rules; returns the parsed JSON result. */
export async function postWithRetries(ctx: CallContext, route: string, body: unknown, options: PostOptions = {}): Promise<unknown> {
  const { transport, clock, policy, log } = ctx;
  const text = isRawBody(body) ? body : JSON.stringify(body);
  const idempotencyKey = `mrpo-${randomUUID()}`;
  const start = clock.now();
  let attempt = 0;
  let proxy400 = 0;
  let billingSince: number | undefined;
  let unanswered = false; // an attempt got no answer, or one the server may have processed before failing (408, 5xx)
  for (;;) {
    assertNotAborted(ctx, route);
    let response: HttpResponse | undefined;
    let failure = '';
    try {
      response = await transport.post(route, text, {
        timeoutMs: policy.requestTimeoutMs,
        signal: ctx.signal,
        headers: { 'X-Idempotency-Key': idempotencyKey, 'X-Mrpo-Retry-Count': String(attempt), ...options.headers },
      });
    } catch (error) {
      if (!(error instanceof TransportError)) throw error;
      response = undefined;
      failure = error.message;
    }
    let delay: number;
    if (response !== undefined) {
      const s = response.status;
      if (s >= 200 && s < 300) {
        const json = jsonBody(response);
        if (json === undefined) throw new RemoteError(`${route}: the training service answered HTTP ${s} without a JSON body`);
        return json;
      }
      if (s === 402) {
        billingSince ??= clock.now();
        if (clock.now() - billingSince >= policy.billingMaxPauseMs)
          throw new RemoteError(`${route}: the training service reports a billing problem (HTTP 402) for too long: ${describeErrorBody(response, ctx.secrets)}`);
        log.warn(`${route}: billing problem reported by the training service (HTTP 402); pausing and retrying`);
        await clock.sleep(policy.billingPauseMs);
        attempt++;
        continue;
      }
      if (s === 400 && response.text.trim().length === 0 && proxy400 < policy.proxy400Retries) {
        proxy400++;
        delay = backoff(policy, attempt);
        failure = 'HTTP 400 with an empty body (proxy rejection)';
      } else if (s === 408 || s === 429 || s >= 500) {
        delay = serverWait(response, clock) ?? backoff(policy, attempt);
        failure = `HTTP ${s}: ${describeErrorBody(response, ctx.secrets)}`;
      } else {
        throw statusError(route, response, ctx.secrets, unanswered);
      }
      if (s === 408 || s >= 500) unanswered = true;
    } else {
      unanswered = true;
      delay = backoff(policy, attempt);
    }
    if (clock.now() + delay - start > policy.submitDeadlineMs)
      throw new RemoteError(`${route}: gave up after ${attempt + 1} attempts over ${Math.round((clock.now() - start) / 1000)} s; last: ${failure}`);
    await clock.sleep(delay);
    attempt++;
  }
}

function isRawBody(body: unknown): body is RawBody {
  return typeof body === 'object' && body !== null && (body as RawBody).bytes instanceof Uint8Array && typeof (body as RawBody).contentType === 'string';
}

/** A result that came back in the protobuf format; the caller decodes it. */
export class ProtobufPayload {
  constructor(readonly bytes: Uint8Array) {}
}

export type QueueStateListener = (requestId: string, state: string, reason: string | undefined) => void;

export interface RetrieveOptions {
  /** What the future is for, in messages (e.g. `forward_backward seq 3`). */
  readonly label: string;
  /** `X-Tinker-Request-Type` telemetry header value. */
  readonly requestType?: string;
  /** Also accept a protobuf result (returned as a ProtobufPayload). */
  readonly acceptProtobuf?: boolean;
  readonly onQueueState?: QueueStateListener;
}

/** Long-polls `retrieve_future` until the result is there or the request failed. */
export async function retrieveFuture(ctx: CallContext, requestId: string, options: RetrieveOptions): Promise<unknown> {
  const { transport, clock, policy, log } = ctx;
  const body = JSON.stringify({ request_id: requestId, allow_metadata_only: false });
  const start = clock.now();
  let backoffAttempt = 0;
  let proxy400 = 0;
  let billingSince: number | undefined;
  let lastQueueState = 'active';
  const headers: Record<string, string> = options.requestType ? { 'X-Tinker-Request-Type': options.requestType } : {};
  if (options.acceptProtobuf) headers.Accept = 'application/x-protobuf, application/json';
  for (;;) {
    assertNotAborted(ctx, options.label);
    if (clock.now() - start > policy.futureDeadlineMs)
      throw new RemoteError(`${options.label}: no result for request ${requestId} after ${Math.round(policy.futureDeadlineMs / 1000)} s`);
    let response: HttpResponse;
    const sentAt = clock.now();
    // A server that answers "not yet" at once (instead of holding the poll) must not be polled in a hot loop.
    const pauseIfInstant = async (): Promise<void> => {
      if (clock.now() - sentAt < MIN_HOLD_MS) await clock.sleep(policy.serverErrorPollDelayMs);
    };
    try {
      response = await transport.post('retrieve_future', body, { timeoutMs: policy.pollTimeoutMs, headers, signal: ctx.signal });
    } catch (error) {
      if (!(error instanceof TransportError)) throw error;
      await clock.sleep(backoff(policy, backoffAttempt++));
      continue;
    }
    const s = response.status;
    if (s === 200) {
      if ((response.headers.get('content-type') ?? '').includes('application/x-protobuf')) {
        if (!options.acceptProtobuf) throw new RemoteError(`${options.label}: the training service answered in protobuf, which was not asked for`);
        return new ProtobufPayload(response.bytes);
      }
      const json = jsonBody(response);
      if (json === null || typeof json !== 'object' || Array.isArray(json))
        throw new RemoteError(`${options.label}: retrieve_future answered 200 without a JSON object`);
      const j = json as Record<string, unknown>;
      if (j.type === 'try_again') {
        const state = typeof j.queue_state === 'string' ? j.queue_state : 'active';
        if (state !== lastQueueState) {
          lastQueueState = state;
          const reason = typeof j.queue_state_reason === 'string' ? j.queue_state_reason : undefined;
          options.onQueueState?.(requestId, state, reason);
          if (state !== 'active') log.warn(`${options.label}: the training service queue is ${state}${reason ? ` (${reason})` : ''}; still waiting`);
        }
        await pauseIfInstant();
        continue;
      }
      if (j.status === 'complete_metadata') continue; // only with allow_metadata_only, which is never sent
      if ('error' in j && j.error !== null && j.error !== undefined) {
        const category = typeof j.category === 'string' ? j.category : 'unknown';
        throw new RequestFailedError(requestId, category, redactSecrets(typeof j.error === 'string' ? j.error : JSON.stringify(j.error), ctx.secrets ?? []), options.label);
      }
      return j;
    }
    if (s === 408) {
      await pauseIfInstant();
      continue;
    }
    if (s >= 500) {
      await clock.sleep(policy.serverErrorPollDelayMs);
      continue;
    }
    if (s === 429) {
      await clock.sleep(serverWait(response, clock) ?? backoff(policy, backoffAttempt++));
      continue;
    }
    if (s === 400) {
      const j = jsonBody(response);
      if (j !== null && typeof j === 'object' && 'detail' in j)
        throw new RequestFailedError(requestId, 'user', describeErrorBody(response, ctx.secrets), options.label);
      if (proxy400++ < policy.proxy400Retries) {
        await clock.sleep(backoff(policy, backoffAttempt++));
        continue;
      }
      throw statusError('retrieve_future', response, ctx.secrets);
    }
    if (s === 402) {
      billingSince ??= clock.now();
      if (clock.now() - billingSince >= policy.billingMaxPauseMs) throw statusError('retrieve_future', response, ctx.secrets);
      log.warn(`${options.label}: billing problem reported by the training service (HTTP 402); pausing`);
      await clock.sleep(policy.billingPauseMs);
      continue;
    }
    if (s === 410) throw new FutureExpiredError(`${options.label}: request ${requestId} expired on the training service (HTTP 410)`);
    throw statusError('retrieve_future', response, ctx.secrets);
  }
}
