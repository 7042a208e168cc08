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
 * - XNNPACK packs the right-hand matrix of every product (≈6 ns per element
 *   here, a transpose costs 0.4–1.5): a product whose right-hand side is
 *   thousands of rows tall (weight gradients) or used once per batch element
 *   (attention) pays for it. With kernels.ts's replacements, weight gradients
 *   are xᵀ·dy with the transposeA flag (simd.ts reads x in place and packs
 *   nothing) and bias gradients column sums; on the stock kernels the
 *   gradients below pick the arrangement that packs the smaller operand
 *   (`weightGrad`, `bmmNT`), with the same bits either way;
 * - the gradient of `gather` needs a kernel the wasm backend lacks, and its
 *   Gather kernel is slow (≈30 ns per element): token embedding (`embed`) copies
 *   rows on the CPU and its gradient is a scatter-add there;
 * - autodiff through elementwise formulas costs about twice the ops of a
 *   written-out gradient, plus casts and [N, d] ones tensors built in JS for
 *   means: `gelu`, `layerNorm` and `logSumExpRows` carry their own;
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
import { fastKernelsActive, fusedElementwise, useFastKernels } from './kernels.js';
import { type Expr, simdSupported } from './simd.js';
import { layerNormBackward, layerNormForward, softmaxBackward } from './simd-norm.js';

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

/**
 * A 2-D transpose. A width that is a multiple of 64 above 64 goes through 64-column blocks
 * ([r, c] → [c/64, r, 64] → [c/64, 64, r]): the plain kernel's writes at a power-of-two stride thrash the
 * cache (measured at [6272, 256]: 3.6 → 2.2 ms).
 */
export function transpose2d(t: tf.Tensor2D): tf.Tensor2D {
  const [r, c] = t.shape;
  if (c <= 64 || c % 64 !== 0) return tf.transpose(t);
  return tf.tidy(() => tf.reshape(tf.transpose(tf.transpose(tf.reshape(t, [r, c / 64, 64]), [1, 0, 2]), [0, 2, 1]), [c, r])) as tf.Tensor2D;
}

/**
 * xᵀ·g for x [N, a] and g [N, b] (a weight gradient). With kernels.ts's replacements: one product with the
 * transposeA flag (simd.ts). On the stock kernels, arranged so that the narrower of the two is the
 * right-hand operand. XNNPACK packs the right-hand matrix of every product it runs (≈6 ns per element here,
 * against ≈1–1.5 for a transpose), and both operands here are N rows tall: packing the [6272, 64] one and
 * transposing the [6272, 256] one costs 4–5 ms less than the other way round.
 */
function weightGrad(x: tf.Tensor2D, g: tf.Tensor2D): tf.Tensor2D {
  if (fastKernelsActive()) return tf.matMul(x, g, true, false); // simd.ts reads x transposed in place, packs nothing
  return x.shape[1] < g.shape[1] ? tf.transpose(tf.matMul(transpose2d(g), x)) : tf.matMul(transpose2d(x), g);
}

const linearNoBias = tf.customGrad(((x: tf.Tensor, w: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    value: tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const g = dy as tf.Tensor2D;
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(g, tf.transpose(ws)), weightGrad(xs, g)];
    },
  };
}) as unknown as CustomFn) as (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;

const linearBias = tf.customGrad(((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    // the bias goes into the product (XNNPACK starts each output at its bias): no separate Add over [N, out]
    value: tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b }),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const g = dy as tf.Tensor2D;
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      const [n, inner, out] = [g.shape[0], ws.shape[0], ws.shape[1]];
      // with kernels.ts's kernels: xᵀ·dy through simd.ts (x read transposed in place) and db as its column sum
      if (fastKernelsActive()) return [tf.matMul(g, tf.transpose(ws)), tf.matMul(xs, g, true, false), tf.sum(g, 0)];
      // db = Σ_rows dy as a product with a ones vector (the backend's column-sum, Sum over axis 0, is several
      // times slower). When dy is the right-hand operand of dW (out ≤ in), ones·dy reuses the packing XNNPACK
      // cached for dy; otherwise dyᵀ is at hand and dyᵀ·ones packs only the ones.
      if (inner < out) {
        const gT = transpose2d(g);
        const dW = tf.transpose(tf.matMul(gT, xs));
        const db = tf.reshape(tf.matMul(gT, tf.ones([n, 1]) as tf.Tensor2D), [out]);
        return [tf.matMul(g, tf.transpose(ws)), dW, db];
      }
      const dW = tf.matMul(transpose2d(xs), g);
      const db = tf.reshape(tf.matMul(tf.ones([1, n]) as tf.Tensor2D, g), [out]);
      return [tf.matMul(g, tf.transpose(ws)), dW, db];
    },
  };
}) as unknown as CustomFn) as (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;

/** Batched a·b for a [N, m, k], b [N, k, n]; the gradient for b is aᵀ·dy through the transposeA flag (kernels.ts reads a transposed in place). */
export const bmm = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const g = dy as tf.Tensor3D;
      const [as, bs] = saved as [tf.Tensor3D, tf.Tensor3D];
      return [tf.matMul(g, tf.transpose(bs, [0, 2, 1])), tf.matMul(as, g, true, false)];
    },
  };
}) as unknown as CustomFn) as (a: tf.Tensor3D, b: tf.Tensor3D) => tf.Tensor3D;

