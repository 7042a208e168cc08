/**
 * The per-element BatchMatMul kernel (kernels.ts) against the stock tfjs
 * wasm kernel: every expected value here comes from the stock kernel, selected
 * with useFastKernels(false) and called through the ordinary tfjs ops
 * (tf.matMul, tf.grads), or is written out by hand.
 *
 * Tolerance: float32 products of k terms summed in a different order (XNNPACK
 * vs the scalar loop) differ by a few ulps of the partial sums; with entries
 * of order 1 and k ≤ 98 the bound used is |fast − stock| ≤ 1e-5 + 1e-5·|stock|.
 */
import { describe, expect, it } from 'vitest';
import { createRng } from '../../utils/rng.js';
import type { LossSpec, OptimizerSpec, Prompt, TrainExample } from '../backend.js';
import { readFileSync } from 'node:fs';
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { TESTED_WASM_VERSION, simdBmmBound, useFastKernels, useSimdBmm } from './kernels.js';
import { createEmbeddedBackend } from './embedded-backend.js';
import { bmm, tf } from './engine.js';
import { random, useEngineForTests } from './test-support/engine-setup.js';

useEngineForTests();

/** Runs f under the stock kernel and under the fast one; returns both results as plain arrays. */
function both(f: () => tf.Tensor[]): { stock: Float32Array[]; fast: Float32Array[] } {
  const run = (on: boolean): Float32Array[] => {
    useFastKernels(on);
    const ts = f();
    const out = ts.map((t) => t.dataSync() as Float32Array);
    for (const t of ts) t.dispose();
    return out;
  };
  return { stock: run(false), fast: run(true) };
}

function expectClose(fast: Float32Array[], stock: Float32Array[]): void {
  expect(fast.length).toBe(stock.length);
  fast.forEach((xs, j) => {
    expect(xs.length).toBe(stock[j].length);
    let worst = 0;
    xs.forEach((x, i) => {
      worst = Math.max(worst, Math.abs(x - stock[j][i]) - 1e-5 * Math.abs(stock[j][i]));
    });
    expect(worst, `output ${j}`).toBeLessThan(1e-5);
  });
}

