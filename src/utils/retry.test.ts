import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRng } from './rng.js';
import { ChatHttpError, ConnectionError } from './chat-client.js';
import type { HttpReply } from './http-client.js';
import { AGAIN, backoffDelay, classifyRemoteError, endpointRefusal, exponentialDelay, failureDetail, retryAfterMs, retryAfterWithin, retryLoop, type RetryLoopOptions } from './retry.js';

const headers = (h: Record<string, string>) => new Headers(h);

describe('retryAfterMs', () => {
  it('reads seconds, HTTP dates and retry-after-ms', () => {
    const now = Date.parse('Wed, 25 Nov 2026 15:00:00 GMT');
    expect(retryAfterMs(headers({ 'retry-after': '2' }), now)).toBe(2000);
    expect(retryAfterMs(headers({ 'retry-after': '0.5' }), now)).toBe(500);
    expect(retryAfterMs(headers({ 'retry-after': 'Wed, 25 Nov 2026 15:00:07 GMT' }), now)).toBe(7000);
    expect(retryAfterMs(headers({ 'retry-after': 'Wed, 25 Nov 2026 14:59:00 GMT' }), now)).toBe(0);
    expect(retryAfterMs(headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now)).toBe(250);
    expect(retryAfterMs(headers({ 'retry-after': 'soon' }), now)).toBeNull();
    expect(retryAfterMs(headers({}), now)).toBeNull();
    expect(retryAfterMs(undefined, now)).toBeNull();
  });
});

describe('backoffDelay', () => {
  it('doubles per retry within [d/2, d), capped', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), fc.integer(), (retry, seed) => {
        const options = { baseDelayMs: 100, maxDelayMs: 5000, maxRetryAfterMs: 1000 };
        const d = Math.min(5000, 100 * 2 ** retry);
        const delay = backoffDelay(retry, options, createRng(seed));
        expect(delay).toBeGreaterThanOrEqual(d / 2);
        expect(delay).toBeLessThan(d);
      }),
    );
  });
});

describe('classifyRemoteError', () => {
  it('classifies by status and name', () => {
    const err = (props: Record<string, unknown>) => Object.assign(new Error(String(props.message ?? 'x')), props);
    expect(classifyRemoteError(err({ status: 500 }), 0)).toMatchObject({ category: 'http 500', retryable: true });
    expect(classifyRemoteError(err({ status: 429, headers: headers({ 'retry-after': '3' }) }), 0)).toMatchObject({
      category: 'http 429',
      retryable: true,
      retryAfterMs: 3000,
    });
    expect(classifyRemoteError(err({ status: 401 }), 0)).toMatchObject({ category: 'http 401', retryable: false });
    expect(classifyRemoteError(err({ name: 'TimeoutError', message: 'The operation was aborted due to timeout' }), 0)).toMatchObject({
      category: 'timeout',
      retryable: true,
    });
    expect(classifyRemoteError(err({ message: 'Request timed out.' }), 0)).toMatchObject({ category: 'timeout', retryable: true });
    expect(classifyRemoteError(err({ name: 'ConnectionError' }), 0)).toMatchObject({ category: 'connection error', retryable: true });
    expect(classifyRemoteError(new SyntaxError('Unexpected end of JSON input'), 0)).toMatchObject({ category: 'malformed response' });
    expect(classifyRemoteError(err({ name: 'AbortError' }), 0)).toMatchObject({ category: 'aborted', retryable: false });
  });

  it('classifies what the chat client and AbortSignal throw', () => {
    const refused = new ConnectionError('connection error (connect ECONNREFUSED 127.0.0.1:9)');
    expect(classifyRemoteError(refused, 0)).toMatchObject({ category: 'connection error', retryable: true });
    const reply: HttpReply = { status: 503, statusText: 'Service Unavailable', rawHeaders: ['Retry-After', '4'], body: Buffer.from('{"detail":"busy"}'), header: (n) => (n === 'retry-after' ? '4' : null) };
    const busy = new ChatHttpError(503, reply);
    expect(classifyRemoteError(busy, 0)).toMatchObject({ category: 'http 503', status: 503, retryable: true, retryAfterMs: 4000, message: '503 busy' });
    // what AbortSignal.timeout() aborts with
    expect(classifyRemoteError(new DOMException('The operation was aborted due to timeout', 'TimeoutError'), 0)).toMatchObject({ category: 'timeout' });
    const controller = new AbortController();
    controller.abort();
    expect(classifyRemoteError(controller.signal.reason, 0)).toMatchObject({ category: 'aborted', retryable: false });
    expect(classifyRemoteError(new Error('something else'), 0)).toMatchObject({ category: 'client error', retryable: false });
  });
});

