/**
 * Kernel replacements for the tfjs wasm backend (pinned at 4.22.0), all
 * installed by `initEngine` and checked against the stock kernels in
 * kernels.test.ts and simd.test.ts: Identity, Cast, BatchMatMul, and (below)
 * _FusedMatMul, Sum over the rows of a matrix and the [0, 2, 1, 3] Transpose,
 * plus the fused elementwise kernels engine.ts's gelu registers (and
 * simd-norm.ts's layer norm and softmax-gradient kernels).
 *
 * **Identity without a copy.** While a gradient is being recorded, tfjs keeps
 * the inputs of nearly every op through `clone` (the Identity kernel), and the
 * wasm backend's Identity copies the data (≈200 copies per training step). The
 * replacement shares the data and counts a reference instead, as the wasm
 * backend's own Reshape does and as tfjs's cpu backend does for Identity;
 * tensors are immutable, so sharing is safe. Measured: 15–20% less CPU per
 * training step at the demo size.
 *
 * **Cast to the same dtype without a copy.** tfjs's gradients of Multiply,
 * RealDiv and others cast their saved inputs to float32 (`cast(b, 'float32')`),
 * and the wasm Cast kernel copies even when nothing changes (≈50 copies per
 * step). The replacement shares the data, as the sharing Identity does, when
 * the dtype stays the same, and calls the stock kernel otherwise.
 *
 * **BatchMatMul through the 2-D path.**
 * The stock wasm kernel uses XNNPACK only when both operands have batch size 1
 * and no transpose flag; every other product, attention's [B·H, L, d_h] ×
 * [B·H, d_h, L] among them, goes through a scalar blocked loop at ≈1–1.5
 * GFLOP/s, against 15–20 for the 2-D path (docs/embedded-engine-notes.md). This
 * kernel runs each batch element of a plain batched float32 product through the
 * backend's own 2-D path: for element i it registers three views with the wasm
 * runtime (tensor ids pointing at offsets into A, B and the output; no copies),
 * calls the backend's `BatchMatMul` export on [1, m, k] × [1, k, n], and
 * disposes the views again. Disposing matters: the backend caches one XNNPACK
 * operator (the packed right-hand matrix) per B tensor id and drops it when
 * that id is disposed, so each view gets a fresh id and is released at once.
 * Batch elements whose B has at most SIMD_MAX_B entries (all of attention's
 * per-head products at the demo size) skip XNNPACK's per-call operator
 * creation and packing: simd.ts multiplies all elements in one call, with the
 * same bits as the per-element XNNPACK path (a training step: about 6–9% less
 * CPU, docs/embedded-engine-notes.md).
 *
 * With transposeA, simd.ts reads A transposed in place (for a B too large
 * for it, the stock Transpose kernel runs first): attention's gradients use
 * the flag instead of transposing [N, L, L] tensors. A 2-D product with
 * transposeA (engine.ts's weight gradients xᵀ·dy, [6272, ·]ᵀ · [6272, ·] at
 * the demo size) is one such element of any size: simd.ts's passes of 128
 * inner indices keep its operands in the L2 cache, and nothing is packed or
 * transposed (2–3.5× faster than transposing and running XNNPACK).
 *
 * **2-D products through simd.ts.** Plain 2-D products, and the fused kernel
 * with a bias and no activation, of at least MIN_ROWS_2D rows (the training
 * step's [B·L, ·] products; not sampling's decode rows) go through simd.ts's
 * 2 × 16 blocking starting from the bias, as XNNPACK does, without XNNPACK's
 * packing of the right-hand matrix: the same bits, 20–45% faster per product.
 *
 * **Column sums and the heads' transpose.** Sum over axis 0 of a float32
 * matrix (bias and layer-norm gradients) is simd.ts's column sum, in the
 * stock kernel's order; the stock kernel transposes first and sums with a
 * scalar loop. The [0, 2, 1, 3] transpose of attention's heads (last
 * dimension a multiple of 4) copies whole rows.
 *
 * Anything else (transposeB, broadcast batch dimensions, batch size 1,
 * fewer than MIN_ROWS rows per element, an empty dimension, a non-float32
 * dtype) goes to the stock kernel unchanged, as does anything the kernels
 * below do not handle. The row limit is for sampling:
 * a decode step multiplies one query row per element, and packing each
 * element's right-hand matrix then costs more than the scalar loop (measured
 * at [256, m, 16] × [256, 16, 80]: m = 1 7× slower, 2 2× slower, 4 about even,
 * 8 2× faster).
 *
 * Both touch backend internals (`dataIdMap`, `incRef`,
 * `wasm.tfjs.registerTensor`, `disposeData`, the `BatchMatMul` export, the
 * module's memory `wasm.asm.memory`), which
 * is why the tfjs packages are pinned to exact versions in package.json and the
 * replacements are installed only on that version.
 */
