/**
 * Layer norm's forward and backward passes (engine.ts `layerNorm`) as two
 * hand-encoded wasm SIMD functions on the tfjs wasm backend's memory, each
 * doing the float32 operations of the stock ops it replaces in their order, so
 * the bits are the same (simd.test.ts): row sums from zero over j = 0, 1, … in
 * order and divided by d (the stock Mean kernel), 1 / √ as two roundings (the
 * stock Rsqrt), elementwise products and sums rounded one by one, and the
 * gain and bias gradients as column sums from zero over the rows in order
 * (the stock Sum over axis 0). Row sums are scalar; the rest runs four lanes
 * at a time with a scalar tail.
 *
 * forward(x, g, b, y, xhat, r, rows, d, eps), all [rows, d] row-major but g, b [d], r [rows]:
 *   μ = Σx/d; c = x − μ; r = 1/√(Σc²/d + eps); xhat = c·r; y = xhat·g + b
 * backward(dy, xhat, r, g, dx, dg, db, rows, d):
 *   t = dy·g; m₁ = Σt/d; m₂ = Σ(t·xhat)/d; dx = ((t − m₁) − xhat·m₂)·r; dg = Σ_rows dy·xhat; db = Σ_rows dy
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WasmBackendInternals } from './kernels.js';
import { ADD, F32X4_ADD, F32X4_MUL, GE_U, GT_U, I32_PARAMS, MUL, V128_LOAD, V128_STORE, addTo, get, i32, instantiateOn, loopUntil, set, simd } from './simd.js';

export type SimdNormForward = (x: number, g: number, b: number, y: number, xhat: number, r: number, rows: number, d: number, eps: number) => void;
export type SimdNormBackward = (dy: number, xhat: number, r: number, g: number, dx: number, dg: number, db: number, rows: number, d: number) => void;

const F32_LOAD = [0x2a, 2, 0];
const F32_STORE = [0x38, 2, 0];
const [F_ADD, F_SUB, F_MUL, F_DIV, F_SQRT] = [0x92, 0x93, 0x94, 0x95, 0x91];
const F32X4_SUB = 0xe5;
const F32X4_SPLAT = 0x13;
const VLOAD = [...simd(V128_LOAD), 2, 0];
const VSTORE = [...simd(V128_STORE), 2, 0];
const at = (base: number, ...offsets: number[]): number[] => [...get(base), ...offsets.flatMap((o) => [...get(o), ADD])];
const f32Const = (v: number): number[] => [0x43, ...Array.from(new Uint8Array(Float32Array.of(v).buffer))];

/** Loops j over a row's bytes: blocks of 16 (four lanes) while they fit, then single floats; `body(lanes)` per step. */
function rowLoop(J: number, ROWB: number, body: (lanes: boolean) => number[]): number[] {
  return [
    ...i32(0), ...set(J),
    ...loopUntil([...get(J), ...i32(16), ADD, ...get(ROWB), GT_U], [...body(true), ...addTo(J, i32(16))]),
    ...loopUntil([...get(J), ...get(ROWB), GE_U], [...body(false), ...addTo(J, i32(4))]),
  ];
}
/** Scalar-only loop over a row's bytes (the sequential sums). */
const scalarLoop = (J: number, ROWB: number, body: number[]): number[] => [...i32(0), ...set(J), ...loopUntil([...get(J), ...get(ROWB), GE_U], [...body, ...addTo(J, i32(4))])];
const rowsLoop = (I: number, ROWS: number, XP: number, ROWB: number, body: number[]): number[] => [
  ...i32(0), ...set(I),
  ...loopUntil([...get(I), ...get(ROWS), GE_U], [...get(I), ...get(ROWB), MUL, ...set(XP), ...body, ...addTo(I, i32(1))]),
];

