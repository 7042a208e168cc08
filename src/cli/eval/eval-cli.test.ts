/**
 * `mrpo eval` end to end: two models served by a real OpenAI-compatible chat
 * server on 127.0.0.1 (which also plays the answer and step judges) over
 * three small benchmarks in three formats (items JSONL, VQA-Med 2021 with
 * several accepted answers, VQA-Med 2019 converted by `mrpo data convert`).
 * The first run is a real process killed (SIGKILL) mid-run; the rerun
 * resumes it. The table's numbers are checked against values counted by hand
 * and against the NLTK / rouge_score golden values in
 * src/algo/fixtures/metrics-nltk.json. Also: a bad suite file is exit 2 with
 * file, line and field, and leaves nothing behind.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { memoryIo } from '../test-support/memory-io.js';
import { countPromptSteps, requestText, startChatServer, stepVerdictsContent, type ChatReply, type ChatRequestRecord, type ChatServer } from '../../judges/test-support/chat-server.js';

const REPO = resolve(import.meta.dirname, '../../..');
const nltk = JSON.parse(readFileSync(join(REPO, 'src/algo/fixtures/metrics-nltk.json'), 'utf8')) as {
  pairs: Array<{ pred: string; gold: string; rouge1: [number, number, number]; bleu1: number }>;
};
// rad: fixture pairs 0, 1, 2 and 4 (gold "yes": a closed question). Alpha answers the fixture's prediction, beta the gold.
const RAD = [0, 1, 2, 4].map((k) => nltk.pairs[k]!);

/** Prediction of each model for each question (the policy part of the server). */
const PREDICTIONS: Record<string, Record<string, string>> = {
  'alpha-vl': {
    ...Object.fromEntries(RAD.map((p, i) => [`rad question ${i}?`, p.pred])),
    'what abnormality is seen in the image?': 'bilateral femoral head necrosis',
    'what is the primary abnormality in this image?': 'pulmonary embolus',
    'what is abnormal in the x-ray?': 'Pneumonia.',
    'is this an mri?': 'yes',
    'which plane is this?': 'coronal',
    'what organ system is shown?': 'lung, mediastinum, pleura',
  },
  'beta-vl': {
    ...Object.fromEntries(RAD.map((p, i) => [`rad question ${i}?`, p.gold])),
    'what abnormality is seen in the image?': 'no idea',
    'what is the primary abnormality in this image?': 'no idea',
    'what is abnormal in the x-ray?': 'no idea',
    'is this an mri?': 'no',
    'which plane is this?': 'axial',
    'what organ system is shown?': 'lung',
  },
};

const norm = (s: string) => s.toLowerCase().replace(/\s+/g, ' ').replace(/\.$/, '').trim();

function responder(record: ChatRequestRecord): ChatReply {
  const text = requestText(record.body);
  if (text.includes('Think step-by-step')) {
    const table = PREDICTIONS[record.body.model] ?? {};
    const question = Object.keys(table).find((q) => text.startsWith(q));
    const who = record.body.model.startsWith('alpha') ? 'Alpha' : 'Beta';
    return { kind: 'content', content: `<think>${who} looks at the image. ${who} finds the key sign. ${who} concludes.</think><answer>${question ? table[question] : '?'}</answer>` };
  }
  const k = countPromptSteps(record.body);
  if (k > 0) {
    // Alpha's steps: valid, then invalid (first failure at step 2 of 3: mid, FAR 1); beta's: invalid first, then valid (early, FAR 0).
    const alpha = text.includes('Alpha looks');
    return { kind: 'content', content: stepVerdictsContent(Array.from({ length: k }, (_, i) => ((alpha ? i === 0 : i > 0) ? [1, 1] : [0, 0]) as [0 | 1, 0 | 1])) };
  }
  const gold = /Gold answer: (.*)/.exec(text)?.[1] ?? '';
  const given = /Model's answer: (.*)/.exec(text)?.[1] ?? '';
  return { kind: 'content', content: JSON.stringify({ verdict: norm(gold) === norm(given) ? 'O' : 'X' }) };
}

let dir: string;
let server: ChatServer;

