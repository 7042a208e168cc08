/**
 * The tensor engine of the embedded policy: TensorFlow.js core on its WebAssembly
 * (SIMD) backend, plus the few differentiable building blocks the model needs
 * written so that they run fast on that backend.
 *
 * Why tfjs-wasm (measured 2026-11-25 on the project's 2-core Node 20 machine,
 * shared with other agents' jobs: load average 8–14, so wall-clock figures are
 * 2–4× slower than CPU-time figures and vary ±30%; CPU time is quoted):
 * - 512³ matmul: tfjs-wasm 4.22 14–22 GFLOP/s per CPU-second (15–21
 *   wall-clock at quieter moments) vs @jax-js/jax 0.1.25 (jit) 11–14 (12.4
 *   wall-clock); a tfjs matMul with a transpose flag: 0.7;
 * - the policy at the demo size (bench/embedded.bench.ts: 0.14M parameters,
 *   64 rows × ~92 positions): one policy-gradient step 2.0–2.3 CPU-s
 *   (1,400–1,600 completion tokens per CPU-second, 0.16 of the matmul rate),
 *   sampling 64 × 50 tokens 0.9–1.1 CPU-s (2,600–3,200 tokens per CPU-second).
 * The notes (docs/embedded-engine-notes.md) measured jax-js ≈1.6× faster at
 * training and ≈2× slower at sampling, on a pre-1.0 API with manual reference
 * counting; one RL iteration is one sampling pass plus one training step, so
 * the two come out about even, and tfjs is the mature one. Everything
 * engine-specific stays in this folder, behind the PolicyBackend interface.
 *
 * Engine pitfalls handled here:
 * - tfjs-core alone has no gradients registered (its bundles drop them); the
 *   `@tensorflow/tfjs` union package is imported for that side effect;
 * - a matMul with a transpose flag runs at <1 GFLOP/s on this backend (measured
 *   0.7 vs 16.8), and autodiff produces such matMuls; `linear` and `bmm` carry
 *   custom gradients that transpose explicitly and then multiply plainly;
 * - the stock batched matMul (attention: [B·H, L, d_h] × [B·H, d_h, L]) runs a
 *   scalar loop at ≈1–1.7 GFLOP/s per CPU-second and was over half of a
 *   training step: `initEngine` replaces it with a kernel that runs each batch
 *   element through the backend's 2-D XNNPACK path (kernels.ts);
 * - the gradient of `gather` needs a kernel the wasm backend lacks, so token
 *   embedding is one-hot × matrix (through `linear`);
 * - the wasm OneHot kernel ignores a float32 dtype (it writes int32 bits):
 *   one-hot rows are made as int32 and cast;
 * - there is no `gelu` op: the tanh form is written out (through sigmoid);
 * - a few kernels are slow on this backend and are avoided: SplitV on rank-4
 *   tensors (separate q/k/v projections instead), broadcast Equal (in the
 *   gradient of logSumExp: `logSumExpRows`), tanh (sigmoid instead);
 * - multi-threading is off under Node and forcing it silently falls back to the
 *   slow `cpu` backend: `initEngine` asserts the active backend is `wasm`.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's bundles carry no gradient definitions; the union package registers them into the same core.
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { MrpoError } from '../../errors.js';
import { useFastKernels } from './kernels.js';

export { tf };

let ready: Promise<void> | null = null;

/** Selects the wasm backend once per process (tfjs's engine is process-wide) and checks it took. */
export function initEngine(): Promise<void> {
  ready ??= (async () => {
    const ok = await tf.setBackend('wasm');
    await tf.ready();
    if (!ok || tf.getBackend() !== 'wasm')
      throw new MrpoError(`the embedded policy needs the tfjs "wasm" backend, but tfjs is running "${tf.getBackend()}"`);
    useFastKernels(true);
  })();
  return ready;
}

/** The argument type of tf.customGrad (its declared type has no fixed arity). */
type CustomFn = Parameters<typeof tf.customGrad>[0];

