import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { imageToDataUrl } from '../data/images.js';
import { openVerdictCache, type VerdictCache } from '../judges/cache.js';
import { createJudgeEndpoint, type JudgeEndpoint } from '../judges/openai/endpoint.js';
import { createOpenAIStepJudge } from '../judges/openai/step-judge.js';
import { requestImageUrls, requestText, startChatServer, stepVerdictsContent, type ChatServer, type ChatRequestRecord, type ChatReply } from '../judges/test-support/chat-server.js';
import { createScorer, type ScorerOptions } from './score.js';
import {
  expectedExample,
  GOLD_ANSWER,
  GOLD_REASONING,
  QUESTION,
  S1,
  S2_CORRECT,
  S2_WRONG,
  S3_WRONG,
  sentenceTokens,
  TEXT_CORRECT,
  TEXT_WRONG,
} from './test-support/fixtures.js';
import { metricValue, postJson, startServer, until, type RunningServer } from './test-support/http.js';

// A 2×2 red PNG as a data URL (what a trainer sends when it has the pixels).
let imageDataUrl = '';
let imageDir = '';

/** The judge model: reads the numbered steps of the prompt and grades them by their words. */
function gradingJudge(record: ChatRequestRecord): ChatReply {
  const steps = [...requestText(record.body).matchAll(/^Step (\d+): (.*)$/gm)].map((m) => m[2]);
  const verdicts = steps.map((s): readonly [0 | 1, 0 | 1] => {
    if (s.includes('enlarged')) return [0, 0];
    if (s.includes('pneumothorax')) return [1, 1];
    if (s.includes('cardiomegaly')) return [0, 1];
    return [1, 0];
  });
  return { kind: 'content', content: stepVerdictsContent(verdicts) };
}

let chat: ChatServer;
const running: RunningServer[] = [];
const caches: VerdictCache[] = [];

beforeAll(async () => {
  chat = await startChatServer({ responder: gradingJudge });
  const png = await sharp({ create: { width: 2, height: 2, channels: 3, background: { r: 255, g: 0, b: 0 } } }).png().toBuffer();
  imageDataUrl = `data:image/png;base64,${png.toString('base64')}`;
  imageDir = mkdtempSync(join(tmpdir(), 'mrpo-serve-'));
  writeFileSync(join(imageDir, 'cxr.png'), png);
});
afterAll(async () => {
  await chat.close();
  rmSync(imageDir, { recursive: true, force: true });
});
afterEach(async () => {
  chat.setResponder(gradingJudge);
  await Promise.all(running.splice(0).map((s) => s.server.close()));
  for (const cache of caches.splice(0)) cache.close();
});

function endpoint(options: { maxRetries?: number } = {}): JudgeEndpoint {
  const cache = openVerdictCache(':memory:');
  caches.push(cache);
  return createJudgeEndpoint({ imageUrl: (image) => imageToDataUrl(image), baseUrl: chat.baseUrl, model: 'test-judge', maxRetries: options.maxRetries ?? 0, cache, sleep: async () => {} });
}

async function start(judge: JudgeEndpoint, scorer: Omit<ScorerOptions, 'stepJudge'> = {}): Promise<RunningServer> {
  const s = await startServer({ scorer: createScorer({ stepJudge: createOpenAIStepJudge(judge), ...scorer }), judgeStats: () => judge.meter.snapshot() });
  running.push(s);
  return s;
}

function scoreRequest(item: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    estimator: 'mrpo',
    groups: [
      {
        id: 'cxr-1',
        item: { id: 'cxr-1', image: imageDataUrl, question: QUESTION, answer: GOLD_ANSWER, goldReasoning: GOLD_REASONING, ...item },
        completions: [
          { text: TEXT_CORRECT, tokenOffsets: sentenceTokens(TEXT_CORRECT).offsets },
          { text: TEXT_WRONG, tokenOffsets: sentenceTokens(TEXT_WRONG).offsets },
        ],
      },
    ],
  };
}

