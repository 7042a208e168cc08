/**
 * simd.ts's register-blocked product and column sum, checked bit for bit
 * against what the stock kernels compute: every expected value comes from the
 * stock tfjs wasm kernels (useFastKernels(false)) or XNNPACK per element
 * (useSimdBmm(false)), through the ordinary tfjs ops, or is written out by
 * hand. Bit equality (toEqual on Float32Array) holds because simd.ts performs
 * the same float32 operations in the same order: each output a sum from zero
 * over t = 0, 1, … of a multiply then an add (passes of 128 or 256 indices keep the
 * partial sum in the output between passes, which is exact).
 */
import { describe, expect, it } from 'vitest';
import { fastKernelsActive, useFastKernels, useSimdBmm } from './kernels.js';
import { gelu, layerNorm, linear, softmaxLast, tf } from './engine.js';
import { random, useEngineForTests } from './test-support/engine-setup.js';

useEngineForTests();

function values(f: () => tf.Tensor[]): Float32Array[] {
  const ts = f();
  const out = ts.map((t) => t.dataSync() as Float32Array);
  for (const t of ts) t.dispose();
  return out;
}

/** Expects equal lengths and equal bits element by element (a loop: vitest's deep equality is slow on millions of floats). */
function expectSameBits(fast: Float32Array[], stock: Float32Array[], label: string): void {
  expect(fast.length, label).toBe(stock.length);
  fast.forEach((xs, j) => {
    expect(xs.length, `${label}: output ${j}`).toBe(stock[j].length);
    const x = new Uint32Array(xs.buffer, xs.byteOffset, xs.length);
    const y = new Uint32Array(stock[j].buffer, stock[j].byteOffset, stock[j].length);
    let first = -1;
    for (let i = 0; i < x.length && first < 0; i++) if (x[i] !== y[i]) first = i;
    expect(first, `${label}: output ${j}, first differing element`).toBe(-1);
  });
}

