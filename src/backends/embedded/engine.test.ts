/**
 * The engine's building blocks with written-out gradients (engine.ts) against
 * the plain formula they stand for, differentiated by tfjs's own gradient
 * definitions on the stock wasm kernels (useFastKernels(false)): values and
 * gradients of a random weighting of the output. The shapes are chosen to take
 * every branch (narrower/wider operand, blocked transposes, bias or not).
 *
 * Tolerance: float32 with sums of up to a few hundred terms in a different
 * order: |x − reference| ≤ 2e-5·(1 + max|reference|) per output tensor.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../utils/rng.js';
import { useFastKernels } from './kernels.js';
import { bmmNT, embed, gatherRows, gelu, initEngine, layerNorm, linear, logSumExpRows, tf, transpose2d } from './engine.js';

beforeAll(async () => {
  await initEngine();
});
afterAll(() => useFastKernels(true));

function random(shape: number[], seed: number, scale = 1): tf.Tensor {
  const rng = createRng(seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => scale * rng.normal()), shape);
}

function values(ts: tf.Tensor[]): Float32Array[] {
  const out = ts.map((t) => Float32Array.from(t.dataSync() as Float32Array));
  tf.dispose(ts);
  return out;
}

/** f's output and the gradients of Σ w·f(xs) for a fixed random w, on the fast kernels or the stock ones. */
function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], fast: boolean, seed: number): Float32Array[] {
  useFastKernels(fast);
  const y = f(...xs);
  const w = random(y.shape, seed);
  y.dispose();
  const gs = tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(f(...args), w)))(xs);
  const out = values([f(...xs), ...gs]);
  w.dispose();
  useFastKernels(true);
  return out;
}

function expectNear(got: Float32Array[], want: Float32Array[]): void {
  expect(got.length).toBe(want.length);
  got.forEach((xs, j) => {
    expect(xs.length, `output ${j}`).toBe(want[j].length);
    const scale = 1 + want[j].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    let worst = 0;
    xs.forEach((x, i) => {
      worst = Math.max(worst, Math.abs(x - want[j][i]));
    });
    expect(worst / scale, `output ${j}: worst |diff| ${worst} at scale ${scale}`).toBeLessThan(2e-5);
  });
}

/** The block under test on the fast kernels against the plain formula on the stock ones. */
function compare(block: (...xs: tf.Tensor[]) => tf.Tensor, plain: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], seed: number): void {
  expectNear(valueAndGrads(block, xs, true, seed), valueAndGrads(plain, xs, false, seed));
  tf.dispose(xs);
}

describe('transpose2d', () => {
  for (const shape of [
    [300, 256],
    [37, 128],
    [50, 64],
    [41, 165],
  ])
    it(`equals tf.transpose exactly at ${shape.join('×')}`, () => {
      const x = random(shape, shape[1]) as tf.Tensor2D;
      const [got, want] = values([transpose2d(x), tf.transpose(x)]);
      expect(got).toEqual(want);
      x.dispose();
    });
});

describe('linear', () => {
  const cases: Array<[string, number, number, number]> = [
    ['in < out (64 → 256: dy transposed in blocks)', 300, 64, 256],
    ['in > out (256 → 64: x transposed in blocks)', 300, 256, 64],
    ['in = out', 120, 64, 64],
    ['odd sizes', 45, 7, 13],
  ];
  for (const [name, n, inner, out] of cases) {
    it(`with a bias gives the values and gradients of x·W + b: ${name}`, () => {
      compare(
        (x, w, b) => linear(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D),
        (x, w, b) => tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b),
        [random([n, inner], 1), random([inner, out], 2, 0.2), random([out], 3)],
        4,
      );
    });
    it(`without a bias gives the values and gradients of x·W: ${name}`, () => {
      compare(
        (x, w) => linear(x as tf.Tensor2D, w as tf.Tensor2D),
        (x, w) => tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
        [random([n, inner], 5), random([inner, out], 6, 0.2)],
        7,
      );
    });
  }
});

describe('bmmNT', () => {
  for (const [B, m, n, k] of [
    [16, 20, 24, 8],
    [6, 3, 5, 4],
  ])
    it(`gives the values and gradients of a·bᵀ at [${B}, ${m}, ${k}] · [${B}, ${n}, ${k}]ᵀ`, () => {
      compare(
        (a, b) => bmmNT(a as tf.Tensor3D, b as tf.Tensor3D),
        (a, b) => tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, false, true),
        [random([B, m, k], 8), random([B, n, k], 9)],
        10,
      );
    });
});

describe('embed and gatherRows', () => {
  const ids = Int32Array.from([3, 0, 5, 3, 3, 1, 5, 0, 2]);
  it('gathers the rows of tf.gather', () => {
    const table = random([6, 4], 11) as tf.Tensor2D;
    const [got, want] = values([gatherRows(table, ids), tf.gather(table, tf.tensor1d(ids, 'int32'))]);
    expect(got).toEqual(want);
    expect(() => gatherRows(table, [6])).toThrow(/row index 6 outside \[0, 6\)/);
    table.dispose();
  });

  it('gives the values and gradient of a one-hot × table product (repeated and unused ids)', () => {
    compare(
      (t) => embed(t as tf.Tensor2D, ids),
      (t) => tf.matMul(tf.cast(tf.oneHot(tf.tensor1d(ids, 'int32'), 7), 'float32') as tf.Tensor2D, t as tf.Tensor2D),
      [random([7, 4], 12)],
      13,
    );
  });
});

describe('written-out gradients', () => {
  it('logSumExpRows gives the values and gradient of tf.logSumExp, with a −1e9 column', () => {
    const x = tf.tidy(() => tf.concat([random([30, 12], 14, 3), tf.fill([30, 1], -1e9)], 1));
    compare(
      (a) => logSumExpRows(a as tf.Tensor2D),
      (a) => tf.logSumExp(a, -1, true),
      [x],
      15,
    );
  });

  it('gelu gives the values and gradient of x·σ(2√(2/π)(x + 0.044715x³)) under autodiff', () => {
    const c = 2 * Math.sqrt(2 / Math.PI);
    compare(
      gelu,
      (x) => tf.mul(x, tf.sigmoid(tf.mul(c, tf.add(x, tf.mul(0.044715, tf.mul(x, tf.mul(x, x))))))),
      [random([40, 24], 16, 2)],
      17,
    );
  });

  it('layerNorm gives the values and gradients of (x − μ)/√(σ² + 1e-5)·g + b under autodiff', () => {
    compare(
      (x, g, b) => layerNorm(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D),
      (x, g, b) => {
        const centred = tf.sub(x, tf.mean(x, -1, true));
        return tf.add(tf.mul(tf.div(centred, tf.sqrt(tf.add(tf.mean(tf.square(centred), -1, true), 1e-5))), g), b);
      },
      [random([50, 16], 18, 3), random([16], 19), random([16], 20)],
      21,
    );
  });
});
