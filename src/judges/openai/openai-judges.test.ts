/**
 * The OpenAI-compatible judges against a real chat-completions server on
 * 127.0.0.1 with injected faults: nothing is lost, every failure is counted,
 * a rerun hits the cache, Retry-After is honoured, the key never leaks.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { imageToDataUrl } from '../../data/images.js';
import type { StepJudgement } from '../judge.js';
import type { Item } from '../../types.js';
import { createRng } from '../../utils/rng.js';
import { openVerdictCache } from '../cache.js';
import { createJudgeMeter } from '../meter.js';
import {
  countPromptSteps,
  KEY_ECHO_STATUSES,
  keyEchoReply,
  requestImageUrls,
  requestText,
  startChatServer,
  stepVerdictsContent,
  type ChatReply,
  type ChatServer,
} from '../test-support/chat-server.js';
import { createOpenAIAnswerJudge } from './answer-judge.js';
import { createJudgeEndpoint, type JudgeEndpointOptions } from './endpoint.js';
import { createOpenAIStepJudge } from './step-judge.js';

const servers: ChatServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function serve(...args: Parameters<typeof startChatServer>): Promise<ChatServer> {
  const s = await startChatServer(...args);
  servers.push(s);
  return s;
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'mrpo-judge-'));
  dirs.push(d);
  return d;
}

function item(i: number, shade = i): Item {
  return {
    id: `q${i}`,
    image: { pixels: new Uint8Array([shade % 256, 10, 20, 30]), width: 2, height: 2, channels: 1 },
    question: `What is abnormal in image ${i}?`,
    answer: 'pneumothorax',
    goldReasoning: 'This is a chest X-ray. The right lung shows a visceral pleural line with no lung markings beyond it, which indicates pneumothorax.',
    source: 'test',
  };
}

const STEPS = ['This is a chest radiograph.', 'The right hemithorax shows absent lung markings.', 'This indicates pneumothorax.'];

/** Grades every step {1, 1}, or answers "O" to an answer-judge request. */
function gradeAll(record: Parameters<Parameters<typeof startChatServer>[0]['responder']>[0]): ChatReply {
  const k = countPromptSteps(record.body);
  if (k === 0) return { kind: 'content', content: '{"verdict": "O"}', usage: { prompt_tokens: 100, completion_tokens: 5 } };
  return { kind: 'content', content: stepVerdictsContent(Array.from({ length: k }, () => [1, 1] as const)), usage: { prompt_tokens: 100, completion_tokens: 10 } };
}

interface Harness {
  delays: number[];
  options: JudgeEndpointOptions;
}

function fastOptions(server: ChatServer, extra: Partial<JudgeEndpointOptions> = {}): Harness {
  const delays: number[] = [];
  return {
    delays,
    options: {
      imageUrl: (image) => imageToDataUrl(image),
      baseUrl: server.baseUrl,
      model: 'gpt-5-mini',
      timeoutMs: 2000,
      maxRetries: 3,
      sleep: async (ms) => {
        delays.push(ms); // recorded, not slept: tests never wait for real backoff
      },
      ...extra,
    },
  };
}

