/**
 * Float32 kernels hand-encoded as WebAssembly SIMD modules that share the tfjs
 * wasm backend's memory (kernels.ts installs them in place of stock kernels).
 *
 * `bmm(a, b, c, N, m, k, cols, rowStep, colStep, bias)` computes, for each of N
 * consecutive batch elements, C[m, cols] = A[m, k] · B[k, cols] (row-major,
 * byte offsets into the backend's heap; A may be stored transposed, [k, m],
 * with rowStep 4 and colStep 4m instead of 4k and 4). Outputs are done in
 * register blocks (`bmm`: 4 rows × 8 columns, `bmmWide`: 2 × 16; then blocks
 * of 4 columns, single columns, single rows at the edges), and the inner index
 * in passes of 128 or 256 (TALL, WIDE). Every accumulator starts at zero (or at
 * bias[j] when `bias` is not 0) and adds a[i, t] · b[t, j] for t = 0, 1, … in
 * order, a multiply then an add; between passes the partial sum waits in C as
 * a float32, which is exact. These are the operations, in the same order, of
 * XNNPACK's wasm SIMD GEMM as tfjs-backend-wasm 4.22 runs it (no fused
 * multiply-add; the bias, or zero, as the start value), so the results are
 * bit for bit those of the XNNPACK path they replace (kernels.test.ts and
 * simd.test.ts check this on every block edge), without XNNPACK's per-call
 * operator creation and packing of B, and with A read transposed in place.
 * Measurements: docs/embedded-engine-notes.md.
 *
 * `colsum` sums the rows of a matrix (the Sum kernel over axis 0: each column
 * from zero, rows in order, as the stock kernel adds them); `createSimdMap`
 * compiles an elementwise expression of adds, subtracts and multiplies (one
 * rounding per node, as the stock elementwise kernels round); `createSimdSwap`
 * is the [0, 2, 1, 3] transpose as row copies.
 *
 * The modules (a few kB) are built below from their opcodes: the project has
 * no WebAssembly toolchain. Loop bounds are checked before each pass, so empty
 * dimensions do nothing (kernels.ts never calls bmm with k = 0: it would
 * leave C unwritten).
 */

/** Byte offsets a, b, c; n elements of [m, k] · [k, cols]; A's element (i, t) at a + i·rowStep + t·colStep bytes. */
export type SimdBmm = (a: number, b: number, c: number, n: number, m: number, k: number, cols: number, rowStep: number, colStep: number, bias: number) => void;

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
export const sleb = (n: number): number[] => {
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

/** One exported function of a module: its name, its parameter types (0x7f i32, 0x7d f32) and its code (locals, then the body, without the closing `end`). */
export interface WasmFunction {
  readonly name: string;
  readonly params: readonly number[];
  readonly code: readonly number[];
}
export const I32_PARAMS = (n: number): number[] => new Array<number>(n).fill(0x7f);

/** The bytes of a module that imports `env.memory` (no bounds required) and exports these functions, each with its own type. */
function moduleOf(fns: readonly WasmFunction[]): Uint8Array {
  const body = (code: readonly number[]): number[] => [...uleb(code.length + 1), ...code, 0x0b];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [...uleb(fns.length), ...fns.flatMap((f) => [0x60, ...uleb(f.params.length), ...f.params, 0])]), // (params) → ()
    ...section(2, [1, ...name('env'), ...name('memory'), 2, 0, 0]),
    ...section(3, [...uleb(fns.length), ...fns.flatMap((_, i) => uleb(i))]),
    ...section(7, [...uleb(fns.length), ...fns.flatMap((f, i) => [...name(f.name), 0, ...uleb(i)])]),
    ...section(10, [...uleb(fns.length), ...fns.flatMap((f) => body(f.code))]),
  ]);
}

/** The functions compiled as one module on `memory` (a WebAssembly.Memory), or null where this engine does not validate it (no WebAssembly SIMD). */
export function instantiateOn(memory: object, fns: readonly WasmFunction[]): Record<string, unknown> | null {
  const bytes = moduleOf(fns);
  if (!wasmApi.validate(bytes)) return null;
  return new wasmApi.Instance(new wasmApi.Module(bytes), { env: { memory } }).exports;
}

