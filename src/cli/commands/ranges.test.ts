/**
 * One set of range rules (utils/ranges.ts) at each edge that takes them: the `mrpo shape` request (CLI), the
 * `mrpo serve` request bodies (a real server on 127.0.0.1) and the `mrpo train` config (flags and a config file).
 * Each value sits on a boundary (accepted) or just outside it (refused: exit 2 / 400, one line naming where). The
 * expected messages are written out here by hand.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { memoryIo } from '../test-support/memory-io.js';
import { postJson, startServer, type RunningServer } from '../../serve/test-support/http.js';
import { createScorer } from '../../serve/score.js';
import { createOfflineStepJudge } from '../../judges/offline/step-judge.js';
import type { StepJudge } from '../../judges/judge.js';

const dir = mkdtempSync(join(tmpdir(), 'mrpo-ranges-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A shape request with these options; the group gives its rewards, so nothing else is computed. */
const request = (options: Record<string, unknown>) => ({
  estimator: 'mrpo',
  options,
  groups: [{ gold: { answer: 'two' }, completions: [{ text: '<think>A. B.</think><answer>2</answer>' }, { text: '<answer>3</answer>' }] }],
});

// Shape options: [options, JSON path of the problem, the message after the path] (null = accepted).
const SHAPE_CASES: Array<[Record<string, unknown>, string | null, string | null]> = [
  [{ tau: 0 }, null, null],
  [{ tau: 1 }, null, null],
  [{ tau: -0.001 }, '$.options.tau', 'must be in [0, 1], got -0.001'],
  [{ tau: 1.001 }, '$.options.tau', 'must be in [0, 1], got 1.001'],
  [{ tau: 2 }, '$.options.tau', 'must be in [0, 1], got 2'],
  [{ tau: '0.5' }, '$.options.tau', 'expected a finite number, received string'],
  [{ epsilon: 1e-9 }, null, null],
  [{ epsilon: 0.999 }, null, null],
  [{ epsilon: 0 }, '$.options.epsilon', 'must be in (0, 1), got 0'],
  [{ epsilon: 1 }, '$.options.epsilon', 'must be in (0, 1), got 1'],
  [{ answerWeights: { rouge1: 0, bleu1: 0 } }, null, null], // semantic keeps its default 0.5
  [{ answerWeights: { rouge1: 0, bleu1: 0, semantic: 0.001 } }, null, null],
  [{ answerWeights: { rouge1: 0, bleu1: 0, semantic: 0 } }, '$.options.answerWeights', 'answer weights must not all be 0 (rouge1, bleu1, semantic)'],
  [{ answerWeights: { rouge1: -0.001 } }, '$.options.answerWeights.rouge1', 'must be ≥ 0, got -0.001'],
  [{ minSteps: 0 }, null, null],
  [{ minSteps: -1 }, '$.options.minSteps', 'must be an integer ≥ 0, got -1'],
  [{ minSteps: 1.5 }, '$.options.minSteps', 'must be an integer ≥ 0, got 1.5'],
  [{ minSteps: 1, maxSteps: 1 }, null, null],
  [{ minSteps: 0, maxSteps: 0 }, '$.options.maxSteps', 'must be an integer ≥ 1, got 0'],
  [{ minSteps: 5, maxSteps: 4 }, '$.options.maxSteps', 'minSteps must not exceed maxSteps (minSteps 5, maxSteps 4)'],
  [{ maxSteps: 3 }, '$.options.maxSteps', 'minSteps must not exceed maxSteps (minSteps 4, maxSteps 3)'], // K_min's default is 4
];