function forwardCode(): number[] {
  const [X, G, B, Y, XH, R, ROWS, D, EPS] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [I, J, XP, ROWB, S, MEAN, RR, C, VM, VR] = [9, 10, 11, 12, 13, 14, 15, 16, 17, 18];
  const dF = [...get(D), 0xb3]; // f32.convert_i32_u
  const load = (lanes: boolean): number[] => (lanes ? VLOAD : F32_LOAD);
  const store = (lanes: boolean): number[] => (lanes ? VSTORE : F32_STORE);
  const op = (lanes: boolean, scalar: number, vector: number): number[] => (lanes ? simd(vector) : [scalar]);
  const row = [
    0x43, 0, 0, 0, 0, ...set(S),
    ...scalarLoop(J, ROWB, [...get(S), ...at(X, XP, J), ...F32_LOAD, F_ADD, ...set(S)]),
    ...get(S), ...dF, F_DIV, ...set(MEAN), ...get(MEAN), ...simd(F32X4_SPLAT), ...set(VM),
    // c = x − μ, kept in xhat for now
    ...rowLoop(J, ROWB, (l) => [...at(XH, XP, J), ...at(X, XP, J), ...load(l), ...get(l ? VM : MEAN), ...op(l, F_SUB, F32X4_SUB), ...store(l)]),
    0x43, 0, 0, 0, 0, ...set(S),
    ...scalarLoop(J, ROWB, [...at(XH, XP, J), ...F32_LOAD, ...set(C), ...get(S), ...get(C), ...get(C), F_MUL, F_ADD, ...set(S)]),
    ...f32Const(1), ...get(S), ...dF, F_DIV, ...get(EPS), F_ADD, F_SQRT, F_DIV, ...set(RR),
    ...get(R), ...get(I), ...i32(4), MUL, ADD, ...get(RR), ...F32_STORE,
    ...get(RR), ...simd(F32X4_SPLAT), ...set(VR),
    // xhat = c·r; y = xhat·g + b
    ...rowLoop(J, ROWB, (l) => [
      ...at(XH, XP, J), ...at(XH, XP, J), ...load(l), ...get(l ? VR : RR), ...op(l, F_MUL, F32X4_MUL), ...store(l),
      ...at(Y, XP, J), ...at(XH, XP, J), ...load(l), ...at(G, J), ...load(l), ...op(l, F_MUL, F32X4_MUL), ...at(B, J), ...load(l), ...op(l, F_ADD, F32X4_ADD), ...store(l),
    ]),
  ];
  return [3, 4, 0x7f, 4, 0x7d, 2, 0x7b, ...get(D), ...i32(4), MUL, ...set(ROWB), ...rowsLoop(I, ROWS, XP, ROWB, row)];
}

function backwardCode(): number[] {
  const [DY, XH, R, G, DX, DG, DB, ROWS, D] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [I, J, XP, ROWB, S1, S2, M1, M2, T, RR, VM1, VM2, VR] = [9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21];
  const dF = [...get(D), 0xb3];
  const load = (lanes: boolean): number[] => (lanes ? VLOAD : F32_LOAD);
  const store = (lanes: boolean): number[] => (lanes ? VSTORE : F32_STORE);
  const op = (lanes: boolean, scalar: number, vector: number): number[] => (lanes ? simd(vector) : [scalar]);
  const row = [
    0x43, 0, 0, 0, 0, ...set(S1), 0x43, 0, 0, 0, 0, ...set(S2),
    // t = dy·g (kept in dx for now); s₁ += t; s₂ += t·xhat
    ...scalarLoop(J, ROWB, [
      ...at(DY, XP, J), ...F32_LOAD, ...at(G, J), ...F32_LOAD, F_MUL, ...set(T),
      ...at(DX, XP, J), ...get(T), ...F32_STORE,
      ...get(S1), ...get(T), F_ADD, ...set(S1),
      ...get(S2), ...get(T), ...at(XH, XP, J), ...F32_LOAD, F_MUL, F_ADD, ...set(S2),
    ]),
    ...get(S1), ...dF, F_DIV, ...set(M1), ...get(S2), ...dF, F_DIV, ...set(M2),
    ...get(R), ...get(I), ...i32(4), MUL, ADD, ...F32_LOAD, ...set(RR),
    ...get(M1), ...simd(F32X4_SPLAT), ...set(VM1), ...get(M2), ...simd(F32X4_SPLAT), ...set(VM2), ...get(RR), ...simd(F32X4_SPLAT), ...set(VR),
    ...rowLoop(J, ROWB, (l) => [
      // dx = ((t − m₁) − xhat·m₂)·r
      ...at(DX, XP, J),
      ...at(DX, XP, J), ...load(l), ...get(l ? VM1 : M1), ...op(l, F_SUB, F32X4_SUB),
      ...at(XH, XP, J), ...load(l), ...get(l ? VM2 : M2), ...op(l, F_MUL, F32X4_MUL), ...op(l, F_SUB, F32X4_SUB),
      ...get(l ? VR : RR), ...op(l, F_MUL, F32X4_MUL), ...store(l),
      // dg += dy·xhat; db += dy
      ...at(DG, J), ...at(DG, J), ...load(l), ...at(DY, XP, J), ...load(l), ...at(XH, XP, J), ...load(l), ...op(l, F_MUL, F32X4_MUL), ...op(l, F_ADD, F32X4_ADD), ...store(l),
      ...at(DB, J), ...at(DB, J), ...load(l), ...at(DY, XP, J), ...load(l), ...op(l, F_ADD, F32X4_ADD), ...store(l),
    ]),
  ];
  const zero = scalarLoop(J, ROWB, [...at(DG, J), 0x43, 0, 0, 0, 0, ...F32_STORE, ...at(DB, J), 0x43, 0, 0, 0, 0, ...F32_STORE]);
  return [3, 4, 0x7f, 6, 0x7d, 3, 0x7b, ...get(D), ...i32(4), MUL, ...set(ROWB), ...zero, ...rowsLoop(I, ROWS, XP, ROWB, row)];
}

