/**
 * Throughput of segmentation + rewards + shaping (the `shape` library call)
 * over 64 prompts × 8 completions × ~512 tokens with offsets, per estimator,
 * single-threaded; then with request validation added (what `mrpo shape` and
 * `POST /v1/shape` also do). Goal (issue 2): ≥ 5M tokens/s.
 * Figures: median and best of repeated calls. Then, for MRPO, shape() in
 * ns/token beside a same-run ceiling (a loop touching each token offset) and a
 * numpy reference (bench/support/shape-vs-numpy.ts), with the ratios and the
 * numpy side's max |diff| from shape()'s per-token advantages. Last, the scaling
 * lines (bench/support/shape-scaling.ts): ns/token at group size 4/8/16 and at
 * completion length 128/512/2048.
 */
import { ESTIMATOR_NAMES } from '../src/algo/advantages/index.js';
import { parseShapeRequest, shape } from '../src/shape/index.js';
import { fmt, makeBatch, timeIt } from './support/batch.js';
import { scaling } from './support/shape-scaling.js';
import { compareWithNumpy } from './support/shape-vs-numpy.js';

export async function run(): Promise<void> {
  for (const estimator of ESTIMATOR_NAMES) {
    const batch = makeBatch({ prompts: 64, group: 8, tokens: 512, seed: 1, estimator });
    const request = parseShapeRequest(batch.request);
    const t = timeIt(() => void shape(request));
    console.log(
      `shape/${estimator}: ${fmt(batch.tokens / t.median)} tokens/s (best ${fmt(batch.tokens / t.best)}), ${fmt(batch.completions / t.median)} completions/s — ${batch.completions} completions, ${batch.tokens} tokens, ${(t.median * 1e3).toFixed(1)} ms median`,
    );
    const v = timeIt(() => void shape(parseShapeRequest(batch.request)));
    console.log(`shape+validate/${estimator}: ${fmt(batch.tokens / v.median)} tokens/s (best ${fmt(batch.tokens / v.best)}), ${fmt(batch.completions / v.median)} completions/s`);
  }
  compareWithNumpy();
  scaling();
}