describe('OpenAI step judge', () => {
  it('sends the image, numbered steps and a strict schema; returns the verdicts with usage and cost', async () => {
    const server = await serve({
      responder: () => ({
        kind: 'content',
        content: '{"step1":{"alignment":1,"contribution":0},"step2":{"alignment":1,"contribution":1},"step3":{"alignment":0,"contribution":1}}',
        usage: { prompt_tokens: 1000, completion_tokens: 200 },
      }),
    });
    const { options } = fastOptions(server);
    const endpoint = createJudgeEndpoint(options);
    const judge = createOpenAIStepJudge(endpoint);
    const result = await judge.judgeSteps({ item: item(1), steps: STEPS });
    expect(result).toEqual({
      kind: 'judged',
      verdicts: [
        { alignment: 1, contribution: 0 },
        { alignment: 1, contribution: 1 },
        { alignment: 0, contribution: 1 },
      ],
      missing: 0,
      extra: 0,
      // The tokens of this judgement, as the server reported them (what `judge steps` writes per line).
      usage: { promptTokens: 1000, completionTokens: 200, cached: false },
    });
    expect(judge.name).toBe('openai:gpt-5-mini@step-v1');
    const body = server.requests[0].body;
    expect(body.model).toBe('gpt-5-mini');
    expect(body.response_format?.type).toBe('json_schema');
    const schema = (body.response_format?.json_schema as { schema: { required: string[] } }).schema;
    expect(schema.required).toEqual(['step1', 'step2', 'step3']);
    const text = requestText(body);
    expect(text).toContain('Step 2: The right hemithorax shows absent lung markings.');
    expect(text).toContain('Gold answer: pneumothorax');
    expect(text).toContain('meta-commentary');
    const [url] = requestImageUrls(body);
    expect(url).toMatch(/^data:image\/png;base64,/);
    const stats = endpoint.meter.snapshot();
    expect(stats).toMatchObject({ judged: 1, cached: 0, requests: 1, retries: 0, promptTokens: 1000, completionTokens: 200 });
    // 1000 × $0.25/1M + 200 × $2.00/1M = $0.00025 + $0.0004
    expect(stats.costUsd).toBeCloseTo(0.00065, 10);
  });

  it('aligns wrong step counts by number: missing steps are invalid and counted, extra ones dropped and counted', async () => {
    const server = await serve({ responder: () => ({ kind: 'content', content: stepVerdictsContent([[1, 1]]) }) });
    const endpoint = createJudgeEndpoint(fastOptions(server).options);
    const judge = createOpenAIStepJudge(endpoint);
    const fewer = await judge.judgeSteps({ item: item(1), steps: STEPS });
    expect(fewer).toMatchObject({
      kind: 'judged',
      verdicts: [
        { alignment: 1, contribution: 1 },
        { alignment: 0, contribution: 0 },
        { alignment: 0, contribution: 0 },
      ],
      missing: 2,
      extra: 0,
    });
    server.setResponder(() => ({ kind: 'content', content: stepVerdictsContent([[0, 1], [1, 0], [1, 1], [1, 1], [0, 0]]) }));
    const more = await judge.judgeSteps({ item: item(2), steps: STEPS });
    expect(more).toMatchObject({ kind: 'judged', missing: 0, extra: 2 });
    expect(endpoint.meter.snapshot()).toMatchObject({ missingSteps: 2, extraVerdicts: 2, judged: 2 });
  });

  it('gives no call for no steps or no gold reasoning, and says why', async () => {
    const server = await serve({ responder: gradeAll });
    const endpoint = createJudgeEndpoint(fastOptions(server).options);
    const judge = createOpenAIStepJudge(endpoint);
    expect(await judge.judgeSteps({ item: item(1), steps: [] })).toEqual({ kind: 'unjudged', reason: 'no steps' });
    const { goldReasoning: _, ...noGold } = item(1);
    expect(await judge.judgeSteps({ item: noGold, steps: STEPS })).toEqual({ kind: 'unjudged', reason: 'no gold reasoning' });
    expect(server.requests).toHaveLength(0);
    expect(endpoint.meter.snapshot().unjudged).toEqual({ 'no steps': 1, 'no gold reasoning': 1 });
  });
});