/** softmaxBackward(dy, y, dx, rows, d): p = dy·y; s = Σp (from zero, in order); dx = p − s·y (tfjs's Softmax gradient over the last axis). */
export type SimdSoftmaxBackward = (dy: number, y: number, dx: number, rows: number, d: number) => void;

function softmaxBackwardCode(): number[] {
  const [DY, Y, DX, ROWS, D] = [0, 1, 2, 3, 4];
  const [I, J, XP, ROWB, S, P, VS] = [5, 6, 7, 8, 9, 10, 11];
  const load = (lanes: boolean): number[] => (lanes ? VLOAD : F32_LOAD);
  const op = (lanes: boolean, scalar: number, vector: number): number[] => (lanes ? simd(vector) : [scalar]);
  const row = [
    0x43, 0, 0, 0, 0, ...set(S),
    ...scalarLoop(J, ROWB, [...at(DY, XP, J), ...F32_LOAD, ...at(Y, XP, J), ...F32_LOAD, F_MUL, ...set(P), ...at(DX, XP, J), ...get(P), ...F32_STORE, ...get(S), ...get(P), F_ADD, ...set(S)]),
    ...get(S), ...simd(F32X4_SPLAT), ...set(VS),
    ...rowLoop(J, ROWB, (l) => [...at(DX, XP, J), ...at(DX, XP, J), ...load(l), ...get(l ? VS : S), ...at(Y, XP, J), ...load(l), ...op(l, F_MUL, F32X4_MUL), ...op(l, F_SUB, F32X4_SUB), ...(l ? VSTORE : F32_STORE)]),
  ];
  return [3, 4, 0x7f, 2, 0x7d, 1, 0x7b, ...get(D), ...i32(4), MUL, ...set(ROWB), ...rowsLoop(I, ROWS, XP, ROWB, row)];
}

/** Both passes bound to `memory` (a WebAssembly.Memory), or null where WebAssembly SIMD is unavailable. */
export function createSimdNorm(memory: object): { forward: SimdNormForward; backward: SimdNormBackward; softmaxBackward: SimdSoftmaxBackward } | null {
  const exports = instantiateOn(memory, [
    { name: 'forward', params: [...I32_PARAMS(8), 0x7d], code: forwardCode() }, // …, eps (f32)
    { name: 'backward', params: I32_PARAMS(9), code: backwardCode() },
    { name: 'softmaxBackward', params: I32_PARAMS(5), code: softmaxBackwardCode() },
  ]);
  return exports === null ? null : { forward: exports.forward as SimdNormForward, backward: exports.backward as SimdNormBackward, softmaxBackward: exports.softmaxBackward as SimdSoftmaxBackward };
}

let norm: ReturnType<typeof createSimdNorm> = null;
let owner: unknown = null;
function bound(backend: WasmBackendInternals): NonNullable<typeof norm> {
  if (norm === null || owner !== backend.wasm) {
    const memory = backend.wasm.asm?.memory;
    norm = memory === undefined ? null : createSimdNorm(memory);
    owner = backend.wasm;
  }
  if (norm === null) throw new Error('layer norm kernels: WebAssembly SIMD is unavailable');
  return norm;
}
const offset = (backend: WasmBackendInternals, t: tf.TensorInfo): number => backend.dataIdMap.get(t.dataId).memoryOffset;
function check(name: string, ok: boolean): void {
  if (!ok) throw new Error(`${name}: float32 [rows, d] inputs with [d] (or [rows, 1]) companions expected`);
}

