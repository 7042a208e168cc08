/**
 * The client's `expected_tokens` for image sizes where the Qwen3-VL resize
 * rule's details matter (ties rounded to even, scaling up to min_pixels),
 * checked by the test server against its own count (test-support/vision-tokens.ts)
 * on sampling and on a protobuf forward_backward, and against values worked
 * out by hand here.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Item } from '../../types.js';
import type { Prompt } from '../backend.js';
import { createTinkerBackend } from './backend.js';
import { TinkerBackendConfigSchema } from './config.js';
import { loadTokenizer, type TextTokenizer } from './render/tokenizer.js';
import { startFakeTinker } from './test-support/server.js';
import { writeTinyTokenizer, type TinyTokenizerInfo } from './test-support/tiny-tokenizer.js';

let info: TinyTokenizerInfo;
let tokenizer: TextTokenizer;
const open: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  info = await writeTinyTokenizer(await mkdtemp(join(tmpdir(), 'mrpo-tinker-img-')));
  tokenizer = await loadTokenizer(info.dir);
});
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

const item = (id: string, width: number, height: number): Item => ({
  id,
  image: { pixels: new Uint8Array(width * height).fill(90), width, height, channels: 1 },
  question: `q${id}`,
  answer: 'left',
  source: 'test',
});

// Qwen3-VL: factor 32, min_pixels 65 536; tokens = (H/32)·(W/32) of the resized H×W.
const CASES: Array<{ width: number; height: number; tokens: number }> = [
  // 300/32 = 9.375 → 9 → 288; 400/32 = 12.5 → tie → 12 (even) → 384: 9·12 = 108 (rounding ties up would give 9·13 = 117)
  { width: 400, height: 300, tokens: 108 },
  // 80/32 = 2.5 → tie → 2 → 64; 3000/32 = 93.75 → 94 → 3008; 64·3008 ≥ 65 536: 2·94 = 188
  { width: 3000, height: 80, tokens: 188 },
  // 96·160 = 15 360 < 65 536: β = √(65 536/15 000) ≈ 2.0902; 100β/32 ≈ 6.53 → 7, 150β/32 ≈ 9.80 → 10: 7·10 = 70
  { width: 150, height: 100, tokens: 70 },
];

describe('image token counts on the wire', () => {
  it('sends the expected_tokens the test server counts for itself, when sampling and in a protobuf forward_backward', async () => {
    const server = await startFakeTinker({ vocabSize: info.vocabSize });
    open.push(server);
    const backend = await createTinkerBackend(
      TinkerBackendConfigSchema.parse({ name: 'tinker', model: 'Qwen/Qwen3-VL-30B-A3B-Instruct', tokenizer: info.dir, loraRank: 8, wireFormat: 'protobuf' }),
      { baseUrl: server.url, apiKey: 'tml-test-key-0001' },
      { tokenizer, retry: { backoffBaseMs: 2, backoffMaxMs: 20, serverErrorPollDelayMs: 1 } },
    );
    open.push(backend);
    const prompts: Prompt[] = CASES.map((c, i) => ({ item: item(String(i), c.width, c.height), text: 'Where? Think step by step.' }));
    // The server refuses a sample or training request whose expected_tokens differ from its own count.
    const groups = await backend.sample(prompts, 1, { temperature: 1, maxTokens: 8, seed: 3 });
    const batch = groups.flatMap((g, p) => g.map((completion) => ({ prompt: prompts[p], completion, advantages_T: completion.tokenIds.map(() => 1) })));
    await backend.train(batch, { kind: 'policy-gradient', beta: 0, epsLow: 0.2, epsHigh: 0.2, aggregation: 'token-mean', constant: 8 }, {
      learningRate: 0.01,
      gradClip: 0,
      beta1: 0.9,
      beta2: 0.95,
      eps: 1e-8,
      weightDecay: 0,
    });
    const body = server.forwardBackwardBodies.at(-1)!;
    expect(body.wire).toBe('protobuf');
    const sent = body.forward_backward_input.data.map((d: { model_input: { chunks: Array<{ type: string; expected_tokens?: number }> } }) =>
      d.model_input.chunks.filter((c) => c.type === 'image').map((c) => c.expected_tokens),
    );
    expect(sent).toEqual(CASES.map((c) => [c.tokens]));
  });
});
