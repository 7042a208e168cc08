/**
 * The embedded vision-language policy: an image encoder over patches feeding a
 * decoder-only transformer.
 *
 * Sequence: [image patches (numPatches)] [<bos>] [prompt tokens] [completion tokens].
 * - Image encoder: each patch (patchSize² × channels pixels in [0, 1]) → linear
 *   → dModel; the patch vectors are the sequence's prefix.
 * - Token embedding: a row lookup whose gradient is a scatter-add (engine.ts `embed`).
 * - Learned absolute position embeddings over the whole sequence.
 * - Pre-LN blocks: x += Attn(LN(x)); x += MLP(LN(x)); causal multi-head
 *   attention written out (softmax(QKᵀ/√d_h + mask)·V); MLP with GELU (tanh form).
 * - Final LN and an untied output head (no bias) over the vocabulary; <pad>
 *   and <bos> get probability 0.
 *
 * Weights are plain tensors in a `Params` record (no tfjs Variables), so a
 * gradient is `tf.grads` of a function of the parameter list, and a frozen
 * reference copy is just another record.
 */
import type { Rng } from '../../utils/rng.js';
import { numPatches, patchDim, type ModelConfig } from './config.js';
import { bmm, bmmNT, embed, gatherRows, gelu, layerNorm, linear, logSumExpRows, softmaxLast, tf } from './engine.js';
import { BOS, PAD } from './tokenizer.js';

export type Params = Record<string, tf.Tensor>;

const NEG = -1e9; // additive mask: exp(-1e9 − max) is exactly 0 in float32

/** Parameter names and shapes in a fixed order (the checkpoint order). */
export function paramShapes(c: ModelConfig, vocabSize: number): Array<[string, number[]]> {
  const d = c.dModel;
  const shapes: Array<[string, number[]]> = [
    ['patch.w', [patchDim(c), d]],
    ['patch.b', [d]],
    ['tok.emb', [vocabSize, d]],
    ['pos.emb', [numPatches(c) + c.maxTextLen, d]],
  ];
  for (let l = 0; l < c.layers; l++)
    shapes.push(
      [`l${l}.ln1.g`, [d]],
      [`l${l}.ln1.b`, [d]],
      [`l${l}.q.w`, [d, d]],
      [`l${l}.q.b`, [d]],
      [`l${l}.k.w`, [d, d]],
      [`l${l}.k.b`, [d]],
      [`l${l}.v.w`, [d, d]],
      [`l${l}.v.b`, [d]],
      [`l${l}.out.w`, [d, d]],
      [`l${l}.out.b`, [d]],
      [`l${l}.ln2.g`, [d]],
      [`l${l}.ln2.b`, [d]],
      [`l${l}.ff1.w`, [d, c.ffDim]],
      [`l${l}.ff1.b`, [c.ffDim]],
      [`l${l}.ff2.w`, [c.ffDim, d]],
      [`l${l}.ff2.b`, [d]],
    );
  shapes.push(['lnf.g', [d]], ['lnf.b', [d]], ['head.w', [d, vocabSize]]);
  return shapes;
}

/**
 * GPT-2-style initialisation from a seeded RNG: N(0, 0.02) for matrices and
 * embeddings, the residual output projections scaled by 1/√(2·layers), layer
 * norm gains 1, biases 0.
 */
export function initParams(c: ModelConfig, vocabSize: number, rng: Rng): Params {
  const params: Params = {};
  const residualScale = 1 / Math.sqrt(2 * c.layers);
  for (const [name, shape] of paramShapes(c, vocabSize)) {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    if (name.endsWith('.g')) data.fill(1);
    else if (shape.length === 2) {
      const std = 0.02 * (name.endsWith('out.w') || name.endsWith('ff2.w') ? residualScale : 1);
      for (let i = 0; i < size; i++) data[i] = std * rng.normal();
    }
    params[name] = tf.tensor(data, shape, 'float32');
  }
  return params;
}

