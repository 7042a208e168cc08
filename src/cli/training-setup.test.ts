import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { TrainConfigSchema } from '../train/config.js';
import { createTask } from './training-setup.js';

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