import * as tf from '@tensorflow/tfjs-core';
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { type Expr, type SimdBmm, type SimdColSum, type SimdMap, type SimdSwap, createSimdKernels, createSimdMap, createSimdSwap } from './simd.js';

/** The tfjs-backend-wasm version whose internals these kernels were written and tested against; on any other the stock kernels stay. */
export const TESTED_WASM_VERSION = '4.22.0';

/** The parts of BackendWasm this kernel uses (the class itself is not exported with these members typed). */
export interface WasmBackendInternals {
  dataIdNextNumber: number;
  incRef(dataId: object): void;
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } };
  disposeData(dataId: object): boolean;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  wasm: {
    cwrap(name: string, ret: null, args: string[]): (...args: unknown[]) => void;
    tfjs: { registerTensor(id: number, size: number, memoryOffset: number): void; disposeData(id: number): void };
    asm?: { memory?: object };
  };
}

type WasmBatchMatMul = (aId: number, aShape: Uint8Array, aRank: number, bId: number, bShape: Uint8Array, bRank: number, transposeA: boolean, transposeB: boolean, outId: number) => void;

/** Batch elements whose B has at most this many entries go through simd.ts (B stays in the L1 cache while each row of A passes over it). */
export const SIMD_MAX_B = 4096;

/** Fewer rows per batch element than this go to the stock kernel (see above). */
export const MIN_ROWS = 8;

/** Plain 2-D products (and fused ones with a bias) with at least this many rows go through simd.ts instead of XNNPACK (training's [B·L, ·] products; sampling's decode rows stay on XNNPACK). */
export const MIN_ROWS_2D = 256;

let wasmBatchMatMul: WasmBatchMatMul | null = null;
let wasmOwner: unknown = null;
let simdBmm: SimdBmm | null = null;
let simdBmmWide: SimdBmm | null = null;
let simdSwap: SimdSwap | null = null;
let simdColSum: SimdColSum | null = null;
let active = false;
/** Whether products and column sums go through simd.ts (tests turn it off to compare with the XNNPACK path). */
let useSimd = true;

/** Routes products through simd.ts (default) or through XNNPACK (per element for batches), column sums through the stock Sum; for tests and benchmarks. */
export function useSimdBmm(on: boolean): void {
  useSimd = on;
}

/** Whether simd.ts's kernel is bound to the backend's memory (after the first fast product with a batch). */
export function simdBmmBound(): boolean {
  return simdBmm !== null;
}

/** Whether the replacements are installed (engine.ts then arranges weight gradients for them). */
export function fastKernelsActive(): boolean {
  return active;
}

/** Binds the BatchMatMul export and simd.ts's kernels to the backend's module (once per module). */
function bind(backend: WasmBackendInternals): void {
  if (wasmBatchMatMul !== null && wasmOwner === backend.wasm) return;
  wasmBatchMatMul = backend.wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']) as WasmBatchMatMul;
  const memory = backend.wasm.asm?.memory;
  const kernels = memory === undefined ? null : createSimdKernels(memory);
  simdBmm = kernels?.bmm ?? null;
  simdBmmWide = kernels?.bmmWide ?? null;
  simdSwap = memory === undefined ? null : createSimdSwap(memory);
  simdColSum = kernels?.colsum ?? null;
  wasmOwner = backend.wasm;
}

const shapeBytes = (shape: number[]): Uint8Array => new Uint8Array(new Int32Array(shape).buffer);
const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

