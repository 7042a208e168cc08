import { afterEach, describe, expect, it } from 'vitest';
import { RemoteError } from '../../errors.js';
import { DEFAULT_RETRY_POLICY, FutureExpiredError, postWithRetries, RequestFailedError, retrieveFuture, type CallContext } from './calls.js';
import { createTransport } from './http.js';
import { startScriptedServer, virtualClock, type ScriptedReply, type ScriptedServer } from './test-support/scripted-server.js';

const KEY = 'tml-secret-key-123';
let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setup(script: ScriptedReply[], policy: Partial<CallContext['policy']> = {}) {
  server = await startScriptedServer(script);
  const clock = virtualClock();
  const warnings: string[] = [];
  const ctx: CallContext = {
    transport: createTransport({ baseUrl: server.url, credential: async () => KEY }),
    clock,
    policy: { ...DEFAULT_RETRY_POLICY, backoffBaseMs: 10, backoffMaxMs: 80, pollTimeoutMs: 5_000, requestTimeoutMs: 5_000, ...policy },
    log: { warn: (m) => warnings.push(m) },
  };
  return { ctx, clock, warnings, server };
}

describe('postWithRetries', () => {
  it('retries 503, 429 (Retry-After-Ms), a dropped connection and 408 with the same bytes and idempotency key', async () => {
    const { ctx, clock, server } = await setup([
      { status: 503, body: { detail: 'busy' } },
      { status: 429, headers: { 'retry-after-ms': '7' } },
      'drop',
      { status: 408 },
      { status: 200, body: { request_id: 'r1' } },
    ]);
    const body = { model_id: 'm', seq_id: 3, data: [1, 2, 3] };
    expect(await postWithRetries(ctx, 'forward_backward', body)).toEqual({ request_id: 'r1' });
    expect(server.requests).toHaveLength(5);
    expect(new Set(server.requests.map((r) => r.body))).toEqual(new Set([JSON.stringify(body)]));
    const keys = new Set(server.requests.map((r) => r.headers['x-idempotency-key']));
    expect(keys.size).toBe(1);
    expect([...keys][0]).toMatch(/^mrpo-[0-9a-f-]{36}$/);
    expect(server.requests.every((r) => r.headers['x-api-key'] === KEY && r.route === 'forward_backward')).toBe(true);
    // backoff base·2ⁿ (base 10): 10, then Retry-After-Ms 7, then 40, 80
    expect(clock.sleeps).toEqual([10, 7, 40, 80]);
  });

  it('fails at once on 409 with the server detail (a retry cannot fix reused content)', async () => {
    const { ctx, server } = await setup([{ status: 409, body: { detail: 'sequence number was reused' } }]);
    await expect(postWithRetries(ctx, 'optim_step', {})).rejects.toThrow('optim_step: HTTP 409 from the training service: sequence number was reused');
    expect(server.requests).toHaveLength(1);
  });

  it('fails on 401 with a hint and without the key in the message', async () => {
    const { ctx } = await setup([{ status: 401, body: { detail: 'bad key' } }]);
    const error = (await postWithRetries(ctx, 'create_session', {}).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.message).toContain('check TINKER_API_KEY');
    expect(error.message).not.toContain(KEY);
  });

  it('retries an empty-bodied 400 (proxy rejection) three times, then fails', async () => {
    const { ctx, server } = await setup([{ status: 400 }, { status: 400 }, { status: 400 }, { status: 400 }]);
    await expect(postWithRetries(ctx, 'asample', {})).rejects.toThrow(/HTTP 400/);
    expect(server.requests).toHaveLength(4);
  });

  it('pauses on 402 (billing) and gives up after the maximum pause', async () => {
    const ok = await setup([{ status: 402 }, { status: 402 }, { status: 200, body: { ok: 1 } }], { billingPauseMs: 1000 });
    expect(await postWithRetries(ok.ctx, 'create_model', {})).toEqual({ ok: 1 });
    expect(ok.clock.sleeps).toEqual([1000, 1000]);
    expect(ok.warnings.some((w) => w.includes('billing'))).toBe(true);
    await server?.close();
    const fail = await setup(new Array(10).fill({ status: 402, body: { detail: 'no credit' } }), { billingPauseMs: 1000, billingMaxPauseMs: 2500 });
    await expect(postWithRetries(fail.ctx, 'create_model', {})).rejects.toThrow(/billing problem.*no credit/);
    expect(fail.server.requests).toHaveLength(4); // pauses at 0, 1000, 2000; at 3000 ≥ 2500 it stops
  });

  it('gives up after the submission deadline with the last failure', async () => {
    const { ctx, server } = await setup(new Array(20).fill({ status: 502, body: { detail: 'bad gateway' } }), { submitDeadlineMs: 200 });
    await expect(postWithRetries(ctx, 'asample', {})).rejects.toThrow(/asample: gave up after 5 attempts.*HTTP 502: bad gateway/);
    // sleeps 10, 20, 40, 80 (capped) reach t = 150; the 5th failure's next wait (80) would end at 230 > 200
    expect(server.requests).toHaveLength(5);
  });
});

