/**
 * End to end through transformers.js + ONNX runtime with a tiny model written
 * by the test (test-support/tiny-bert.ts: hidden states are fixed 2-D vectors per
 * token, so every expected score below is worked out by hand).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { createBertScorer, type BertScorer } from './bertscore.js';
import { writeTinyBert } from './test-support/tiny-bert.js';

let root: string;
let modelDir: string;
let scorer: BertScorer;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mrpo-bertscore-'));
  modelDir = await writeTinyBert(join(root, 'tiny-bert'), { withLayer1: true });
  scorer = await createBertScorer({ modelDir, layer: 2 });
});
afterAll(() => rm(root, { recursive: true, force: true }));

async function configError(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('createBertScorer (tiny local model)', () => {
  it('computes hand-worked BERTScore F1 through the real tokenizer and ONNX model', async () => {
    const scores = await scorer.score([
      // lowercased; left→1, lung→.96 ; left→1, kidney→.96 → F=.98
      { prediction: 'Left lung', reference: 'left kidney' },
      // right matches the reference's [SEP] (cosine 1), left matches the candidate's [CLS] → F=.98
      { prediction: '  right lung ', reference: 'left kidney' },
      // WordPiece: lungs = lung ##s; ##s=(1,1)/√2 best with lung: 1.4/√2 → P=(1+1.4/√2)/2, R=1
      { prediction: 'lungs', reference: 'lung' },
      { prediction: 'KIDNEY', reference: 'kidney' },
      // empty candidate (only [CLS][SEP]) → 0, as bert_score
      { prediction: '', reference: 'left' },
    ]);
    const p = (1 + 1.4 / Math.SQRT2) / 2;
    const expected = [0.98, 0.98, (2 * p) / (p + 1), 1, 0];
    expect(scores).toHaveLength(5);
    scores.forEach((s, i) => expect(s, `pair ${i}`).toBeCloseTo(expected[i], 6)); // float32 model
    expect(scorer.name).toBe('bertscore:tiny-bert@2');
    expect(scorer.layer).toBe(2);
  });

  it('reports P and R', async () => {
    const [d] = await scorer.scoreDetailed([{ prediction: 'left lung kidney kidney', reference: 'left lung' }]);
    // P: left 1, lung 1, kidney .96, kidney .96 → .98; R: 1
    expect(d.precision).toBeCloseTo(0.98, 6);
    expect(d.recall).toBeCloseTo(1, 6);
    expect(d.f1).toBeCloseTo((2 * 0.98) / 1.98, 6);
  });

  it('truncates long sentences to [CLS] + first tokens + [SEP]', async () => {
    const short = await createBertScorer({ modelDir, layer: 2, maxLength: 4 });
    // [CLS] left lung [SEP] — the two kidneys are cut → identical to the reference
    expect((await short.score([{ prediction: 'left lung kidney kidney', reference: 'left lung' }]))[0]).toBeCloseTo(1, 6);
  });

  it('uses the configured layer', async () => {
    const layer1 = await createBertScorer({ modelDir, layer: 1 });
    // layer 1: every token (1,0) except right=(0,1): right vs left → P=0 → F=0; left lung vs left kidney → 1
    const s = await layer1.score([{ prediction: 'right', reference: 'left' }, { prediction: 'left lung', reference: 'left kidney' }]);
    expect(s[0]).toBeCloseTo(0, 6);
    expect(s[1]).toBeCloseTo(1, 6);
    const missing = await configError(createBertScorer({ modelDir, layer: 3 }));
    expect(missing.message).toContain(`BERTScore model directory ${modelDir}: layer 3 is not available: the model has 2 layers and its ONNX outputs are last_hidden_state, hidden_states.1`);
    const byDefault = await configError(createBertScorer({ modelDir })); // default layer 12 (BiomedBERT) does not exist here
    expect(byDefault.message).toContain('layer 12 is not available');
  });
});

describe('createBertScorer errors', () => {
  it('names a missing directory', async () => {
    const dir = join(root, 'no-such-model');
    const error = await configError(createBertScorer({ modelDir: dir }));
    expect(error.message).toBe(`BERTScore model directory ${dir}: not found (expected a local Hugging Face model directory exported to ONNX; models are never downloaded)`);
  });

  it('names missing files', async () => {
    const dir = join(root, 'half');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'config.json'), '{}');
    const error = await configError(createBertScorer({ modelDir: dir }));
    expect(error.message).toBe(
      `BERTScore model directory ${dir}: missing tokenizer.json, tokenizer_config.json, onnx/model.onnx (expected config.json, tokenizer.json, tokenizer_config.json and onnx/model.onnx)`,
    );
  });

  it('reports an unreadable ONNX file as a load error', async () => {
    const dir = await writeTinyBert(join(root, 'corrupt'));
    await writeFile(join(dir, 'onnx', 'model.onnx'), 'not a protobuf');
    const error = await configError(createBertScorer({ modelDir: dir, layer: 2 }));
    expect(error.message).toMatch(new RegExp(`^BERTScore model directory ${dir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: cannot load the model: `));
  });

  it('rejects a bad layer', async () => {
    expect((await configError(createBertScorer({ modelDir: root, layer: 0 }))).message).toContain('layer must be a positive integer, got 0');
  });
});