describe('fast BatchMatMul', () => {
  it('runs on the tfjs version it was tested with, pinned exactly in package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> };
    for (const name of ['@tensorflow/tfjs', '@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm']) expect(pkg.dependencies[name], name).toBe(TESTED_WASM_VERSION);
    expect(version_wasm).toBe(TESTED_WASM_VERSION);
    expect(useFastKernels(true)).toBe(true);
  });

  it('is the installed kernel after initEngine, and useFastKernels(false) restores the stock one', () => {
    useFastKernels(true);
    const fast = tf.getKernel('BatchMatMul', 'wasm');
    useFastKernels(false);
    const stock = tf.getKernel('BatchMatMul', 'wasm');
    expect(fast).not.toBe(stock);
    useFastKernels(true);
    expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(fast);
  });

  it('multiplies a hand-worked batch', () => {
    useFastKernels(true);
    const a = tf.tensor3d([1, 2, 3, 4, 0, 1, -1, 2], [2, 2, 2]);
    const b = tf.tensor3d([5, 6, 7, 8, 1, 1, 2, 3], [2, 2, 2]);
    // [[1,2],[3,4]]·[[5,6],[7,8]] = [[19,22],[43,50]]; [[0,1],[-1,2]]·[[1,1],[2,3]] = [[2,3],[3,5]]
    expect(Array.from(tf.matMul(a, b).dataSync())).toEqual([19, 22, 43, 50, 2, 3, 3, 5]);
  });

  const shapes: Array<[string, number[], number[]]> = [
    ['attention scores QKᵀ', [256, 98, 16], [256, 16, 98]],
    ['attention context AV', [256, 98, 98], [256, 98, 16]],
    ['backward dKᵀ', [256, 16, 98], [256, 98, 98]],
    ['small odd sizes', [3, 5, 7], [3, 7, 2]],
    ['rank 4', [2, 3, 4, 5], [2, 3, 5, 6]],
    ['one column', [4, 9, 3], [4, 3, 1]],
    ['decode step (1 row: stock path)', [256, 1, 16], [256, 16, 80]],
    ['MIN_ROWS rows', [5, 8, 3], [5, 3, 9]],
    ['simd.ts: MIN_ROWS rows, one inner index', [3, 8, 1], [3, 1, 16]],
    ['simd.ts: odd sizes, rank 4', [2, 3, 13, 7], [2, 3, 7, 16]],
    ['B above SIMD_MAX_B (XNNPACK per element)', [2, 9, 70], [2, 70, 64]],
  ];
  for (const [name, sa, sb] of shapes)
    it(`gives the stock values: ${name} ${sa.join('×')} · ${sb.join('×')}`, () => {
      const a = random(sa, 1);
      const b = random(sb, 2);
      const b2 = random(sb, 3);
      // two products in a row with the same shapes: a stale cached B would show in the second
      const { stock, fast } = both(() => [tf.matMul(a, b), tf.matMul(a, b2)]);
      expectClose(fast, stock);
      for (const t of [a, b, b2]) t.dispose();
    });

  it('falls back to the stock kernel for transposes, broadcasting and batch 1, with the stock values', () => {
    const a = random([6, 5, 4], 4);
    const b = random([6, 4, 3], 5);
    const bt = random([6, 3, 4], 6);
    const b1 = random([1, 4, 3], 7);
    const a1 = random([1, 5, 4], 8);
    const { stock, fast } = both(() => [tf.matMul(a, bt, false, true), tf.matMul(tf.transpose(a, [0, 2, 1]), b, true, false), tf.matMul(a, b1), tf.matMul(a1, b1), tf.matMul(a, b)]);
    expectClose(fast, stock);
    for (const t of [a, b, bt, b1, a1]) t.dispose();
  });

  it('gives the stock gradients, through bmm and through tf.matMul', () => {
    const a = random([8, 12, 6], 10);
    const b = random([8, 6, 10], 11);
    const w = random([8, 12, 10], 12);
    const loss = (f: (x: tf.Tensor3D, y: tf.Tensor3D) => tf.Tensor3D) => (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.sin(f(x as tf.Tensor3D, y as tf.Tensor3D)), w));
    const { stock, fast } = both(() => [...tf.grads(loss(bmm))([a, b]), ...tf.grads(loss((x, y) => tf.matMul(x, y)))([a, b])]);
    expectClose(fast, stock);
    for (const t of [a, b, w]) t.dispose();
  });

  it('gives the stock gradients with the products through simd.ts in the forward and backward pass', () => {
    const a = random([8, 12, 10], 15);
    const b = random([8, 10, 16], 16);
    const w = random([8, 12, 16], 17);
    const loss = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.sin(bmm(x as tf.Tensor3D, y as tf.Tensor3D)), w));
    const { stock, fast } = both(() => [...tf.grads(loss)([a, b]), loss(a, b)]);
    expectClose(fast, stock);
    for (const t of [a, b, w]) t.dispose();
  });

  it('gives with simd.ts the same bits as XNNPACK per element (the same operations in the same order)', () => {
    useFastKernels(true);
    const cases: Array<[number[], number[]]> = [
      [[256, 98, 98], [256, 98, 16]],
      [[4, 9, 1], [4, 1, 16]],
      [[3, 33, 70], [3, 70, 16]],
      [[256, 98, 16], [256, 16, 98]], // 6 blocks of 16 columns, 2 single columns
      [[3, 10, 5], [3, 5, 7]], // a block of 4, 3 single columns
      [[2, 9, 4], [2, 4, 1]],
      [[2, 8, 64], [2, 64, 64]], // B of SIMD_MAX_B entries
    ];
    for (const [sa, sb] of cases) {
      const a = random(sa, 18);
      const b = random(sb, 19);
      const run = (on: boolean): Float32Array => {
        useSimdBmm(on);
        const c = tf.matMul(a, b);
        const out = c.dataSync() as Float32Array;
        c.dispose();
        return out;
      };
      const xnn = run(false);
      const simd = run(true);
      expect(simdBmmBound()).toBe(true); // (otherwise both runs would be XNNPACK's)
      expect(simd, `${sa.join('×')} · ${sb.join('×')}`).toEqual(xnn);
      a.dispose();
      b.dispose();
    }
  });

  it('gives the stock values with A transposed (transposeA), through simd.ts and, for a large B, through the stock Transpose', () => {
    const at = random([6, 9, 12], 20); // A stored [k = 9, m = 12]
    const b = random([6, 9, 16], 21);
    const atBig = random([3, 70, 10], 22);
    const bBig = random([3, 70, 64], 23); // 4,480 entries: over SIMD_MAX_B
    const { stock, fast } = both(() => [tf.matMul(at, b, true, false), tf.matMul(atBig, bBig, true, false)]);
    expectClose(fast, stock);
    for (const t of [at, b, atBig, bBig]) t.dispose();
  });

  it('gives with transposeA the same bits as an explicit transpose and XNNPACK, and leaves no memory behind', () => {
    useFastKernels(true);
    for (const [sa, sb] of [
      [[256, 98, 98], [256, 98, 16]],
      [[3, 70, 10], [3, 70, 64]],
    ]) {
      const at = random(sa, 24);
      const b = random(sb, 25);
      useSimdBmm(false);
      const ref = tf.matMul(tf.transpose(at, [0, 2, 1]) as tf.Tensor3D, b as tf.Tensor3D);
      const xnn = ref.dataSync() as Float32Array;
      ref.dispose();
      useSimdBmm(true);
      const before = tf.memory();
      const c = tf.matMul(at, b, true, false);
      expect(c.dataSync() as Float32Array, sa.join('×')).toEqual(xnn);
      c.dispose();
      expect([tf.memory().numTensors, tf.memory().numBytes, tf.backend().numDataIds()]).toEqual([before.numTensors, before.numBytes, before.numDataBuffers]);
      at.dispose();
      b.dispose();
    }
  });

  it('leaves no tensors or wasm memory behind', () => {
    useFastKernels(true);
    const a = random([16, 20, 8], 13);
    const b = random([16, 8, 20], 14);
    tf.matMul(a, b).dispose(); // first call may grow the heap
    const before = tf.memory();
    for (let i = 0; i < 20; i++) tf.matMul(a, b).dispose();
    const b16 = random([16, 8, 16], 15);
    tf.matMul(a, b16).dispose();
    const mid = tf.memory();
    for (let i = 0; i < 20; i++) tf.matMul(a, b16).dispose(); // the simd.ts path (16 columns)
    expect([tf.memory().numTensors, tf.memory().numBytes]).toEqual([mid.numTensors, mid.numBytes]);
    b16.dispose();
    const after = tf.memory();
    expect([after.numTensors, after.numDataBuffers, after.numBytes]).toEqual([before.numTensors, before.numDataBuffers, before.numBytes]);
    a.dispose();
    b.dispose();
  });
});