export function cloneParams(p: Params): Params {
  const out: Params = {};
  for (const [k, v] of Object.entries(p)) out[k] = tf.clone(v);
  return out;
}

export function disposeParams(p: Params): void {
  for (const v of Object.values(p)) v.dispose();
}

/** Past keys and values of one layer: [B·H, Lpast, d_h] each. */
export interface LayerCache {
  k: tf.Tensor3D;
  v: tf.Tensor3D;
}

/**
 * One pre-LN block on x [B·Lq, d]. `past` holds the keys/values of earlier
 * positions (sampling); `mask` is additive, broadcastable to [B, H, Lq, Lk].
 * Returns the new x and this layer's keys/values over all Lk positions.
 */
function block(
  p: Params,
  l: number,
  c: ModelConfig,
  x: tf.Tensor2D,
  B: number,
  Lq: number,
  mask: tf.Tensor,
  past: LayerCache | null,
): { x: tf.Tensor2D; cache: LayerCache } {
  const d = c.dModel;
  const H = c.heads;
  const dh = d / H;
  const h = layerNorm(x, p[`l${l}.ln1.g`] as tf.Tensor1D, p[`l${l}.ln1.b`] as tf.Tensor1D);
  // [B·Lq, d] → [B·H, Lq, dh]
  const heads = (name: string): tf.Tensor3D =>
    tf.reshape(tf.transpose(tf.reshape(linear(h, p[`l${l}.${name}.w`] as tf.Tensor2D, p[`l${l}.${name}.b`] as tf.Tensor1D), [B, Lq, H, dh]), [0, 2, 1, 3]), [B * H, Lq, dh]);
  const q = heads('q');
  let k = heads('k');
  let v = heads('v');
  if (past !== null) {
    k = tf.concat([past.k, k], 1);
    v = tf.concat([past.v, v], 1);
  }
  const Lk = k.shape[1];
  // the 1/√d_h scale on q ([B·H, Lq, d_h]) rather than on the scores ([B·H, Lq, Lk]): a quarter of the work at
  // d_h = 16, and exact there (a power of two)
  const scores = bmmNT(tf.mul(q, 1 / Math.sqrt(dh)), k); // [B·H, Lq, Lk]
  const masked = tf.add(tf.reshape(scores, [B, H, Lq, Lk]), mask);
  const att = tf.reshape(softmaxLast(masked), [B * H, Lq, Lk]) as tf.Tensor3D;
  const ctx = tf.reshape(tf.transpose(tf.reshape(bmm(att, v), [B, H, Lq, dh]), [0, 2, 1, 3]), [B * Lq, d]) as tf.Tensor2D;
  const x1 = tf.add(x, linear(ctx, p[`l${l}.out.w`] as tf.Tensor2D, p[`l${l}.out.b`] as tf.Tensor1D)) as tf.Tensor2D;
  const h2 = layerNorm(x1, p[`l${l}.ln2.g`] as tf.Tensor1D, p[`l${l}.ln2.b`] as tf.Tensor1D);
  const ff = linear(
    gelu(linear(h2, p[`l${l}.ff1.w`] as tf.Tensor2D, p[`l${l}.ff1.b`] as tf.Tensor1D)) as tf.Tensor2D,
    p[`l${l}.ff2.w`] as tf.Tensor2D,
    p[`l${l}.ff2.b`] as tf.Tensor1D,
  );
  return { x: tf.add(x1, ff) as tf.Tensor2D, cache: { k, v } };
}

/** A training batch: B rows of image patches and right-padded text ids. */
export interface TextBatch {
  readonly B: number;
  /** Text length (with padding); ids[b·S + j]. */
  readonly S: number;
  /** [B × numPatches × patchDim] */
  readonly patches: Float32Array;
  /** [B × S], <bos> first, <pad> (0) after the end. */
  readonly ids: Int32Array;
}

/**
 * Output logits [N, V] from final hidden states. <pad> and <bos> are never
 * generated: their logits are pinned to −1e9 (in training and sampling alike,
 * so sampled and re-scored log-probs agree).
 */