describe('reliability', () => {
  it('retries HTTP 500 with backoff and counts the retries', async () => {
    let n = 0;
    const server = await serve({ responder: (r) => (n++ < 2 ? { kind: 'status', status: 500 } : gradeAll(r)) });
    const h = fastOptions(server, { backoff: { baseDelayMs: 100, maxDelayMs: 1000 } });
    const endpoint = createJudgeEndpoint(h.options);
    const result = await createOpenAIStepJudge(endpoint).judgeSteps({ item: item(1), steps: STEPS });
    expect(result.kind).toBe('judged');
    expect(server.requests).toHaveLength(3);
    expect(endpoint.meter.snapshot()).toMatchObject({ retries: 2, requests: 3, judged: 1 });
    // equal jitter: retry 0 in [50, 100), retry 1 in [100, 200)
    expect(h.delays).toHaveLength(2);
    expect(h.delays[0]).toBeGreaterThanOrEqual(50);
    expect(h.delays[0]).toBeLessThan(100);
    expect(h.delays[1]).toBeGreaterThanOrEqual(100);
    expect(h.delays[1]).toBeLessThan(200);
  });

  it('honours Retry-After in seconds and as an HTTP date', async () => {
    const now = Date.parse('Wed, 25 Nov 2026 15:00:00 GMT');
    let n = 0;
    const server = await serve({
      responder: (r) => {
        n += 1;
        if (n === 1) return { kind: 'status', status: 429, headers: { 'retry-after': '3' } };
        if (n === 2) return { kind: 'status', status: 429, headers: { 'retry-after': 'Wed, 25 Nov 2026 15:00:05 GMT' } };
        return gradeAll(r);
      },
    });
    const h = fastOptions(server, { now: () => now });
    const endpoint = createJudgeEndpoint(h.options);
    const result = await createOpenAIAnswerJudge(endpoint).judgeAnswer({ item: item(1), answer: 'pneumothorax' });
    // Only the third attempt got a reply, so only its tokens are counted (gradeAll: 100 in, 5 out for an answer).
    expect(result).toEqual({ kind: 'judged', correct: true, usage: { promptTokens: 100, completionTokens: 5, cached: false } });
    expect(h.delays).toEqual([3000, 5000]);
    expect(endpoint.meter.snapshot().retries).toBe(2);
  });

  it('a persistent failure becomes unjudged with its reason after maxRetries + 1 attempts', async () => {
    const server = await serve({ responder: () => ({ kind: 'status', status: 503 }) });
    const endpoint = createJudgeEndpoint(fastOptions(server, { maxRetries: 2 }).options);
    const result = await createOpenAIStepJudge(endpoint).judgeSteps({ item: item(1), steps: STEPS });
    expect(result).toEqual({ kind: 'unjudged', reason: 'http 503 (after 3 attempts)' });
    expect(server.requests).toHaveLength(3);
    expect(endpoint.meter.snapshot()).toMatchObject({ judged: 0, unjudged: { 'http 503': 1 }, retries: 2, requests: 3 });
  });

  it('a non-retryable status is not retried', async () => {
    const server = await serve({ responder: () => ({ kind: 'status', status: 404 }) });
    const endpoint = createJudgeEndpoint(fastOptions(server).options);
    const result = await createOpenAIAnswerJudge(endpoint).judgeAnswer({ item: item(1), answer: 'x' });
    expect(result.kind === 'unjudged' && result.reason.startsWith('http 404 (after 1 attempt')).toBe(true);
    expect(server.requests).toHaveLength(1);
  });

  it('times out a hanging request, retries it, then reports a timeout', async () => {
    const server = await serve({ responder: () => ({ kind: 'hang' }) });
    const endpoint = createJudgeEndpoint(fastOptions(server, { timeoutMs: 150, maxRetries: 1 }).options);
    const result = await createOpenAIStepJudge(endpoint).judgeSteps({ item: item(1), steps: STEPS });
    expect(result).toEqual({ kind: 'unjudged', reason: 'timeout (after 2 attempts)' });
    expect(server.requests).toHaveLength(2);
    expect(endpoint.meter.snapshot().unjudged).toEqual({ timeout: 1 });
  });

  it('retries unparseable content once, then reports it', async () => {
    let n = 0;
    const server = await serve({ responder: (r) => (n++ === 0 ? { kind: 'content', content: '{"step1": {"alignment": 1,' } : gradeAll(r)) });
    const endpoint = createJudgeEndpoint(fastOptions(server).options);
    const judge = createOpenAIStepJudge(endpoint);
    expect((await judge.judgeSteps({ item: item(1), steps: STEPS })).kind).toBe('judged');
    server.setResponder(() => ({ kind: 'content', content: 'I am unable to grade these steps.' }));
    const failed = await judge.judgeSteps({ item: item(2), steps: STEPS });
    expect(failed).toMatchObject({ kind: 'unjudged', reason: 'unparseable output (after 2 attempts)' });
    // The two unparseable replies were paid for: the unjudged result carries their tokens.
    expect(failed.kind === 'unjudged' && failed.usage !== undefined && failed.usage.promptTokens > 0 && failed.usage.completionTokens > 0).toBe(true);
    expect(endpoint.meter.snapshot()).toMatchObject({ judged: 1, unjudged: { 'unparseable output': 1 }, requests: 4, retries: 2 });
  });

  it('a malformed HTTP body is retried and counted', async () => {
    const server = await serve({ responder: () => ({ kind: 'raw', status: 200, body: '{"id": "chatcmpl-1", "choices": [' }) });
    const endpoint = createJudgeEndpoint(fastOptions(server, { maxRetries: 1 }).options);
    const result = await createOpenAIAnswerJudge(endpoint).judgeAnswer({ item: item(1), answer: 'x' });
    expect(result.kind).toBe('unjudged');
    expect(result.kind === 'unjudged' && result.reason).toMatch(/^malformed response \(after 2 attempts/);
  });

  it('falls back from json_schema to json_object once per endpoint when the server rejects it', async () => {
    const server = await serve({ responder: gradeAll, rejectJsonSchema: true });
    const endpoint = createJudgeEndpoint(fastOptions(server).options);
    const judge = createOpenAIStepJudge(endpoint);
    expect((await judge.judgeSteps({ item: item(1), steps: STEPS })).kind).toBe('judged');
    expect((await createOpenAIAnswerJudge(endpoint).judgeAnswer({ item: item(2), answer: 'y' })).kind).toBe('judged');
    expect(server.requests.map((r) => r.body.response_format?.type)).toEqual(['json_schema', 'json_object', 'json_object']);
    expect(endpoint.responseFormat()).toBe('json_object');
    expect(endpoint.meter.snapshot()).toMatchObject({ formatFallbacks: 1, retries: 0 });
  });

  it('a 400 about something else is a plain failure, not a format fallback', async () => {
    const server = await serve({ responder: () => ({ kind: 'status', status: 400, body: { error: { message: 'image too large' } } }) });
    const endpoint = createJudgeEndpoint(fastOptions(server).options);
    const result = await createOpenAIAnswerJudge(endpoint).judgeAnswer({ item: item(1), answer: 'y' });
    expect(result).toEqual({ kind: 'unjudged', reason: 'http 400 (after 1 attempt: 400 image too large)' });
    expect(endpoint.responseFormat()).toBe('json_schema');
  });

  it('identical calls in flight at once share one request', async () => {
    const server = await serve({ responder: gradeAll, latencyMs: 50 });
    const endpoint = createJudgeEndpoint(fastOptions(server).options);
    const judge = createOpenAIAnswerJudge(endpoint);
    const results = await Promise.all(Array.from({ length: 6 }, () => judge.judgeAnswer({ item: item(1), answer: 'pneumothorax' })));
    expect(results.every((r) => r.kind === 'judged' && r.correct)).toBe(true);
    expect(server.requests).toHaveLength(1);
    expect(endpoint.meter.snapshot()).toMatchObject({ judged: 6, cached: 5, requests: 1 });
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    const server = await serve({ responder: gradeAll, latencyMs: 100 });
    const endpoint = createJudgeEndpoint(fastOptions(server, { concurrency: 3 }).options);
    const judge = createOpenAIStepJudge(endpoint);
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => judge.judgeSteps({ item: item(i), steps: STEPS })));
    expect(results.every((r) => r.kind === 'judged')).toBe(true);
    expect(server.maxInFlight()).toBe(3);
  });

  it('under random faults nothing is lost and every failure is counted; a rerun costs only the failures', async () => {
    const rng = createRng(7);
    const kinds = ['ok', 'ok', 'ok', 'fail-once', 'bad-json', 'wrong-count', '500-always', '429-once'] as const;
    const items = Array.from({ length: 40 }, (_, i) => item(i));
    const assigned = items.map(() => kinds[rng.int(kinds.length)]);
    expect(new Set(assigned).size).toBe(new Set(kinds).size); // every fault occurs
    const seen = new Map<string, number>();
    const responder = (record: Parameters<typeof gradeAll>[0]): ChatReply => {
      const q = /What is abnormal in image (\d+)\?/.exec(requestText(record.body))?.[1] ?? '-1';
      const count = (seen.get(q) ?? 0) + 1;
      seen.set(q, count);
      const kind = assigned[Number(q)];
      if (kind === '500-always') return { kind: 'status', status: 500 };
      if (kind === 'fail-once' && count === 1) return { kind: 'status', status: 502 };
      if (kind === '429-once' && count === 1) return { kind: 'status', status: 429, headers: { 'retry-after': '1' } };
      if (kind === 'bad-json') return { kind: 'content', content: 'not json at all' };
      if (kind === 'wrong-count') return { kind: 'content', content: stepVerdictsContent([[1, 0]]) };
      return gradeAll(record);
    };
    const server = await serve({ responder, latencyMs: 2 });
    const cachePath = join(tempDir(), 'judge.sqlite');
    const cache = openVerdictCache(cachePath);
    const endpoint = createJudgeEndpoint(fastOptions(server, { concurrency: 8, maxRetries: 2, cache }).options);
    const judge = createOpenAIStepJudge(endpoint);
    const results = await Promise.all(items.map((it) => judge.judgeSteps({ item: it, steps: STEPS })));
    expect(results).toHaveLength(40);

    const expectJudged = assigned.filter((k) => k !== '500-always' && k !== 'bad-json').length;
    const stats = endpoint.meter.snapshot();
    expect(results.filter((r) => r.kind === 'judged')).toHaveLength(expectJudged);
    expect(stats.judged).toBe(expectJudged);
    expect(stats.unjudged).toEqual({
      ...(assigned.includes('500-always') ? { 'http 500': assigned.filter((k) => k === '500-always').length } : {}),
      ...(assigned.includes('bad-json') ? { 'unparseable output': assigned.filter((k) => k === 'bad-json').length } : {}),
    });
    const count = (k: string) => assigned.filter((x) => x === k).length;
    // requests: ok 1, fail-once 2, 429-once 2, wrong-count 1, bad-json 2 (one parse retry), 500-always 3 (maxRetries 2)
    expect(server.requests).toHaveLength(count('ok') + 2 * count('fail-once') + 2 * count('429-once') + count('wrong-count') + 2 * count('bad-json') + 3 * count('500-always'));
    expect(stats.requests).toBe(server.requests.length);
    expect(stats.retries).toBe(server.requests.length - 40);
    expect(stats.missingSteps).toBe(2 * count('wrong-count'));
    results.forEach((r, i) => {
      if (assigned[i] === 'wrong-count') expect(r).toMatchObject({ kind: 'judged', missing: 2 });
    });
    cache.close();

    // Rerun on the same cache file with a fresh endpoint: only the failures are asked again.
    const before = server.requests.length;
    const cache2 = openVerdictCache(cachePath);
    const endpoint2 = createJudgeEndpoint(fastOptions(server, { concurrency: 8, maxRetries: 2, cache: cache2 }).options);
    const rerun = await Promise.all(items.map((it) => createOpenAIStepJudge(endpoint2).judgeSteps({ item: it, steps: STEPS })));
    // The per-judgement tokens add up to the meter's totals (the failed attempts included).
    const used = (rs: readonly StepJudgement[], f: 'promptTokens' | 'completionTokens') => rs.reduce((sum, r) => sum + (r.usage?.[f] ?? 0), 0);
    expect(used(results, 'promptTokens')).toBe(stats.promptTokens);
    expect(used(results, 'completionTokens')).toBe(stats.completionTokens);
    const withoutUsage = (rs: readonly StepJudgement[]) => rs.map(({ usage: _, ...r }) => r);
    expect(withoutUsage(rerun)).toEqual(withoutUsage(results));
    // Cache hits cost nothing and say so.
    rerun.forEach((r) => {
      if (r.kind === 'judged') expect(r.usage).toEqual({ promptTokens: 0, completionTokens: 0, cached: true });
    });
    expect(endpoint2.meter.snapshot().cached).toBe(expectJudged);
    expect(server.requests.length - before).toBe(2 * count('bad-json') + 3 * count('500-always'));
    cache2.close();
  });

  it('a rerun of a fully judged batch sends zero requests; a changed image is a cache miss', async () => {
    const server = await serve({ responder: gradeAll });
    const cachePath = join(tempDir(), 'judge.sqlite');
    const run = async (items: Item[]) => {
      const cache = openVerdictCache(cachePath);
      const endpoint = createJudgeEndpoint(fastOptions(server, { cache }).options);
      const step = createOpenAIStepJudge(endpoint);
      const answer = createOpenAIAnswerJudge(endpoint);
      for (const it of items) {
        await step.judgeSteps({ item: it, steps: STEPS });
        await answer.judgeAnswer({ item: it, answer: 'a pneumothorax' });
      }
      cache.close();
      return endpoint.meter.snapshot();
    };
    const items = Array.from({ length: 5 }, (_, i) => item(i));
    const first = await run(items);
    expect(first).toMatchObject({ judged: 10, cached: 0 });
    expect(server.requests).toHaveLength(10);
    const second = await run(items);
    expect(second).toMatchObject({ judged: 10, cached: 10, requests: 0, promptTokens: 0, costUsd: 0 });
    expect(server.requests).toHaveLength(10);
    // Same text, one pixel changed: the image is part of the key.
    const third = await run([item(0, 99)]);
    expect(third).toMatchObject({ cached: 0, requests: 2 });
    // Same inputs, another reasoning effort: a different verdict may come back, so it is a miss too.
    const cache = openVerdictCache(cachePath);
    const endpoint = createJudgeEndpoint(fastOptions(server, { cache, reasoningEffort: 'high' }).options);
    await createOpenAIStepJudge(endpoint).judgeSteps({ item: items[0], steps: STEPS });
    cache.close();
    expect(endpoint.meter.snapshot()).toMatchObject({ cached: 0, requests: 1 });
    expect(server.requests.at(-1)?.body.reasoning_effort).toBe('high');
  });

  it('an unreadable image is unjudged "bad image", naming the file, without a request', async () => {
    const server = await serve({ responder: gradeAll });
    const endpoint = createJudgeEndpoint(fastOptions(server).options);
    const result = await createOpenAIStepJudge(endpoint).judgeSteps({ item: { ...item(1), image: '/nonexistent/x.png' }, steps: STEPS });
    expect(result.kind === 'unjudged' && result.reason).toMatch(/^bad image \(.*\/nonexistent\/x\.png/);
    expect(server.requests).toHaveLength(0);
    expect(endpoint.meter.snapshot().unjudged).toEqual({ 'bad image': 1 });
  });

  it('default preparation: bytes that are not an image are "bad image" without a request; a PNG within budget is sent byte for byte', async () => {
    const server = await serve({ responder: gradeAll });
    const endpoint = createJudgeEndpoint({ baseUrl: server.baseUrl, model: 'gpt-5-mini', timeoutMs: 2000 });
    const judge = createOpenAIStepJudge(endpoint);
    const garbage = `data:image/png;base64,${Buffer.from('certainly not a picture').toString('base64')}`;
    const bad = await judge.judgeSteps({ item: { ...item(1), image: garbage }, steps: STEPS });
    expect(bad.kind === 'unjudged' && bad.reason).toMatch(/^bad image \(.*not a readable image/);
    expect(server.requests).toHaveLength(0);
    // Only the header is read: a 3×2 PNG within the pixel budget goes out as the very same data URL.
    const png = await sharp({ create: { width: 3, height: 2, channels: 3, background: '#336699' } }).png().toBuffer();
    const url = `data:image/png;base64,${png.toString('base64')}`;
    expect((await judge.judgeSteps({ item: { ...item(2), image: url }, steps: STEPS })).kind).toBe('judged');
    expect(requestImageUrls(server.requests[0].body)).toEqual([url]);
    // Only the header is read: a PNG cut short after its header is the judge server's to refuse (here it accepts it).
    const cut = `data:image/png;base64,${png.subarray(0, png.length - 12).toString('base64')}`;
    expect((await judge.judgeSteps({ item: { ...item(3), image: cut }, steps: STEPS })).kind).toBe('judged');
    expect(requestImageUrls(server.requests[1].body)).toEqual([cut]);
  });

  it('many calls at once give the verdicts, and leave the cache rows, of the same calls made one by one', async () => {
    // The reply depends on the request: step i of item n is aligned iff (n + i) is even, contributing iff n % 3 = 0.
    const server = await serve({
      responder: (r) => {
        const n = Number(/image (\d+)\?/.exec(requestText(r.body))?.[1]);
        return { kind: 'content', content: stepVerdictsContent(Array.from({ length: countPromptSteps(r.body) }, (_, i) => [(n + i + 1) % 2 === 0 ? 1 : 0, n % 3 === 0 ? 1 : 0] as const)) };
      },
    });
    const items = Array.from({ length: 40 }, (_, i) => item(i));
    const rows = (path: string) => {
      const db = new Database(path, { readonly: true });
      const out = db.prepare('SELECT model, prompt_version, input_hash, value FROM verdicts ORDER BY input_hash').all();
      db.close();
      return out;
    };
    const dir = tempDir();
    const oneByOne = openVerdictCache(join(dir, 'one.sqlite'));
    const judgeA = createOpenAIStepJudge(createJudgeEndpoint(fastOptions(server, { cache: oneByOne, concurrency: 1 }).options));
    const sequential: StepJudgement[] = [];
    for (const x of items) sequential.push(await judgeA.judgeSteps({ item: x, steps: STEPS }));
    oneByOne.close();
    const atOnce = openVerdictCache(join(dir, 'all.sqlite'));
    const judgeB = createOpenAIStepJudge(createJudgeEndpoint(fastOptions(server, { cache: atOnce, concurrency: 16 }).options));
    const concurrent = await Promise.all(items.map((x) => judgeB.judgeSteps({ item: x, steps: STEPS })));
    atOnce.close();
    expect(concurrent).toEqual(sequential);
    // Item 3, step 1: (3 + 0 + 1) even → aligned; 3 % 3 = 0 → contributing. Item 4, step 1: not aligned, not contributing.
    expect(sequential[3]).toMatchObject({ kind: 'judged', verdicts: [{ alignment: 1, contribution: 1 }, { alignment: 0, contribution: 1 }, { alignment: 1, contribution: 1 }] });
    expect(sequential[4]).toMatchObject({ kind: 'judged', verdicts: [{ alignment: 0, contribution: 0 }, { alignment: 1, contribution: 0 }, { alignment: 0, contribution: 0 }] });
    const a = rows(join(dir, 'one.sqlite'));
    expect(a).toHaveLength(40);
    expect(rows(join(dir, 'all.sqlite'))).toEqual(a);
  });

  it('an aborted signal gives an unjudged "aborted" value', async () => {
    const server = await serve({ responder: () => ({ kind: 'hang' }) });
    const endpoint = createJudgeEndpoint(fastOptions(server, { timeoutMs: 10_000 }).options);
    const controller = new AbortController();
    const pending = createOpenAIStepJudge(endpoint).judgeSteps({ item: item(1), steps: STEPS }, controller.signal);
    setTimeout(() => controller.abort(), 50);
    expect(await pending).toEqual({ kind: 'unjudged', reason: 'aborted' });
  });

  it('never puts the API key in results, counters or the cache when the server echoes it in its body and headers (400, 401, 500)', async () => {
    // Not an sk-style key: only the redaction of the key itself can catch it.
    const key = 'judge-SECRET-key-5f3a9c1e7b';
    for (const status of KEY_ECHO_STATUSES) {
      const server = await serve({ responder: (r) => keyEchoReply(r, status) });
      const dir = tempDir();
      const cache = openVerdictCache(join(dir, 'judge.sqlite'));
      const meter = createJudgeMeter(null);
      const endpoint = createJudgeEndpoint(fastOptions(server, { apiKey: key, cache, meter, maxRetries: 1 }).options);
      const step = await createOpenAIStepJudge(endpoint).judgeSteps({ item: item(1), steps: STEPS });
      const answer = await createOpenAIAnswerJudge(endpoint).judgeAnswer({ item: item(1), answer: 'x' });
      expect(server.requests[0].headers.authorization, String(status)).toBe(`Bearer ${key}`); // the key was sent…
      // A 4xx is not retried and keeps the (redacted) server message; a 500 is retried, then counted.
      const reason = status === 500 ? 'http 500 (after 2 attempts)' : `http ${status} (after 1 attempt: ${status} Incorrect API key provided: [redacted]. Header was "Bearer [redacted]".)`;
      expect(step, String(status)).toEqual({ kind: 'unjudged', reason });
      expect(answer, String(status)).toEqual({ kind: 'unjudged', reason });
      const everything = JSON.stringify([step, answer, meter.snapshot()]);
      expect(everything, String(status)).not.toContain('SECRET'); // …and appears nowhere we keep
      cache.close();
      for (const f of readdirSync(dir)) expect(readFileSync(join(dir, f)).toString('latin1'), `${status} ${f}`).not.toContain('SECRET');
    }
  });
});