describe('exponentialDelay and retryAfterWithin (the Tinker client\'s delays)', () => {
  it('doubles without jitter up to the cap', () => {
    expect([0, 1, 2, 3, 4, 5].map((n) => exponentialDelay(n, 1000, 30_000))).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000]);
  });

  it('takes the first of retry-after-ms, Retry-After within (0, max], and ignores longer or zero waits', () => {
    const now = Date.parse('Wed, 25 Nov 2026 15:00:00 GMT');
    expect(retryAfterWithin(headers({ 'retry-after-ms': '7' }), now, 60_000)).toBe(7);
    expect(retryAfterWithin(headers({ 'retry-after-ms': '90000', 'retry-after': '2' }), now, 60_000)).toBe(2000);
    expect(retryAfterWithin(headers({ 'retry-after': '61' }), now, 60_000)).toBeNull();
    expect(retryAfterWithin(headers({ 'retry-after': '0' }), now, 60_000)).toBeNull();
    expect(retryAfterWithin(headers({ 'retry-after': 'Wed, 25 Nov 2026 15:00:07 GMT' }), now, 60_000)).toBe(7000);
    expect(retryAfterWithin(headers({}), now, 60_000)).toBeNull();
  });
});

describe('retryLoop', () => {
  const httpError = (status: number, message = `HTTP ${status}`, h: Record<string, string> = {}) => Object.assign(new Error(message), { status, headers: headers(h) });
  // rng.next() = 0.5 always: the equal-jitter delay is d/2 + 0.5·d/2 = 0.75·d.
  const halfRng = { next: () => 0.5, int: () => 0, normal: () => 0, fork: () => halfRng };
  const setup = (overrides: Partial<RetryLoopOptions> = {}) => {
    const slept: number[] = [];
    const retried: Array<{ retry: number; delayMs: number; category: string }> = [];
    const options: RetryLoopOptions = {
      maxRetries: 3,
      backoff: { baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 5000 },
      rng: halfRng,
      sleep: async (ms) => {
        slept.push(ms);
      },
      now: () => 0,
      onRetry: (e) => retried.push({ retry: e.retry, delayMs: e.delayMs, category: e.failure.category }),
      ...overrides,
    };
    return { slept, retried, options };
  };
  /** An attempt that throws the given errors in turn, then returns 'done'. */
  const failing = (...errors: unknown[]) => {
    const calls: number[] = [];
    const attempt = async (n: number): Promise<string> => {
      calls.push(n);
      const e = errors[n - 1];
      if (e !== undefined) throw e;
      return 'done';
    };
    return { calls, attempt };
  };

  it('retries retryable failures with backoff (base·2ⁿ, jittered) and returns the value with the attempt count', async () => {
    const { slept, retried, options } = setup();
    const { calls, attempt } = failing(httpError(500), new Error('Request timed out.'));
    expect(await retryLoop(attempt, options)).toEqual({ kind: 'ok', value: 'done', attempts: 3 });
    expect(calls).toEqual([1, 2, 3]);
    expect(slept).toEqual([75, 150]); // 0.75·100, 0.75·200
    expect(retried).toEqual([
      { retry: 0, delayMs: 75, category: 'http 500' },
      { retry: 1, delayMs: 150, category: 'timeout' },
    ]);
  });

  it('gives up after maxRetries retries, and at once on a failure that is not retryable', async () => {
    const { slept, options } = setup({ maxRetries: 2 });
    const always503 = failing(httpError(503), httpError(503), httpError(503), httpError(503));
    const out = await retryLoop(always503.attempt, options);
    expect(out).toMatchObject({ kind: 'failed', attempts: 3, failure: { category: 'http 503', retryable: true } });
    expect(slept).toEqual([75, 150]); // 2 retries, 3 attempts

    const fresh = setup();
    const unauthorized = failing(httpError(401, 'bad key sk-secret-123456'));
    const refused = await retryLoop(unauthorized.attempt, fresh.options);
    expect(refused).toMatchObject({ kind: 'failed', attempts: 1, failure: { category: 'http 401', retryable: false } });
    expect(fresh.slept).toEqual([]);
    if (refused.kind !== 'failed') throw new Error('expected a failure');
    expect(failureDetail(refused.failure, refused.attempts, ['sk-secret-123456'])).toBe('after 1 attempt: bad key [redacted]');
    expect(failureDetail(refused.failure, 3, [])).toMatch(/^after 3 attempts: /);
    expect(failureDetail({ ...refused.failure, retryable: true }, 3, [])).toBe('after 3 attempts');
  });

  it('waits what Retry-After asks, capped at maxRetryAfterMs, instead of the backoff', async () => {
    const { slept, options } = setup();
    const { attempt } = failing(httpError(429, 'slow down', { 'retry-after': '2' }), httpError(429, 'slow down', { 'retry-after': '600' }));
    expect(await retryLoop(attempt, options)).toMatchObject({ kind: 'ok', attempts: 3 });
    expect(slept).toEqual([2000, 5000]); // 2 s as asked; 600 s capped at 5 s
  });

  it('stops on abort: before an attempt, when the attempt is aborted, and during a wait', async () => {
    const before = new AbortController();
    before.abort();
    const a = failing();
    expect(await retryLoop(a.attempt, setup({ signal: before.signal }).options)).toEqual({ kind: 'aborted', attempts: 0 });
    expect(a.calls).toEqual([]);

    const userAbort = failing(Object.assign(new Error('Request was aborted.'), { name: 'AbortError' }));
    expect(await retryLoop(userAbort.attempt, setup().options)).toEqual({ kind: 'aborted', attempts: 1 });

    const during = new AbortController();
    const { options, slept } = setup({
      signal: during.signal,
      sleep: async (ms) => {
        slept.push(ms);
        during.abort();
        throw new Error('aborted while waiting');
      },
    });
    const b = failing(httpError(500), httpError(500));
    expect(await retryLoop(b.attempt, options)).toEqual({ kind: 'aborted', attempts: 1 });
    expect(slept).toEqual([75]);
    expect(b.calls).toEqual([1]);
  });

  it('makes another attempt at once for AGAIN and for retryAtOnce failures, without counting a retry', async () => {
    const { slept, retried, options } = setup({ maxRetries: 0, retryAtOnce: (f) => f.status === 400 });
    let n = 0;
    const out = await retryLoop(async () => {
      n += 1;
      if (n === 1) return AGAIN;
      if (n === 2) throw httpError(400, 'response_format not supported');
      if (n === 3) throw httpError(500);
      return 'late';
    }, options);
    // maxRetries 0: the 500 at attempt 3 ends the loop; the AGAIN and the 400 before it used no retry and no wait
    expect(out).toMatchObject({ kind: 'failed', attempts: 3, failure: { category: 'http 500' } });
    expect(slept).toEqual([]);
    expect(retried).toEqual([]);
  });
});