// bmm's locals: parameters a, b, c, n, m, k, cols, rowStep, colStep; then i32 e, i, t, ap, bp, j, cp, cols4,
// r·rowStep and r·cols4 for r = 1 … ROWS−1; then v128 s, b0 … b(VECS−1), the ROWS × VECS accumulators; then f32 x0 … x(ROWS−1)
const [A, B, C, N, M, K, COLS, RS, CS, BIAS, E, I, T, AP, BP, J, CP, COLS4, T0, TEND] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
export const get = (l: number): number[] => [0x20, ...uleb(l)];
export const set = (l: number): number[] => [0x21, ...uleb(l)];
export const i32 = (v: number): number[] => [0x41, ...sleb(v)];
export const ADD = 0x6a;
export const MUL = 0x6c;
export const GT_U = 0x4b;
export const GE_U = 0x4f;
export const simd = (op: number): number[] => [0xfd, ...uleb(op)];
export const V128_LOAD = 0x00;
const LOAD32_SPLAT = 0x09;
export const V128_STORE = 0x0b;
export const F32X4_ADD = 0xe4;
export const F32X4_MUL = 0xe6;
const v128Zero = (): number[] => [...simd(0x0c), ...new Array<number>(16).fill(0)];
export const addTo = (l: number, by: number[]): number[] => [...get(l), ...by, ADD, ...set(l)];
/** block { loop { if (stop) break; …; continue } } */
export const loopUntil = (stop: number[], inner: number[]): number[] => [0x02, 0x40, 0x03, 0x40, ...stop, 0x0d, 1, ...inner, 0x0c, 0, 0x0b, 0x0b];
/** stop once j + width > cols */
const pastEnd = (width: number): number[] => [...get(J), ...i32(width), ADD, ...get(COLS), GT_U];

/** The register block of bmm: ROWS rows of A at once, VECS f32x4 accumulators (4·VECS columns) per row. */
export interface Blocking {
  rows: number;
  vecs: number;
  /** Inner indices t per pass (partial sums go through C between passes). */
  depth: number;
}
/**
 * The two blockings built: 4 × 8 outputs (`bmm`, for A read transposed) and 2 × 16 (`bmmWide`, for A read by
 * rows), each in 8 accumulators that with the B vectors and a splat take 11 of x64's 16 vector registers. Passes of
 * 128 inner indices keep the weight gradients' rows of A and B in the L2 cache; for A read by rows (k = 64 … 256 in
 * the model) one pass of up to 256 is 15–20% faster at k = 256. Measured against the other blockings tried (5 × 8,
 * 6 × 8, 3 × 12; depths 32 to 512 and unbounded), docs/embedded-engine-notes.md.
 */
export const TALL: Blocking = { rows: 4, vecs: 2, depth: 128 };
export const WIDE: Blocking = { rows: 2, vecs: 4, depth: 256 };