describe('retrieveFuture', () => {
  it('polls through try_again, 408, 5xx, 429 and a dropped connection to the result', async () => {
    const states: string[] = [];
    const { ctx, clock, warnings, server } = await setup([
      { status: 200, body: { type: 'try_again', request_id: 'r', queue_state: 'paused_capacity', queue_state_reason: 'no GPUs' } },
      { status: 408, body: { queue_state: 'active' } },
      { status: 502 },
      { status: 429, headers: { 'retry-after': '2' } },
      'drop',
      { status: 200, body: { metrics: { a: 1 } } },
    ]);
    const result = await retrieveFuture(ctx, 'r', { label: 'optim_step seq 2', onQueueState: (_, s) => states.push(s) });
    expect(result).toEqual({ metrics: { a: 1 } });
    expect(server.requests).toHaveLength(6);
    expect(server.requests.every((r) => JSON.parse(r.body).request_id === 'r')).toBe(true);
    expect(states).toEqual(['paused_capacity']);
    expect(warnings.join('\n')).toContain('paused_capacity (no GPUs)');
    // instant try_again and 408 (no hold; the virtual clock does not move) → short pause (250) each;
    // 5xx → short pause (250), 429 → Retry-After 2 s, drop → backoff base (10)
    expect(clock.sleeps).toEqual([250, 250, 250, 2000, 10]);
  });

  it('raises RequestFailedError for a 200 error body (hosted) and for a 400 with detail (SkyRL)', async () => {
    const hosted = await setup([{ status: 200, body: { error: 'bad datum', category: 'user' } }]);
    const e1 = await retrieveFuture(hosted.ctx, 'r9', { label: 'forward_backward seq 1' }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(RequestFailedError);
    expect((e1 as RequestFailedError).category).toBe('user');
    expect((e1 as Error).message).toBe('forward_backward seq 1: the training service reports request r9 failed (user): bad datum');
    await server?.close();
    const skyrl = await setup([{ status: 400, body: { detail: 'CUDA out of memory' } }]);
    await expect(retrieveFuture(skyrl.ctx, 'r1', { label: 'x' })).rejects.toThrow(/request r1 failed \(user\): CUDA out of memory/);
    expect(skyrl.server.requests).toHaveLength(1);
  });

  it('retries an empty 400 three times, then fails', async () => {
    const { ctx, server } = await setup([{ status: 400 }, { status: 400 }, { status: 400 }, { status: 400 }]);
    await expect(retrieveFuture(ctx, 'r', { label: 'x' })).rejects.toThrow(/HTTP 400/);
    expect(server.requests).toHaveLength(4);
  });

  it('raises FutureExpiredError on 410 and a plain RemoteError on 404', async () => {
    const a = await setup([{ status: 410 }]);
    await expect(retrieveFuture(a.ctx, 'r', { label: 'asample seq 0' })).rejects.toBeInstanceOf(FutureExpiredError);
    await server?.close();
    const b = await setup([{ status: 404, body: { detail: 'unknown request' } }]);
    await expect(retrieveFuture(b.ctx, 'r', { label: 'x' })).rejects.toThrow('retrieve_future: HTTP 404 from the training service: unknown request');
  });
});
