import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KEY_ECHO_STATUSES, keyEchoReply, requestImageUrls, requestText, startChatServer, TRANSFORMERS_SERVE_500, type ChatServer } from '../../judges/test-support/chat-server.js';
import { createOpenAISampler } from './sampler.js';
import { policyPromptText } from './prompt.js';

let server: ChatServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const image = { pixels: new Uint8Array([0, 50, 100, 150]), width: 2, height: 2, channels: 1 } as const;

describe('policy prompt (docs/method.md §1)', () => {
  it('appends the instruction with the family think tag', () => {
    expect(policyPromptText('What organ?', 'qwen2.5-vl')).toBe(
      'What organ? Think step-by-step and enclose your reasoning in <think>...</think> tags. Then provide your answer in <answer>...</answer> tags.',
    );
    expect(policyPromptText('What organ?', 'internvl3')).toContain('<think>...</think>');
    expect(policyPromptText('What organ?', 'qwen3-vl')).toContain('<thinking>...</thinking>');
  });
});

describe('OpenAI sampler', () => {
  it('sends image and text with the sampling parameters and returns the text', async () => {
    server = await startChatServer({ responder: () => ({ kind: 'content', content: '<think>A.</think><answer>b</answer>', finishReason: 'length' }) });
    const sampler = createOpenAISampler({ baseUrl: server.baseUrl, model: 'm' });
    const r = await sampler.sample({ image, text: 'Q?', temperature: 0, maxTokens: 64, seed: 3 });
    expect(r).toEqual({ kind: 'ok', text: '<think>A.</think><answer>b</answer>', finishReason: 'length' });
    const body = server.requests[0].body;
    expect(body).toMatchObject({ model: 'm', temperature: 0, max_tokens: 64, seed: 3 });
    expect(requestText(body)).toBe('Q?');
    expect(requestImageUrls(body)[0]).toMatch(/^data:image\/png;base64,/);
    expect(sampler.stats().requests).toBe(1);
  });

  it('retries 429 after the Retry-After wait and 500 with backoff; gives up with a reason', async () => {
    let n = 0;
    server = await startChatServer({
      responder: () => {
        n += 1;
        if (n === 1) return { kind: 'status', status: 429, headers: { 'retry-after': '2' } };
        if (n === 2) return { kind: 'status', status: 500 };
        return { kind: 'content', content: 'ok' };
      },
    });
    const delays: number[] = [];
    const sampler = createOpenAISampler({ baseUrl: server.baseUrl, model: 'm', sleep: async (ms) => void delays.push(ms), backoff: { baseDelayMs: 10, maxDelayMs: 10 } });
    expect(await sampler.sample({ image, text: 'Q', temperature: 1, maxTokens: 8 })).toMatchObject({ kind: 'ok', text: 'ok' });
    expect(delays[0]).toBe(2000);
    expect(delays[1]).toBeGreaterThanOrEqual(5);
    expect(delays[1]).toBeLessThan(10);
    expect(sampler.stats()).toMatchObject({ requests: 3, retries: 2 });

    server.setResponder(() => ({ kind: 'hang' }));
    const slow = createOpenAISampler({ baseUrl: server.baseUrl, model: 'm', timeoutMs: 100, maxRetries: 1, sleep: async () => undefined });
    expect(await slow.sample({ image, text: 'Q', temperature: 1, maxTokens: 8 })).toEqual({ kind: 'failed', reason: 'timeout (after 2 attempts)' });
  });

  it("keeps the message of a FastAPI error body (transformers serve's {detail}), which the openai SDK dropped", async () => {
    server = await startChatServer({ responder: () => ({ kind: 'content', content: 'x' }), pinnedModel: '/models/tiny' });
    const sampler = createOpenAISampler({ baseUrl: server.baseUrl, model: 'gpt-x' });
    expect(await sampler.sample({ image, text: 'Q', temperature: 0, maxTokens: 8 })).toEqual({
      kind: 'failed',
      reason: "http 400 (after 1 attempt: 400 Server is pinned to '/models/tiny'; requested 'gpt-x'.)",
    });
  });

  it('redacts the API key from a FastAPI {detail} error body that echoes it', async () => {
    const key = 'sampler-SECRET-key-77aa01';
    server = await startChatServer({
      responder: (r) => ({ kind: 'status', status: 422, body: { detail: [{ loc: ['header', 'authorization'], msg: `rejected ${String(r.headers.authorization)} (${key})` }] } }),
    });
    const sampler = createOpenAISampler({ baseUrl: server.baseUrl, model: 'm', apiKey: key });
    const r = await sampler.sample({ image, text: 'Q', temperature: 0, maxTokens: 8 });
    expect(r).toEqual({ kind: 'failed', reason: 'http 422 (after 1 attempt: 422 header.authorization: rejected Bearer [redacted] ([redacted]))' });
  });

  it("transformers serve's bare 500 (an image it cannot decode) is retried like any 5xx, then a failure", async () => {
    server = await startChatServer({ responder: () => TRANSFORMERS_SERVE_500 });
    const sampler = createOpenAISampler({ baseUrl: server.baseUrl, model: 'm', maxRetries: 2, sleep: async () => undefined });
    expect(await sampler.sample({ image, text: 'Q', temperature: 0, maxTokens: 8 })).toEqual({ kind: 'failed', reason: 'http 500 (after 3 attempts)' });
    expect(server.requests).toHaveLength(3);
  });

  it('a missing image file is a failure that names it, without a request', async () => {
    server = await startChatServer({ responder: () => ({ kind: 'content', content: 'x' }) });
    const sampler = createOpenAISampler({ baseUrl: server.baseUrl, model: 'm' });
    const r = await sampler.sample({ image: '/nonexistent/img.png', text: 'Q', temperature: 0, maxTokens: 8 });
    expect(r.kind === 'failed' && r.reason).toMatch(/^bad image \(.*\/nonexistent\/img\.png/);
    expect(server.requests).toHaveLength(0);
  });

  it('a refused connection (nothing listening) is a "connection error" and is retried', async () => {
    // A port that was free a moment ago: bind it, read it, release it.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const sampler = createOpenAISampler({ baseUrl: `http://127.0.0.1:${port}/v1`, model: 'm', maxRetries: 2, sleep: async () => undefined });
    expect(await sampler.sample({ image, text: 'Q', temperature: 0, maxTokens: 8 })).toEqual({ kind: 'failed', reason: 'connection error (after 3 attempts)' });
    expect(sampler.stats()).toMatchObject({ requests: 3, retries: 2 });
  });

  it('never puts the API key in its failure reason when the server echoes it in its body and headers (400, 401, 500)', async () => {
    const key = 'sampler-SECRET-key-9d2e4b6a';
    let status: number = KEY_ECHO_STATUSES[0];
    server = await startChatServer({ responder: (r) => keyEchoReply(r, status) });
    for (status of KEY_ECHO_STATUSES) {
      const sampler = createOpenAISampler({ baseUrl: server.baseUrl, model: 'm', apiKey: key, maxRetries: 1, sleep: async () => undefined });
      const r = await sampler.sample({ image, text: 'Q', temperature: 1, maxTokens: 8 });
      expect(server.requests.at(-1)?.headers.authorization).toBe(`Bearer ${key}`);
      const reason = status === 500 ? 'http 500 (after 2 attempts)' : `http ${status} (after 1 attempt: ${status} Incorrect API key provided: [redacted]. Header was "Bearer [redacted]".)`;
      expect(r, String(status)).toEqual({ kind: 'failed', reason });
      expect(JSON.stringify([r, sampler.stats()]), String(status)).not.toContain('SECRET');
    }
  });
});