function bmmCode({ rows: R, vecs: V, depth: KC }: Blocking): { locals: number[]; body: number[] } {
  const VMAX = Math.max(V, 4);
  const RS_R = (r: number): number => TEND + r; // r·rowStep, r ≥ 1
  const CS_R = (r: number): number => TEND + R - 1 + r; // r·cols4, r ≥ 1
  const firstV = TEND + 2 * (R - 1) + 1;
  const S = firstV;
  const BV = (q: number): number => S + 1 + q;
  const ACC = (r: number, q: number): number => S + 1 + VMAX + r * VMAX + q;
  const firstF = S + 1 + VMAX + R * VMAX;
  const X = (r: number): number => firstF + r;
  const plus = (base: number, r: number, mult: (r: number) => number): number[] => (r === 0 ? get(base) : [...get(base), ...get(mult(r)), ADD]);

  /**
   * Columns j .. j + width of rows i .. i + rows: each accumulator from zero, then for t = 0 … k−1
   * acc += A[i + r, t] · B[t, j ..] (vecs = 0: one scalar column).
   */
  const columns = (rows: number, vecs: number): number[] => {
    const width = vecs === 0 ? 1 : 4 * vecs;
    const rr = Array.from({ length: rows }, (_, r) => r);
    const qq = Array.from({ length: vecs }, (_, q) => q);
    // the first pass starts each accumulator at zero (or at bias[j ..]), later ones at the partial sum in C
    const zero = vecs === 0 ? rr.flatMap((r) => [0x43, 0, 0, 0, 0, ...set(X(r))]) : rr.flatMap((r) => qq.flatMap((q) => [...v128Zero(), ...set(ACC(r, q))]));
    const biasAt = [...get(BIAS), ...get(J), ...i32(4), MUL, ADD];
    const fromBias = vecs === 0 ? rr.flatMap((r) => [...biasAt, 0x2a, 2, 0, ...set(X(r))]) : rr.flatMap((r) => qq.flatMap((q) => [...biasAt, ...simd(V128_LOAD), 2, ...uleb(16 * q), ...set(ACC(r, q))]));
    const reload = vecs === 0 ? rr.flatMap((r) => [...plus(CP, r, CS_R), 0x2a, 2, 0, ...set(X(r))]) : rr.flatMap((r) => qq.flatMap((q) => [...plus(CP, r, CS_R), ...simd(V128_LOAD), 2, ...uleb(16 * q), ...set(ACC(r, q))]));
    const step =
      vecs === 0
        ? rr.flatMap((r) => [...get(X(r)), ...plus(AP, r, RS_R), 0x2a, 2, 0, ...get(BP), 0x2a, 2, 0, 0x94, 0x92, ...set(X(r))]) // x = x + a·b
        : [
            ...qq.flatMap((q) => [...get(BP), ...simd(V128_LOAD), 2, ...uleb(16 * q), ...set(BV(q))]),
            ...rr.flatMap((r) => [
              ...plus(AP, r, RS_R), ...simd(LOAD32_SPLAT), 2, 0, ...set(S),
              ...qq.flatMap((q) => [...get(ACC(r, q)), ...get(S), ...get(BV(q)), ...simd(F32X4_MUL), ...simd(F32X4_ADD), ...set(ACC(r, q))]),
            ]),
          ];
    const store =
      vecs === 0
        ? rr.flatMap((r) => [...plus(CP, r, CS_R), ...get(X(r)), 0x38, 2, 0])
        : rr.flatMap((r) => qq.flatMap((q) => [...plus(CP, r, CS_R), ...get(ACC(r, q)), ...simd(V128_STORE), 2, ...uleb(16 * q)]));
    return loopUntil(pastEnd(width), [
      ...get(C), ...get(I), ...get(COLS), MUL, ...get(J), ADD, ...i32(4), MUL, ADD, ...set(CP), // cp = c + 4·(i·cols + j)
      ...get(T0), 0x45, 0x04, 0x40, ...get(BIAS), 0x45, 0x04, 0x40, ...zero, 0x05, ...fromBias, 0x0b, 0x05, ...reload, 0x0b, // if (t0 == 0) (bias == 0 ? zero : bias) else reload
      ...get(A), ...get(I), ...get(RS), MUL, ADD, ...get(T0), ...get(CS), MUL, ADD, ...set(AP), // ap = a + i·rowStep + t0·colStep
      ...get(B), ...get(J), ...i32(4), MUL, ADD, ...get(T0), ...get(COLS4), MUL, ADD, ...set(BP), // bp = b + 4·j + t0·cols4
      ...get(T0), ...set(T),
      ...loopUntil([...get(T), ...get(TEND), GE_U], [...step, ...addTo(AP, get(CS)), ...addTo(BP, get(COLS4)), ...addTo(T, i32(1))]),
      ...store,
      ...addTo(J, i32(width)),
    ]);
  };
  const rowBlocks = [...i32(0), ...set(J), ...columns(R, V), ...(V > 1 ? columns(R, 1) : []), ...columns(R, 0), ...addTo(I, i32(R))];
  const singleRows = [...i32(0), ...set(J), ...columns(1, 4), ...columns(1, 1), ...columns(1, 0), ...addTo(I, i32(1))];
  const pass = [
    ...get(T0), ...i32(KC), ADD, ...get(K), ...get(T0), ...i32(KC), ADD, ...get(K), 0x49, 0x1b, ...set(TEND), // tend = min(t0 + depth, k)
    ...i32(0), ...set(I),
    ...(R > 1 ? loopUntil([...get(I), ...i32(R), ADD, ...get(M), GT_U], rowBlocks) : []),
    ...loopUntil([...get(I), ...get(M), GE_U], singleRows),
    ...addTo(T0, i32(KC)),
  ];
  const element = [
    ...i32(0), ...set(T0),
    ...loopUntil([...get(T0), ...get(K), GE_U], pass),
    ...addTo(A, [...get(M), ...get(K), MUL, ...i32(4), MUL]),
    ...addTo(B, [...get(K), ...get(COLS), MUL, ...i32(4), MUL]),
    ...addTo(C, [...get(M), ...get(COLS), MUL, ...i32(4), MUL]),
    ...addTo(E, i32(1)),
  ];
  const setup = [
    ...get(COLS), ...i32(4), MUL, ...set(COLS4),
    ...Array.from({ length: R - 1 }, (_, q) => q + 1).flatMap((r) => [...get(RS), ...i32(r), MUL, ...set(RS_R(r)), ...get(COLS4), ...i32(r), MUL, ...set(CS_R(r))]),
  ];
  const locals = [3, 10 + 2 * (R - 1), 0x7f, 1 + VMAX + R * VMAX, 0x7b, R, 0x7d];
  return { locals, body: [...setup, ...loopUntil([...get(E), ...get(N), GE_U], element)] };
}

