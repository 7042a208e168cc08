import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { TrainConfigSchema } from '../train/config.js';
import { configFromFlags } from '../train/config-file.js';
import { createTask, noGoldWarning } from './training-setup.js';

const root = new URL('../../', import.meta.url).pathname;

describe('createTask (the training composition root)', () => {
  it('loads item files for dataset "items" and uses the offline judges', async () => {
    const config = TrainConfigSchema.parse({ judge: 'offline', dataset: { name: 'items', train: 'examples/eval/items.jsonl', test: 'examples/eval/items.jsonl', testSize: 2 } });
    const task = await createTask(config, root, {});
    expect(task.name).toBe('items');
    expect(task.trainItems.map((i) => i.id)).toEqual(['cxr-1', 'ct-2', 'path-3', 'mri-4']);
    expect(task.evalItems).toHaveLength(2);
    expect(task.promptText(task.trainItems[0])).toBe(
      'Which side is the pneumothorax on? Think step-by-step and enclose your reasoning in <think>...</think> tags. Then provide your answer in <answer>...</answer> tags.',
    );
    expect(task.stepJudge.name).toMatch(/offline/);
    const verdict = await task.stepJudge.judgeSteps({ item: task.trainItems[0], steps: ['This is a chest X-ray.', 'I will now look.'] });
    expect(verdict.kind).toBe('judged');
    expect(task.sftTarget(task.trainItems[0], { next: () => 0, int: () => 0, normal: () => 0, fork() { return this; } })).toMatch(/^<think>This is a chest X-ray\./);
  });

  it('says which key is missing or inconsistent', async () => {
    await expect(createTask(TrainConfigSchema.parse({ judge: 'offline', dataset: { name: 'items', train: 'x.jsonl' } }), root, {})).rejects.toThrow(/dataset\.train and dataset\.test/);
    await expect(createTask(TrainConfigSchema.parse({ dataset: { name: 'items', train: 'examples/eval/items.jsonl', test: 'examples/eval/items.jsonl' } }), root, {})).rejects.toThrow(ConfigError);
    await expect(createTask(TrainConfigSchema.parse({ dataset: { name: 'items', train: 'examples/eval/items.jsonl', test: 'examples/eval/items.jsonl' } }), root, {})).rejects.toThrow(/exact-synthetic judge only knows the synthetic task/);
  });

  it('keeps the synthetic task with its exact judge by default', async () => {
    const task = await createTask(TrainConfigSchema.parse({ dataset: { trainSize: 3, testSize: 2 } }), root, {});
    expect(task.name).toBe('synthetic');
    expect(task.trainItems).toHaveLength(3);
  });
});

describe('createTask with judge noise', () => {
  it('gives training a noisy step judge and keeps the clean one for evaluation; target criteria flips each criterion (rate 1: every bit)', async () => {
    const task = await createTask(TrainConfigSchema.parse({ dataset: { trainSize: 2, testSize: 1 }, judgeNoise: { rate: 1, target: 'criteria' } }), root, {});
    const noisy = task.trainStepJudge;
    if (noisy === undefined) throw new Error('expected a training step judge');
    const item = task.trainItems[0];
    const steps = (item.goldReasoning ?? '').split(/(?<=\.)\s+/);
    const clean = await task.stepJudge.judgeSteps({ item, steps });
    const flipped = await noisy.judgeSteps({ item, steps });
    if (clean.kind !== 'judged' || flipped.kind !== 'judged') throw new Error('expected judged');
    expect(flipped.verdicts).toEqual(clean.verdicts.map((v) => ({ alignment: 1 - v.alignment, contribution: 1 - v.contribution })));
    expect(noisy.name).toContain('+noise(criteria,uniform:1)');
  });

  it('is read from the flag --judge-noise.target, which takes label or criteria', () => {
    expect(configFromFlags({ 'judge-noise.target': 'criteria', 'judge-noise.rate': '0.2' })).toEqual({ judgeNoise: { target: 'criteria', rate: 0.2 } });
    expect(() => configFromFlags({ 'judge-noise.target': 'steps' })).toThrow(/--judge-noise\.target: expected one of label, criteria/);
    expect(TrainConfigSchema.parse({}).judgeNoise).toEqual({ mode: 'uniform', rate: 0, target: 'label' });
  });
});

describe('noGoldWarning (items without a gold rationale, before training starts)', () => {
  const withGold = { id: 'a', image: 'x.png', question: 'q', answer: 'y', goldReasoning: 'It is y.', source: 't' };
  const blank = { id: 'b', image: 'x.png', question: 'q', answer: 'y', goldReasoning: '  ', source: 't' };
  const none = { id: 'c', image: 'x.png', question: 'q', answer: 'y', source: 't' };
  const cfg = (o: Record<string, unknown>) => TrainConfigSchema.parse({ judge: 'offline', ...o });

  it('is silent when every training item has a rationale, and for SFT', () => {
    expect(noGoldWarning(cfg({}), { trainItems: [withGold] })).toBeNull();
    expect(noGoldWarning(cfg({ algorithm: 'sft' }), { trainItems: [none] })).toBeNull();
  });

  it('answer-only (default): says how many, the first id, and that MRPO acts as GRPO on them', () => {
    expect(noGoldWarning(cfg({}), { trainItems: [withGold, blank, none] })).toBe(
      'warning: 2 of 3 training items have no gold rationale (first: b): their completions get no step labels: R_proc = 0 and no step shaping (MRPO acts as GRPO on them); counted in judge/no_gold (config noGold: answer-only)',
    );
  });

  it('skip-group says their groups are not trained on; refuse throws a ConfigError naming noGold', () => {
    expect(noGoldWarning(cfg({ noGold: 'skip-group' }), { trainItems: [none] })).toMatch(/1 of 1 .*their groups are not trained on/);
    expect(() => noGoldWarning(cfg({ noGold: 'refuse' }), { trainItems: [withGold, none] })).toThrow(ConfigError);
    expect(() => noGoldWarning(cfg({ noGold: 'refuse' }), { trainItems: [withGold, none] })).toThrow(/noGold.*1 of 2 training items .*first: c/);
  });
});
