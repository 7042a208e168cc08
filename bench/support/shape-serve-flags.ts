/**
 * Times shape() on the shape-vs-numpy batch in this process and prints the
 * seconds of each call as one JSON line. shape-vs-numpy.ts runs it in a child
 * Node process started with `mrpo serve`'s V8 flags (src/cli/node-flags.ts),
 * which is how trainers that call `mrpo serve` get shape().
 *   node --import tsx --max-semi-space-size=64 bench/support/shape-serve-flags.ts SECONDS
 */
import { parseShapeRequest, shape } from '../../src/shape/index.js';
import { SHAPE_VS_NUMPY_BATCH, makeBatch } from './batch.js';

const seconds = Number(process.argv[2] ?? '1');
const request = parseShapeRequest(makeBatch(SHAPE_VS_NUMPY_BATCH).request);
// A fresh process: warm the JIT as long as the parent's lines before it had.
for (let i = 0; i < 20; i++) shape(request);
const times: number[] = [];
const start = process.hrtime.bigint();
do {
  const t0 = process.hrtime.bigint();
  shape(request);
  times.push(Number(process.hrtime.bigint() - t0) / 1e9);
} while (Number(process.hrtime.bigint() - start) / 1e9 < seconds);
console.log(JSON.stringify(times));