interface ScoredBody {
  judge: { name: string };
  groups: Array<{
    id?: string;
    completions: Array<{
      rewards: { answer: number; process: number; length: number; total: number };
      advantage: number;
      steps: Array<{ start: number; end: number; valid?: boolean; weight?: number }>;
      tokenAdvantages?: number[];
      stepVerdicts: Array<{ alignment: number; contribution: number }> | null;
      judge: { status: string; reason?: string; missing?: number; extra?: number };
    }>;
  }>;
  metrics: Record<string, number>;
}

describe('POST /v1/score with an OpenAI-compatible judge', () => {
  it('judges the steps, shapes with the labels and returns the verdicts (hand-derived)', async () => {
    const judge = endpoint();
    const { url } = await start(judge);
    const before = chat.requests.length;
    const reply = await postJson(`${url}/v1/score`, scoreRequest());
    expect(reply.status).toBe(200);
    const body = reply.body as ScoredBody;
    expect(body.judge.name).toBe('openai:test-judge@step-v1');
    expect(body.groups[0].id).toBe('cxr-1');
    const [c0, c1] = body.groups[0].completions;

    // The judge saw the item and each completion's steps, in order.
    const sent = chat.requests.slice(before);
    expect(sent).toHaveLength(2);
    const prompts = sent.map((r) => requestText(r.body)).sort((a, b) => a.length - b.length);
    expect(prompts[0]).toContain(`Step 1: ${S1}\nStep 2: ${S2_CORRECT}`);
    expect(prompts[1]).toContain(`Step 1: ${S1}\nStep 2: ${S2_WRONG}\nStep 3: ${S3_WRONG}`);
    for (const p of prompts) {
      expect(p).toContain(QUESTION);
      expect(p).toContain(GOLD_REASONING);
    }
    expect(requestImageUrls(sent[0].body)).toEqual([imageDataUrl]);

    expect(c0.stepVerdicts).toEqual([
      { alignment: 1, contribution: 0 },
      { alignment: 1, contribution: 1 },
    ]);
    expect(c1.stepVerdicts).toEqual([
      { alignment: 1, contribution: 0 },
      { alignment: 0, contribution: 0 },
      { alignment: 0, contribution: 1 },
    ]);
    expect(c0.judge).toEqual({ status: 'judged', missing: 0, extra: 0 });
    expect(c1.steps.map((s) => s.valid)).toEqual([true, false, true]);

    const { total, a0, a1, w2 } = expectedExample();
    expect(c0.rewards).toEqual({ answer: 1, process: 1, length: -0.5, total: 1.5 });
    expect(c1.rewards.answer).toBe(0);
    expect(c1.rewards.process).toBeCloseTo(2 / 3, 12);
    expect(c1.rewards.total).toBeCloseTo(total[1], 12);
    expect(c0.advantage).toBeCloseTo(a0, 12);
    expect(c1.advantage).toBeCloseTo(a1, 12);
    const a = Math.abs(a1);
    const expected = [a1, a, a1, -w2 * a, a1, a, a1, a1, a1, a1];
    expect(c1.tokenAdvantages).toHaveLength(expected.length);
    c1.tokenAdvantages!.forEach((v, t) => expect(v).toBeCloseTo(expected[t], 12));
    expect(body.metrics['judge/judged']).toBe(2);
    expect(body.metrics['judge/unjudged']).toBe(0);

    // The same request again: both verdicts come from the cache, no new judge call.
    const again = await postJson(`${url}/v1/score`, scoreRequest());
    expect(again.status).toBe(200);
    expect(chat.requests.length).toBe(before + 2);
    expect((again.body as ScoredBody).groups[0].completions[1].tokenAdvantages).toEqual(c1.tokenAdvantages);
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(metricValue(text, 'mrpo_judge_cache_hits_total')).toBe(2);
    expect(metricValue(text, 'mrpo_judge_verdicts_total')).toBe(4);
    expect(metricValue(text, 'mrpo_judge_requests_total')).toBe(2);
    expect(metricValue(text, 'mrpo_serve_step_judgements_total{outcome="judged"}')).toBe(4);
    expect(metricValue(text, 'mrpo_serve_requests_total{route="/v1/score",status="200"}')).toBe(2);
  });

  it('keeps no labels for an unjudged completion (R_proc = 0, A_i on every token) and counts it', async () => {
    const judge = endpoint();
    const { url } = await start(judge);
    chat.setResponder(() => ({ kind: 'status', status: 500 }));
    const reply = await postJson(`${url}/v1/score`, scoreRequest({ question: 'Another question, so nothing is cached?' }));
    expect(reply.status).toBe(200);
    const [c0, c1] = (reply.body as ScoredBody).groups[0].completions;
    for (const c of [c0, c1]) {
      expect(c.judge.status).toBe('unjudged');
      expect(c.judge.reason).toMatch(/^http 500/);
      expect(c.stepVerdicts).toBeNull();
      expect(c.rewards.process).toBe(0);
      expect(c.steps.every((s) => s.valid === undefined && s.weight === undefined)).toBe(true);
    }
    // Without process rewards: totals 1 − 0.5 = 0.5 and 0 − 0.25 = −0.25; GRPO values, no reshaping.
    const sigma = 0.75 / Math.SQRT2;
    expect(c0.advantage).toBeCloseTo(0.375 / (sigma + 1e-4), 12);
    for (const v of c1.tokenAdvantages!) expect(v).toBeCloseTo(-0.375 / (sigma + 1e-4), 12);
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(metricValue(text, 'mrpo_serve_step_judgements_total{outcome="unjudged"}')).toBe(2);
    expect(metricValue(text, 'mrpo_judge_unjudged_total{reason="http 500"}')).toBe(2);
  });

  it('fails the request with 502 when configured to (onUnjudged: fail)', async () => {
    const { url } = await start(endpoint(), { onUnjudged: 'fail' });
    chat.setResponder(() => ({ kind: 'status', status: 503 }));
    const reply = await postJson(`${url}/v1/score`, scoreRequest({ question: 'A third question?' }));
    expect(reply.status).toBe(502);
    expect((reply.body as { error: { message: string } }).error.message).toMatch(/could not judge \$\.groups\[0\]\.completions\[\d\]: http 503/);
  });

  it('skips the judge without gold reasoning or steps', async () => {
    const { url } = await start(endpoint());
    const before = chat.requests.length;
    const request = scoreRequest({ goldReasoning: undefined });
    const group = (request.groups as Array<{ completions: Array<Record<string, unknown>> }>)[0];
    group.completions.push({ text: '<answer>pneumothorax</answer>' });
    const reply = await postJson(`${url}/v1/score`, request);
    expect(reply.status).toBe(200);
    const completions = (reply.body as ScoredBody).groups[0].completions;
    expect(completions.map((c) => c.judge)).toEqual([
      { status: 'skipped', reason: 'no gold reasoning' },
      { status: 'skipped', reason: 'no gold reasoning' },
      { status: 'skipped', reason: 'no steps' },
    ]);
    expect(chat.requests.length).toBe(before);
  });

  it('resolves image file paths inside the image root only', async () => {
    const { url } = await start(endpoint(), { imageRoot: imageDir });
    const before = chat.requests.length;
    const ok = await postJson(`${url}/v1/score`, scoreRequest({ image: 'cxr.png', question: 'From a file?' }));
    expect(ok.status).toBe(200);
    // The file's PNG bytes reached the judge as a data URL.
    expect(requestImageUrls(chat.requests[before].body)).toEqual([imageDataUrl]);

    const escape = await postJson(`${url}/v1/score`, scoreRequest({ image: '../etc/passwd' }));
    expect(escape.status).toBe(400);
    expect(escape.body).toMatchObject({ error: { path: '$.groups[0].item.image' } });
    expect((escape.body as { error: { message: string } }).error.message).toMatch(/inside the image root/);
    const outside = mkdtempSync(join(tmpdir(), 'mrpo-serve-outside-'));
    writeFileSync(join(outside, 'other.png'), 'not for the judge');
    symlinkSync(join(outside, 'other.png'), join(imageDir, 'link.png'));
    const link = await postJson(`${url}/v1/score`, scoreRequest({ image: 'link.png' }));
    expect(link.status).toBe(400);
    expect((link.body as { error: { message: string } }).error.message).toMatch(/a link leading out of it/);
    rmSync(outside, { recursive: true, force: true });
    const missing = await postJson(`${url}/v1/score`, scoreRequest({ image: 'nope.png' }));
    expect(missing.status).toBe(400);
    expect((missing.body as { error: { message: string } }).error.message).toMatch(/not found/);
  });
});