/** y = x·W (+ b) for x [N, in], W [in, out], b [out]; gradients use explicit transposes. */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor2D {
  return b === undefined ? linearNoBias(x, w) : linearBias(x, w, b);
}

const linearNoBias = tf.customGrad(((x: tf.Tensor, w: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    value: tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const g = dy as tf.Tensor2D;
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      // dW = xᵀ·dy, or (dyᵀ·x)ᵀ when out < in: transposing the narrower of x and dy (N rows each) costs less.
      const dW = ws.shape[0] <= ws.shape[1] ? tf.matMul(tf.transpose(xs), g) : tf.transpose(tf.matMul(tf.transpose(g), xs));
      return [tf.matMul(g, tf.transpose(ws)), dW];
    },
  };
}) as unknown as CustomFn) as (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;

const linearBias = tf.customGrad(((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    value: tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const g = dy as tf.Tensor2D;
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      const [n, inner, out] = [g.shape[0], ws.shape[0], ws.shape[1]];
      // Transpose the narrower of x and dy (N rows each): measured at N = 6,272, 7.6 vs 11.1 ms for 64 → 256 and
      // 6.6 vs 10.5 ms for 256 → 64, dW and db together. db = Σ_rows dy as a product with a ones vector (the
      // backend's column-sum, Sum over axis 0, is several times slower).
      if (inner <= out) {
        const dW = tf.matMul(tf.transpose(xs), g);
        const db = tf.reshape(tf.matMul(tf.ones([1, n]) as tf.Tensor2D, g), [out]);
        return [tf.matMul(g, tf.transpose(ws)), dW, db];
      }
      const gT = tf.transpose(g);
      const dW = tf.transpose(tf.matMul(gT, xs));
      const db = tf.reshape(tf.matMul(gT, tf.ones([n, 1]) as tf.Tensor2D), [out]);
      return [tf.matMul(g, tf.transpose(ws)), dW, db];
    },
  };
}) as unknown as CustomFn) as (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;

/** Batched a·b for a [N, m, k], b [N, k, n]; gradients use explicit transposes. */
export const bmm = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const g = dy as tf.Tensor3D;
      const [as, bs] = saved as [tf.Tensor3D, tf.Tensor3D];
      return [tf.matMul(g, tf.transpose(bs, [0, 2, 1])), tf.matMul(tf.transpose(as, [0, 2, 1]), g)];
    },
  };
}) as unknown as CustomFn) as (a: tf.Tensor3D, b: tf.Tensor3D) => tf.Tensor3D;

/**
 * GELU, tanh form: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), computed as
 * x·σ(2·√(2/π)·(x + 0.044715·x³)) — the same function (0.5·(1 + tanh z) = σ(2z));
 * the backend's sigmoid is several times faster than its tanh.
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(2 * Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.mul(x, tf.mul(x, x)))));
  return tf.mul(x, tf.sigmoid(inner));
}

/**
 * log Σ_j exp(x_ij) over the last axis of x [N, V], keeping the axis; gradient
 * dy·softmax(x). (tfjs's logSumExp differentiates through its max with a slow
 * broadcast Equal.)
 */
export const logSumExpRows = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const m = tf.max(x, -1, true);
  const lse = tf.add(m, tf.log(tf.sum(tf.exp(tf.sub(x, m)), -1, true)));
  save([x, lse]);
  return {
    value: lse,
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const [xs, l] = saved;
      return [tf.mul(dy as tf.Tensor, tf.exp(tf.sub(xs, l)))];
    },
  };
}) as unknown as CustomFn) as (x: tf.Tensor2D) => tf.Tensor2D;

/** Layer norm over the last axis with gain g and bias b (eps 1e-5). */
export function layerNorm(x: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D): tf.Tensor2D {
  const mean = tf.mean(x, -1, true);
  const centred = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centred), -1, true);
  return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, 1e-5))), g), b);
}
