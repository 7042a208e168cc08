/**
 * Batched autoregressive sampling with a KV cache.
 *
 * All rows (prompts × completions) decode together: the prefix is left-padded
 * to a common length and run once (prefill), then one token per row per step
 * reuses the cached keys/values. Each layer's cache grows by concatenation: on
 * tfjs-wasm (no jit, eager memory) a growing cache costs the same copy as a
 * masked write into a fixed buffer and attends over fewer columns; the
 * fixed-size advice of docs/embedded-engine-notes.md is for jax-js under jit.
 *
 * Token choice per row, from the logits z over the vocabulary:
 * - temperature T > 0: draw from softmax(z/T) with the seeded RNG (rows in
 *   order, one draw per active row per step), and report log softmax(z/T) of
 *   the drawn token — the log-prob under the sampling policy;
 * - T = 0: greedy argmax, reporting log softmax(z) of that token.
 * A row stops after it produces <eos> (kept as its last token) or after
 * `maxTokens` tokens, or when the text would exceed the model's `maxTextLen`;
 * finished rows leave the batch (their cache rows are dropped once a quarter
 * of the batch has finished). RNG draws are made for unfinished rows only, in
 * row order, so the samples depend only on the seed and the inputs.
 */
import type { Rng } from '../../utils/rng.js';
import type { ModelConfig } from './config.js';
import { tf } from './engine.js';
import { decodeStep, prefill, type LayerCache, type Params } from './model.js';
import { EOS, PAD } from './tokenizer.js';

export interface SampleRow {
  /** numPatches × patchDim */
  readonly patches: Float32Array;
  /** <bos> + prompt token ids. */
  readonly textIds: readonly number[];
}

export interface SampledRow {
  readonly ids: number[];
  readonly logprobs: number[];
  readonly finishReason: 'stop' | 'length';
}

/** Chooses a token from one row of logits; returns [token, logprob]. */
export function chooseToken(z: Float32Array, offset: number, V: number, temperature: number, rng: Rng): [number, number] {
  const inv = temperature > 0 ? 1 / temperature : 1;
  let max = -Infinity;
  let argmax = 0;
  for (let i = 0; i < V; i++) {
    const s = z[offset + i] * inv;
    if (s > max) {
      max = s;
      argmax = i;
    }
  }
  let sum = 0;
  for (let i = 0; i < V; i++) sum += Math.exp(z[offset + i] * inv - max);
  const lse = max + Math.log(sum);
  if (temperature <= 0) return [argmax, z[offset + argmax] - lse];
  let u = rng.next() * sum;
  let tok = V - 1;
  for (let i = 0; i < V; i++) {
    u -= Math.exp(z[offset + i] * inv - max);
    if (u < 0) {
      tok = i;
      break;
    }
  }
  return [tok, z[offset + tok] * inv - lse];
}

/** tf.tidy for a result holding logits and caches: everything else made inside `f` is disposed. */
function keepOutputs<R extends { logits: tf.Tensor; caches: LayerCache[] }>(f: () => R): R {
  let result: R | null = null;
  tf.tidy(() => {
    const r = f();
    tf.keep(r.logits);
    for (const cache of r.caches) {
      tf.keep(cache.k);
      tf.keep(cache.v);
    }
    result = r;
  });
  return result as unknown as R;
}

export function sampleRows(
  params: Params,
  c: ModelConfig,
  rows: readonly SampleRow[],
  maxTokens: number,
  temperature: number,
  rng: Rng,
): SampledRow[] {
  const B = rows.length;
  if (B === 0) return [];
  const S = Math.max(...rows.map((r) => r.textIds.length));
  const patchSize = rows[0].patches.length;
  const patches = new Float32Array(B * patchSize);
  const ids = new Int32Array(B * S); // left-padded
  const textLen_B = new Int32Array(B);
  const limit_B = new Int32Array(B);
  rows.forEach((r, b) => {
    patches.set(r.patches, b * patchSize);
    const n = r.textIds.length;
    textLen_B[b] = n;
    for (let j = 0; j < n; j++) ids[b * S + (S - n) + j] = r.textIds[j];
    limit_B[b] = Math.max(0, Math.min(maxTokens, c.maxTextLen - n));
  });
  const out = rows.map(() => ({ ids: [] as number[], logprobs: [] as number[], done: false, stopped: false }));
  out.forEach((o, b) => (o.done = limit_B[b] === 0));
  const first = keepOutputs(() => {
    const r = prefill(params, c, B, S, patches, ids, textLen_B);
    return { logits: r.logits, caches: r.state.caches, pad_B: r.state.pad_B, length: r.state.length };
  });
  let logits: tf.Tensor2D = first.logits;
  let caches: LayerCache[] = first.caches;
  let length = first.length;
  const V = logits.shape[1];
  // Rows still decoding (indices into `rows`), in order; finished rows leave the batch.
  let live = Array.from({ length: B }, (_, b) => b);
  let pad_L = first.pad_B;
  try {
    for (;;) {
      const z = logits.dataSync() as Float32Array;
      logits.dispose();
      const keep: number[] = []; // batch positions of rows still decoding
      const tokens: number[] = []; // the next input of every batch row
      live.forEach((b, i) => {
        const o = out[b];
        if (o.done) {
          tokens.push(PAD); // finished, waiting to be dropped: its output is ignored
          return;
        }
        const [tok, lp] = chooseToken(z, i * V, V, temperature, rng);
        o.ids.push(tok);
        o.logprobs.push(lp);
        tokens.push(tok);
        if (tok === EOS) {
          o.done = true;
          o.stopped = true;
        } else if (o.ids.length >= limit_B[b]) o.done = true;
        else keep.push(i);
      });
      if (keep.length === 0) break;
      // Drop finished rows once a quarter of the batch has finished (a gather of
      // the caches costs about two decode steps, so not after every row).
      if (live.length - keep.length >= Math.max(1, Math.ceil(live.length / 4))) {
        // Row i owns cache rows i·H … i·H + H − 1.
        const H = c.heads;
        const rowsIdx = tf.tensor1d(keep.flatMap((i) => Array.from({ length: H }, (_, h) => i * H + h)), 'int32');
        const compacted = caches.map((cache) => ({ k: tf.gather(cache.k, rowsIdx) as tf.Tensor3D, v: tf.gather(cache.v, rowsIdx) as tf.Tensor3D }));
        rowsIdx.dispose();
        for (const cache of caches) {
          cache.k.dispose();
          cache.v.dispose();
        }
        caches = compacted;
        const kept = keep.map((i) => tokens[i]);
        tokens.length = 0;
        tokens.push(...kept);
        pad_L = Int32Array.from(keep, (i) => pad_L[i]);
        live = keep.map((i) => live[i]);
      }
      const state = { caches, pad_B: pad_L, length };
      const next = keepOutputs(() => decodeStep(params, c, state, Int32Array.from(tokens)));
      for (const cache of caches) {
        cache.k.dispose();
        cache.v.dispose();
      }
      caches = next.caches;
      logits = next.logits;
      length++;
    }
  } finally {
    for (const cache of caches) {
      cache.k.dispose();
      cache.v.dispose();
    }
  }
  return out.map((o) => ({ ids: o.ids, logprobs: o.logprobs, finishReason: o.stopped ? 'stop' : 'length' }));
}