function viewKernel(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const attrs = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
  const ra = a.shape.length;
  const rb = b.shape.length;
  const batchA = a.shape.slice(0, -2);
  const sameBatch = ra === rb && batchA.every((x, i) => x === b.shape[i]);
  const N = size(batchA);
  const tA = attrs.transposeA === true;
  const [m, k] = tA ? [a.shape[ra - 1], a.shape[ra - 2]] : [a.shape[ra - 2], a.shape[ra - 1]];
  const n = b.shape[rb - 1];
  const stock = stockKernel('BatchMatMul');
  if (ra === 2 && rb === 2 && !tA && !attrs.transposeB) return plain2d(args, stock, a, b, null, [m, n]);
  // a 2-D product with A transposed (weight gradients xᵀ·dy, engine.ts) is one batch element
  const twoD = ra === 2 && rb === 2 && tA;
  if (attrs.transposeB || !sameBatch || ((ra < 3 || N < 2) && !twoD) || m < MIN_ROWS || k * n === 0 || a.dtype !== 'float32' || b.dtype !== 'float32' || b.shape[rb - 2] !== k)
    return stock.kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  const backend = args.backend as WasmBackendInternals;
  bind(backend);
  const simd = useSimd && simdBmm !== null && (k * n <= SIMD_MAX_B || twoD);
  // A transposed for XNNPACK: the stock Transpose kernel first (simd.ts reads it in place)
  const aT = tA && !simd ? (transposeKernel().kernelFunc({ inputs: { x: a }, backend: args.backend, attrs: { perm: [...batchA.map((_, i) => i), ra - 1, ra - 2] } } as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo) : null;
  const out = backend.makeOutput([...batchA, m, n], 'float32');
  const aOff = backend.dataIdMap.get((aT ?? a).dataId).memoryOffset;
  const bOff = backend.dataIdMap.get(b.dataId).memoryOffset;
  const oOff = backend.dataIdMap.get(out.dataId).memoryOffset;
  if (simd && simdBmm !== null) {
    (tA ? simdBmm : (simdBmmWide ?? simdBmm))(aOff, bOff, oOff, N, m, k, n, tA ? 4 : 4 * k, tA ? 4 * m : 4, 0);
    return out;
  }
  const aShape = shapeBytes([1, m, k]);
  const bShape = shapeBytes([1, k, n]);
  const { tfjs } = backend.wasm;
  const run = wasmBatchMatMul as WasmBatchMatMul;
  for (let i = 0; i < N; i++) {
    // Fresh ids every time (never reused: the backend keys cached XNNPACK operators on the B id).
    const ia = backend.dataIdNextNumber++;
    const ib = backend.dataIdNextNumber++;
    const io = backend.dataIdNextNumber++;
    tfjs.registerTensor(ia, m * k, aOff + 4 * i * m * k);
    tfjs.registerTensor(ib, k * n, bOff + 4 * i * k * n);
    tfjs.registerTensor(io, m * n, oOff + 4 * i * m * n);
    run(ia, aShape, 3, ib, bShape, 3, false, false, io);
    tfjs.disposeData(ia);
    tfjs.disposeData(ib);
    tfjs.disposeData(io);
  }
  if (aT !== null) backend.disposeData(aT.dataId);
  return out;
}

/**
 * A plain product a [m, k] · b [k, n] (or [1, m, k] · [1, k, n]), with a bias [n] to start from (the fused kernel),
 * through simd.ts's wide blocking when it has at least MIN_ROWS_2D rows; otherwise the stock kernel. XNNPACK starts
 * each output at its bias (zero without one) and adds the products in order, as simd.ts does.
 */
function plain2d(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }, fallback: tf.KernelConfig, a: tf.TensorInfo, b: tf.TensorInfo, bias: tf.TensorInfo | null, [m, n]: [number, number]): tf.TensorInfo {
  const k = a.shape[a.shape.length - 1];
  const backend = args.backend as WasmBackendInternals;
  const fits = m >= MIN_ROWS_2D && k * n > 0 && a.dtype === 'float32' && b.dtype === 'float32' && b.shape[b.shape.length - 2] === k && (bias === null || (bias.dtype === 'float32' && bias.shape.length === 1 && bias.shape[0] === n));
  if (fits) bind(backend);
  if (!fits || !useSimd || simdBmmWide === null) return fallback.kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  const out = backend.makeOutput([...a.shape.slice(0, -2), m, n], 'float32');
  const offset = (t: tf.TensorInfo): number => backend.dataIdMap.get(t.dataId).memoryOffset;
  simdBmmWide(offset(a), offset(b), offset(out), 1, m, k, n, 4 * k, 4, bias === null ? 0 : offset(bias));
  return out;
}