/** colsum's locals: parameters a, c, rows, cols; then i32 j, t, p, cols4; then v128 acc0 … acc3; then f32 x. */
function colsumCode(): { locals: number[]; body: number[] } {
  const [a, c, rows, cols, j, t, p, cols4, acc, x] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 12];
  /** Columns j .. j + width: each sum from zero, adding a[t, j ..] for t = 0 … rows−1 (vecs = 0: one scalar column). */
  const columns = (vecs: number): number[] => {
    const width = vecs === 0 ? 1 : 4 * vecs;
    const qq = Array.from({ length: vecs }, (_, q) => q);
    const zero = vecs === 0 ? [0x43, 0, 0, 0, 0, ...set(x)] : qq.flatMap((q) => [...v128Zero(), ...set(acc + q)]);
    const step = vecs === 0 ? [...get(x), ...get(p), 0x2a, 2, 0, 0x92, ...set(x)] : qq.flatMap((q) => [...get(acc + q), ...get(p), ...simd(V128_LOAD), 2, ...uleb(16 * q), ...simd(F32X4_ADD), ...set(acc + q)]);
    const out = [...get(c), ...get(j), ...i32(4), MUL, ADD];
    const store = vecs === 0 ? [...out, ...get(x), 0x38, 2, 0] : qq.flatMap((q) => [...out, ...get(acc + q), ...simd(V128_STORE), 2, ...uleb(16 * q)]);
    return loopUntil([...get(j), ...i32(width), ADD, ...get(cols), GT_U], [
      ...zero,
      ...get(a), ...get(j), ...i32(4), MUL, ADD, ...set(p),
      ...i32(0), ...set(t),
      ...loopUntil([...get(t), ...get(rows), GE_U], [...step, ...addTo(p, get(cols4)), ...addTo(t, i32(1))]),
      ...store,
      ...addTo(j, i32(width)),
    ]);
  };
  return { locals: [3, 4, 0x7f, 4, 0x7b, 1, 0x7d], body: [...get(cols), ...i32(4), MUL, ...set(cols4), ...i32(0), ...set(j), ...columns(4), ...columns(1), ...columns(0)] };
}

function bmmFunctions(tall: Blocking, wide: Blocking): WasmFunction[] {
  const code = ({ locals, body }: { locals: number[]; body: number[] }): number[] => [...locals, ...body];
  return [
    { name: 'bmm', params: I32_PARAMS(10), code: code(bmmCode(tall)) },
    { name: 'bmmWide', params: I32_PARAMS(10), code: code(bmmCode(wide)) },
    { name: 'colsum', params: I32_PARAMS(4), code: code(colsumCode()) },
  ];
}

/** `colsum(a, c, rows, cols)`: c[j] = Σ_t a[t, j] for a [rows, cols] (byte offsets), each sum from zero adding t = 0, 1, … in order. */
export type SimdColSum = (a: number, c: number, rows: number, cols: number) => void;

let supported: boolean | null = null;
/** Whether this JS engine validates the modules here (WebAssembly SIMD; every Node since 16 does). */
export function simdSupported(): boolean {
  supported ??= wasmApi.validate(moduleOf(bmmFunctions(TALL, WIDE)));
  return supported;
}

/** The kernels bound to `memory` (a WebAssembly.Memory), or null where WebAssembly SIMD is unavailable. */
export function createSimdKernels(memory: object, tall: Blocking = TALL, wide: Blocking = WIDE): { bmm: SimdBmm; bmmWide: SimdBmm; colsum: SimdColSum } | null {
  const exports = instantiateOn(memory, bmmFunctions(tall, wide));
  return exports === null ? null : { bmm: exports.bmm as SimdBmm, bmmWide: exports.bmmWide as SimdBmm, colsum: exports.colsum as SimdColSum };
}

/** An elementwise float32 expression over inputs 0 … 2 and constants (each rounded to float32), for `createSimdMap`. */
export type Expr = { in: number } | { c: number } | { op: 'add' | 'sub' | 'mul'; a: Expr; b: Expr };