async function jpeg(path: string, shade: number): Promise<void> {
  await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: shade, g: shade, b: shade } } })
    .jpeg()
    .toFile(path);
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mrpo-eval-'));
  server = await startChatServer({ responder, latencyMs: 30 });
  mkdirSync(join(dir, 'images'));
  for (let i = 0; i < 4; i++) await jpeg(join(dir, 'images', `rad${i}.jpg`), 20 * i);
  writeFileSync(
    join(dir, 'rad.jsonl'),
    RAD.map((p, i) => JSON.stringify({ id: `rad${i}`, image: `images/rad${i}.jpg`, question: `rad question ${i}?`, answer: p.gold, goldReasoning: 'The image shows the finding.', source: 'rad' })).join('\n'),
  );
  for (const id of ['synpic1', 'synpic2', 'synpic3', 'synpic10', 'synpic11', 'synpic12']) await jpeg(join(dir, 'images', `${id}.jpg`), 99);
  writeFileSync(join(dir, 'answers-2021.txt'), 'synpic1|avascular necrosis|bilateral femoral head necrosis\nsynpic2|pulmonary embolism\nsynpic3|"pneumonia"|consolidation of the right lower lobe\n');
  writeFileSync(
    join(dir, 'questions-2021.json'),
    JSON.stringify({
      questions: [
        { question: 'what abnormality is seen in the image?', question_id: 'synpic1' },
        { question: 'what is the primary abnormality in this image?', question_id: 'synpic2' },
        { question: 'what is abnormal in the x-ray?', question_id: 'synpic3' },
      ],
    }),
  );
  writeFileSync(join(dir, 'VQAMed2019_Test_Questions_w_Ref_Answers.txt'), 'synpic10|modality|is this an \tmri?|yes\nsynpic11|plane|which plane is this?|axial\nsynpic12|organ|what organ system is shown?|lung, mediastinum, pleura\n');
});

afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function suiteYaml(baseUrl: string): string {
  return [
    'name: e2e',
    'bootstrap: { resamples: 1000, seed: 0 }',
    'benchmarks:',
    '  - { name: rad, group: id, format: items, path: rad.jsonl }',
    '  - { name: vqamed21, group: ood, format: vqa-med-2021, path: answers-2021.txt, questions: questions-2021.json, images: images }',
    '  - { name: vqamed19, group: ood, format: items, path: med19.jsonl }',
    'models:',
    `  - { name: alpha, kind: openai, baseUrl: "${baseUrl}", model: alpha-vl, family: qwen2.5-vl, concurrency: 2 }`,
    `  - { name: beta, kind: openai, baseUrl: "${baseUrl}", model: beta-vl, family: qwen2.5-vl, concurrency: 2 }`,
    `judge: { kind: openai, baseUrl: "${baseUrl}", model: judge-model, cache: null, priceIn: 1, priceOut: 2, concurrency: 2 }`,
    '',
  ].join('\n');
}

const jsonl = (file: string): Array<Record<string, unknown>> =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.trim().length > 0)
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as Record<string, unknown>];
          } catch {
            return []; // a line cut by the kill
          }
        })
    : [];

const policyRequests = () => server.requests.filter((r) => requestText(r.body).includes('Think step-by-step')).length;