describe('endpointRefusal', () => {
  it('stops on 401/403/404 and on a 400/422 that names another model; not on other failures', () => {
    expect(endpointRefusal('http 401 (after 1 attempt: 401 Incorrect API key provided: [redacted].)')).toBe('http 401');
    expect(endpointRefusal('http 404 (after 1 attempt: 404 The model `x` does not exist.)')).toBe('http 404');
    expect(endpointRefusal('http 403')).toBe('http 403');
    // transformers serve 5.18's reply to a wrong model name, as the sampler and the judges write it
    expect(endpointRefusal("http 400 (after 1 attempt: 400 Server is pinned to '/models/tiny'; requested 'gpt-5-mini'.)")).toBe('http 400, wrong model');
    expect(endpointRefusal('http 400 (after 1 attempt: 400 The model `qwen-typo` does not exist.)')).toBe('http 400, wrong model');
    expect(endpointRefusal('http 400 (after 1 attempt: 400 max_tokens is too large for this model)')).toBeNull();
    expect(endpointRefusal('http 400 (after 1 attempt: 400 image file does not exist)')).toBeNull();
    expect(endpointRefusal('http 500 (after 5 attempts)')).toBeNull();
    expect(endpointRefusal('connection error (after 5 attempts)')).toBeNull();
    expect(endpointRefusal('unparseable output (after 2 attempts)')).toBeNull();
  });
});
