import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRng } from './rng.js';
import { APIConnectionError, APIConnectionTimeoutError, APIUserAbortError } from 'openai';
import { backoffDelay, classifyRemoteError, retryAfterMs } from './retry.js';

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
    expect(classifyRemoteError(err({ name: 'APIConnectionTimeoutError', message: 'Request timed out.' }), 0)).toMatchObject({
      category: 'timeout',
      retryable: true,
    });
    expect(classifyRemoteError(err({ name: 'APIConnectionError' }), 0)).toMatchObject({ category: 'connection error', retryable: true });
    expect(classifyRemoteError(new SyntaxError('Unexpected end of JSON input'), 0)).toMatchObject({ category: 'malformed response' });
    expect(classifyRemoteError(err({ name: 'APIUserAbortError' }), 0)).toMatchObject({ category: 'aborted', retryable: false });
  });

  it("classifies the openai SDK's own error classes, whose name property is just 'Error'", () => {
    const connection = new APIConnectionError({ message: 'Connection error.' });
    expect(connection.name).toBe('Error'); // why the class chain is read, not only `name`
    expect(classifyRemoteError(connection, 0)).toMatchObject({ category: 'connection error', retryable: true });
    expect(classifyRemoteError(new APIConnectionTimeoutError(), 0)).toMatchObject({ category: 'timeout', retryable: true });
    expect(classifyRemoteError(new APIUserAbortError(), 0)).toMatchObject({ category: 'aborted', retryable: false });
    expect(classifyRemoteError(new Error('something else'), 0)).toMatchObject({ category: 'client error', retryable: false });
  });
});
