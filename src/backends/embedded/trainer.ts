/**
 * One optimiser step of the embedded policy (docs/method.md §6).
 *
 * Both objectives are linear in the per-token log-probs once the coefficients
 * are known, so one forward pass computes logπ_θ for every completion token,
 * the coefficients are read off on the CPU, and the gradient of the
 * aggregated loss is the gradient of Σ_t c_t·logπ_θ,t with c held constant.
 * The aggregation weights depend only on row lengths, so a large batch is cut
 * into micro-batches of at most 64 rows whose gradients are summed (exactly the
 * full-batch gradient, with bounded memory):
 * - policy gradient: the core library's `tokenLosses` (clipped surrogate +
 *   β·k3 KL against the frozen reference) and `aggregateLosses` (the chosen
 *   aggregation) give dL_t/dlogπ_t and the weights w_t of Σ w_t·L_t, so
 *   c_t = w_t·dL_t/dlogπ_t; the reported loss is Σ w_t·L_t;
 * - SFT: cross-entropy on the target completion, mean over all target tokens
 *   of the batch: c_t = −1/N.
 * Then AdamW (bias-corrected; weight decay decoupled and applied to the
 * matrices and embeddings only, not to biases or norm gains) after clipping the
 * global gradient norm to `gradClip` (no clipping when gradClip ≤ 0).
 */
import { aggregateLosses, tokenLosses } from '../../algo/losses.js';
import type { LossSpec, OptimizerSpec } from '../backend.js';
import { numPatches, patchDim, type ModelConfig } from './config.js';
import { tf } from './engine.js';
import { tokenLogprobs, type Params, type TextBatch } from './model.js';

/** One training row: text = <bos> + prompt + completion; the completion starts at text index `start`. */
export interface TrainRow {
  readonly patches: Float32Array;
  readonly textIds: readonly number[];
  readonly start: number;
}

export function buildBatch(rows: readonly TrainRow[], c: ModelConfig): TextBatch {
  const B = rows.length;
  const S = Math.max(2, ...rows.map((r) => r.textIds.length));
  const per = numPatches(c) * patchDim(c);
  const patches = new Float32Array(B * per);
  const ids = new Int32Array(B * S);
  rows.forEach((r, b) => {
    patches.set(r.patches, b * per);
    r.textIds.forEach((id, j) => (ids[b * S + j] = id));
  });
  return { B, S, patches, ids };
}

/** Completion log-probs of each row from the [B, S−1] matrix of next-token log-probs. */
export function completionLogprobs(logp: ArrayLike<number>, rows: readonly TrainRow[], S: number): Float64Array[] {
  return rows.map((r, b) => {
    const T = r.textIds.length - r.start;
    const out = new Float64Array(T);
    for (let t = 0; t < T; t++) out[t] = logp[b * (S - 1) + r.start + t - 1];
    return out;
  });
}

/** Per-completion inputs of the policy-gradient loss. */
export interface PgTargets {
  readonly oldLogp_B_T: ReadonlyArray<readonly number[]>;
  readonly adv_B_T: ReadonlyArray<readonly number[]>;
  /** Reference log-probs (absent when β = 0). */
  readonly refLogp_B_T: Float64Array[] | null;
}

/** Sums over the tokens of a chunk of rows, for the step's metrics. */
interface TokenSums {
  value: number;
  clipped: number;
  kl: number;
  ratio: number;
}

/**
 * Aggregation weights of every completion token: they depend only on the row
 * lengths (and the batch size and constant), never on the loss values, so they
 * are computed once for the whole batch and each micro-batch is then
 * differentiated on its own.
 */
export function tokenWeights(rows: readonly TrainRow[], loss: LossSpec): Float64Array[] {
  const lengths = rows.map((r) => r.textIds.length - r.start);
  if (loss.kind === 'sft') {
    const n = lengths.reduce((a, b) => a + b, 0);
    return lengths.map((T) => new Float64Array(T).fill(n > 0 ? 1 / n : 0));
  }
  return aggregateLosses(
    lengths.map((T) => new Float64Array(T)),
    loss.aggregation,
    loss.constant,
  ).weight_B_T;
}

/**
 * c_t = w_t·dL_t/dlogπ_t for the rows of one micro-batch ([rows × (S−1)], zero
 * off the completions), adding Σ w_t·L_t and the per-token statistics to `sums`.
 * `first` is the index of the chunk's first row in the batch (for pg and weights).
 */
function chunkCoefficients(
  logp_B_T: Float64Array[],
  rows: readonly TrainRow[],
  S: number,
  loss: LossSpec,
  pg: PgTargets | null,
  weight_B_T: readonly Float64Array[],
  first: number,
  sums: TokenSums,
): Float32Array {
  const coef = new Float32Array(rows.length * (S - 1));
  logp_B_T.forEach((logp_T, b) => {
    const w = weight_B_T[first + b];
    const at = b * (S - 1) + rows[b].start - 1;
    if (loss.kind === 'sft') {
      for (let t = 0; t < logp_T.length; t++) {
        coef[at + t] = -w[t]; // L_t = −logπ_t
        sums.value -= w[t] * logp_T[t];
      }
      return;
    }
    if (pg === null) throw new RangeError('policy-gradient loss needs old log-probs and advantages');
    const x = tokenLosses({
      logp_T,
      oldLogp_T: pg.oldLogp_B_T[first + b],
      refLogp_T: pg.refLogp_B_T?.[first + b],
      adv_T: pg.adv_B_T[first + b],
      epsLow: loss.epsLow,
      epsHigh: loss.epsHigh,
      beta: loss.beta,
    });
    for (let t = 0; t < logp_T.length; t++) {
      coef[at + t] = w[t] * x.dLogp_T[t];
      sums.value += w[t] * x.loss_T[t];
      sums.clipped += x.clipped_T[t];
      sums.kl += x.kl_T[t];
      sums.ratio += x.ratio_T[t];
    }
  });
  return coef;
}