describe('sharing Identity', () => {
  it('is installed with the fast BatchMatMul and removed with it', () => {
    useFastKernels(false);
    const stock = tf.getKernel('Identity', 'wasm');
    useFastKernels(true);
    expect(tf.getKernel('Identity', 'wasm')).not.toBe(stock);
  });

  it('clones keep their values after the original is disposed, and free the memory once all are disposed', () => {
    useFastKernels(true);
    const before = tf.memory();
    const x = tf.tensor2d([1.5, -2, 3, 4e-8, 5, 6], [3, 2]);
    const y = tf.clone(x);
    const z = tf.clone(y);
    expect(tf.memory().numDataBuffers).toBe(before.numDataBuffers + 1); // three tensors, one buffer
    expect(tf.backend().numDataIds()).toBe(before.numDataBuffers + 1);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual(Array.from(Float32Array.of(1.5, -2, 3, 4e-8, 5, 6)));
    y.dispose();
    expect(z.shape).toEqual([3, 2]);
    const plus1 = tf.tidy(() => tf.add(z, 1));
    expect(Array.from(plus1.dataSync())).toEqual(Array.from(Float32Array.of(2.5, -1, 4, 1, 6, 7)));
    plus1.dispose();
    z.dispose();
    const after = tf.memory();
    expect([after.numTensors, after.numDataBuffers, after.numBytes, tf.backend().numDataIds()]).toEqual([before.numTensors, before.numDataBuffers, before.numBytes, before.numDataBuffers]);
  });

  it('gives the stock gradients through a graph of elementwise ops, softmax and reductions', () => {
    const x = random([6, 10], 20);
    const w = random([10, 4], 21);
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.softmax(tf.matMul(tf.sigmoid(a) as tf.Tensor2D, b as tf.Tensor2D)), tf.exp(tf.neg(tf.square(tf.sum(a, -1, true))))));
    const { stock, fast } = both(() => [...tf.grads(f)([x, w]), f(x, w)]);
    expect(fast).toEqual(stock); // no matmul with a batch here: the same kernels, the same bits
    for (const t of [x, w]) t.dispose();
  });
});