/** The fused product: with a bias (or none), no transposes, no activation, batch 1, through plain2d; anything else to the stock kernel. */
function fusedKernel(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { a, b, bias, preluActivationWeights } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo; bias?: tf.TensorInfo; preluActivationWeights?: tf.TensorInfo };
  const attrs = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean; activation?: string };
  const stockFused = stockKernel('_FusedMatMul');
  const plain = a.shape.length === 3 && b.shape.length === 3 && a.shape[0] === 1 && b.shape[0] === 1 && !attrs.transposeA && !attrs.transposeB && (attrs.activation ?? 'linear') === 'linear' && preluActivationWeights == null;
  if (!plain) return stockFused.kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  return plain2d(args, stockFused, a, b, bias ?? null, [a.shape[1], b.shape[2]]);
}

/** Sum over axis 0 of a 2-D float32 tensor (the bias and layer-norm gradients) through simd.ts; anything else to the stock kernel. */
function columnSum(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { axis, keepDims } = (args.attrs ?? {}) as { axis?: number | number[]; keepDims?: boolean };
  const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => (a !== undefined && a < 0 ? a + x.shape.length : a));
  const backend = args.backend as WasmBackendInternals;
  const fits = x.shape.length === 2 && axes.length === 1 && axes[0] === 0 && x.dtype === 'float32' && x.shape[1] > 0;
  if (fits) bind(backend);
  if (!fits || !useSimd || simdColSum === null) return stockKernel('Sum').kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  const [rows, cols] = x.shape;
  const out = backend.makeOutput(keepDims === true ? [1, cols] : [cols], 'float32');
  simdColSum(backend.dataIdMap.get(x.dataId).memoryOffset, backend.dataIdMap.get(out.dataId).memoryOffset, rows, cols);
  return out;
}

/**
 * A float32 elementwise expression over same-shape tensors as one kernel `name` of the wasm backend (simd.ts's
 * createSimdMap, compiled on first use per backend module): `fusedElementwise(name, expr)(...inputs)`. The caller
 * writes the same expression with stock ops for when the replacements are off (engine.ts's gelu).
 */