describe('simd.ts register-blocked product', () => {
  it('gives xᵀ·y (2-D, transposeA, x read in place) with the bits of an explicit transpose and XNNPACK', () => {
    // [k, m] and [k, n]: k over and under one 128-deep pass and not a multiple of it, m and n off the 4 × 8 block
    const cases: Array<[number, number, number]> = [
      [6272, 64, 64],
      [6272, 256, 64],
      [6272, 64, 256],
      [300, 13, 7],
      [129, 98, 17],
      [128, 9, 165],
      [20, 8, 1],
      [1, 11, 12],
    ];
    for (const [k, m, n] of cases) {
      const x = random([k, m], k + m);
      const y = random([k, n], k + n);
      useFastKernels(false);
      const stock = values(() => [tf.matMul(tf.transpose(x) as tf.Tensor2D, y as tf.Tensor2D)]);
      useFastKernels(true);
      const before = tf.memory();
      const fast = values(() => [tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D, true, false)]);
      expectSameBits(fast, stock, `${k}: ${m} × ${n}`);
      expect([tf.memory().numTensors, tf.memory().numBytes, tf.backend().numDataIds()]).toEqual([before.numTensors, before.numBytes, before.numDataBuffers]);
      x.dispose();
      y.dispose();
    }
  });

  it('gives plain and fused (bias) 2-D products of MIN_ROWS_2D rows or more with the bits of XNNPACK', () => {
    // [m, k] · [k, n] (+ bias [n]); m at and above MIN_ROWS_2D and off the 2 × 16 block, k over one 256-deep pass
    const cases: Array<[number, number, number]> = [
      [6272, 64, 64],
      [6272, 256, 64],
      [6272, 64, 256],
      [5184, 64, 165],
      [257, 300, 19],
      [256, 1, 3],
      [255, 64, 64], // under MIN_ROWS_2D: XNNPACK itself
    ];
    for (const [m, k, n] of cases) {
      const a = random([m, k], m + k);
      const b = random([k, n], k + n);
      const bias = random([n], n);
      const products = (): tf.Tensor[] => [tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias }), tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D })];
      useFastKernels(false);
      const stock = values(products);
      useFastKernels(true);
      const before = tf.memory();
      const fast = values(products);
      expectSameBits(fast, stock, `${m} × ${k} · ${k} × ${n}`);
      expect([tf.memory().numTensors, tf.memory().numBytes, tf.backend().numDataIds()]).toEqual([before.numTensors, before.numBytes, before.numDataBuffers]);
      tf.dispose([a, b, bias]);
    }
  });

  it('leaves fused products with an activation or a transpose to the stock kernel, with its values', () => {
    const a = random([300, 20], 40);
    const b = random([20, 12], 41);
    const bt = random([12, 20], 42);
    const bias = random([12], 43);
    const products = (): tf.Tensor[] => [tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias, activation: 'relu' }), tf.fused.matMul({ a: a as tf.Tensor2D, b: bt as tf.Tensor2D, bias, transposeB: true })];
    useFastKernels(false);
    const stock = values(products);
    useFastKernels(true);
    expect(values(products)).toEqual(stock);
    tf.dispose([a, b, bt, bias]);
  });

  it('multiplies a hand-worked xᵀ·y', () => {
    useFastKernels(true);
    // x = [[1, 2], [3, 4], [5, 6]] (k = 3, m = 2), y = [[1], [0], [-1]]: xᵀ·y = [[1 − 5], [2 − 6]]; m is under MIN_ROWS,
    // so also 9 copies of x's columns side by side (m = 18) to go through simd.ts
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
    const y = tf.tensor2d([1, 0, -1], [3, 1]);
    expect(Array.from(tf.matMul(x, y, true, false).dataSync())).toEqual([-4, -4]);
    const wide = tf.tile(x, [1, 9]);
    expect(Array.from(tf.matMul(wide, y, true, false).dataSync())).toEqual(new Array<number>(18).fill(-4));
    tf.dispose([x, y, wide]);
  });

  it('gives batched products with the bits of XNNPACK per element, on every block edge', () => {
    useFastKernels(true);
    // m = 4·r + 0 … 3 rows; n = 8·q + (0 | 4) + 0 … 3 columns; A plain and transposed
    const cases: Array<[number, number, number]> = [
      [12, 7, 8],
      [13, 5, 12],
      [14, 9, 15],
      [15, 3, 19],
      [98, 98, 16],
      [98, 16, 98],
      [9, 200, 11],
    ];
    for (const [m, k, n] of cases)
      for (const tA of [false, true]) {
        const a = random(tA ? [3, k, m] : [3, m, k], m * k);
        const b = random([3, k, n], k * n);
        useSimdBmm(false);
        const xnn = values(() => [tA ? tf.matMul(tf.transpose(a, [0, 2, 1]) as tf.Tensor3D, b as tf.Tensor3D) : tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D)]);
        useSimdBmm(true);
        const simd = values(() => [tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, tA, false)]);
        expectSameBits(simd, xnn, `[3, ${m}, ${k}] · [3, ${k}, ${n}]${tA ? ', transposeA' : ''}`);
        a.dispose();
        b.dispose();
      }
  });
});

describe('simd.ts column sum (the Sum kernel over axis 0 of a matrix)', () => {
  it('gives the stock Sum kernel’s bits, with and without keepDims, and leaves no memory behind', () => {
    for (const [rows, cols] of [
      [6272, 64],
      [6272, 256],
      [300, 7],
      [5, 1],
      [1, 19],
    ]) {
      const x = random([rows, cols], rows + cols);
      useFastKernels(false);
      const stock = values(() => [tf.sum(x, 0), tf.sum(x, -2, true), tf.sum(x, [0])]);
      useFastKernels(true);
      const before = tf.memory();
      const fast = values(() => [tf.sum(x, 0), tf.sum(x, -2, true), tf.sum(x, [0])]);
      expectSameBits(fast, stock, `${rows} × ${cols}`);
      expect([tf.memory().numTensors, tf.memory().numBytes, tf.backend().numDataIds()]).toEqual([before.numTensors, before.numBytes, before.numDataBuffers]);
      x.dispose();
    }
  });

  it('sums a hand-worked matrix, and leaves other sums to the stock kernel with its values', () => {
    useFastKernels(true);
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(Array.from(tf.sum(x, 0).dataSync())).toEqual([5, 7, 9]);
    expect(tf.sum(x, 0, true).shape).toEqual([1, 3]);
    const x3 = random([4, 5, 6], 7);
    const xi = tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32');
    const others = () => [tf.sum(x, 1), tf.sum(x), tf.sum(x3, 0), tf.sum(x3, [0, 1]), tf.sum(xi, 0)];
    const fast = values(others);
    useFastKernels(false);
    const stock = values(others);
    useFastKernels(true);
    expect(fast).toEqual(stock);
    expect(Array.from(fast[4])).toEqual([4, 6]);
    tf.dispose([x, x3, xi]);
  });
});

