/**
 * Shared by the embedded engine's kernel tests: the engine started before a file's tests, the fast kernels and
 * simd.ts switched back on after them (a test may turn them off), and seeded standard-normal tensors.
 */
import { afterAll, beforeAll } from 'vitest';
import { createRng } from '../../../utils/rng.js';
import { initEngine, tf } from '../engine.js';
import { useFastKernels, useSimdBmm } from '../kernels.js';

export function useEngineForTests(): void {
  beforeAll(async () => {
    await initEngine();
  });
  afterAll(() => {
    useFastKernels(true);
    useSimdBmm(true);
  });
}

/** A float32 tensor of this shape, filled from createRng(seed).normal(). */
export function random(shape: number[], seed: number): tf.Tensor {
  const rng = createRng(seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);
}
