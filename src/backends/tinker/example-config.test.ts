import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { TrainConfigSchema } from '../../train/config.js';
import { TinkerBackendConfigSchema } from './config.js';

describe('configs/qwen3-vl-30b-a3b.yaml', () => {
  it('is a valid training config with a valid tinker backend block', async () => {
    const raw = parse(await readFile(join(import.meta.dirname, '../../../configs/qwen3-vl-30b-a3b.yaml'), 'utf8')) as Record<string, unknown>;
    const { backend, ...training } = raw;
    const b = TinkerBackendConfigSchema.parse(backend);
    expect(b).toMatchObject({ name: 'tinker', model: 'Qwen/Qwen3-VL-30B-A3B-Instruct', renderer: 'qwen3-vl', kl: 'fold' });
    const t = TrainConfigSchema.parse(training);
    expect(t).toMatchObject({ algorithm: 'mrpo', groupSize: 8, promptsPerStep: 8, maxTokens: 512, beta: 0.04, thinkTag: 'thinking', judge: 'openai' });
    expect(t.dataset).toMatchObject({ name: 'items', train: 'data/built/train.jsonl', test: 'data/built/test.jsonl' });
    // The whole file is also a training config: `mrpo train --config` keeps the backend block for the backend to validate.
    const whole = TrainConfigSchema.parse(raw);
    expect(whole.backend).toMatchObject({ name: 'tinker', model: 'Qwen/Qwen3-VL-30B-A3B-Instruct', loraRank: 32 });
  });
});