describe('range rules: mrpo shape', () => {
  it('accepts each boundary value and refuses the value just outside with exit 2 and the JSON path', async () => {
    for (const [options, path, message] of SHAPE_CASES) {
      const io = memoryIo(JSON.stringify(request(options)));
      const code = await main(['shape'], io);
      const label = JSON.stringify(options);
      if (path === null) {
        expect(code, `${label}: ${io.err()}`).toBe(0);
        expect(JSON.parse(io.out()).groups[0].completions).toHaveLength(2);
      } else {
        expect(code, label).toBe(2);
        expect(io.out(), label).toBe('');
        expect(io.err(), label).toBe(`mrpo shape: <stdin>: ${path}: ${message}\n`);
      }
    }
  });

  it('a number too large for a double (JSON 1e999 = Infinity) is not finite', async () => {
    const io = memoryIo('{"estimator":"grpo","options":{"tau":1e999},"groups":[]}');
    expect(await main(['shape'], io)).toBe(2);
    expect(io.err()).toBe('mrpo shape: <stdin>: $.options.tau: expected a finite number, received Infinity\n');
  });

  it('--out is not created when the request is out of range', async () => {
    const out = join(dir, 'shape-out.json');
    const input = join(dir, 'shape-in.json');
    writeFileSync(input, JSON.stringify(request({ tau: 1.001 })));
    const io = memoryIo();
    expect(await main(['shape', '--in', input, '--out', out], io)).toBe(2);
    expect(io.err()).toBe(`mrpo shape: ${input}: $.options.tau: must be in [0, 1], got 1.001\n`);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((n) => n.startsWith('shape-out'))).toEqual([]);
  });
});

describe('range rules: mrpo serve request bodies', () => {
  const running: RunningServer[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.server.close()));
  });

  it('/v1/shape answers 200 on each boundary and 400 with { error: { message, path } } just outside it', async () => {
    const s = await startServer();
    running.push(s);
    for (const [options, path, message] of SHAPE_CASES) {
      const reply = await postJson(`${s.url}/v1/shape`, request(options));
      const label = JSON.stringify(options);
      if (path === null) expect(reply.status, `${label}: ${JSON.stringify(reply.body)}`).toBe(200);
      else {
        expect(reply.status, label).toBe(400);
        expect(reply.headers.get('content-type'), label).toMatch(/^application\/json/);
        expect(reply.body, label).toEqual({ error: { message: `request body: ${path}: ${message}`, path } });
      }
    }
  });

  it('/v1/score applies the same rules to its options, before any judging', async () => {
    const judged: unknown[] = [];
    const offline = createOfflineStepJudge();
    const stepJudge: StepJudge = { name: offline.name, judgeSteps: (input, signal) => (judged.push(input), offline.judgeSteps(input, signal)) };
    const s = await startServer({ scorer: createScorer({ stepJudge }) });
    running.push(s);
    const item = { image: 'data:image/png;base64,AAAA', question: 'How many?', answer: 'two', goldReasoning: 'Count them. There are two.' };
    const score = (options: Record<string, unknown>) => ({ estimator: 'mrpo', options, groups: [{ item, completions: [{ text: '<think>A. B.</think><answer>2</answer>' }, { text: '<answer>3</answer>' }] }] });
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ tau: 1.001 }, '$.options.tau', 'must be in [0, 1], got 1.001'],
      [{ epsilon: 1 }, '$.options.epsilon', 'must be in (0, 1), got 1'],
      [{ answerWeights: { rouge1: 0, bleu1: 0, semantic: 0 } }, '$.options.answerWeights', 'answer weights must not all be 0 (rouge1, bleu1, semantic)'],
    ];
    for (const [options, path, message] of cases) {
      const reply = await postJson(`${s.url}/v1/score`, score(options));
      expect(reply.status).toBe(400);
      expect(reply.body).toEqual({ error: { message: `request body: ${path}: ${message}`, path } });
    }
    expect(judged).toEqual([]);
    expect((await postJson(`${s.url}/v1/score`, score({ tau: 1, epsilon: 0.999 }))).status).toBe(200);
  });
});