describe('POST /v1/score under load and shutdown', () => {
  it('answers 429 while the judge holds the only slot, then completes the accepted request even through close()', async () => {
    const judge = endpoint();
    const s = await startServer({ concurrency: 1, queue: 0, scorer: createScorer({ stepJudge: createOpenAIStepJudge(judge) }), judgeStats: () => judge.meter.snapshot() });
    running.push(s);
    const before = chat.requests.length;
    let releaseJudge: () => void = () => {};
    const judgeGate = new Promise<void>((resolve) => (releaseJudge = resolve));
    chat.setResponder(async (record) => {
      await judgeGate; // the judge answers only when the test says so
      return gradingJudge(record);
    });
    const first = postJson(`${s.url}/v1/score`, scoreRequest({ question: 'Held by a slow judge?' }));
    await until(() => chat.requests.length === before + 2);
    const refused = await postJson(`${s.url}/v1/score`, scoreRequest());
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');

    let closed = false;
    const closing = s.server.close().then(() => (closed = true));
    await until(() => !s.server.server.listening);
    expect(closed).toBe(false);
    releaseJudge();
    const reply = await first;
    expect(reply.status).toBe(200);
    const c1 = (reply.body as ScoredBody).groups[0].completions[1];
    expect(c1.steps.map((x) => x.valid)).toEqual([true, false, true]);
    expect(c1.advantage).toBeCloseTo(expectedExample().a1, 12);
    await closing;
    expect(closed).toBe(true);
  });
});