function headLogits(p: Params, h: tf.Tensor2D): tf.Tensor2D {
  const V = (p['head.w'] as tf.Tensor2D).shape[1];
  const bias = new Float32Array(V);
  bias[PAD] = NEG;
  bias[BOS] = NEG;
  return tf.add(linear(h, p['head.w'] as tf.Tensor2D), tf.tensor1d(bias)) as tf.Tensor2D;
}

/** Float one-hot rows. (The wasm OneHot kernel ignores a float dtype and writes int32 bits: cast instead.) */
function oneHot(ids: tf.Tensor1D, depth: number): tf.Tensor2D {
  return tf.cast(tf.oneHot(ids, depth), 'float32') as tf.Tensor2D;
}

function causalMask(L: number): tf.Tensor {
  const m = new Float32Array(L * L);
  for (let i = 0; i < L; i++) for (let j = i + 1; j < L; j++) m[i * L + j] = NEG;
  return tf.tensor(m, [1, 1, L, L]);
}

/**
 * log π(text token j+1 | image, text tokens ≤ j) for every row and j in [0, S−1):
 * returns [B, S−1]. Differentiable in `p` (custom-gradient embedding and matmuls).
 */
export function tokenLogprobs(p: Params, c: ModelConfig, batch: TextBatch): tf.Tensor2D {
  const { B, S } = batch;
  const P = numPatches(c);
  const L = P + S;
  const d = c.dModel;
  const V = p['tok.emb'].shape[0];
  const patches = tf.tensor2d(batch.patches, [B * P, patchDim(c)]);
  const imgEmb = tf.reshape(linear(patches, p['patch.w'] as tf.Tensor2D, p['patch.b'] as tf.Tensor1D), [B, P, d]);
  const ids = tf.tensor1d(batch.ids, 'int32');
  const tokEmb = tf.reshape(embed(p['tok.emb'] as tf.Tensor2D, batch.ids), [B, S, d]);
  const pos = tf.slice(p['pos.emb'], [0, 0], [L, d]);
  let x = tf.reshape(tf.add(tf.concat([imgEmb, tokEmb], 1), pos), [B * L, d]) as tf.Tensor2D;
  const mask = causalMask(L);
  for (let l = 0; l < c.layers; l++) x = block(p, l, c, x, B, L, mask, null).x;
  // Hidden states at text positions 0..S−2 predict text tokens 1..S−1.
  const textH = tf.reshape(tf.slice(tf.reshape(x, [B, L, d]), [0, P, 0], [B, S - 1, d]), [B * (S - 1), d]) as tf.Tensor2D;
  const h = layerNorm(textH, p['lnf.g'] as tf.Tensor1D, p['lnf.b'] as tf.Tensor1D);
  const logits = headLogits(p, h); // [B·(S−1), V]
  const logsm = tf.sub(logits, logSumExpRows(logits));
  const targets = tf.slice(tf.reshape(ids, [B, S]), [0, 1], [B, S - 1]);
  const targetOnehot = oneHot(tf.reshape(targets, [B * (S - 1)]) as tf.Tensor1D, V);
  return tf.reshape(tf.sum(tf.mul(logsm, targetOnehot), -1), [B, S - 1]) as tf.Tensor2D;
}

/** State of a batched decode: per-layer caches, per-row left padding. */
export interface DecodeState {
  caches: LayerCache[];
  /** Number of left-padding columns of each row. */
  readonly pad_B: Int32Array;
  /** Columns filled so far (same for all rows). */
  length: number;
}

/**
 * Runs the prefix (patches + left-padded text) through the model and returns the
 * next-token logits [B, V] and the decode state. Row b's text occupies the last
 * `textLen_B[b]` columns of `ids` ([B × S], left-padded); its positions count
 * from its first patch, as in training.
 */