/**
 * `map(in0, in1, in2, out, n)`: out[i] = expr(in0[i], in1[i], in2[i]) for i < n (byte offsets; unused inputs
 * ignored), four lanes at a time, then one at a time. Each node is one float32 operation, rounded as the stock
 * elementwise kernels round it, so an expression written in the same order as a chain of tfjs ops gives their
 * bits without the intermediate tensors.
 */
export type SimdMap = (in0: number, in1: number, in2: number, out: number, n: number) => void;

function mapCode(expr: Expr): number[] {
  const [OUT, NN, P] = [3, 4, 5]; // parameters in0..in2, out, n; local p (byte offset)
  const f32Bits = (v: number): number[] => Array.from(new Uint8Array(Float32Array.of(v).buffer));
  const emit = (e: Expr, lanes: boolean): number[] => {
    if ('in' in e) return [...get(e.in), ...get(P), ADD, ...(lanes ? [...simd(V128_LOAD), 2, 0] : [0x2a, 2, 0])];
    if ('c' in e) return lanes ? [0x43, ...f32Bits(e.c), ...simd(0x13)] : [0x43, ...f32Bits(e.c)];
    const op = lanes ? simd({ add: F32X4_ADD, sub: 0xe5, mul: F32X4_MUL }[e.op]) : [{ add: 0x92, sub: 0x93, mul: 0x94 }[e.op]];
    return [...emit(e.a, lanes), ...emit(e.b, lanes), ...op];
  };
  const pass = (lanes: boolean): number[] => {
    const width = lanes ? 16 : 4;
    const stop = [...get(P), ...i32(width), ADD, ...get(NN), ...i32(4), MUL, GT_U]; // p + width > 4n
    return loopUntil(stop, [...get(OUT), ...get(P), ADD, ...emit(expr, lanes), ...(lanes ? [...simd(V128_STORE), 2, 0] : [0x38, 2, 0]), ...addTo(P, i32(width))]);
  };
  return [1, 1, 0x7f, ...i32(0), ...set(P), ...pass(true), ...pass(false)];
}

/** The expression compiled as its own module on `memory`, or null where WebAssembly SIMD is unavailable. */
export function createSimdMap(memory: object, expr: Expr): SimdMap | null {
  const exports = instantiateOn(memory, [{ name: 'map', params: I32_PARAMS(5), code: mapCode(expr) }]);
  return exports === null ? null : (exports.map as SimdMap);
}

/** `swap(x, out, n0, n1, n2, n3)`: out[a, c, b, :] = x[a, b, c, :] for x [n0, n1, n2, n3] (byte offsets; n3 a multiple of 4): the transpose [0, 2, 1, 3] as copies of n3-float rows. */
export type SimdSwap = (x: number, out: number, n0: number, n1: number, n2: number, n3: number) => void;

function swapCode(): number[] {
  const [X, O, N0, N1, N2, N3, A, Bi, Ci, D, SRC, DST, ROW] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const loop = (l: number, bound: number, inner: number[]): number[] => [...i32(0), ...set(l), ...loopUntil([...get(l), ...get(bound), GE_U], [...inner, ...addTo(l, i32(1))])];
  // src = x + ((a·n1 + b)·n2 + c)·row, dst = out + ((a·n2 + c)·n1 + b)·row; row = 4·n3 bytes
  const src = [...get(X), ...get(A), ...get(N1), MUL, ...get(Bi), ADD, ...get(N2), MUL, ...get(Ci), ADD, ...get(ROW), MUL, ADD, ...set(SRC)];
  const dst = [...get(O), ...get(A), ...get(N2), MUL, ...get(Ci), ADD, ...get(N1), MUL, ...get(Bi), ADD, ...get(ROW), MUL, ADD, ...set(DST)];
  const copy = [...i32(0), ...set(D), ...loopUntil([...get(D), ...get(ROW), GE_U], [...get(DST), ...get(D), ADD, ...get(SRC), ...get(D), ADD, ...simd(V128_LOAD), 2, 0, ...simd(V128_STORE), 2, 0, ...addTo(D, i32(16))])];
  return [1, 7, 0x7f, ...get(N3), ...i32(4), MUL, ...set(ROW), ...loop(A, N0, loop(Bi, N1, loop(Ci, N2, [...src, ...dst, ...copy])))];
}

/** The [0, 2, 1, 3] transpose as its own module on `memory`, or null where WebAssembly SIMD is unavailable. */
export function createSimdSwap(memory: object): SimdSwap | null {
  const exports = instantiateOn(memory, [{ name: 'swap', params: I32_PARAMS(6), code: swapCode() }]);
  return exports === null ? null : (exports.swap as SimdSwap);
}