describe('sharing Cast', () => {
  it('is installed with the fast BatchMatMul and removed with it', () => {
    useFastKernels(false);
    const stock = tf.getKernel('Cast', 'wasm');
    useFastKernels(true);
    expect(tf.getKernel('Cast', 'wasm')).not.toBe(stock);
  });

  it('shares the data for the same dtype, converts other dtypes as the stock kernel does, and frees all memory', () => {
    useFastKernels(true);
    const before = tf.memory();
    const x = tf.tensor1d([1.5, -2.7, 3, 0.49, -0.5]);
    const same = tf.cast(x, 'float32');
    expect(tf.memory().numDataBuffers).toBe(before.numDataBuffers + 1); // two tensors, one buffer
    x.dispose();
    expect(Array.from(same.dataSync())).toEqual(Array.from(Float32Array.of(1.5, -2.7, 3, 0.49, -0.5)));
    const conversions = (t: tf.Tensor): Array<number[]> => {
      const vals: Array<number[]> = [];
      tf.tidy(() => {
        for (const o of [tf.cast(t, 'int32'), tf.cast(t, 'bool'), tf.cast(tf.cast(t, 'int32'), 'float32'), tf.cast(tf.cast(t, 'int32'), 'int32')]) vals.push(Array.from(o.dataSync()));
      });
      return vals;
    };
    const fast = conversions(same);
    useFastKernels(false);
    const stock = conversions(same);
    useFastKernels(true);
    expect(fast).toEqual(stock);
    expect(fast[0]).toEqual([1, -2, 3, 0, 0]); // truncation toward zero (by hand)
    same.dispose();
    const after = tf.memory();
    expect([after.numTensors, after.numDataBuffers, after.numBytes]).toEqual([before.numTensors, before.numDataBuffers, before.numBytes]);
  });
});

describe('training with the fast kernels', () => {
  // d_head 8 and 16
  for (const heads of [4, 2])
  it(`gives the stock kernels’ metrics over four policy-gradient steps (to 6 decimals), ${heads} heads of ${32 / heads}`, async () => {
    const words = Array.from({ length: 40 }, (_, i) => `w${i}`);
    const rng = createRng(3);
    const prompts: Prompt[] = Array.from({ length: 2 }, (_, i) => ({
      item: { id: `p${i}`, image: { pixels: Uint8Array.from({ length: 16 * 16 }, () => rng.int(256)), width: 16, height: 16, channels: 1 }, question: 'q', answer: 'a', source: 't' },
      text: `${words.slice(i * 5, i * 5 + 8).join(' ')} answer inside <answer> </answer>.`,
    }));
    const loss: LossSpec = { kind: 'policy-gradient', beta: 0.04, epsLow: 0.2, epsHigh: 0.2, aggregation: 'seq-mean-token-mean', constant: 12 };
    const opt: OptimizerSpec = { learningRate: 3e-3, gradClip: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
    const model = { dModel: 32, layers: 2, heads, ffDim: 64, imageSize: 16, patchSize: 8, maxTextLen: 40 };
    const trainRun = async (on: boolean): Promise<Array<Record<string, number>>> => {
      useFastKernels(on);
      const policy = await createEmbeddedBackend({ seed: 4, corpus: [...words, ...prompts.map((p) => p.text)], model });
      const out: Array<Record<string, number>> = [];
      for (let step = 0; step < 4; step++) {
        const groups = await policy.sample(prompts, 4, { temperature: 1, maxTokens: 12, seed: 10 + step });
        const batch: TrainExample[] = groups.flatMap((g, i) => g.map((completion, j) => ({ prompt: prompts[i], completion, advantages_T: completion.tokenIds.map(() => (j % 2 ? 1 : -1)) })));
        out.push({ ...(await policy.train(batch, loss, opt)) });
      }
      await policy.close();
      return out;
    };
    const stock = await trainRun(false);
    const fast = await trainRun(true);
    expect(fast.length).toBe(4);
    fast.forEach((m, step) => {
      expect(Object.keys(m).sort()).toEqual(Object.keys(stock[step]).sort());
      for (const key of Object.keys(m)) expect(m[key], `step ${step} ${key}`).toBeCloseTo(stock[step][key], 6);
    });
  });
});
