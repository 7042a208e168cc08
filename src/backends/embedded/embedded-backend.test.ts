import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../errors.js';
import type { Item } from '../../types.js';
import type { LossSpec, OptimizerSpec, Prompt, TrainExample } from '../backend.js';
import { createEmbeddedBackend, loadEmbeddedBackend, type EmbeddedBackend } from './embedded-backend.js';
import { EOS } from './tokenizer.js';

const tiny = { dModel: 32, layers: 2, heads: 2, ffDim: 64, imageSize: 16, patchSize: 8, maxTextLen: 40 };
const opt: OptimizerSpec = { learningRate: 3e-3, gradClip: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
const pgLoss: LossSpec = { kind: 'policy-gradient', beta: 0.04, epsLow: 0.2, epsHigh: 0.2, aggregation: 'seq-mean-token-mean', constant: 12 };

function item(id: string, brightness: number): Item {
  return { id, image: { pixels: new Uint8Array(16 * 16).fill(brightness), width: 16, height: 16, channels: 1 }, question: 'How bright is the image?', answer: '', source: 'test' };
}
const dark = item('dark', 20);
const bright = item('bright', 230);
const prompt = (it: Item): Prompt => ({ item: it, text: `${it.question} Answer inside <answer> </answer>.` });
const target = (it: Item): string => `<think> The image is ${it === dark ? 'dark' : 'bright'}. </think> <answer> ${it === dark ? 'dark' : 'bright'} </answer>`;
const corpus = [prompt(dark).text, target(dark), target(bright)];

function sftExample(it: Item): TrainExample {
  return { prompt: prompt(it), completion: { text: target(it), tokenIds: [], logprobs: [], tokenOffsets: [], finishReason: 'stop' }, advantages_T: [] };
}

let policy: EmbeddedBackend;
let dir: string;

beforeAll(async () => {
  policy = await createEmbeddedBackend({ seed: 5, corpus, model: tiny });
  dir = await mkdtemp(join(tmpdir(), 'mrpo-embedded-'));
});

afterAll(async () => {
  await policy.close();
  await rm(dir, { recursive: true, force: true });
});

describe('sampling', () => {
  it('is deterministic by seed and returns G completions per prompt', async () => {
    const params = { temperature: 1, maxTokens: 10, seed: 42 };
    const a = await policy.sample([prompt(dark), prompt(bright)], 4, params);
    const b = await policy.sample([prompt(dark), prompt(bright)], 4, params);
    const other = await policy.sample([prompt(dark), prompt(bright)], 4, { ...params, seed: 43 });
    expect(a.map((g) => g.length)).toEqual([4, 4]);
    expect(b).toEqual(a);
    expect(other.flat().map((c) => c.tokenIds)).not.toEqual(a.flat().map((c) => c.tokenIds));
  });

  it('gives per-token log-probs equal to re-scored ones, offsets into the text, and stop reasons', async () => {
    const groups = await policy.sample([prompt(dark), prompt(bright)], 6, { temperature: 1, maxTokens: 12, seed: 3 });
    const flat = groups.flatMap((g, p) => g.map((c) => ({ prompt: prompt(p === 0 ? dark : bright), c })));
    // Rows of unequal lengths: finished rows leave the decode batch while others go on.
    expect(new Set(flat.map(({ c }) => c.tokenIds.length)).size).toBeGreaterThan(2);
    const rescored = await policy.score(flat.map(({ prompt: pr, c }) => ({ prompt: pr, tokenIds: c.tokenIds })));
    flat.forEach(({ c }, i) => {
      expect(c.logprobs).toHaveLength(c.tokenIds.length);
      c.logprobs.forEach((lp, t) => {
        expect(lp).toBeLessThanOrEqual(0);
        expect(Math.abs(lp - rescored[i][t])).toBeLessThan(1e-4);
      });
      const tok = policy.tokenizer;
      c.tokenIds.forEach((id, t) => {
        const [s, e] = c.tokenOffsets[t];
        expect(c.text.slice(s, e)).toBe(id === EOS ? '' : tok.vocab[id]);
      });
      if (c.finishReason === 'stop') expect(c.tokenIds.at(-1)).toBe(EOS);
      else expect(c.tokenIds).toHaveLength(12);
    });
  });

  it('greedy decoding gives the same completion to every copy of a prompt', async () => {
    const [g] = await policy.sample([prompt(dark)], 3, { temperature: 0, maxTokens: 8, seed: 1 });
    expect(g[1].tokenIds).toEqual(g[0].tokenIds);
    expect(g[2].tokenIds).toEqual(g[0].tokenIds);
  });

  it('rejects bad sampling parameters, naming the field', async () => {
    await expect(policy.sample([prompt(dark)], 1, { temperature: -1, maxTokens: 4, seed: 1 })).rejects.toThrow(/sampling\.temperature/);
    await expect(policy.sample([prompt(dark)], 1, { temperature: 1, maxTokens: 0, seed: 1 })).rejects.toThrow(/sampling\.maxTokens/);
  });

  it('rejects an image that is not raw pixels, naming the item', async () => {
    const bad: Item = { ...dark, id: 'x9', image: 'scan.png' };
    await expect(policy.sample([prompt(bad)], 1, { temperature: 1, maxTokens: 4, seed: 1 })).rejects.toThrow(/item x9 field "image"/);
  });
});

describe('training', () => {
  it('learns an image-dependent answer by SFT (loss falls; greedy answers follow the image)', async () => {
    const learner = await createEmbeddedBackend({ seed: 9, corpus, model: tiny });
    const batch = [sftExample(dark), sftExample(bright), sftExample(dark), sftExample(bright)];
    const losses: number[] = [];
    for (let step = 0; step < 40; step++) losses.push((await learner.train(batch, { kind: 'sft' }, { ...opt, learningRate: 1e-2 }))['loss/total']);
    expect(losses[39]).toBeLessThan(0.2 * losses[0]);
    const groups = await learner.sample([prompt(dark), prompt(bright)], 1, { temperature: 0, maxTokens: 20, seed: 1 });
    expect(groups[0][0].text).toContain('<answer>dark</answer>');
    expect(groups[1][0].text).toContain('<answer>bright</answer>');
    await learner.close();
  });

  it('a positive advantage raises, a negative one lowers, the log-probs of a completion; metrics are finite', async () => {
    const learner = await createEmbeddedBackend({ seed: 2, corpus, model: tiny });
    const [[up, down]] = await learner.sample([prompt(dark)], 2, { temperature: 1, maxTokens: 10, seed: 8 });
    const before = await learner.score([{ prompt: prompt(dark), tokenIds: up.tokenIds }, { prompt: prompt(dark), tokenIds: down.tokenIds }]);
    const batch: TrainExample[] = [
      { prompt: prompt(dark), completion: up, advantages_T: up.tokenIds.map(() => 1) },
      { prompt: prompt(dark), completion: down, advantages_T: down.tokenIds.map(() => -1) },
    ];
    const metrics = await learner.train(batch, pgLoss, opt);
    for (const key of ['loss/total', 'loss/kl', 'loss/clipfrac', 'grad/norm', 'train/tokens']) expect(Number.isFinite(metrics[key]), key).toBe(true);
    expect(metrics['train/tokens']).toBe(up.tokenIds.length + down.tokenIds.length);
    expect(metrics['loss/clipfrac']).toBe(0); // first update on fresh samples: ratio 1
    expect(metrics['loss/kl']).toBeCloseTo(0, 6); // reference = initial weights
    const after = await learner.score([{ prompt: prompt(dark), tokenIds: up.tokenIds }, { prompt: prompt(dark), tokenIds: down.tokenIds }]);
    const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
    expect(sum(after[0])).toBeGreaterThan(sum(before[0]));
    expect(sum(after[1])).toBeLessThan(sum(before[1]));
    await learner.close();
  });

  it('is deterministic given the seed: same weights, samples and metrics', async () => {
    const run = async (): Promise<{ metrics: Record<string, number>; text: string }> => {
      const b = await createEmbeddedBackend({ seed: 13, corpus, model: tiny });
      const [[c]] = await b.sample([prompt(bright)], 1, { temperature: 1, maxTokens: 8, seed: 4 });
      const metrics = { ...(await b.train([{ prompt: prompt(bright), completion: c, advantages_T: c.tokenIds.map(() => 1) }], pgLoss, opt)) };
      const [[after]] = await b.sample([prompt(bright)], 1, { temperature: 1, maxTokens: 8, seed: 4 });
      await b.close();
      return { metrics, text: `${c.text}|${after.text}` };
    };
    expect(await run()).toEqual(await run());
  });

  it('rejects mismatched advantage lengths, naming the example', async () => {
    const [[c]] = await policy.sample([prompt(dark)], 1, { temperature: 1, maxTokens: 5, seed: 2 });
    await expect(policy.train([{ prompt: prompt(dark), completion: c, advantages_T: [] }], pgLoss, opt)).rejects.toThrow(InputError);
    await expect(policy.train([{ prompt: prompt(dark), completion: c, advantages_T: [] }], pgLoss, opt)).rejects.toThrow(/batch\[0\]/);
  });
});

describe('memory', () => {
  it('holds no more tensors after sampling and training steps than before', async () => {
    const { tf } = await import('./engine.js');
    const b = await createEmbeddedBackend({ seed: 6, corpus, model: tiny });
    const step = async (seed: number): Promise<void> => {
      const groups = await b.sample([prompt(dark), prompt(bright)], 3, { temperature: 1, maxTokens: 10, seed });
      const batch = groups.flatMap((g, p) => g.map((c) => ({ prompt: prompt(p === 0 ? dark : bright), completion: c, advantages_T: c.tokenIds.map(() => 1) })));
      await b.train(batch, pgLoss, opt);
      await b.train([sftExample(dark)], { kind: 'sft' }, opt);
    };
    await step(1); // measured after a first step: what the engine creates once is not a leak
    const before = tf.memory().numTensors;
    for (let i = 2; i < 5; i++) await step(i);
    expect(tf.memory().numTensors).toBe(before);
    await b.close();
  });
});

describe('save and load', () => {
  it('round-trips weights, vocabulary, reference and optimizer state exactly', async () => {
    const a = await createEmbeddedBackend({ seed: 4, corpus, model: tiny });
    const batch = [sftExample(dark), sftExample(bright)];
    await a.train(batch, { kind: 'sft' }, opt);
    a.setReference();
    await a.train(batch, { kind: 'sft' }, opt);
    const ckpt = join(dir, 'ckpt');
    await (await import('node:fs/promises')).mkdir(ckpt);
    await a.save(ckpt);
    expect((await readdir(ckpt)).sort()).toEqual(['adam-m.bin', 'adam-v.bin', 'config.json', 'reference.bin', 'tokenizer.json', 'weights.bin']);
    const b = await loadEmbeddedBackend(ckpt);
    expect(b.tokenizer.vocab).toEqual(a.tokenizer.vocab);
    expect(b.modelConfig).toEqual(a.modelConfig);
    const [[c]] = await a.sample([prompt(bright)], 1, { temperature: 1, maxTokens: 12, seed: 5 });
    const [[c2]] = await b.sample([prompt(bright)], 1, { temperature: 1, maxTokens: 12, seed: 5 });
    expect(c2).toEqual(c);
    const example = { prompt: prompt(bright), tokenIds: c.tokenIds };
    expect(await b.score([example])).toEqual(await a.score([example]));
    // The same next step (Adam moments, step count and the KL reference restored) gives the same result.
    const pgBatch: TrainExample[] = [{ prompt: prompt(bright), completion: c, advantages_T: c.tokenIds.map(() => 0.5) }];
    const ma = await a.train(pgBatch, pgLoss, opt);
    const mb = await b.train(pgBatch, pgLoss, opt);
    expect(mb).toEqual(ma);
    expect(ma['loss/kl']).toBeGreaterThan(0);
    expect(await b.score([example])).toEqual(await a.score([example]));
    // resetOptimizer() forgets the moments: the next step then differs from the one with them.
    const c3 = await loadEmbeddedBackend(ckpt);
    const d3 = await loadEmbeddedBackend(ckpt);
    d3.resetOptimizer();
    expect((await d3.train(pgBatch, pgLoss, opt))['loss/total']).toBe((await c3.train(pgBatch, pgLoss, opt))['loss/total']); // same weights before the step
    expect(await d3.score([example])).not.toEqual(await c3.score([example]));
    await Promise.all([c3.close(), d3.close()]);
    // load() into an existing backend replaces its state.
    const fresh = await createEmbeddedBackend({ seed: 99, corpus: ['other words'], model: { ...tiny, dModel: 16 } });
    await fresh.load(ckpt);
    expect(fresh.modelConfig).toEqual(a.modelConfig);
    await Promise.all([a.close(), b.close(), fresh.close()]);
  });

  it('says which checkpoint file is malformed', async () => {
    const bad = join(dir, 'bad');
    await (await import('node:fs/promises')).mkdir(bad);
    await policy.save(bad);
    await writeFile(join(bad, 'weights.bin'), new Uint8Array(12));
    await expect(loadEmbeddedBackend(bad)).rejects.toThrow(/weights\.bin: expected \d+ bytes/);
    await writeFile(join(bad, 'config.json'), '{"format": "something-else"}');
    await expect(loadEmbeddedBackend(bad)).rejects.toThrow(/config\.json \$\.format/);
  });
});
