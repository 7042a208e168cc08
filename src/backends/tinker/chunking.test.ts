import { describe, expect, it } from 'vitest';
import { mergeChunkMetrics, splitIntoChunks } from './chunking.js';
import type { Datum } from './wire.js';

/** A datum of n tokens and no tensors: 4·n estimated bytes. */
const datum = (n: number): Datum => ({ modelInput: [{ kind: 'tokens', tokens: new Array<number>(n).fill(1) }], lossFnInputs: {} });

describe('splitIntoChunks', () => {
  it('respects the datum and byte limits, keeping order; an oversized datum travels alone', () => {
    const data = [datum(10), datum(10), datum(10), datum(100), datum(5)]; // 40, 40, 40, 400, 20 bytes
    const chunks = splitIntoChunks(data, { maxDatums: 2, maxBytes: 100 });
    expect(chunks.map((c) => c.map((d) => data.indexOf(d)))).toEqual([[0, 1], [2], [3], [4]]);
    expect(splitIntoChunks(data, { maxDatums: 10, maxBytes: 1000 })).toHaveLength(1);
  });
});

describe('mergeChunkMetrics', () => {
  it('sums :sum, weights :mean by datums, takes extremes of :min/:max', () => {
    const merged = mergeChunkMetrics([
      { metrics: { 'loss:sum': 2, 'ratio:mean': 1, 'x:max': 3, 'x:min': 3 }, datums: 3 },
      { metrics: { 'loss:sum': 5, 'ratio:mean': 2, 'x:max': 7, 'x:min': 1 }, datums: 1 },
    ]);
    expect(merged).toEqual({ 'loss:sum': 7, 'ratio:mean': (1 * 3 + 2 * 1) / 4, 'x:max': 7, 'x:min': 1 });
  });
});
