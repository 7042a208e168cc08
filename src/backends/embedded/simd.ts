/**
 * A batched float32 product for attention's small operands, hand-encoded as a
 * WebAssembly SIMD module that shares the tfjs wasm backend's memory.
 *
 * `bmm(a, b, c, N, m, k, cols, rowStep, colStep)` computes, for each of N
 * consecutive batch elements, C[m, cols] = A[m, k] · B[k, cols] (row-major,
 * byte offsets into the backend's heap; A may be stored transposed, [k, m],
 * with rowStep 4 and colStep 4m instead of 4k and 4). Each output row is done
 * in blocks of 16 columns (four f32x4 accumulators), then blocks of 4, then
 * single columns; every
 * accumulator starts at zero and adds a[i, t] · b[t, j] for t = 0, 1, … in
 * order, a multiply then an add. These are the operations, in the same order,
 * of XNNPACK's wasm SIMD GEMM as tfjs-backend-wasm 4.22 runs it (no fused
 * multiply-add, a zero bias), so the results are bit for bit those of the
 * per-element XNNPACK path it replaces (kernels.test.ts checks this on every
 * block width), without XNNPACK's per-call operator creation and packing of
 * B. B is re-read for every row of A, so this is only for B that stays in
 * the L1 cache (kernels.ts: at most SIMD_MAX_B entries). Measured, CPU time
 * at load 3–3.5: [256, 98, 98] × [256, 98, 16] 2.4–5.1 ms against 6.5–11.1
 * ms through XNNPACK; [256, 98, 16] × [256, 16, 98] 2.6–4.4 against 4.7–7.7.
 *
 * The module (under 1 kB) is built below from its opcodes: the project has no
 * WebAssembly toolchain. Loop bounds are checked before each pass, so empty
 * dimensions do nothing.
 */

/** Byte offsets a, b, c; n elements of [m, k] · [k, cols]; A's element (i, t) at a + i·rowStep + t·colStep bytes. */
export type SimdBmm = (a: number, b: number, c: number, n: number, m: number, k: number, cols: number, rowStep: number, colStep: number) => void;

/** The few WebAssembly JS API members used here (the project's TypeScript lib has no WebAssembly declarations). */
interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
};
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (text: string): number[] => [...uleb(text.length), ...Array.from(text, (ch) => ch.charCodeAt(0))];

// locals: parameters a, b, c, n, m, k, cols, rowStep, colStep; then i32 e, i, t, ap, bp, j, cp; then v128 s, acc0..acc3; then f32 x
const [A, B, C, N, M, K, COLS, RS, CS, E, I, T, AP, BP, J, CP, S, ACC, X] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 21];
const get = (l: number): number[] => [0x20, l];
const set = (l: number): number[] => [0x21, l];
const i32 = (v: number): number[] => [0x41, ...sleb(v)];
const ADD = 0x6a;
const MUL = 0x6c;
const GT_U = 0x4b;
const simd = (op: number): number[] => [0xfd, ...uleb(op)];
const addTo = (l: number, by: number[]): number[] => [...get(l), ...by, ADD, ...set(l)];
/** block { loop { if (stop) break; …; continue } } */
const loopUntil = (stop: number[], inner: number[]): number[] => [0x02, 0x40, 0x03, 0x40, ...stop, 0x0d, 1, ...inner, 0x0c, 0, 0x0b, 0x0b];
/** stop once j + width > cols */
const pastEnd = (width: number): number[] => [...get(J), ...i32(width), ADD, ...get(COLS), GT_U];

/**
 * Columns j .. j+4·vectors of row i: vectors f32x4 accumulators from zero, then for t = 0..k−1
 * acc += splat(A[i, t]) · B[t, j..]; with vectors = 0 one scalar column.
 */
function columns(vectors: number): number[] {
  const lanes = Array.from({ length: vectors }, (_, q) => q);
  const width = vectors === 0 ? 1 : 4 * vectors;
  const zero = vectors === 0 ? [0x43, 0, 0, 0, 0, ...set(X)] : lanes.flatMap((q) => [...simd(0x0c), ...new Array<number>(16).fill(0), ...set(ACC + q)]);
  const step =
    vectors === 0
      ? [...get(X), ...get(AP), 0x2a, 2, 0, ...get(BP), 0x2a, 2, 0, 0x94, 0x92, ...set(X)] // x = x + a·b
      : [...get(AP), 0x2a, 2, 0, ...simd(0x13), ...set(S), ...lanes.flatMap((q) => [...get(ACC + q), ...get(S), ...get(BP), ...simd(0x00), 2, 16 * q, ...simd(0xe6), ...simd(0xe4), ...set(ACC + q)])];
  const store = vectors === 0 ? [...get(CP), ...get(X), 0x38, 2, 0] : lanes.flatMap((q) => [...get(CP), ...get(ACC + q), ...simd(0x0b), 2, 16 * q]);
  return loopUntil(pastEnd(width), [
    ...zero,
    ...get(A), ...get(I), ...get(RS), MUL, ADD, ...set(AP), // ap = a + i·rowStep
    ...get(B), ...get(J), ...i32(4), MUL, ADD, ...set(BP), // bp = b + 4·j
    ...i32(0), ...set(T),
    ...loopUntil([...get(T), ...get(K), 0x4f], [...step, ...addTo(AP, get(CS)), ...addTo(BP, [...get(COLS), ...i32(4), MUL]), ...addTo(T, i32(1))]),
    ...get(C), ...get(I), ...get(COLS), MUL, ...get(J), ADD, ...i32(4), MUL, ADD, ...set(CP), // cp = c + 4·(i·cols + j)
    ...store,
    ...addTo(J, i32(width)),
  ]);
}

function moduleBytes(): Uint8Array {
  const row = [...i32(0), ...set(J), ...columns(4), ...columns(1), ...columns(0), ...addTo(I, i32(1))];
  const element = [
    ...i32(0), ...set(I),
    ...loopUntil([...get(I), ...get(M), 0x4f], row),
    ...addTo(A, [...get(M), ...get(K), MUL, ...i32(4), MUL]),
    ...addTo(B, [...get(K), ...get(COLS), MUL, ...i32(4), MUL]),
    ...addTo(C, [...get(M), ...get(COLS), MUL, ...i32(4), MUL]),
    ...addTo(E, i32(1)),
  ];
  const code = [3, 7, 0x7f, 5, 0x7b, 1, 0x7d, ...loopUntil([...get(E), ...get(N), 0x4f], element), 0x0b];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [1, 0x60, 9, ...new Array<number>(9).fill(0x7f), 0]), // (i32 ×9) → ()
    ...section(2, [1, ...name('env'), ...name('memory'), 2, 0, 0]), // imported memory, no bounds required
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('bmm'), 0, 0]),
    ...section(10, [1, ...uleb(code.length), ...code]),
  ]);
}

/** The kernel bound to `memory` (a WebAssembly.Memory), or null where WebAssembly SIMD is unavailable. */
export function createSimdBmm(memory: object): SimdBmm | null {
  const bytes = moduleBytes();
  if (!wasmApi.validate(bytes)) return null;
  const instance = new wasmApi.Instance(new wasmApi.Module(bytes), { env: { memory } });
  return instance.exports.bmm as SimdBmm;
}