/**
 * Batched a·bᵀ for a [N, m, k], b [N, n, k] (attention scores: q·kᵀ). The gradient for b is computed as
 * dyᵀ·a ([N, n, m] × [N, m, k]) rather than as the transpose of aᵀ·dy: with k = d_head = 16 the latter is a
 * 16-row product whose right-hand [m, n] matrix XNNPACK packs per batch element (measured 9.7 ms at
 * [256, 98, 98]), while dyᵀ·a (the transposeA flag: kernels.ts reads dy transposed in place) packs nothing.
 */
export const bmmNT = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor3D, tf.transpose(b, [0, 2, 1]) as tf.Tensor3D),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const g = dy as tf.Tensor3D;
      const [as, bs] = saved as [tf.Tensor3D, tf.Tensor3D];
      return [tf.matMul(g, bs), tf.matMul(g, as, true, false)];
    },
  };
}) as unknown as CustomFn) as (a: tf.Tensor3D, b: tf.Tensor3D) => tf.Tensor3D;

/**
 * Rows of `table` [V, d] at `ids`, copied on the CPU: the wasm backend's Gather kernel takes ≈10 ms for 5,248
 * rows of 64 (30 ns per element), a copy of the table out and the rows back in well under 1 ms.
 */
export function gatherRows(table: tf.Tensor2D, ids: ArrayLike<number>): tf.Tensor2D {
  const [V, d] = table.shape;
  const t = table.dataSync() as Float32Array;
  const out = new Float32Array(ids.length * d);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!(id >= 0 && id < V)) throw new RangeError(`row index ${id} outside [0, ${V})`);
    out.set(t.subarray(id * d, id * d + d), i * d);
  }
  return tf.tensor2d(out, [ids.length, d]);
}

/**
 * Rows of `table` [V, d] at `ids` (token embedding), differentiable in `table`. tf.gather's own gradient
 * needs a kernel the wasm backend lacks (UnsortedSegmentSum); this one adds the rows of dy into a [V, d]
 * array on the CPU, which is also far cheaper than the one-hot × matrix products it replaces (a forward
 * and two backward products of [n, V] × [V, d] size).
 */
export function embed(table: tf.Tensor2D, ids: Int32Array): tf.Tensor2D {
  const [V, d] = table.shape;
  const f = tf.customGrad(((t: tf.Tensor) => ({
    value: gatherRows(t as tf.Tensor2D, ids),
    gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
      const g = (dy as tf.Tensor).dataSync() as Float32Array;
      const out = new Float32Array(V * d);
      for (let i = 0; i < ids.length; i++) {
        const src = i * d;
        const dst = ids[i] * d;
        for (let j = 0; j < d; j++) out[dst + j] += g[src + j];
      }
      return [tf.tensor2d(out, [V, d])];
    },
  })) as unknown as CustomFn) as (t: tf.Tensor2D) => tf.Tensor2D;
  return f(table);
}

const GELU_C = 2 * Math.sqrt(2 / Math.PI);

/**
 * The two elementwise chains of gelu as single kernels (kernels.ts's fusedElementwise): the same float32 operations
 * in the same order as the tfjs ops written out below, so the same bits, without the intermediate [N, ff] tensors
 * (the forward's argument of σ: 5 ops; the gradient: 9). Built on first use.
 */
type GeluKernels = { argument: (x: tf.Tensor) => tf.Tensor; gradient: (dy: tf.Tensor, x: tf.Tensor, s: tf.Tensor) => tf.Tensor };
let geluKernels: GeluKernels | null = null;
function fusedGelu(): GeluKernels {
  if (geluKernels !== null) return geluKernels;
  const mul = (a: Expr, b: Expr): Expr => ({ op: 'mul', a, b });
  const add = (a: Expr, b: Expr): Expr => ({ op: 'add', a, b });
  const x: Expr = { in: 0 };
  // GELU_C·(x + 0.044715·(x·(x·x)))
  const argument = fusedElementwise('MrpoGeluArgument', mul({ c: GELU_C }, add(x, mul({ c: 0.044715 }, mul(x, mul(x, x))))));
  // inputs dy, x, s: dy·(s + (x·((x·x)·3·0.044715·GELU_C + GELU_C))·(s·(1 − s)))
  const [dy, gx, gs]: Expr[] = [{ in: 0 }, { in: 1 }, { in: 2 }];
  const slope = add(mul(mul(gx, gx), { c: 3 * 0.044715 * GELU_C }), { c: GELU_C });
  const gradient = fusedElementwise('MrpoGeluGradient', mul(dy, add(gs, mul(mul(gx, slope), mul(gs, { op: 'sub', a: { c: 1 }, b: gs })))));
  geluKernels = { argument: (t) => argument(t), gradient: (d, t, sg) => gradient(d, t, sg) };
  return geluKernels;
}
const geluArgument = (): GeluKernels['argument'] => fusedGelu().argument;
const geluGradient = (): GeluKernels['gradient'] => fusedGelu().gradient;

