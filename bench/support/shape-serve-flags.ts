/**
 * Times shape() on the shape-vs-numpy batch in this process and prints the
 * seconds of each call as one JSON line. shape-vs-numpy.ts runs it in a child
 * Node process started with `mrpo serve`'s V8 flags (src/cli/node-flags.ts),
 * which is how trainers that call `mrpo serve` get shape().
 *   node --import tsx --max-semi-space-size=64 bench/support/shape-serve-flags.ts SECONDS
 */
import { parseShapeRequest, shape } from '../../src/shape/index.js';
import { SHAPE_VS_NUMPY_BATCH, callTimes, makeBatch } from './batch.js';

const seconds = Number(process.argv[2] ?? '1');
const request = parseShapeRequest(makeBatch(SHAPE_VS_NUMPY_BATCH).request);
// A fresh process: warm the JIT as long as the parent's lines before it had.
console.log(JSON.stringify(callTimes(() => void shape(request), seconds, [], { warmup: 20 })));