/** Rows per forward/backward pass: bounds the memory of a step (wasm has 4 GiB) whatever the batch size. */
export const MICRO_BATCH_ROWS = 64;

/** Log-probs of every completion token under `params` (no gradient), in micro-batches. */
export function scoreRows(params: Params, c: ModelConfig, rows: readonly TrainRow[], microBatch = MICRO_BATCH_ROWS): Float64Array[] {
  const out: Float64Array[] = [];
  for (let first = 0; first < rows.length; first += microBatch) {
    const chunk = rows.slice(first, first + microBatch);
    const batch = buildBatch(chunk, c);
    const logp = tf.tidy(() => tokenLogprobs(params, c, batch));
    const values = logp.dataSync();
    logp.dispose();
    out.push(...completionLogprobs(values, chunk, batch.S));
  }
  return out;
}

/** Gradients of the aggregated loss over the whole batch (keyed like params) and the loss metrics. */
export function lossGradients(
  params: Params,
  c: ModelConfig,
  rows: readonly TrainRow[],
  loss: LossSpec,
  pg: PgTargets | null,
  microBatch = MICRO_BATCH_ROWS,
): { grads: Params; metrics: Record<string, number> } {
  const names = Object.keys(params);
  const weight_B_T = tokenWeights(rows, loss);
  const sums: TokenSums = { value: 0, clipped: 0, kl: 0, ratio: 0 };
  let total: tf.Tensor[] | null = null;
  for (let first = 0; first < rows.length; first += microBatch) {
    const chunk = rows.slice(first, first + microBatch);
    const batch = buildBatch(chunk, c);
    const grads = tf.tidy(() => {
      const gradFn = tf.grads((...xs: tf.Tensor[]) => {
        const p: Params = {};
        names.forEach((n, i) => (p[n] = xs[i]));
        const logp = tokenLogprobs(p, c, batch);
        const logp_B_T = completionLogprobs(logp.dataSync(), chunk, batch.S);
        const coef = chunkCoefficients(logp_B_T, chunk, batch.S, loss, pg, weight_B_T, first, sums);
        return tf.sum(tf.mul(logp, tf.tensor2d(coef, [batch.B, batch.S - 1])));
      });
      return gradFn(names.map((n) => params[n]));
    });
    if (total === null) total = grads;
    else {
      const prev: tf.Tensor[] = total;
      total = prev.map((g, i) => tf.add(g, grads[i]));
      tf.dispose([...prev, ...grads]);
    }
  }
  const out: Params = {};
  names.forEach((n, i) => (out[n] = (total as tf.Tensor[])[i]));
  const tokens = weight_B_T.reduce((a, w) => a + w.length, 0);
  const metrics: Record<string, number> = { 'loss/total': sums.value, 'train/tokens': tokens };
  if (loss.kind === 'policy-gradient') {
    metrics['loss/clipfrac'] = tokens > 0 ? sums.clipped / tokens : 0;
    metrics['loss/ratio'] = tokens > 0 ? sums.ratio / tokens : 1;
    if (pg?.refLogp_B_T) metrics['loss/kl'] = tokens > 0 ? sums.kl / tokens : 0;
  }
  return { grads: out, metrics };
}

/** AdamW state: first and second moments and the step count. */
export interface AdamState {
  m: Params;
  v: Params;
  step: number;
}

export function createAdamState(params: Params): AdamState {
  const m: Params = {};
  const v: Params = {};
  for (const [k, p] of Object.entries(params)) {
    m[k] = tf.zerosLike(p);
    v[k] = tf.zerosLike(p);
  }
  return { m, v, step: 0 };
}

/**
 * Clips the global norm and applies one AdamW update; returns the new params
 * (the old tensors, the gradients and the old moments are disposed) and the
 * pre-clip global gradient norm.
 */
export function adamStep(params: Params, grads: Params, state: AdamState, opt: OptimizerSpec): { params: Params; gradNorm: number } {
  const names = Object.keys(params);
  const normT = tf.tidy(() => tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n]))))));
  const gradNorm = normT.dataSync()[0];
  normT.dispose();
  const scale = opt.gradClip > 0 && gradNorm > opt.gradClip ? opt.gradClip / (gradNorm + 1e-6) : 1;
  state.step += 1;
  const bc1 = 1 - opt.beta1 ** state.step;
  const bc2 = 1 - opt.beta2 ** state.step;
  const next: Params = {};
  for (const n of names) {
    const [p, m, v] = tf.tidy(() => {
      const g = tf.mul(grads[n], scale);
      const m1 = tf.add(tf.mul(state.m[n], opt.beta1), tf.mul(g, 1 - opt.beta1));
      const v1 = tf.add(tf.mul(state.v[n], opt.beta2), tf.mul(tf.square(g), 1 - opt.beta2));
      let update = tf.div(tf.div(m1, bc1), tf.add(tf.sqrt(tf.div(v1, bc2)), opt.eps));
      if (opt.weightDecay > 0 && params[n].rank === 2) update = tf.add(update, tf.mul(params[n], opt.weightDecay));
      return [tf.sub(params[n], tf.mul(update, opt.learningRate)), m1, v1];
    });
    params[n].dispose();
    grads[n].dispose();
    state.m[n].dispose();
    state.v[n].dispose();
    next[n] = p;
    state.m[n] = m;
    state.v[n] = v;
  }
  return { params: next, gradNorm };
}
