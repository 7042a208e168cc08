/**
 * The answer reward's semantic component configured from each command
 * (`shape --semantic-model`, `serve --semantic-model`, train's `semantic.model`),
 * with the tiny local BERT of rewards/test-support (fixed 2-D hidden states per
 * token): "Left lung" against "left kidney" has BERTScore F1 0.98, worked out by
 * hand in rewards/bertscore.test.ts. With weights {semantic: 1} and no lexical
 * weight the answer reward is exactly that score; without a scorer it is 0 and
 * the command says so on stderr.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBertScorer } from '../../rewards/bertscore.js';
import { writeTinyBert } from '../../rewards/test-support/tiny-bert.js';
import { createMrpoServer } from '../../serve/server.js';
import { TrainConfigSchema } from '../../train/config.js';
import { judgeGroups } from '../../train/rollout.js';
import { createOfflineStepJudge } from '../../judges/offline/step-judge.js';
import { main } from '../main.js';
import { memoryIo } from '../test-support/memory-io.js';
import { createTask } from '../training-setup.js';

let root: string;
let model: string;

const REQUEST = {
  estimator: 'grpo',
  options: { answerWeights: { rouge1: 0, bleu1: 0, semantic: 1 } },
  groups: [
    {
      gold: { answer: 'left kidney' },
      completions: [{ text: '<think>A.</think><answer>Left lung</answer>' }, { text: '<think>A.</think><answer>left kidney</answer>' }],
    },
  ],
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mrpo-semantic-'));
  model = await writeTinyBert(join(root, 'tiny-bert'));
  await writeFile(join(root, 'request.json'), JSON.stringify(REQUEST));
});
afterAll(() => rm(root, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIo('', {}, root);
  const code = await main(args, io);
  return { code, out: io.out(), err: io.err() };
}

describe('mrpo shape --semantic-model', () => {
  it('scores the semantic component with the local model', async () => {
    const r = await run(['shape', '--in', 'request.json', '--semantic-model', 'tiny-bert', '--semantic-layer', '2']);
    expect(r.code, r.err).toBe(0);
    const response = JSON.parse(r.out);
    expect(response.answerComponents).toEqual(['semantic']);
    const [wrong, right] = response.groups[0].completions;
    expect(wrong.rewards.answer).toBeCloseTo(0.98, 5);
    expect(wrong.answerMatch.semantic).toBeCloseTo(0.98, 5);
    expect(right.rewards.answer).toBe(1); // an exact match is 1 whatever the scorer says
    expect(r.err).not.toMatch(/no semantic scorer/);
  });

  it('without it, the semantic-only reward is 0 and stderr says there is no scorer', async () => {
    const r = await run(['shape', '--in', 'request.json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).groups[0].completions[0].rewards.answer).toBe(0);
    expect(r.err).toMatch(/no semantic scorer/);
  });

  it('a missing directory or a layer without a model exits 2 with one line naming the flag', async () => {
    const missing = await run(['shape', '--in', 'request.json', '--semantic-model', 'nope']);
    expect(missing.code).toBe(2);
    expect(missing.err.trim().split('\n')).toHaveLength(1);
    expect(missing.err).toMatch(/--semantic-model nope.*not found/);
    const layer = await run(['shape', '--in', 'request.json', '--semantic-layer', '2']);
    expect(layer.code).toBe(2);
    expect(layer.err).toMatch(/--semantic-layer.*needs --semantic-model/);
  });
});

describe('mrpo serve: /v1/shape with a semantic scorer', () => {
  it('answers with the scored semantic component', async () => {
    const semantic = await createBertScorer({ modelDir: model, layer: 2 });
    const server = createMrpoServer({ semantic });
    const url = await server.listen(0, '127.0.0.1');
    try {
      const res = await fetch(`${url}/v1/shape`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(REQUEST) });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { groups: Array<{ completions: Array<{ rewards: { answer: number } }> }> };
      expect(body.groups[0].completions[0].rewards.answer).toBeCloseTo(0.98, 5);
    } finally {
      await server.close();
    }
  });

  it('--dry-run shows the semantic section from flags over the config file', async () => {
    await writeFile(join(root, 'serve.yaml'), 'semantic:\n  model: other-dir\n  layer: 3\n');
    const r = await run(['serve', '--config', 'serve.yaml', '--semantic-model', 'tiny-bert', '--dry-run']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).semantic).toEqual({ model: 'tiny-bert', layer: 3 });
  });
});

describe('train: semantic.model', () => {
  it('createTask opens the scorer and judgeGroups feeds its scores to the answer reward', async () => {
    const config = TrainConfigSchema.parse({
      judge: 'offline',
      answerWeights: { rouge1: 0, bleu1: 0, semantic: 1 },
      semantic: { model: 'tiny-bert', layer: 2 },
      dataset: { trainSize: 2, testSize: 2 },
    });
    const task = await createTask(config, root, {});
    expect(task.semantic?.name).toBe('bertscore:tiny-bert@2');
    const item = { id: 'i', image: 'x.png', question: 'q', answer: 'left kidney', goldReasoning: 'It is the left kidney.', source: 't' };
    const completion = (text: string) => ({ text, tokenIds: [0], logprobs: [-1], tokenOffsets: [[0, text.length]] as Array<[number, number]>, finishReason: 'stop' as const });
    const judged = await judgeGroups([item], [[completion('<think>A.</think><answer>Left lung</answer>'), completion('<answer>right</answer>')]], createOfflineStepJudge(), config, task.semantic);
    expect(judged[0][0].rewards.answer).toBeCloseTo(0.98, 5);
    // "right" vs "left kidney": right's best match is the reference's [SEP] (cosine 1); recall over left, kidney
    // uses the candidate's [CLS] (1,0)·left(1,0) = 1 and kidney (4,3)/5 best with [CLS]: .8 → R = .9, P = 1, F = 2·.9/1.9.
    expect(judged[0][1].rewards.answer).toBeCloseTo((2 * 0.9) / 1.9, 5);
  });

  it('says which answer-reward components are active, once, at start', async () => {
    const tiny = ['--steps', '1', '--prompts-per-step', '1', '--group-size', '2', '--max-tokens', '8', '--eval-size', '1', '--eval-interval', '0',
      '--dataset.train-size', '2', '--dataset.test-size', '1', '--backend.d-model', '8', '--backend.layers', '1', '--backend.heads', '1', '--backend.ff-dim', '8'];
    const r = await run(['train', ...tiny, '--semantic.model', 'tiny-bert', '--semantic.layer', '2', '--out', 'run-semantic']);
    expect(r.code, r.err).toBe(0);
    const said = r.err.split('\n').filter((l) => l.includes('answer reward:'));
    expect(said).toEqual(['[mrpo] answer reward: 1 if the answer matches the gold answer, else 0.25·rouge1 + 0.25·bleu1 + 0.5·semantic[bertscore:tiny-bert@2]']);
    const config = JSON.parse(await readFile(join(root, 'run-semantic', 'config.json'), 'utf8'));
    expect(config.semantic).toEqual({ model: 'tiny-bert', layer: 2 });
  });
});
