import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { CONFIG_FLAGS, redactSecrets, resolveConfig, TrainConfigSchema } from './config.js';
import { configFromFlags, loadTrainConfig } from './config-file.js';

describe('training config', () => {
  it('has the reference defaults of docs/method.md §3–§6', () => {
    const c = resolveConfig({}, 'test');
    expect([c.beta, c.epsLow, c.epsHigh, c.groupSize, c.promptsPerStep, c.tau, c.minSteps, c.maxSteps, c.temperature, c.gradClip]).toEqual([
      0.04, 0.2, 0.2, 8, 8, 0.6, 4, 10, 1, 1,
    ]);
    expect(c.lossAggregation).toBe('seq-mean-token-mean');
    expect(c.answerWeights).toEqual({ rouge1: 0.25, bleu1: 0.25, semantic: 0.5 });
    expect(c.splitter).toBe('regex');
    expect(c.roundWeights).toBe(true);
  });

  it('derives one flag per leaf key, nested keys with dots', () => {
    const flags = CONFIG_FLAGS.map((f) => f.flag);
    for (const f of ['algorithm', 'group-size', 'prompts-per-step', 'eps-low', 'eps-high', 'loss-aggregation', 'learning-rate', 'eval-interval', 'dataset.train-size', 'backend.d-model', 'answer-weights.semantic', 'tau', 'min-steps', 'unjudged', 'judge', 'splitter', 'init'])
      expect(flags).toContain(f);
    // every top-level key of the schema is covered
    const tops = new Set(CONFIG_FLAGS.map((f) => f.path[0]));
    expect([...tops].sort()).toEqual(Object.keys(TrainConfigSchema.shape).sort());
    expect(CONFIG_FLAGS.find((f) => f.flag === 'algorithm')?.choices).toEqual(['sft', 'grpo', 'gdpo', 'mrpo']);
  });

  it('parses flags against the schema, with errors that name the flag', () => {
    expect(configFromFlags({ 'group-size': '4', 'dataset.train-size': '10', 'round-weights': 'false', algorithm: 'gdpo' })).toEqual({
      groupSize: 4,
      dataset: { trainSize: 10 },
      roundWeights: false,
      algorithm: 'gdpo',
    });
    expect(() => configFromFlags({ 'group-size': 'four' })).toThrow(/--group-size: expected a number, got "four"/);
    expect(() => configFromFlags({ algorithm: 'ppo' })).toThrow(/--algorithm: expected one of sft, grpo, gdpo, mrpo/);
    expect(() => resolveConfig({ groupSize: 1 }, 'flags')).toThrow(ConfigError);
    expect(() => resolveConfig({ groupSize: 1 }, 'flags')).toThrow(/flags \$\.groupSize \(flag --group-size\)/);
    expect(() => resolveConfig({ grupSize: 4 }, 'c.yaml')).toThrow(/c\.yaml/);
    expect(() => resolveConfig({ minSteps: 5, maxSteps: 3 }, 'c')).toThrow(/minSteps/);
  });

  it('reads YAML and JSON files; flags override the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mrpo-config-'));
    await writeFile(join(dir, 'a.yaml'), 'algorithm: grpo\ngroupSize: 4\ndataset:\n  trainSize: 32\n');
    await writeFile(join(dir, 'b.json'), '{"algorithm": "sft", "steps": 3}');
    await writeFile(join(dir, 'bad.yaml'), 'groupSize: [1,\n');
    const a = await loadTrainConfig({ file: join(dir, 'a.yaml'), flags: { 'group-size': '6' } });
    expect([a.algorithm, a.groupSize, a.dataset.trainSize, a.dataset.testSize]).toEqual(['grpo', 6, 32, 256]);
    const b = await loadTrainConfig({ file: join(dir, 'b.json') });
    expect([b.algorithm, b.steps]).toEqual(['sft', 3]);
    await expect(loadTrainConfig({ file: join(dir, 'bad.yaml') })).rejects.toThrow(/bad\.yaml: not valid YAML or JSON/);
    await expect(loadTrainConfig({ file: join(dir, 'missing.yaml') })).rejects.toThrow(/config file not found/);
  });

  it('the example config in examples/train validates', async () => {
    const c = await loadTrainConfig({ file: join(__dirname, '../../examples/train/mrpo.yaml') });
    expect([c.algorithm, c.init, c.steps, c.groupSize]).toEqual(['mrpo', 'assets/warm-start', 30, 8]);
  });

  it('never writes secret-looking keys', () => {
    expect(redactSecrets({ maxTokens: 5, judge: { apiKey: 'sk-x', model: 'm' }, password: 'p', accessToken: 't' })).toEqual({ maxTokens: 5, judge: { model: 'm' } });
  });
});