describe('POST /v1/score: bad requests', () => {
  it('names the bad field', async () => {
    const { url } = await start(endpoint());
    const cases: Array<[unknown, string, RegExp]> = [
      [[], '$', /JSON object/],
      [{ estimator: 'mrpo', groups: [{ completions: [{ text: 'a' }] }] }, '$.groups[0].item', /required/],
      [scoreRequest({ question: 7 }), '$.groups[0].item.question', /string/],
      [scoreRequest({ extra: 1 }), '$.groups[0].item', /extra/],
      [scoreRequest({ image: '/abs/file.png' }), '$.groups[0].item.image', /--image-root/],
      [scoreRequest({ image: 'data:text/plain,hello' }), '$.groups[0].item.image', /data URL of an image/],
    ];
    const withGold = scoreRequest() as { groups: Array<Record<string, unknown>> };
    withGold.groups[0].gold = { answer: 'x' };
    cases.push([withGold, '$.groups[0].gold', /not allowed/]);
    const withLabels = scoreRequest() as { groups: Array<{ completions: Array<Record<string, unknown>> }> };
    withLabels.groups[0].completions[1].stepLabels = [1, 0, 1];
    cases.push([withLabels, '$.groups[0].completions[1].stepLabels', /\/v1\/shape/]);
    const badText = scoreRequest() as { groups: Array<{ completions: Array<Record<string, unknown>> }> };
    badText.groups[0].completions[0].text = null;
    cases.push([badText, '$.groups[0].completions[0].text', /string/]);
    for (const [body, path, message] of cases) {
      const reply = await postJson(`${url}/v1/score`, body);
      expect(reply.status, path).toBe(400);
      const error = (reply.body as { error: { message: string; path: string } }).error;
      expect(error.path).toBe(path);
      expect(error.message).toMatch(message);
    }
  });

  it('answers 503 when the server has no step judge', async () => {
    const s = await startServer();
    running.push(s);
    const reply = await postJson(`${s.url}/v1/score`, scoreRequest());
    expect(reply.status).toBe(503);
    expect((reply.body as { error: { message: string } }).error.message).toMatch(/no step judge/);
  });
});