/** x [rows, d], g [d], b [d] → [y, xhat, r] (r [rows, 1]) as one kernel of the wasm backend (registered on first use). */
export function layerNormForward(x: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D, eps: number): [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D] {
  if (tf.getKernel('MrpoLayerNorm', 'wasm') === undefined)
    tf.registerKernel({
      kernelName: 'MrpoLayerNorm',
      backendName: 'wasm',
      kernelFunc: ((args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }) => {
        const { x: xs, g: gs, b: bs } = args.inputs as Record<string, tf.TensorInfo>;
        const [rows, d] = xs.shape;
        check('MrpoLayerNorm', xs.shape.length === 2 && [xs, gs, bs].every((t) => t.dtype === 'float32') && gs.shape.join() === `${d}` && bs.shape.join() === `${d}`);
        const backend = args.backend as WasmBackendInternals;
        const outs = [backend.makeOutput([rows, d], 'float32'), backend.makeOutput([rows, d], 'float32'), backend.makeOutput([rows, 1], 'float32')];
        const o = (t: tf.TensorInfo): number => offset(backend, t);
        bound(backend).forward(o(xs), o(gs), o(bs), o(outs[0]), o(outs[1]), o(outs[2]), rows, d, (args.attrs as { eps: number }).eps);
        return outs;
      }) as unknown as tf.KernelFunc,
    });
  return tf.engine().runKernel('MrpoLayerNorm', { x, g, b }, { eps }) as unknown as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
}

/** dy, xhat [rows, d], r [rows, 1], g [d] → [dx, dg, db] as one kernel of the wasm backend (registered on first use). */
export function layerNormBackward(dy: tf.Tensor, xhat: tf.Tensor, r: tf.Tensor, g: tf.Tensor): [tf.Tensor, tf.Tensor, tf.Tensor] {
  if (tf.getKernel('MrpoLayerNormGrad', 'wasm') === undefined)
    tf.registerKernel({
      kernelName: 'MrpoLayerNormGrad',
      backendName: 'wasm',
      kernelFunc: ((args: { inputs: tf.NamedTensorInfoMap; backend: unknown }) => {
        const { dy: ds, xhat: xs, r: rs, g: gs } = args.inputs as Record<string, tf.TensorInfo>;
        const [rows, d] = xs.shape;
        check('MrpoLayerNormGrad', xs.shape.length === 2 && [ds, xs, rs, gs].every((t) => t.dtype === 'float32') && ds.shape.join() === xs.shape.join() && rs.shape.join() === `${rows},1` && gs.shape.join() === `${d}`);
        const backend = args.backend as WasmBackendInternals;
        const outs = [backend.makeOutput([rows, d], 'float32'), backend.makeOutput([d], 'float32'), backend.makeOutput([d], 'float32')];
        const o = (t: tf.TensorInfo): number => offset(backend, t);
        bound(backend).backward(o(ds), o(xs), o(rs), o(gs), o(outs[0]), o(outs[1]), o(outs[2]), rows, d);
        return outs;
      }) as unknown as tf.KernelFunc,
    });
  return tf.engine().runKernel('MrpoLayerNormGrad', { dy, xhat, r, g }) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor];
}

/** tfjs's Softmax gradient over the last axis, dy·y − (Σ dy·y)·y, for dy, y of one shape: one kernel of the wasm backend (registered on first use). */
export function softmaxBackward(dy: tf.Tensor, y: tf.Tensor): tf.Tensor {
  if (tf.getKernel('MrpoSoftmaxGrad', 'wasm') === undefined)
    tf.registerKernel({
      kernelName: 'MrpoSoftmaxGrad',
      backendName: 'wasm',
      kernelFunc: ((args: { inputs: tf.NamedTensorInfoMap; backend: unknown }) => {
        const { dy: ds, y: ys } = args.inputs as Record<string, tf.TensorInfo>;
        check('MrpoSoftmaxGrad', ys.shape.length >= 1 && ds.dtype === 'float32' && ys.dtype === 'float32' && ds.shape.join() === ys.shape.join());
        const backend = args.backend as WasmBackendInternals;
        const out = backend.makeOutput(ys.shape, 'float32');
        const d = ys.shape[ys.shape.length - 1];
        const rows = ys.shape.slice(0, -1).reduce((a, b) => a * b, 1);
        bound(backend).softmaxBackward(offset(backend, ds), offset(backend, ys), offset(backend, out), rows, d);
        return out;
      }) as unknown as tf.KernelFunc,
    });
  return tf.engine().runKernel('MrpoSoftmaxGrad', { dy, y }) as tf.Tensor;
}
