/**
 * Cache hits without preparing images: a rerun over a warm SQLite cache finds
 * every verdict from the image sources' own digests, so it neither calls the
 * judge nor prepares (decodes, re-encodes) a single image; an image whose
 * file changed is prepared and judged again; a custom preparation without a
 * name keeps the old behaviour (prepared on every call, still cached).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageToDataUrl } from '../../data/images.js';
import type { ImageSource, Item } from '../../types.js';
import { openVerdictCache } from '../cache.js';
import { countPromptSteps, requestImageUrls, startChatServer, stepVerdictsContent, type ChatServer } from '../test-support/chat-server.js';
import { createOpenAIAnswerJudge } from './answer-judge.js';
import { createJudgeEndpoint } from './endpoint.js';
import { createOpenAIStepJudge } from './step-judge.js';

let server: ChatServer;
let dir: string;
const steps = ['This is a chest X-ray.', 'There is a pleural line.', 'The answer is pneumothorax.'];

async function png(level: number): Promise<Buffer> {
  return sharp(Buffer.alloc(16 * 16 * 3, level), { raw: { width: 16, height: 16, channels: 3 } }).png().toBuffer();
}

function items(n: number): Item[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `q${i}`,
    image: join(dir, `img${i}.png`),
    question: `What is abnormal in case ${i}?`,
    answer: 'pneumothorax',
    goldReasoning: 'A pleural line without lung markings beyond it: pneumothorax.',
    source: 'test',
  }));
}

/** The default preparation, counting how often it runs. */
function counting(): { imageUrl: (image: ImageSource) => Promise<string>; count: () => number } {
  let n = 0;
  return {
    imageUrl: (image) => {
      n += 1;
      return imageToDataUrl(image);
    },
    count: () => n,
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mrpo-cache-hits-'));
  for (let i = 0; i < 6; i++) writeFileSync(join(dir, `img${i}.png`), await png(20 + 30 * i));
  server = await startChatServer({
    responder: (r) => {
      const k = countPromptSteps(r.body);
      return { kind: 'content', content: k === 0 ? '{"verdict": "O"}' : stepVerdictsContent(Array.from({ length: k }, () => [1, 0] as const)) };
    },
  });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('verdict cache hits', () => {
  it('a rerun prepares no image and sends no request; a changed image file is prepared and judged again', async () => {
    const cachePath = join(dir, 'named.sqlite');
    const before = server.requests.length;
    const first = counting();
    const cache1 = openVerdictCache(cachePath);
    const judge1 = createOpenAIStepJudge(createJudgeEndpoint({ baseUrl: server.baseUrl, model: 'm', cache: cache1, imageUrl: first.imageUrl, imagePreparation: 'test data-url v1' }));
    const results1 = await Promise.all(items(6).map((item) => judge1.judgeSteps({ item, steps })));
    expect(results1.every((r) => r.kind === 'judged')).toBe(true);
    expect(first.count()).toBe(6);
    expect(server.requests.length - before).toBe(6);
    cache1.close();

    const second = counting();
    const cache2 = openVerdictCache(cachePath);
    const endpoint2 = createJudgeEndpoint({ baseUrl: server.baseUrl, model: 'm', cache: cache2, imageUrl: second.imageUrl, imagePreparation: 'test data-url v1' });
    const judge2 = createOpenAIStepJudge(endpoint2);
    const results2 = await Promise.all(items(6).map((item) => judge2.judgeSteps({ item, steps })));
    const verdicts = (rs: typeof results1) => rs.map((r) => (r.kind === 'judged' ? r.verdicts : r.reason));
    expect(verdicts(results2)).toEqual(verdicts(results1));
    expect(results2.every((r) => r.kind === 'judged' && r.usage?.cached === true)).toBe(true);
    expect(second.count()).toBe(0);
    expect(server.requests.length - before).toBe(6);
    expect(endpoint2.meter.snapshot().requests).toBe(0);

    // img3.png now holds another picture: its source digest is new, so it is prepared and sent again.
    writeFileSync(join(dir, 'img3.png'), await png(250));
    const third = await judge2.judgeSteps({ item: items(6)[3], steps });
    expect(third.kind).toBe('judged');
    expect(second.count()).toBe(1);
    expect(server.requests.length - before).toBe(7);
    cache2.close();
  });

  it('another preparation name does not reuse the remembered digests', async () => {
    const cachePath = join(dir, 'names.sqlite');
    const a = counting();
    const cacheA = openVerdictCache(cachePath);
    const judgeA = createOpenAIStepJudge(createJudgeEndpoint({ baseUrl: server.baseUrl, model: 'm', cache: cacheA, imageUrl: a.imageUrl, imagePreparation: 'prep A' }));
    await judgeA.judgeSteps({ item: items(1)[0], steps });
    const b = counting();
    const judgeB = createOpenAIStepJudge(createJudgeEndpoint({ baseUrl: server.baseUrl, model: 'm', cache: cacheA, imageUrl: b.imageUrl, imagePreparation: 'prep B' }));
    const before = server.requests.length;
    await judgeB.judgeSteps({ item: items(1)[0], steps });
    expect(b.count()).toBe(1); // prepared: prep B has never seen this source
    expect(server.requests.length).toBe(before); // …and the prepared image is the same, so the verdict is a hit
    cacheA.close();
  });

  it('a custom preparation without a name is prepared again by a rerun, and its verdicts are still cached', async () => {
    const cachePath = join(dir, 'unnamed.sqlite');
    const c = counting();
    const before = server.requests.length;
    for (let run = 0; run < 2; run++) {
      const cache = openVerdictCache(cachePath);
      const judge = createOpenAIStepJudge(createJudgeEndpoint({ baseUrl: server.baseUrl, model: 'm', cache, imageUrl: c.imageUrl }));
      expect((await judge.judgeSteps({ item: items(2)[1], steps })).kind).toBe('judged');
      cache.close();
    }
    expect(server.requests.length - before).toBe(1);
    expect(c.count()).toBe(2);
  });

  it('keys are the SHA-256 of the sorted-key JSON of the inputs, the sent image digest and the settings (pinned: caches written before keep their verdicts)', async () => {
    const cachePath = join(dir, 'keys.sqlite');
    const image = `data:image/png;base64,${(await png(90)).toString('base64')}`;
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    const sent = sha(image); // a data URL within the pixel budget is sent as it is
    const item: Item = { id: 'k', image, question: 'Is there a "line"?', answer: 'yes', goldReasoning: 'A pleural line.', source: 'test' };
    const cache = openVerdictCache(cachePath);
    const endpoint = createJudgeEndpoint({ baseUrl: server.baseUrl, model: 'm', cache, temperature: 0.5, requestSeed: 7 });
    expect((await createOpenAIStepJudge(endpoint).judgeSteps({ item, steps })).kind).toBe('judged');
    expect((await createOpenAIAnswerJudge(endpoint).judgeAnswer({ item, answer: 'Yes.' })).kind).toBe('judged');
    cache.close();
    // The canonical texts, written out by hand: keys in code-unit order at every level, no spaces.
    const settings = '{"reasoningEffort":null,"seed":7,"temperature":0.5}';
    const stepsText = `{"goldAnswer":"yes","goldReasoning":"A pleural line.","image":"${sent}","kind":"steps","question":"Is there a \\"line\\"?","settings":${settings},"steps":["This is a chest X-ray.","There is a pleural line.","The answer is pneumothorax."]}`;
    const answerText = `{"answer":"Yes.","goldAnswer":"yes","image":"${sent}","kind":"answer","question":"Is there a \\"line\\"?","settings":${settings}}`;
    const db = new Database(cachePath, { readonly: true });
    const rows = db.prepare('SELECT prompt_version, input_hash FROM verdicts ORDER BY prompt_version').all() as Array<{ prompt_version: string; input_hash: string }>;
    db.close();
    expect(rows.map((r) => r.input_hash).sort()).toEqual([sha(stepsText), sha(answerText)].sort());
  });

  it('an image file edited between two calls is prepared again, not served from the memo of recent images', async () => {
    const file = join(dir, 'edited.png');
    const before = await png(10);
    const after = await png(200);
    writeFileSync(file, before);
    const item: Item = { ...items(1)[0], image: file };
    const judge = createOpenAIStepJudge(createJudgeEndpoint({ baseUrl: server.baseUrl, model: 'm', cache: null }));
    await judge.judgeSteps({ item, steps });
    writeFileSync(file, after);
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    await judge.judgeSteps({ item, steps: steps.slice(0, 2) });
    const sent = server.requests.slice(-2).map((r) => requestImageUrls(r.body));
    expect(sent).toEqual([[`data:image/png;base64,${before.toString('base64')}`], [`data:image/png;base64,${after.toString('base64')}`]]);
  });
});