describe('engine.ts gradients on simd.ts', () => {
  it('linear and layerNorm give the stock kernels’ gradients bit for bit (xᵀ·dy and the column sums)', () => {
    const x = random([300, 64], 30);
    const w = random([64, 256], 31);
    const b = random([256], 32);
    const w2 = random([256, 64], 33);
    const g = random([256], 34);
    const c = random([300, 256], 35);
    const f = (xs: tf.Tensor, ws: tf.Tensor, bs: tf.Tensor, w2s: tf.Tensor, gs: tf.Tensor): tf.Tensor => {
      const h = layerNorm(linear(xs as tf.Tensor2D, ws as tf.Tensor2D, bs as tf.Tensor1D), gs as tf.Tensor1D, bs as tf.Tensor1D);
      return tf.sum(tf.mul(tf.sigmoid(linear(linear(h, w2s as tf.Tensor2D), tf.transpose(w2s) as tf.Tensor2D)), c));
    };
    const run = (on: boolean): Float32Array[] => {
      useFastKernels(on);
      expect(fastKernelsActive()).toBe(on);
      return values(() => tf.tidy(() => tf.grads(f)([x, w, b, w2, g])));
    };
    const stock = run(false);
    const fast = run(true);
    expect(fast.length).toBe(5);
    expectSameBits(fast, stock, 'gradients');
    tf.dispose([x, w, b, w2, g, c]);
  });
});

describe('engine.ts gelu on simd.ts elementwise kernels', () => {
  it('gives the stock kernels’ values and gradients bit for bit, on lane multiples and tails', () => {
    for (const shape of [
      [6272, 256],
      [7, 3],
      [1, 5],
    ]) {
      const x = tf.mul(random(shape, shape[0]), 3); // reaching into σ's tails
      const w = random(shape, shape[1]);
      const f = (t: tf.Tensor): tf.Tensor => tf.sum(tf.mul(gelu(t), w));
      const run = (on: boolean): Float32Array[] => {
        useFastKernels(on);
        return values(() => tf.tidy(() => [gelu(x), ...tf.grads(f)([x])]));
      };
      const stock = run(false);
      const before = tf.memory();
      const fast = run(true);
      expectSameBits(fast, stock, shape.join(' × '));
      expect(tf.getKernel('MrpoGeluArgument', 'wasm') !== undefined && tf.getKernel('MrpoGeluGradient', 'wasm') !== undefined).toBe(true); // (the fused path ran)
      expect([tf.memory().numTensors, tf.memory().numBytes]).toEqual([before.numTensors, before.numBytes]);
      tf.dispose([x, w]);
    }
  });

  it('computes gelu at hand-worked points', () => {
    useFastKernels(true);
    // gelu(0) = 0; gelu(x) → x for large x and → 0 for large −x; gelu′(0) = 1/2 (σ(0) + 0)
    const x = tf.tensor1d([0, 10, -10]);
    const y = Array.from(gelu(x).dataSync());
    expect(y[0]).toBe(0);
    expect(y[1]).toBeCloseTo(10, 5);
    expect(y[2]).toBeCloseTo(0, 5);
    const dx = Array.from(tf.grad((t: tf.Tensor) => tf.sum(gelu(t)))(tf.tensor1d([0])).dataSync());
    expect(dx[0]).toBeCloseTo(0.5, 6);
    x.dispose();
  });
});

describe('simd.ts heads transpose (the Transpose kernel for [0, 2, 1, 3])', () => {
  it('gives the stock kernel’s values, leaves other transposes to it, and leaves no memory behind', () => {
    const cases = (): tf.Tensor[] => {
      const x = random([64, 98, 4, 16], 50);
      const small = random([2, 3, 5, 4], 51);
      const odd = random([2, 3, 5, 6], 52); // last dimension not a multiple of 4: stock
      return [x, small, odd, tf.transpose(x, [0, 2, 1, 3]), tf.transpose(small, [0, 2, 1, 3]), tf.transpose(odd, [0, 2, 1, 3]), tf.transpose(small, [0, 1, 3, 2]), tf.transpose(small, [1, 0, 2, 3])];
    };
    useFastKernels(false);
    const stock = values(cases);
    useFastKernels(true);
    const before = tf.memory();
    const fast = values(cases);
    expectSameBits(fast, stock, 'transposes');
    expect([tf.memory().numTensors, tf.memory().numBytes]).toEqual([before.numTensors, before.numBytes]);
  });

  it('moves a hand-worked tensor', () => {
    useFastKernels(true);
    // x [1, 2, 2, 4]: rows r0 = 0..3, r1 = 4..7 (b = 0), r2 = 8..11, r3 = 12..15 (b = 1); out[0, c, b] = x[0, b, c]
    const x = tf.tensor4d(Array.from({ length: 16 }, (_, i) => i), [1, 2, 2, 4]);
    expect(Array.from(tf.transpose(x, [0, 2, 1, 3]).dataSync())).toEqual([0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15]);
    x.dispose();
  });
});

