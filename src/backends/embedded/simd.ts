/**
 * A batched product for attention's 16-column operands, hand-encoded as a
 * small WebAssembly SIMD module that shares the tfjs wasm backend's memory.
 *
 * `bmm16(a, b, c, N, m, k)` computes, for each of N consecutive batch
 * elements, C[m, 16] = A[m, k] · B[k, 16] (row-major float32, byte offsets
 * into the backend's heap). Each output row keeps four f32x4 accumulators,
 * starting at zero, and adds a[i, t] · b[t, 0..15] for t = 0, 1, … in order,
 * with a separate multiply and add: the same operations in the same order as
 * XNNPACK's wasm SIMD GEMM (no fused multiply-add on this target, a zero
 * bias), so the results are bit for bit those of the per-element XNNPACK
 * path it replaces (kernels.test.ts checks this), without XNNPACK's
 * per-call operator creation and packing of B (measured at [256, 98, 98] ×
 * [256, 98, 16]: 2.2–2.6 ms against 5.8–7.3 ms).
 *
 * The module is about 300 bytes, built below from its opcodes (the project
 * has no WebAssembly toolchain): one function, three nested loops (element,
 * row, inner index), with the loop bounds checked before each pass.
 */

export type Bmm16 = (a: number, b: number, c: number, n: number, m: number, k: number) => void;

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

// locals: parameters a, b, c, n, m, k; then i32 e, i, t, ap, bp; then v128 s, acc0..acc3
const [A, B, C, N, M, K, E, I, T, AP, BP, S, ACC] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
const get = (l: number): number[] => [0x20, l];
const set = (l: number): number[] => [0x21, l];
const i32 = (v: number): number[] => [0x41, ...sleb(v)];
const ADD = 0x6a;
const MUL = 0x6c;
const GE_U = 0x4f;
const simd = (op: number): number[] => [0xfd, ...uleb(op)];
const addTo = (l: number, by: number[]): number[] => [...get(l), ...by, ADD, ...set(l)];
/** block { loop { if (x >= bound) break; …; continue } } */
const loopWhileBelow = (x: number, bound: number, inner: number[]): number[] => [0x02, 0x40, 0x03, 0x40, ...get(x), ...get(bound), GE_U, 0x0d, 1, ...inner, 0x0c, 0, 0x0b, 0x0b];
const LANES = [0, 1, 2, 3];

function moduleBytes(): Uint8Array {
  const inner = [
    ...get(AP), 0x2a, 2, 0, ...simd(0x13), ...set(S), // s = splat(f32 A[ap])
    // acc_j = acc_j + s · B[bp + 16 j .. +16)
    ...LANES.flatMap((j) => [...get(ACC + j), ...get(S), ...get(BP), ...simd(0x00), 2, 16 * j, ...simd(0xe6), ...simd(0xe4), ...set(ACC + j)]),
    ...addTo(AP, i32(4)), ...addTo(BP, i32(64)), ...addTo(T, i32(1)),
  ];
  const row = [
    ...LANES.flatMap((j) => [...simd(0x0c), ...new Array<number>(16).fill(0), ...set(ACC + j)]),
    ...get(A), ...get(I), ...get(K), MUL, ...i32(4), MUL, ADD, ...set(AP), // ap = a + 4·i·k
    ...get(B), ...set(BP),
    ...i32(0), ...set(T),
    ...loopWhileBelow(T, K, inner),
    ...get(C), ...get(I), ...i32(64), MUL, ADD, ...set(AP), // row i of C
    ...LANES.flatMap((j) => [...get(AP), ...get(ACC + j), ...simd(0x0b), 2, 16 * j]),
    ...addTo(I, i32(1)),
  ];
  const element = [
    ...i32(0), ...set(I),
    ...loopWhileBelow(I, M, row),
    ...addTo(A, [...get(M), ...get(K), MUL, ...i32(4), MUL]),
    ...addTo(B, [...get(K), ...i32(64), MUL]),
    ...addTo(C, [...get(M), ...i32(64), MUL]),
    ...addTo(E, i32(1)),
  ];
  const code = [2, 5, 0x7f, 5, 0x7b, ...loopWhileBelow(E, N, element), 0x0b];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [1, 0x60, 6, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0]), // (i32 ×6) → ()
    ...section(2, [1, ...name('env'), ...name('memory'), 2, 0, 0]), // imported memory, no bounds required
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('bmm16'), 0, 0]),
    ...section(10, [1, ...uleb(code.length), ...code]),
  ]);
}

/** The kernel bound to `memory` (a WebAssembly.Memory), or null where WebAssembly SIMD is unavailable. */
export function createBmm16(memory: object): Bmm16 | null {
  const bytes = moduleBytes();
  if (!wasmApi.validate(bytes)) return null;
  const instance = new wasmApi.Instance(new wasmApi.Module(bytes), { env: { memory } });
  return instance.exports.bmm16 as Bmm16;
}