export function prefill(
  p: Params,
  c: ModelConfig,
  B: number,
  S: number,
  patches_B: Float32Array,
  ids: Int32Array,
  textLen_B: Int32Array,
): { logits: tf.Tensor2D; state: DecodeState } {
  const P = numPatches(c);
  const L = P + S;
  const d = c.dModel;
  // Row layout: [pad × (S − n_b)] [patches] [text]; the patches move with the padding.
  const pad_B = new Int32Array(B);
  const posIds = new Int32Array(B * L);
  const maskData = new Float32Array(B * L * L);
  for (let b = 0; b < B; b++) {
    const pad = S - textLen_B[b];
    pad_B[b] = pad;
    for (let j = 0; j < L; j++) posIds[b * L + j] = Math.max(0, j - pad);
    for (let i = 0; i < L; i++)
      for (let j = 0; j < L; j++) if (j > i || j < pad) maskData[(b * L + i) * L + j] = NEG;
  }
  const patchT = tf.reshape(linear(tf.tensor2d(patches_B, [B * P, patchDim(c)]), p['patch.w'] as tf.Tensor2D, p['patch.b'] as tf.Tensor1D), [B, P, d]);
  const tokT = tf.reshape(gatherRows(p['tok.emb'] as tf.Tensor2D, ids), [B, S, d]);
  // Per row: take its text tokens (the last n_b columns) and place [pad][patches][text].
  const rows: tf.Tensor[] = [];
  for (let b = 0; b < B; b++) {
    const n = textLen_B[b];
    const pad = S - n;
    const parts: tf.Tensor[] = [];
    if (pad > 0) parts.push(tf.zeros([1, pad, d]));
    parts.push(tf.slice(patchT, [b, 0, 0], [1, P, d]), tf.slice(tokT, [b, pad, 0], [1, n, d]));
    rows.push(tf.concat(parts, 1));
  }
  const pos = tf.reshape(gatherRows(p['pos.emb'] as tf.Tensor2D, posIds), [B, L, d]);
  let x = tf.reshape(tf.add(tf.concat(rows, 0), pos), [B * L, d]) as tf.Tensor2D;
  const mask = tf.tensor(maskData, [B, 1, L, L]);
  const caches: LayerCache[] = [];
  for (let l = 0; l < c.layers; l++) {
    const out = block(p, l, c, x, B, L, mask, null);
    x = out.x;
    caches.push(out.cache);
  }
  const last = tf.reshape(tf.slice(tf.reshape(x, [B, L, d]), [0, L - 1, 0], [B, 1, d]), [B, d]) as tf.Tensor2D;
  const logits = headLogits(p, layerNorm(last, p['lnf.g'] as tf.Tensor1D, p['lnf.b'] as tf.Tensor1D));
  return { logits, state: { caches, pad_B, length: L } };
}

/** Feeds one token per row; returns the next-token logits [B, V] and the grown caches. */
export function decodeStep(p: Params, c: ModelConfig, state: DecodeState, tokens_B: Int32Array): { logits: tf.Tensor2D; caches: LayerCache[] } {
  const B = tokens_B.length;
  const col = state.length; // column of the new token
  const Lk = col + 1;
  const posIds = new Int32Array(B);
  const maskData = new Float32Array(B * Lk);
  for (let b = 0; b < B; b++) {
    posIds[b] = col - state.pad_B[b];
    for (let j = 0; j < state.pad_B[b]; j++) maskData[b * Lk + j] = NEG;
  }
  const emb = gatherRows(p['tok.emb'] as tf.Tensor2D, tokens_B);
  let x = tf.add(emb, gatherRows(p['pos.emb'] as tf.Tensor2D, posIds)) as tf.Tensor2D; // [B, d]
  const mask = tf.tensor(maskData, [B, 1, 1, Lk]);
  const caches: LayerCache[] = [];
  for (let l = 0; l < c.layers; l++) {
    const out = block(p, l, c, x, B, 1, mask, state.caches[l]);
    x = out.x;
    caches.push(out.cache);
  }
  const logits = headLogits(p, layerNorm(x, p['lnf.g'] as tf.Tensor1D, p['lnf.b'] as tf.Tensor1D));
  return { logits, caches };
}