describe('mrpo eval', () => {
  it('runs two models over three benchmarks, survives a kill, resumes, and tabulates the hand-counted numbers', async () => {
    const convert = memoryIo('', {}, dir);
    expect(await main(['data', 'convert', '--format', 'vqa-med-2019', 'VQAMed2019_Test_Questions_w_Ref_Answers.txt', '--images', 'images', '--out', 'med19.jsonl'], convert)).toBe(0);
    expect(convert.err()).toContain('3 items (2 open, 1 closed)');
    writeFileSync(join(dir, 'suite.yaml'), suiteYaml(server.baseUrl));
    const out = join(dir, 'out');

    // First run: a real process, killed once a few items are done.
    const tsx = pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;
    const child = spawn(process.execPath, ['--import', tsx, join(REPO, 'src/cli/main.ts'), 'eval', '--suite', 'suite.yaml', '--out', out], { cwd: dir, stdio: 'ignore' });
    await new Promise<void>((done, fail) => {
      const timer = setInterval(() => {
        if (jsonl(join(out, 'runs', 'alpha', 'rad.judged.jsonl')).length >= 2) {
          clearInterval(timer);
          child.kill('SIGKILL');
        }
      }, 10);
      child.once('exit', () => {
        clearInterval(timer);
        done();
      });
      child.once('error', fail);
    });
    const files = ['rad', 'vqamed21', 'vqamed19'].flatMap((b) => ['alpha', 'beta'].map((m) => join(out, 'runs', m, `${b}.completions.jsonl`)));
    const completedBefore = files.reduce((a, f) => a + jsonl(f).length, 0);
    const judgedBefore = ['rad', 'vqamed21', 'vqamed19'].flatMap((b) => ['alpha', 'beta'].map((m) => jsonl(join(out, 'runs', m, `${b}.judged.jsonl`)).length)).reduce((a, b) => a + b, 0);
    expect(judgedBefore).toBeGreaterThanOrEqual(2);
    expect(judgedBefore).toBeLessThan(20);
    expect(existsSync(join(out, 'results.json'))).toBe(false);

    // Resume in process: only the missing completions are asked for.
    const policyBefore = policyRequests();
    const io = memoryIo('', {}, dir);
    const code = await main(['eval', '--suite', 'suite.yaml', '--out', out], io);
    expect(io.err()).toContain('already judged');
    expect(code).toBe(0);
    expect(policyRequests() - policyBefore).toBe(20 - completedBefore);
    for (const f of files) {
      const ids = jsonl(f).map((r) => r.id);
      expect(new Set(ids).size).toBe(ids.length); // no item twice
    }
    expect(io.err()).toMatch(/judge estimate: ≈\d+ calls/);
    expect(io.err()).toMatch(/judge spend: judged \d+/);

    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as {
      complete: boolean;
      scores: Record<string, Record<string, Record<string, Record<string, { value: number | null; lo: number | null; hi: number | null; n: number }>>>>;
      failure: Record<string, Record<string, { traces: number; early: { value: number | null }; mid: { value: number | null }; far: { value: number | null } }>>;
    };
    expect(results.complete).toBe(true);
    const cell = (c: string, m: string, b: string, s = 'all') => results.scores[c]?.[m]?.[b]?.[s];
    // Exact match, counted by hand: alpha rad [0, 1, 1, 0]; vqamed21 [1 (second accepted answer), 0, 1]; vqamed19 [1, 0, 1].
    expect(cell('exact', 'alpha', 'rad')).toMatchObject({ value: 0.5, lo: 0, hi: 1, n: 4 });
    expect(cell('exact', 'alpha', 'rad', 'open')?.value).toBeCloseTo(2 / 3, 12);
    expect(cell('exact', 'alpha', 'rad', 'closed')).toMatchObject({ value: 0, n: 1 });
    expect(cell('exact', 'alpha', 'vqamed21')?.value).toBeCloseTo(2 / 3, 12);
    expect(cell('exact', 'alpha', 'vqamed21', 'closed')).toMatchObject({ value: null, n: 0 });
    expect(cell('exact', 'alpha', 'vqamed19', 'closed')).toMatchObject({ value: 1, n: 1 });
    expect(cell('exact', 'alpha', 'vqamed19', 'open')).toMatchObject({ value: 0.5, n: 2 });
    expect(cell('exact', 'alpha', 'avg-id')?.value).toBeCloseTo(0.5, 12);
    expect(cell('exact', 'alpha', 'avg-ood')?.value).toBeCloseTo(2 / 3, 12);
    expect(cell('exact', 'alpha', 'avg-all')?.value).toBeCloseTo(11 / 18, 12);
    // Beta: rad all gold → 1 everywhere, a zero-width interval; vqamed21 0; vqamed19 [0, 1, 0].
    expect(cell('exact', 'beta', 'rad')).toMatchObject({ value: 1, lo: 1, hi: 1, n: 4 });
    expect(cell('exact', 'beta', 'vqamed21')?.value).toBe(0);
    expect(cell('exact', 'beta', 'vqamed19')?.value).toBeCloseTo(1 / 3, 12);
    // The judge agrees with exact match on these answers (its verdicts: normalised equality, any accepted answer).
    expect(cell('judge', 'alpha', 'vqamed21')?.value).toBeCloseTo(2 / 3, 12);
    expect(cell('judge', 'alpha', 'rad')?.value).toBe(0.5);
    // BLEU-1 and ROUGE-1 against the NLTK / rouge_score golden values.
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(cell('bleu1', 'alpha', 'rad')?.value).toBeCloseTo(mean(RAD.map((p) => p.bleu1)), 10);
    expect(cell('rouge1', 'alpha', 'rad')?.value).toBeCloseTo(mean(RAD.map((p) => p.rouge1[2])), 10);
    expect(cell('bleu1', 'beta', 'rad')?.value).toBe(1);
    // FFP/FAR: only rad has gold rationales. Alpha fails first at step 2 of 3 (mid, FAR 1/1); beta at step 1 (early, FAR 0/2).
    expect(results.failure.alpha?.rad).toMatchObject({ traces: 4, early: { value: 0 }, mid: { value: 1 }, far: { value: 1 } });
    expect(results.failure.beta?.rad).toMatchObject({ traces: 4, early: { value: 1, lo: 1, hi: 1, n: 4 }, mid: { value: 0 }, far: { value: 0, n: 4 } });
    expect(results.failure.alpha?.vqamed21?.traces).toBe(0);
    const md = readFileSync(join(out, 'results.md'), 'utf8');
    expect(md).toContain('| alpha | 50.0 [0.0, 100.0] n=4 |');
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('<h2>Where reasoning breaks</h2>');
  }, 60_000);

  it('stops a model whose endpoint refuses, and the whole run when the judge refuses; exit 1, nothing half-written, a rerun resumes', async () => {
    // What OpenAI answers a model it does not serve, and a wrong key.
    const unknownModel: ChatReply = { kind: 'status', status: 404, body: { error: { message: 'The model `gamma-vl` does not exist or you do not have access to it.' } } };
    const badKey: ChatReply = { kind: 'status', status: 401, body: { error: { message: 'Incorrect API key provided: sk-live-12345678.' } } };
    let judgeRefuses = false;
    server.setResponder((r) => (r.body.model === 'gamma-vl' ? unknownModel : judgeRefuses && r.body.model === 'judge-model' ? badKey : responder(r)));
    const asks = (model: string) => server.requests.filter((r) => r.body.model === model).length;
    const lines = (m: string, b: string, kind: 'completions' | 'judged') => jsonl(join(dir, 'out', 'runs', m, `${b}.${kind}.jsonl`)).length;
    const args = ['eval', '--suite', 'suite.yaml', '--out', 'out', '--benchmarks', 'rad,vqamed21'];

    // 1. Beta names a model the server does not serve (7 items, 1 request at a time, so at most 2 in flight).
    writeFileSync(join(dir, 'suite.yaml'), suiteYaml(server.baseUrl).replace('model: beta-vl, family: qwen2.5-vl, concurrency: 2', 'model: gamma-vl, family: qwen2.5-vl, concurrency: 1'));
    const io = memoryIo('', {}, dir);
    expect(await main(args, io)).toBe(1);
    expect(io.err()).toContain('mrpo eval: model beta refused (http 404), e.g. rad/rad');
    expect(io.err()).toContain('stopped: model beta (http 404) refused every request');
    expect(asks('gamma-vl')).toBeGreaterThanOrEqual(1);
    expect(asks('gamma-vl')).toBeLessThanOrEqual(2);
    expect(lines('beta', 'rad', 'completions') + lines('beta', 'rad', 'judged')).toBe(0);
    expect(existsSync(join(dir, 'out', 'runs', 'beta', 'vqamed21.completions.jsonl'))).toBe(false); // its next benchmark is not started
    expect(lines('alpha', 'rad', 'judged') + lines('alpha', 'vqamed21', 'judged')).toBe(7); // alpha ran to the end
    expect(JSON.parse(readFileSync(join(dir, 'out', 'results.json'), 'utf8')).complete).toBe(false);

    // 2. The suite fixed, but now the judge's key is refused: the run stops at once, nothing is written as unjudged.
    writeFileSync(join(dir, 'suite.yaml'), suiteYaml(server.baseUrl));
    judgeRefuses = true;
    const judgeAsksBefore = asks('judge-model');
    const io2 = memoryIo('', {}, dir);
    expect(await main(args, io2)).toBe(1);
    expect(io2.err()).toContain('mrpo eval: judge refused (http 401), e.g. beta/rad/rad');
    expect(io2.err()).toContain('stopped: judge (http 401) refused every request');
    expect(io2.err()).not.toContain('sk-live-12345678');
    expect(asks('judge-model') - judgeAsksBefore).toBeLessThanOrEqual(4); // beta's 4 in flight, each stopping at its first judge call
    expect(lines('beta', 'rad', 'judged')).toBe(0);
    const betaCompleted = lines('beta', 'rad', 'completions');
    expect(betaCompleted).toBeGreaterThanOrEqual(1);
    expect(betaCompleted).toBeLessThanOrEqual(4);

    // 3. Everything fixed: the rerun asks beta only for what it has not answered, and completes.
    judgeRefuses = false;
    const betaAsksBefore = asks('beta-vl');
    const io3 = memoryIo('', {}, dir);
    expect(await main(args, io3)).toBe(0);
    expect(asks('beta-vl') - betaAsksBefore).toBe(7 - betaCompleted);
    const results = JSON.parse(readFileSync(join(dir, 'out', 'results.json'), 'utf8')) as { complete: boolean; scores: Record<string, Record<string, Record<string, Record<string, { value: number }>>>> };
    expect(results.complete).toBe(true);
    expect(results.scores.exact?.beta?.rad?.all?.value).toBe(1); // beta answers the gold on rad (counted by hand above)
  }, 60_000);

  it('rejects a bad suite file with exit 2 naming file, line and field, and writes nothing', async () => {
    writeFileSync(join(dir, 'bad.yaml'), suiteYaml(server.baseUrl).replace('format: vqa-med-2021', 'format: vqa-med-2020'));
    const io = memoryIo('', {}, dir);
    expect(await main(['eval', '--suite', 'bad.yaml', '--out', 'out'], io)).toBe(2);
    expect(io.err()).toMatch(/^mrpo eval: bad\.yaml line 5: benchmarks\[1\]\.format: /);
    writeFileSync(join(dir, 'missing.yaml'), suiteYaml(server.baseUrl).replace('path: rad.jsonl', 'path: nowhere.jsonl'));
    const io2 = memoryIo('', {}, dir);
    expect(await main(['eval', '--suite', 'missing.yaml', '--out', 'out'], io2)).toBe(2);
    expect(io2.err()).toContain('nowhere.jsonl: not found (format items expects');
    writeFileSync(join(dir, 'typo.yaml'), `${suiteYaml(server.baseUrl)}samples: 3\n`);
    const io3 = memoryIo('', {}, dir);
    expect(await main(['eval', '--suite', 'typo.yaml', '--out', 'out'], io3)).toBe(2);
    expect(io3.err()).toContain('typo.yaml line 1: (top level): Unrecognized key: "samples"');
    writeFileSync(join(dir, 'nopath.yaml'), suiteYaml(server.baseUrl).replace(', path: med19.jsonl', ''));
    const io4 = memoryIo('', {}, dir);
    expect(await main(['eval', '--suite', 'nopath.yaml', '--out', 'out'], io4)).toBe(2);
    expect(io4.err()).toBe('mrpo eval: nopath.yaml line 6: benchmarks[2].path: required for format items (the local copy of the data)\n');
    writeFileSync(join(dir, 'dup.yaml'), suiteYaml(server.baseUrl).replace('name: beta,', 'name: alpha,'));
    const io5 = memoryIo('', {}, dir);
    expect(await main(['eval', '--suite', 'dup.yaml', '--out', 'out'], io5)).toBe(2);
    expect(io5.err()).toBe('mrpo eval: dup.yaml line 9: models[1].name: "alpha" is already used by models[0]\n');
    writeFileSync(join(dir, 'cred.yaml'), suiteYaml(server.baseUrl).replace(`baseUrl: "${server.baseUrl}", model: beta-vl`, 'baseUrl: "http://user:sk-secret@127.0.0.1:1/v1", model: beta-vl'));
    const io6 = memoryIo('', {}, dir);
    expect(await main(['eval', '--suite', 'cred.yaml', '--out', 'out'], io6)).toBe(2);
    expect(io6.err()).toContain('cred.yaml line 9: models[1].baseUrl: must be an http(s) URL without credentials');
    expect(io6.err()).not.toContain('sk-secret');
    expect(existsSync(join(dir, 'out'))).toBe(false);
    expect(server.requests.length).toBe(0);
  });
});