// Train config: [flags, the key's JSON path and flag as the error names them, the message] (null = accepted).
const TRAIN_CASES: Array<[string[], string | null, string | null]> = [
  [['--tau', '0'], null, null],
  [['--tau', '1'], null, null],
  [['--tau=-0.001'], '$.tau (flag --tau)', 'must be in [0, 1], got -0.001'],
  [['--tau', '1.001'], '$.tau (flag --tau)', 'must be in [0, 1], got 1.001'],
  [['--eps-low', '0.001', '--eps-high', '0.999'], null, null],
  [['--eps-low', '0'], '$.epsLow (flag --eps-low)', 'must be in (0, 1), got 0'],
  [['--eps-low', '1'], '$.epsLow (flag --eps-low)', 'must be in (0, 1), got 1'],
  [['--eps-low', '2'], '$.epsLow (flag --eps-low)', 'must be in (0, 1), got 2'],
  [['--eps-high', '1'], '$.epsHigh (flag --eps-high)', 'must be in (0, 1), got 1'],
  [['--temperature', '0.001'], null, null],
  [['--temperature', '0'], '$.temperature (flag --temperature)', 'must be > 0 (RL samples; 0 would make every completion of a group the same), got 0'],
  [['--answer-weights.rouge1', '0', '--answer-weights.bleu1', '0'], null, null],
  [['--answer-weights.rouge1', '0', '--answer-weights.bleu1', '0', '--answer-weights.semantic', '0'], '$.answerWeights', 'answer weights must not all be 0 (rouge1, bleu1, semantic)'],
  [['--answer-weights.bleu1=-0.001'], '$.answerWeights.bleu1 (flag --answer-weights.bleu1)', 'must be ≥ 0, got -0.001'],
  [['--min-steps', '0', '--max-steps', '1'], null, null],
  [['--min-steps', '4', '--max-steps', '4'], null, null],
  [['--min-steps=-1'], '$.minSteps (flag --min-steps)', 'must be an integer ≥ 0, got -1'],
  [['--max-steps', '0', '--min-steps', '0'], '$.maxSteps (flag --max-steps)', 'must be an integer ≥ 1, got 0'],
  [['--min-steps', '5', '--max-steps', '4'], '$.maxSteps (flag --max-steps)', 'minSteps must not exceed maxSteps (minSteps 5, maxSteps 4)'],
];

describe('range rules: mrpo train', () => {
  it('flags: each boundary resolves (--dry-run), the value just outside exits 2 naming the key and flag; no run directory', async () => {
    for (const [flags, where, message] of TRAIN_CASES) {
      const io = memoryIo('', {}, dir);
      const label = flags.join(' ');
      if (where === null) {
        expect(await main(['train', ...flags, '--dry-run'], io), `${label}: ${io.err()}`).toBe(0);
        continue;
      }
      expect(await main(['train', ...flags, '--out', 'run'], io), label).toBe(2);
      expect(io.err(), label).toBe(`mrpo train: config ${where}: ${message}\n`);
      expect(existsSync(join(dir, 'run')), label).toBe(false);
    }
  });

  it('a config file: the error names the file and the key (and its flag)', async () => {
    const cases: Array<[string, string, string]> = [
      ['tau: 1.001\n', '$.tau (flag --tau)', 'must be in [0, 1], got 1.001'],
      ['epsHigh: 0\n', '$.epsHigh (flag --eps-high)', 'must be in (0, 1), got 0'],
      ['temperature: 0\n', '$.temperature (flag --temperature)', 'must be > 0 (RL samples; 0 would make every completion of a group the same), got 0'],
      ['answerWeights:\n  rouge1: 0\n  bleu1: 0\n  semantic: 0\n', '$.answerWeights', 'answer weights must not all be 0 (rouge1, bleu1, semantic)'],
      ['tau: .inf\n', '$.tau (flag --tau)', 'expected a finite number, received Infinity'],
    ];
    for (const [yaml, where, message] of cases) {
      const file = join(dir, 'train.yaml');
      writeFileSync(file, yaml);
      const io = memoryIo('', {}, dir);
      expect(await main(['train', '--config', 'train.yaml', '--out', 'run'], io), yaml).toBe(2);
      expect(io.err(), yaml).toBe(`mrpo train: ${file} ${where}: ${message}\n`);
      expect(existsSync(join(dir, 'run')), yaml).toBe(false);
    }
    writeFileSync(join(dir, 'train.yaml'), 'tau: 1\nepsLow: 0.999\ntemperature: 0.001\n');
    const io = memoryIo('', {}, dir);
    expect(await main(['train', '--config', 'train.yaml', '--dry-run'], io), io.err()).toBe(0);
    expect(JSON.parse(io.out())).toMatchObject({ tau: 1, epsLow: 0.999, temperature: 0.001 });
  });
});
