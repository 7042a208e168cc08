/**
 * The Tinker backend's client-side costs, against the local test server on
 * 127.0.0.1 (the remote service's own compute is not what is measured here —
 * the test server's model is a tiny bigram table):
 * - incremental detokenization with offsets (per generated token),
 * - a training step's request: datum building + JSON encoding, and its size,
 * - a full train() round trip (forward_backward + optim_step, pipelined),
 * - a sample() round trip (sampler weights + asample + decoding).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Prompt, TrainExample } from '../src/backends/backend.js';
import { createTinkerBackend } from '../src/backends/tinker/backend.js';
import { TinkerBackendConfigSchema } from '../src/backends/tinker/config.js';
import { rlDatum } from '../src/backends/tinker/datums.js';
import { loadTokenizer } from '../src/backends/tinker/render/tokenizer.js';
import { startFakeTinker } from '../src/backends/tinker/test-support/server.js';
import { writeTinyTokenizer } from '../src/backends/tinker/test-support/tiny-tokenizer.js';
import { datumToJson } from '../src/backends/tinker/wire.js';
import { encodeForwardBackward } from '../src/backends/tinker/wire-proto.js';

function time<T>(fn: () => T, reps: number): { ms: number; value: T } {
  let value = fn();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) value = fn();
  return { ms: (performance.now() - t0) / reps, value };
}

export async function run(): Promise<void> {
  const info = await writeTinyTokenizer(await mkdtemp(join(tmpdir(), 'mrpo-bench-tok-')));
  const tokenizer = await loadTokenizer(info.dir);

  const text = 'The lesion is in the left lower lobe. Größe 5 mm. '.repeat(40);
  const ids = tokenizer.encode(text).slice(0, 512);
  const dec = time(() => tokenizer.decodeWithOffsets(ids), 5);
  console.log(`tinker/decode_offsets_per_token: ${((dec.ms / ids.length) * 1000).toFixed(1)} µs`);

  const server = await startFakeTinker({ vocabSize: info.vocabSize, holdMs: 50 });
  const backend = await createTinkerBackend(
    TinkerBackendConfigSchema.parse({ name: 'tinker', model: 'bench', tokenizer: info.dir, loraRank: 8 }),
    { baseUrl: server.url, apiKey: 'tml-bench' },
    { tokenizer, timer: { setInterval: () => 0, clearInterval: () => {} } },
  );
  const item = { id: 'x', image: { pixels: new Uint8Array(448 * 448).fill(90), width: 448, height: 448, channels: 1 as const }, question: 'q', answer: 'a', source: 'bench' };
  const prompt: Prompt = { item, text: 'Where is the lesion? Think step by step, then answer.' };
  const chunks = await backend.renderPrompt(prompt);

  // 64 completions × 256 tokens: the request of one reference-sized step (8 prompts × 8)
  const completion = ids.slice(0, 256);
  const logprobs = completion.map(() => -1.5);
  const adv = completion.map((_, t) => Math.sin(t) * 0.01);
  const build = time(() => JSON.stringify(Array.from({ length: 64 }, () => datumToJson(rlDatum(chunks, completion, logprobs, adv)))), 3);
  console.log(`tinker/build_encode_64x256: ${build.ms.toFixed(1)} ms`);
  console.log(`tinker/json_body_64x256: ${(build.value.length / 1e6).toFixed(2)} MB`);
  const datums = Array.from({ length: 64 }, () => rlDatum(chunks, completion, logprobs, adv));
  const proto = time(() => encodeForwardBackward({ modelId: 'm', seqId: 1, data: datums, lossFn: 'ppo' }), 3);
  console.log(`tinker/proto_encode_64x256: ${proto.ms.toFixed(1)} ms`);
  console.log(`tinker/proto_body_64x256: ${(proto.value.byteLength / 1e6).toFixed(2)} MB`);

  const batch: TrainExample[] = Array.from({ length: 16 }, () => ({
    prompt,
    completion: { text: tokenizer.decode(completion), tokenIds: completion, logprobs, tokenOffsets: completion.map(() => [0, 0] as const), finishReason: 'length' },
    advantages_T: adv,
  }));
  const loss = { kind: 'policy-gradient', beta: 0, epsLow: 0.2, epsHigh: 0.2, aggregation: 'seq-mean-token-mean', constant: 256 } as const;
  const opt = { learningRate: 1e-3, gradClip: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
  await backend.train(batch, loss, opt);
  let t0 = performance.now();
  for (let i = 0; i < 3; i++) await backend.train(batch, loss, opt);
  console.log(`tinker/train_roundtrip_16x256: ${((performance.now() - t0) / 3).toFixed(0)} ms`);

  await backend.sample([prompt], 8, { temperature: 1, maxTokens: 64, seed: 1 });
  t0 = performance.now();
  for (let i = 0; i < 3; i++) await backend.sample([prompt, prompt], 8, { temperature: 1, maxTokens: 64, seed: i });
  console.log(`tinker/sample_roundtrip_2x8x64: ${((performance.now() - t0) / 3).toFixed(0)} ms`);

  await backend.close();
  await server.close();
}