export function fusedElementwise(name: string, expr: Expr): (...inputs: tf.Tensor[]) => tf.Tensor {
  let map: SimdMap | null = null;
  let owner: unknown = null;
  const kernelFunc = (args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo => {
    const xs = Object.values(args.inputs) as tf.TensorInfo[];
    const backend = args.backend as WasmBackendInternals;
    if (xs.length === 0 || xs.length > 3 || xs.some((x) => x.dtype !== 'float32' || x.shape.length !== xs[0].shape.length || x.shape.some((d, i) => d !== xs[0].shape[i])))
      throw new Error(`${name}: 1 to 3 float32 inputs of one shape expected`);
    if (map === null || owner !== backend.wasm) {
      const memory = backend.wasm.asm?.memory;
      map = memory === undefined ? null : createSimdMap(memory, expr);
      owner = backend.wasm;
      if (map === null) throw new Error(`${name}: WebAssembly SIMD is unavailable`);
    }
    const out = backend.makeOutput(xs[0].shape, 'float32');
    const at = (i: number): number => backend.dataIdMap.get(xs[Math.min(i, xs.length - 1)].dataId).memoryOffset;
    map(at(0), at(1), at(2), backend.dataIdMap.get(out.dataId).memoryOffset, size(xs[0].shape));
    return out;
  };
  if (tf.getKernel(name, 'wasm') === undefined) tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  return (...inputs) => tf.engine().runKernel(name, Object.fromEntries(inputs.map((t, i) => [`x${i}`, t]))) as tf.Tensor;
}

function transposeKernel(): tf.KernelConfig {
  const kernel = stockKernels?.Transpose ?? tf.getKernel('Transpose', 'wasm');
  if (kernel === undefined) throw new Error('the tfjs wasm backend has no Transpose kernel registered');
  return kernel;
}

/** The transpose [0, 2, 1, 3] of a float32 tensor whose last dimension is a multiple of 4 (attention's heads) as row copies through simd.ts; any other to the stock kernel. */
function headsTranspose(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { perm } = (args.attrs ?? {}) as { perm?: number[] };
  const backend = args.backend as WasmBackendInternals;
  const fits = x.dtype === 'float32' && x.shape.length === 4 && perm !== undefined && perm.join() === '0,2,1,3' && x.shape[3] % 4 === 0 && size(x.shape) > 0;
  if (fits) bind(backend);
  if (!fits || simdSwap === null) return transposeKernel().kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  const [n0, n1, n2, n3] = x.shape;
  const out = backend.makeOutput([n0, n2, n1, n3], 'float32');
  simdSwap(backend.dataIdMap.get(x.dataId).memoryOffset, backend.dataIdMap.get(out.dataId).memoryOffset, n0, n1, n2, n3);
  return out;
}

/** Identity that shares the input's data (one more reference) instead of copying it. */
function sharingIdentity(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (x.dtype === 'string') return stockKernel('Identity').kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  (args.backend as WasmBackendInternals).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** Cast that shares the input's data when the dtype does not change. */
function sameDtypeCast(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { dtype } = (args.attrs ?? {}) as { dtype?: tf.DataType };
  if (dtype !== x.dtype || x.dtype === 'string') return stockKernel('Cast').kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  (args.backend as WasmBackendInternals).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** The kernels replaced, by name, and their replacements. */
const REPLACEMENTS = {
  BatchMatMul: viewKernel,
  _FusedMatMul: fusedKernel,
  Identity: sharingIdentity,
  Cast: sameDtypeCast,
  Sum: columnSum,
  Transpose: headsTranspose,
} as const;
type Replaced = keyof typeof REPLACEMENTS;
const REPLACED = Object.keys(REPLACEMENTS) as Replaced[];

/** The stock kernels, taken from the registry on the first useFastKernels call; each replacement falls back to its own. */
let stockKernels: Record<Replaced, tf.KernelConfig> | null = null;
let fastKernels: Record<Replaced, tf.KernelConfig> | null = null;

function stockKernel(name: Replaced): tf.KernelConfig {
  if (stockKernels === null) throw new Error(`the ${name} replacement was used before installation`);
  return stockKernels[name];
}

function swap(name: string, want: tf.KernelConfig): void {
  if (tf.getKernel(name, 'wasm') === want) return;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel(want);
}

/**
 * Selects the wasm backend's BatchMatMul, _FusedMatMul, Identity, Cast, Sum and
 * Transpose kernels: the replacements above (`true`) or the stock ones
 * (`false`; engine.ts then also computes gelu and the weight gradients with
 * stock ops, as before the replacements). Call after the wasm
 * backend is initialised (`initEngine` does, with `true`); safe to call
 * repeatedly. Returns whether the replacements are now installed (never on a
 * tfjs-backend-wasm other than TESTED_WASM_VERSION).
 */
export function useFastKernels(on: boolean): boolean {
  if (stockKernels === null) {
    const found = REPLACED.map((name) => [name, tf.getKernel(name, 'wasm')] as const);
    const missing = found.filter(([, kernel]) => kernel === undefined).map(([name]) => name);
    if (missing.length > 0) throw new Error(`the tfjs wasm backend has no ${missing.join(', ')} kernel registered`);
    stockKernels = Object.fromEntries(found) as Record<Replaced, tf.KernelConfig>;
    fastKernels = Object.fromEntries(
      REPLACED.map((name) => [name, { kernelName: name, backendName: 'wasm', kernelFunc: REPLACEMENTS[name] as unknown as tf.KernelFunc }]),
    ) as Record<Replaced, tf.KernelConfig>;
  }
  active = on && version_wasm === TESTED_WASM_VERSION;
  for (const name of REPLACED) swap(name, (active ? (fastKernels as Record<Replaced, tf.KernelConfig>) : stockKernels)[name]);
  return active;
}