/**
 * GELU, tanh form: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), computed as
 * x·σ(2·√(2/π)·(x + 0.044715·x³)) — the same function (0.5·(1 + tanh z) = σ(2z));
 * the backend's sigmoid is several times faster than its tanh. The gradient is
 * written out, σ + x·σ·(1 − σ)·2·√(2/π)·(1 + 3·0.044715·x²): 9 elementwise ops
 * where autodiff through the forward takes about twice as many, plus casts.
 */
export const gelu = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const fused = fastKernelsActive() && simdSupported();
  const s = tf.sigmoid(fused ? geluArgument()(x) : tf.mul(GELU_C, tf.add(x, tf.mul(0.044715, tf.mul(x, tf.mul(x, x))))));
  save([x, s]);
  return {
    value: tf.mul(x, s),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const [xs, ss] = saved;
      if (fused) return [geluGradient()(dy as tf.Tensor, xs, ss)];
      const slope = tf.add(tf.mul(tf.square(xs), 3 * 0.044715 * GELU_C), GELU_C); // dz/dx
      const dsig = tf.mul(ss, tf.sub(1, ss));
      return [tf.mul(dy as tf.Tensor, tf.add(ss, tf.mul(tf.mul(xs, slope), dsig)))];
    },
  };
}) as unknown as CustomFn) as (x: tf.Tensor) => tf.Tensor;

const softmaxFusedGrad = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const y = tf.softmax(x);
  save([y]);
  return { value: y, gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => [softmaxBackward(dy as tf.Tensor, saved[0])] };
}) as unknown as CustomFn) as (x: tf.Tensor) => tf.Tensor;

/**
 * tf.softmax over the last axis. With kernels.ts's replacements its gradient, tfjs's dy·y − (Σ dy·y)·y (four ops
 * over attention's [B, H, L, L]), is one simd-norm.ts kernel with the same float32 operations in the same order.
 */
export function softmaxLast(x: tf.Tensor): tf.Tensor {
  return fastKernelsActive() && simdSupported() ? softmaxFusedGrad(x) : tf.softmax(x);
}

/**
 * log Σ_j exp(x_ij) over the last axis of x [N, V], keeping the axis; gradient
 * dy·softmax(x). Computed from the backend's Softmax kernel (XNNPACK, with a
 * vectorised exp: ≈5× faster here than the Exp kernel on the same tensor): at
 * the row maximum m, softmax = exp(m − lse), so lse = m − log(max_j softmax_j),
 * a log of a number in [1/V, 1]. The softmax is kept for the gradient. (tfjs's
 * logSumExp differentiates through its max with a slow broadcast Equal.)
 */
export const logSumExpRows = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const sm = tf.softmax(x);
  const lse = tf.sub(tf.max(x, -1, true), tf.log(tf.max(sm, -1, true)));
  save([sm]);
  return {
    value: lse,
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => [tf.mul(dy as tf.Tensor, saved[0])],
  };
}) as unknown as CustomFn) as (x: tf.Tensor2D) => tf.Tensor2D;

/**
 * Layer norm over the last axis of x [N, d] with gain g and bias b (eps 1e-5).
 * The gradient is written out (x̂ = (x − μ)·r, r = 1/√(σ² + ε)):
 * dx = r·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) with dx̂ = dy·g, dg = Σ_rows dy·x̂,
 * db = Σ_rows dy: a dozen ops where autodiff through the means, the square and
 * the rsqrt takes two dozen and builds two [N, d] ones tensors in JS.
 */
export const layerNorm = tf.customGrad(((x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  if (fastKernelsActive() && simdSupported() && x.rank === 2) {
    // simd-norm.ts: the same float32 operations as the ops below, in one kernel each way
    const [y, xhat, r] = layerNormForward(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5);
    save([xhat, r, g]);
    return { value: y, gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => layerNormBackward(dy as tf.Tensor, saved[0], saved[1], saved[2]) };
  }
  const centred = tf.sub(x, tf.mean(x, -1, true));
  const r = tf.rsqrt(tf.add(tf.mean(tf.square(centred), -1, true), 1e-5));
  const xhat = tf.mul(centred, r);
  save([xhat, r, g]);
  return {
    value: tf.add(tf.mul(xhat, g), b),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const d = dy as tf.Tensor;
      const [xh, rs, gs] = saved;
      const dxhat = tf.mul(d, gs);
      const dx = tf.mul(tf.sub(tf.sub(dxhat, tf.mean(dxhat, -1, true)), tf.mul(xh, tf.mean(tf.mul(dxhat, xh), -1, true))), rs);
      return [dx, tf.sum(tf.mul(d, xh), 0), tf.sum(d, 0)];
    },
  };
}) as unknown as CustomFn) as (x: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D) => tf.Tensor2D;
