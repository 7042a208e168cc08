/**
 * `mrpo infer` → `mrpo judge answers` → `mrpo judge steps` → `mrpo analyze`
 * end to end, against a real chat-completions server on 127.0.0.1 and real
 * files: output formats, resume after an interrupted run, the cache on a
 * rerun, unjudged lines and --retry-unjudged, and no key anywhere.
 */
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { memoryIo } from '../test-support/memory-io.js';
import {
  countPromptSteps,
  KEY_ECHO_STATUSES,
  keyEchoReply,
  requestImageUrls,
  requestText,
  startChatServer,
  stepVerdictsContent,
  type ChatReply,
  type ChatRequestRecord,
  type ChatServer,
} from '../../judges/test-support/chat-server.js';

let dir: string;
let server: ChatServer;

const COMPLETIONS: Record<string, string> = {
  'What is seen in the right lung?':
    '<think>This is a chest X-ray. The right lung shows no markings beyond a pleural line. This indicates a pneumothorax.</think><answer>pneumothorax</answer>',
  'How many nodules are there?': '<think>1. I count the nodules. There are 3 nodules.</think><answer>3</answer>',
  'Which organ is shown?': '<think>The image shows the liver.</think><answer>liver</answer>',
};

/** Plays the policy (for infer), the step judge and the answer judge. */
function responder(record: ChatRequestRecord): ChatReply {
  const text = requestText(record.body);
  if (text.includes('Think step-by-step')) {
    const question = Object.keys(COMPLETIONS).find((q) => text.startsWith(q));
    return { kind: 'content', content: question ? COMPLETIONS[question] : '<think>?</think><answer>?</answer>' };
  }
  const k = countPromptSteps(record.body);
  // The judge replies report fixed token counts, so the cost written per line can be checked by hand.
  if (k > 0)
    return { kind: 'content', content: stepVerdictsContent(Array.from({ length: k }, (_, i) => (i === 0 ? [1, 0] : [0, 0]) as [0 | 1, 0 | 1])), usage: { prompt_tokens: 900, completion_tokens: 60 } };
  // Answer judge: correct when the spelled-out answers are equal.
  const gold = /Gold answer: (.*)/.exec(text)?.[1]?.trim();
  const given = /Model's answer: (.*)/.exec(text)?.[1]?.trim();
  return { kind: 'content', content: JSON.stringify({ verdict: gold === given ? 'O' : 'X' }), usage: { prompt_tokens: 400, completion_tokens: 20 } };
}

async function writeImage(name: string, shade: number): Promise<void> {
  await sharp(Buffer.alloc(8 * 8 * 3, shade), { raw: { width: 8, height: 8, channels: 3 } })
    .png()
    .toFile(join(dir, 'images', name));
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mrpo-infer-'));
  await import('node:fs/promises').then((fs) => fs.mkdir(join(dir, 'images')));
  await writeImage('a.png', 10);
  await writeImage('b.png', 120);
  await writeImage('c.png', 240);
  const items = [
    { id: 'a', image: 'images/a.png', question: 'What is seen in the right lung?', answer: 'pneumothorax', goldReasoning: 'Chest X-ray. Right pneumothorax with a pleural line.', source: 'vqa-rad' },
    { id: 'b', image: 'images/b.png', question: 'How many nodules are there?', answer: 'two', goldReasoning: 'Two nodules are seen in the liver.', source: 'slake' },
    { id: 'c', image: 'images/c.png', question: 'Which organ is shown?', answer: 'liver', source: 'slake' },
  ];
  writeFileSync(join(dir, 'items.jsonl'), items.map((i) => JSON.stringify(i)).join('\n') + '\n');
  server = await startChatServer({ responder });
});

afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const lines = (file: string) =>
  readFileSync(join(dir, file), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const byId = (file: string) => Object.fromEntries(lines(file).map((l) => [`${String(l.id)}#${String(l.sample)}`, l]));

async function run(args: string[], env: Record<string, string> = {}) {
  const io = memoryIo('', env, dir);
  const code = await main(args, io);
  return { code, out: io.out(), err: io.err() };
}

const infer = (extra: string[] = []) =>
  run(['infer', '--in', 'items.jsonl', '--out', 'out/completions.jsonl', '--base-url', server.baseUrl, '--model', 'Qwen/Qwen2.5-VL-7B-Instruct', ...extra]);
const judge = (mode: 'answers' | 'steps', inFile: string, outFile: string, extra: string[] = [], env: Record<string, string> = {}) =>
  run(['judge', mode, '--in', inFile, '--out', outFile, '--base-url', server.baseUrl, '--cache', 'cache/judge.sqlite', '--max-retries', '0', ...extra], env);

describe('mrpo infer', () => {
  it('writes one parsed line per item with the family prompt, greedy', async () => {
    const r = await infer();
    expect(r.code).toBe(0);
    expect(r.err).toContain('wrote 3 samples');
    const out = byId('out/completions.jsonl');
    expect(Object.keys(out).sort()).toEqual(['a#0', 'b#0', 'c#0']);
    const a = out['a#0'] as { completion: string; steps: Array<{ start: number; end: number; text: string }> } & Record<string, unknown>;
    expect(a).toMatchObject({
      id: 'a',
      source: 'vqa-rad',
      question: 'What is seen in the right lung?',
      answer: 'pneumothorax',
      goldReasoning: 'Chest X-ray. Right pneumothorax with a pleural line.',
      image: '../images/a.png',
      sample: 0,
      prediction: 'pneumothorax',
      think: 'This is a chest X-ray. The right lung shows no markings beyond a pleural line. This indicates a pneumothorax.',
    });
    expect(a.steps.map((s) => s.text)).toEqual(['This is a chest X-ray.', 'The right lung shows no markings beyond a pleural line.', 'This indicates a pneumothorax.']);
    for (const s of a.steps) expect(a.completion.slice(s.start, s.end)).toBe(s.text);
    // "1." is merged with the sentence after it (docs/method.md §2)
    expect((out['b#0'] as { steps: Array<{ text: string }> }).steps.map((s) => s.text)).toEqual(['1. I count the nodules.', 'There are 3 nodules.']);
    const body = server.requests[0].body;
    expect(body.temperature).toBe(0);
    expect(requestText(body)).toMatch(/\? Think step-by-step and enclose your reasoning in <think>\.\.\.<\/think> tags\. Then provide your answer in <answer>\.\.\.<\/answer> tags\.$/);
    expect(requestImageUrls(body)[0]).toMatch(/^data:image\/png;base64,/);
  });

  it('uses <thinking> for Qwen3-VL and n seeded samples per item', async () => {
    const r = await run(['infer', '--in', 'items.jsonl', '--out', 'o.jsonl', '--base-url', server.baseUrl, '--model', 'Qwen/Qwen3-VL-8B-Instruct', '--n', '2', '--seed', '5']);
    expect(r.code).toBe(0);
    expect(Object.keys(byId('o.jsonl')).sort()).toEqual(['a#0', 'a#1', 'b#0', 'b#1', 'c#0', 'c#1']);
    expect(requestText(server.requests[0].body)).toContain('<thinking>...</thinking>');
    expect(server.requests.every((q) => q.body.temperature === 1)).toBe(true);
    expect(new Set(server.requests.map((q) => q.body.seed))).toEqual(new Set([5, 6]));
  });

  it('resumes an interrupted run: a cut-off last line is removed and only missing samples are requested', async () => {
    expect((await infer()).code).toBe(0);
    const path = join(dir, 'out/completions.jsonl');
    const kept = readFileSync(path, 'utf8').trim().split('\n').slice(0, 2);
    writeFileSync(path, `${kept.join('\n')}\n`);
    appendFileSync(path, kept[0].slice(0, 25)); // a crash in the middle of a write
    const before = server.requests.length;
    const r = await infer();
    expect(r.code).toBe(0);
    expect(r.err).toContain('removed a cut-off last line');
    expect(r.err).toContain('resuming: 2 of 3 samples already in');
    expect(server.requests.length - before).toBe(1);
    expect(Object.keys(byId('out/completions.jsonl')).sort()).toEqual(['a#0', 'b#0', 'c#0']);
  });

  it('a sample that keeps failing is not written, is counted, and the exit code says so', async () => {
    server.setResponder((rec) => (requestText(rec.body).startsWith('Which organ') ? { kind: 'status', status: 500 } : responder(rec)));
    const r = await infer(['--max-retries', '0']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('failed 1 (http 500: 1)');
    expect(r.err).toContain('rerun the same command to retry them');
    expect(Object.keys(byId('out/completions.jsonl')).sort()).toEqual(['a#0', 'b#0']);
  });

  it("accepts the reference's {image, problem, solution} records as they are", async () => {
    const suffix = ' Think step-by-step and enclose your reasoning in <think>...</think> tags. Then provide your answer in <answer>...</answer> tags.';
    writeFileSync(join(dir, 'ref.json'), JSON.stringify([{ image: join(dir, 'images/c.png'), problem: `Which organ is shown?${suffix}`, solution: '<answer> liver </answer>' }]));
    const r = await run(['infer', '--in', 'ref.json', '--out', 'ref-out.jsonl', '--base-url', server.baseUrl, '--model', 'internvl3-8b']);
    expect(r.code).toBe(0);
    const [line] = lines('ref-out.jsonl');
    expect(line).toMatchObject({ question: 'Which organ is shown?', answer: 'liver', prediction: 'liver', image: 'images/c.png' });
    expect(requestText(server.requests[0].body)).toBe(`Which organ is shown?${suffix}`); // the suffix is not doubled
  });

  it('a failure is shown with an item and its full reason: a missing image, an HTTP 400 with its message', async () => {
    writeFileSync(
      join(dir, 'items.jsonl'),
      `${readFileSync(join(dir, 'items.jsonl'), 'utf8')}${JSON.stringify({ id: 'd', image: 'images/missing.png', question: 'Which organ is shown?', answer: 'liver' })}\n`,
    );
    server.setResponder((rec) =>
      requestText(rec.body).startsWith('How many')
        ? { kind: 'status', status: 400, body: { error: { message: 'max_tokens is too large for this model' } } }
        : responder(rec),
    );
    const r = await infer(['--max-retries', '0']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('failed 2 (');
    expect(r.err).toMatch(/bad image: e\.g\. d \(sample 0\): bad image \(.*images\/missing\.png: image file not found\)/);
    expect(r.err).toMatch(/http 400: e\.g\. b \(sample 0\): http 400 \(after 1 attempt: .*max_tokens is too large for this model/);
    expect(Object.keys(byId('out/completions.jsonl')).sort()).toEqual(['a#0', 'c#0']);
  });

  it('a 404 (no such model or route) stops the run: every other call would fail the same way', async () => {
    server.setResponder(() => ({ kind: 'status', status: 404, body: { error: { message: 'The model `qwen2.5-vl-typo` does not exist.' } } }));
    const r = await infer(['--concurrency', '1']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('refused the request (http 404)');
    expect(r.err).toContain('--base-url');
    expect(server.requests).toHaveLength(1);
  });

  it('a hosted OpenAI endpoint without a key is bad usage (exit 2), before any work', async () => {
    const r = await run(['infer', '--in', 'items.jsonl', '--base-url', 'https://api.openai.com/v1', '--model', 'gpt-4o', '--family', 'qwen2.5-vl']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('needs a key: set MRPO_INFER_API_KEY');
  });

  it('Ctrl-C keeps the finished samples, exits 130 without calling it a failure, and a rerun does the rest', async () => {
    // One request at a time: the first is answered, Ctrl-C comes while the second is in flight.
    // (Which item goes first depends on which image is read first.)
    server.setResponder((rec) => {
      if (rec.index === 0) return responder(rec);
      setImmediate(() => process.emit('SIGINT', 'SIGINT'));
      return { kind: 'hang' };
    });
    const r = await infer(['--concurrency', '1']);
    expect(r.code).toBe(130);
    expect(r.err).toContain('failed 0, not done 2 (interrupted)');
    expect(r.err).toContain('interrupted: 2 samples not done; rerun the same command to resume');
    expect(server.requests).toHaveLength(2);
    expect(Object.keys(byId('out/completions.jsonl'))).toHaveLength(1);
    server.setResponder(responder);
    const again = await infer();
    expect(again.code).toBe(0);
    expect(again.err).toContain('resuming: 1 of 3 samples already in');
    expect(Object.keys(byId('out/completions.jsonl')).sort()).toEqual(['a#0', 'b#0', 'c#0']);
  });

  it('a repeated id is bad input (exit 2), in items for infer and in lines for judge', async () => {
    writeFileSync(join(dir, 'dup.jsonl'), `${readFileSync(join(dir, 'items.jsonl'), 'utf8')}${JSON.stringify({ id: 'a', image: 'images/b.png', question: 'q', answer: 'x' })}\n`);
    const r = await run(['infer', '--in', 'dup.jsonl', '--base-url', server.baseUrl, '--model', 'qwen2.5-vl']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('dup.jsonl: record 4: id "a" is already used by record 1 (ids must be unique)');
    expect(server.requests).toHaveLength(0);
    const line = { id: 'a', question: 'q', answer: 'x', image: 'images/a.png', completion: '<think>A.</think><answer>x</answer>' };
    writeFileSync(join(dir, 'c.jsonl'), [line, { ...line, id: 'b' }, line].map((l) => JSON.stringify(l)).join('\n') + '\n');
    const j = await run(['judge', 'answers', '--judge', 'offline', '--in', 'c.jsonl']);
    expect(j.code).toBe(2);
    expect(j.err).toContain('c.jsonl line 3: id "a" with sample 0 is already on line 1');
    writeFileSync(join(dir, 'c.jsonl'), [line, { ...line, sample: 1 }].map((l) => JSON.stringify(l)).join('\n') + '\n');
    expect((await run(['judge', 'answers', '--judge', 'offline', '--in', 'c.jsonl'])).code).toBe(0); // other samples of an item are fine
  });

  it('names the line and field of a bad item', async () => {
    writeFileSync(join(dir, 'bad.jsonl'), '{"id": "x", "image": "images/a.png", "question": 5, "answer": null}\n');
    const r = await run(['infer', '--in', 'bad.jsonl', '--model', 'qwen2.5-vl', '--base-url', server.baseUrl]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bad\.jsonl line 1: field "answer"/);
  });
});

describe('mrpo judge', () => {
  it('answers then steps gives the fields mrpo analyze reads; a rerun is served from the cache', async () => {
    expect((await infer()).code).toBe(0);
    const inferRequests = server.requests.length;
    const ans = await judge('answers', 'out/completions.jsonl', 'out/answers.jsonl');
    expect(ans.code).toBe(0);
    const answers = byId('out/answers.jsonl');
    expect(answers['a#0'].correct).toBe(true);
    expect(answers['b#0'].correct).toBe(false); // "three" vs "two"
    expect(answers['c#0'].correct).toBe(true);
    // Cost per line at the assumed gpt-5-mini prices ($0.25 / $2.00 per 1M): 400 × 0.25e-6 + 20 × 2e-6 = $0.00014.
    expect(answers['a#0'].answerJudge).toMatchObject({ name: 'openai:gpt-5-mini@answer-v1', promptTokens: 400, completionTokens: 20, cached: false });
    expect((answers['a#0'].answerJudge as { costUsd: number }).costUsd).toBeCloseTo(0.00014, 12);
    expect(ans.err).toMatch(/judged 3 \(cached 0\), unjudged 0, requests 3, retries 0/);

    const st = await judge('steps', 'out/answers.jsonl', 'out/judged.jsonl');
    expect(st.code).toBe(0);
    const judged = byId('out/judged.jsonl');
    expect(judged['a#0']).toMatchObject({
      correct: true,
      stepVerdicts: [
        { alignment: 1, contribution: 0 },
        { alignment: 0, contribution: 0 },
        { alignment: 0, contribution: 0 },
      ],
      stepLabels: [1, 0, 0],
      stepJudge: { name: 'openai:gpt-5-mini@step-v1', missing: 0, extra: 0, promptTokens: 900, completionTokens: 60, cached: false },
    });
    // 900 × 0.25e-6 + 60 × 2e-6 = $0.000345
    expect((judged['a#0'].stepJudge as { costUsd: number }).costUsd).toBeCloseTo(0.000345, 12);
    expect(judged['a#0'].unjudged).toBeUndefined();
    // No call for a line without gold reasoning: nothing paid.
    expect(judged['c#0']).toMatchObject({ stepLabels: null, unjudged: 'no gold reasoning', stepJudge: { promptTokens: 0, completionTokens: 0, costUsd: 0 } });
    expect(st.err).toContain('unjudged 1 (no gold reasoning: 1)');
    expect(server.requests.length - inferRequests).toBe(5);

    const summary = await run(['analyze', '--in', join(dir, 'out/judged.jsonl'), '--json', '-']);
    expect(summary.code).toBe(0);
    expect(JSON.parse(summary.out)).toMatchObject({ traces: 2, withFailure: 2 });

    // Same inputs, new output files: every verdict comes from the cache, the server sees nothing.
    const before = server.requests.length;
    const again = await judge('answers', 'out/completions.jsonl', 'out/answers2.jsonl');
    const again2 = await judge('steps', 'out/answers2.jsonl', 'out/judged2.jsonl');
    expect(server.requests.length).toBe(before);
    expect(again.err).toMatch(/judged 3 \(cached 3\).*requests 0/);
    expect(again2.err).toMatch(/judged 2 \(cached 2\).*requests 0/);
    // The same verdicts; the cost fields say the cache served them for nothing.
    const judged2 = byId('out/judged2.jsonl');
    const verdictsOnly = (lines: Record<string, Record<string, unknown>>) =>
      Object.fromEntries(Object.entries(lines).map(([k, { stepJudge: _s, answerJudge: _a, ...rest }]) => [k, rest]));
    expect(verdictsOnly(judged2)).toEqual(verdictsOnly(judged));
    expect(judged2['a#0'].stepJudge).toMatchObject({ promptTokens: 0, completionTokens: 0, cached: true, costUsd: 0 });
    expect(judged2['a#0'].answerJudge).toMatchObject({ cached: true, costUsd: 0 });
  });

  it('test–retest: --seed is sent and keys the cache, so a second run is judged afresh; a cached rerun is flagged by the audit', async () => {
    expect((await infer()).code).toBe(0);
    expect((await judge('answers', 'out/completions.jsonl', 'out/answers.jsonl')).code).toBe(0);
    const before = server.requests.length;
    expect((await judge('steps', 'out/answers.jsonl', 'rt/seed1.jsonl', ['--seed', '1'])).code).toBe(0);
    const afterFirst = server.requests.length;
    expect(afterFirst - before).toBe(2); // a and b have gold reasoning; c does not
    expect(server.requests.slice(before).every((r) => r.body.seed === 1)).toBe(true);
    // Another seed: not in the cache, judged again.
    expect((await judge('steps', 'out/answers.jsonl', 'rt/seed2.jsonl', ['--seed', '2'])).code).toBe(0);
    expect(server.requests.length - afterFirst).toBe(2);
    expect(server.requests.slice(afterFirst).every((r) => r.body.seed === 2)).toBe(true);
    const fresh = await run(['judge', 'audit', '--retest', join(dir, 'rt/seed1.jsonl'), join(dir, 'rt/seed2.jsonl'), '--resamples', '20']);
    expect(fresh.code, fresh.err).toBe(0);
    expect(fresh.err).not.toContain('came from the verdict cache');
    // The same seed again: every verdict from the cache, which the audit says.
    const beforeCached = server.requests.length;
    expect((await judge('steps', 'out/answers.jsonl', 'rt/again.jsonl', ['--seed', '1'])).code).toBe(0);
    expect(server.requests.length).toBe(beforeCached);
    const cached = await run(['judge', 'audit', '--retest', join(dir, 'rt/seed1.jsonl'), join(dir, 'rt/again.jsonl'), '--resamples', '20']);
    expect(cached.code).toBe(0);
    expect(cached.err).toContain(`every step verdict in ${join(dir, 'rt/again.jsonl')} came from the verdict cache`);
  });

  it('judge retest judges the steps twice with seeds 1 and 2 and reports test–retest κ (by hand: a second run calling every step valid gives κ = 0)', async () => {
    expect((await infer()).code).toBe(0);
    expect((await judge('answers', 'out/completions.jsonl', 'out/answers.jsonl')).code).toBe(0);
    // The judge with seed 2 calls every step valid; with seed 1 it answers as before (first step valid, the rest not).
    server.setResponder((rec) => {
      const k = countPromptSteps(rec.body);
      if (k > 0 && rec.body.seed === 2) return { kind: 'content', content: stepVerdictsContent(Array.from({ length: k }, () => [1, 1] as [0 | 1, 0 | 1])) };
      return responder(rec);
    });
    const before = server.requests.length;
    const r = await run(['judge', 'retest', '--in', 'out/answers.jsonl', '--out-dir', 'rt2', '--base-url', server.baseUrl, '--cache', 'cache/judge.sqlite', '--max-retries', '0', '--resamples', '50']);
    expect(r.code, r.err).toBe(0);
    const seeds = server.requests.slice(before).map((q) => q.body.seed);
    expect(seeds.sort()).toEqual([1, 1, 2, 2]); // a and b each judged once per seed (c has no gold reasoning)
    const run1 = byId('rt2/steps-seed1.jsonl');
    const run2 = byId('rt2/steps-seed2.jsonl');
    expect(run1['a#0'].stepLabels).toEqual([1, 0, 0]);
    expect((run2['a#0'].stepLabels as number[]).every((l) => l === 1)).toBe(true);
    // Rater 2 puts every unit in "valid": p_e = P1(valid)·1 + P1(invalid)·0 = p_o, so κ = 0.
    const audit = JSON.parse(readFileSync(join(dir, 'rt2/retest.json'), 'utf8'));
    expect(audit.mode).toBe('retest');
    expect(audit.judges).toEqual(['seed 1', 'seed 2']);
    expect(audit.criteria.label.betweenJudges[0].kappa).toBeCloseTo(0, 12);
    expect(r.out).toMatch(/seed 1 vs seed 2: \d+ units, agreement [0-9.]+, test–retest κ 0\.000/);
    expect(existsSync(join(dir, 'rt2/retest.html'))).toBe(true);
    // Bad usage: exit 2 before anything is judged.
    const bad = await run(['judge', 'retest', '--in', 'out/answers.jsonl', '--out-dir', 'rt3', '--seeds', '1,1']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--seeds must be two different integers');
    expect(existsSync(join(dir, 'rt3'))).toBe(false);
  });

  it('a judge failure is an unjudged line (never a silent 0), counted, and --retry-unjudged fixes it in place', async () => {
    expect((await infer()).code).toBe(0);
    server.setResponder((rec) => (requestText(rec.body).includes('How many nodules') ? { kind: 'status', status: 500 } : responder(rec)));
    const first = await judge('steps', 'out/completions.jsonl', 'out/judged.jsonl');
    expect(first.code).toBe(0);
    expect(first.err).toContain('unjudged 2 (no gold reasoning: 1, http 500: 1)');
    expect(first.err).toContain('rerun with --retry-unjudged');
    expect(byId('out/judged.jsonl')['b#0']).toMatchObject({ stepLabels: null, unjudged: 'http 500 (after 1 attempt)' });

    // A plain rerun skips everything (all lines are in the output)…
    const before = server.requests.length;
    const second = await judge('steps', 'out/completions.jsonl', 'out/judged.jsonl');
    expect(second.err).toContain('resuming: 3 of 3 lines already in');
    expect(server.requests.length).toBe(before);
    // …--retry-unjudged judges the failed one again, once the server is well.
    server.setResponder(responder);
    const third = await judge('steps', 'out/completions.jsonl', 'out/judged.jsonl', ['--retry-unjudged']);
    expect(third.err).toContain('judging 1 unjudged lines again');
    expect(server.requests.length - before).toBe(1);
    const judged = lines('out/judged.jsonl');
    expect(judged).toHaveLength(3);
    expect(judged.find((l) => l.id === 'b')).toMatchObject({ stepLabels: [1, 0] });
    expect(judged.find((l) => l.id === 'c')).toMatchObject({ unjudged: 'no gold reasoning' });
  });

  it('Ctrl-C: lines not judged are not written, exit 130, no --retry-unjudged advice, and a rerun judges them', async () => {
    expect((await infer()).code).toBe(0);
    server.setResponder((rec) => {
      if (!requestText(rec.body).includes('How many nodules')) return responder(rec);
      setImmediate(() => process.emit('SIGINT', 'SIGINT'));
      return { kind: 'hang' };
    });
    const r = await judge('steps', 'out/completions.jsonl', 'out/judged.jsonl', ['--concurrency', '1']);
    expect(r.code).toBe(130);
    expect(r.err).toContain('interrupted; rerun the same command to resume');
    expect(r.err).not.toContain('--retry-unjudged');
    expect(byId('out/judged.jsonl')['b#0']).toBeUndefined();
    server.setResponder(responder);
    const again = await judge('steps', 'out/completions.jsonl', 'out/judged.jsonl');
    expect(again.code).toBe(0);
    expect(byId('out/judged.jsonl')['b#0']).toMatchObject({ stepLabels: [1, 0] });
  });

  it('a server pinned to another model (transformers serve: 400 "Server is pinned to …") stops infer and judge, like a 404', async () => {
    await server.close();
    server = await startChatServer({ responder, pinnedModel: 'Qwen/Qwen2.5-VL-7B-Instruct' });
    const wrong = await run(['infer', '--in', 'items.jsonl', '--out', 'out/wrong.jsonl', '--base-url', server.baseUrl, '--model', 'qwen-typo', '--family', 'qwen2.5-vl', '--concurrency', '1']);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain("http 400 (after 1 attempt: 400 Server is pinned to 'Qwen/Qwen2.5-VL-7B-Instruct'; requested 'qwen-typo'.)");
    expect(wrong.err).toContain('refused the request (http 400, wrong model)');
    expect(server.requests).toHaveLength(1);
    expect((await infer()).code).toBe(0);
    const before = server.requests.length;
    const r = await judge('steps', 'out/completions.jsonl', 'out/s.jsonl', ['--concurrency', '1']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('refused the request (http 400, wrong model)');
    expect(server.requests.length - before).toBe(1);
    // Nothing for the refused lines; c (no gold reasoning) needs no call and is written as it is.
    expect(Object.keys(byId('out/s.jsonl'))).toEqual(['c#0']);
  });

  it('a 404 from the judge endpoint (no such model or route) stops the run, like a 401', async () => {
    expect((await infer()).code).toBe(0);
    server.setResponder(() => ({ kind: 'status', status: 404, body: { error: { message: 'The model `gpt-5-mini` does not exist.' } } }));
    const before = server.requests.length;
    const r = await judge('answers', 'out/completions.jsonl', 'out/a.jsonl', ['--concurrency', '1']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('refused the request (http 404)');
    expect(server.requests.length - before).toBe(1);
    expect(readFileSync(join(dir, 'out/a.jsonl'), 'utf8')).toBe('');
  });

  it('the offline judges need no server', async () => {
    expect((await infer()).code).toBe(0);
    const before = server.requests.length;
    expect((await run(['judge', 'answers', '--judge', 'offline', '--in', 'out/completions.jsonl', '--out', 'o/a.jsonl'])).code).toBe(0);
    const r = await run(['judge', 'steps', '--judge', 'offline', '--in', 'o/a.jsonl', '--out', 'o/s.jsonl']);
    expect(r.code).toBe(0);
    expect(server.requests.length).toBe(before);
    const out = byId('o/s.jsonl');
    expect(out['a#0']).toMatchObject({ correct: true, stepJudge: { name: 'offline-lexical@v1(align≥0.5)', promptTokens: 0, completionTokens: 0, costUsd: 0 } });
    expect(out['a#0'].stepLabels).toHaveLength(3);
    expect(out['b#0'].correct).toBe(false);
  });

  it('never writes the API key to stdout, stderr, output or cache, even when the server echoes it', async () => {
    expect((await infer()).code).toBe(0);
    const key = 'sk-cli-SECRET-0123456789abcdef';
    server.setResponder((rec) => ({
      kind: 'status',
      status: 401,
      body: { error: { message: `invalid key in "${String(rec.headers.authorization)}": ${key}` } },
    }));
    const a = await judge('answers', 'out/completions.jsonl', 'out/a.jsonl', [], { MRPO_JUDGE_API_KEY: key });
    const s = await judge('steps', 'out/completions.jsonl', 'out/s.jsonl', ['--out', '-'], { MRPO_JUDGE_API_KEY: key });
    expect(server.requests.at(-1)?.headers.authorization).toBe(`Bearer ${key}`);
    expect(a.code).toBe(1);
    expect(a.err).toContain('refused the request (http 401)');
    expect(readFileSync(join(dir, 'out/a.jsonl'), 'utf8')).toBe(''); // refused lines are not written: a rerun resumes them
    expect(a.err).not.toContain('--retry-unjudged'); // …so a plain rerun is the advice, not --retry-unjudged
    const i = await run(['infer', '--in', 'items.jsonl', '--out', 'out/c2.jsonl', '--base-url', server.baseUrl, '--model', 'qwen2.5-vl'], { MRPO_INFER_API_KEY: key });
    expect(i.code).toBe(1);
    expect(i.err).toContain('http 401');
    for (const text of [a.out, a.err, s.out, s.err, i.out, i.err]) expect(text).not.toContain('SECRET');
    for (const sub of ['out', 'cache'])
      for (const f of readdirSync(join(dir, sub))) expect(readFileSync(join(dir, sub, f)).toString('latin1')).not.toContain('SECRET');
  });

  it('a server echoing the key in its error body and headers on 400, 401 and 500: the key is in no output, stream, cache or report', async () => {
    expect((await infer()).code).toBe(0);
    // Not an sk-style key: only the redaction of the key itself can catch it.
    const key = 'cli-SECRET-judge-key-7c1d93';
    const written = (): string[] =>
      ['out', 'cache', 'o']
        .flatMap((sub) => {
          try {
            return readdirSync(join(dir, sub)).map((f) => join(dir, sub, f));
          } catch {
            return [];
          }
        })
        .map((f) => readFileSync(f).toString('latin1'));
    for (const status of KEY_ECHO_STATUSES) {
      server.setResponder((rec) => keyEchoReply(rec, status));
      const before = server.requests.length;
      const env = { MRPO_JUDGE_API_KEY: key, MRPO_INFER_API_KEY: key };
      const a = await judge('answers', 'out/completions.jsonl', `o/a-${status}.jsonl`, [], env);
      // 500: the answers were written as unjudged; step-judge them too, for a report.
      const s = await judge('steps', status === 500 ? `o/a-${status}.jsonl` : 'out/completions.jsonl', `o/s-${status}.jsonl`, [], env);
      const i = await run(['infer', '--in', 'items.jsonl', '--out', `o/c-${status}.jsonl`, '--base-url', server.baseUrl, '--model', 'Qwen/Qwen2.5-VL-7B-Instruct', '--max-retries', '0'], env);
      expect(server.requests.slice(before).map((r) => r.headers.authorization)).toContain(`Bearer ${key}`); // the key was sent
      // 4xx: refused (exit 1, nothing written); 500 after its retries: the lines are written as unjudged.
      expect(a.err, String(status)).toContain(`http ${status}`);
      expect(i.err, String(status)).toContain(`http ${status}`);
      const texts = [a.out, a.err, s.out, s.err, i.out, i.err];
      if (status === 500) {
        const report = await run(['analyze', '--in', `o/s-${status}.jsonl`, '--html', `o/report-${status}.html`, '--json', '-']);
        expect(report.code, report.err).toBe(0);
        texts.push(report.out, report.err, readFileSync(join(dir, `o/report-${status}.html`), 'latin1'));
      }
      for (const text of [...texts, ...written()]) expect(text, String(status)).not.toContain('SECRET');
    }
  });

  it('bad usage and bad lines are exit 2 with the place named', async () => {
    expect((await run(['judge', 'both'])).code).toBe(2);
    writeFileSync(join(dir, 'c.jsonl'), '{"id": "a", "question": "q", "answer": "x", "image": "i.png"}\n');
    const r = await run(['judge', 'answers', '--judge', 'offline', '--in', 'c.jsonl']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('c.jsonl line 1: field "prediction" (or "completion") must be a string');
    expect((await run(['judge', 'answers', '--judge', 'offline', '--in', 'c.jsonl', '--out', './c.jsonl'])).err).toContain('--in and --out must be different files');
    const noKey = await run(['judge', 'answers', '--in', 'c.jsonl']);
    expect(noKey.code).toBe(2);
    expect(noKey.err).toContain('needs a key: set MRPO_JUDGE_API_KEY');
    const dry = await run(['judge', 'steps', '--dry-run', '--model', 'm', '--concurrency', '3']);
    expect(JSON.parse(dry.out)).toMatchObject({ mode: 'steps', model: 'm', concurrency: 3, cache: '.cache/judge.sqlite' });
  });
});