describe('simd-norm.ts layer norm', () => {
  it('gives the stock ops’ values and gradients bit for bit, on lane multiples and tails', () => {
    for (const [rows, d] of [
      [6272, 64],
      [7, 6],
      [5, 3],
      [1, 16],
    ]) {
      const x = tf.add(tf.mul(random([rows, d], rows + d), 2), 0.5);
      const g = random([d], d);
      const b = random([d], d + 1);
      const w = random([rows, d], rows);
      const f = (xs: tf.Tensor, gs: tf.Tensor, bs: tf.Tensor): tf.Tensor => tf.sum(tf.mul(layerNorm(xs as tf.Tensor2D, gs as tf.Tensor1D, bs as tf.Tensor1D), w));
      const run = (on: boolean): Float32Array[] => {
        useFastKernels(on);
        return values(() => tf.tidy(() => [layerNorm(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D), ...tf.grads(f)([x, g, b])]));
      };
      const stock = run(false);
      const before = tf.memory();
      const fast = run(true);
      expectSameBits(fast, stock, `${rows} × ${d}`);
      expect(tf.getKernel('MrpoLayerNorm', 'wasm') !== undefined && tf.getKernel('MrpoLayerNormGrad', 'wasm') !== undefined).toBe(true); // (the fused path ran)
      expect([tf.memory().numTensors, tf.memory().numBytes]).toEqual([before.numTensors, before.numBytes]);
      tf.dispose([x, g, b, w]);
    }
  });

  it('normalises a hand-worked row', () => {
    useFastKernels(true);
    // x = [1, 2, 3, 4, 5]: μ = 3, σ² = 2, r = 1/√(2 + 1e-5); with g = 1, b = 0: (x − 3)·r
    const y = Array.from(layerNorm(tf.tensor2d([1, 2, 3, 4, 5], [1, 5]), tf.ones([5]) as tf.Tensor1D, tf.zeros([5]) as tf.Tensor1D).dataSync());
    const r = 1 / Math.sqrt(2 + 1e-5);
    [-2, -1, 0, 1, 2].forEach((c, i) => expect(y[i]).toBeCloseTo(c * r, 6));
  });
});

describe('simd-norm.ts softmax gradient', () => {
  it('gives tfjs’s Softmax gradient bit for bit, on lane multiples and tails, with the forward unchanged', () => {
    for (const shape of [
      [64, 4, 98, 98],
      [3, 7],
      [2, 2, 3],
    ]) {
      const x = tf.mul(random(shape, shape.length), 3);
      const w = random(shape, shape[0]);
      const f = (t: tf.Tensor): tf.Tensor => tf.sum(tf.mul(softmaxLast(t), w));
      const run = (on: boolean): Float32Array[] => {
        useFastKernels(on);
        return values(() => tf.tidy(() => [softmaxLast(x), ...tf.grads(f)([x])]));
      };
      const stock = run(false);
      const before = tf.memory();
      const fast = run(true);
      expectSameBits(fast, stock, shape.join(' × '));
      expect(tf.getKernel('MrpoSoftmaxGrad', 'wasm')).toBeDefined(); // (the fused path ran)
      expect([tf.memory().numTensors, tf.memory().numBytes]).toEqual([before.numTensors, before.numBytes]);
      tf.dispose([x, w]);
    }
  });

  it('gives the hand-worked gradient of a two-way softmax', () => {
    useFastKernels(true);
    // y = softmax([0, 0]) = [1/2, 1/2]; L = y₀: dL/dx = y₀·(e₀ − y) = [1/4, −1/4]
    const dx = Array.from(tf.grad((t: tf.Tensor) => tf.sum(tf.mul(softmaxLast(t), tf.tensor2d([1, 0], [1, 2]))))(tf.tensor2d([0, 0], [1, 2])).dataSync());
    expect(dx).toEqual([0.25, -0.25]);
  });
});
