/**
 * Request-size limits for `forward_backward` (docs/tinker-protocol.md §3.2, §9
 * item 9): a batch is split into chunks of at most `maxDatums` datums and at
 * most `maxBytes` estimated bytes (the server advertises both in
 * `client/config`: 1024 and 5 000 000 by default). A single datum larger than
 * `maxBytes` travels alone. Chunk results are joined in order; metrics named
 * `name:reduction` are merged per reduction (sum adds, mean and slack are
 * weighted by datum count, min/max take the extreme, others keep the first).
 */
import { estimateDatumBytes, type Datum } from './wire.js';

export interface ChunkLimits {
  readonly maxDatums: number;
  readonly maxBytes: number;
}

export const DEFAULT_CHUNK_LIMITS: ChunkLimits = { maxDatums: 1024, maxBytes: 5_000_000 };

export function splitIntoChunks(data: readonly Datum[], limits: ChunkLimits): Datum[][] {
  const chunks: Datum[][] = [];
  let current: Datum[] = [];
  let bytes = 0;
  for (const d of data) {
    const b = estimateDatumBytes(d);
    if (current.length > 0 && (current.length >= limits.maxDatums || bytes + b > limits.maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(d);
    bytes += b;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export function mergeChunkMetrics(parts: ReadonlyArray<{ readonly metrics: Readonly<Record<string, number>>; readonly datums: number }>): Record<string, number> {
  const out: Record<string, number> = {};
  const weight: Record<string, number> = {};
  for (const { metrics, datums } of parts) {
    for (const [key, value] of Object.entries(metrics)) {
      const reduction = key.slice(key.lastIndexOf(':') + 1);
      if (!(key in out)) {
        out[key] = reduction === 'mean' || reduction === 'slack' ? value * datums : value;
        weight[key] = datums;
        continue;
      }
      switch (reduction) {
        case 'sum':
          out[key] += value;
          break;
        case 'mean':
        case 'slack':
          out[key] += value * datums;
          weight[key] += datums;
          break;
        case 'min':
          out[key] = Math.min(out[key], value);
          break;
        case 'max':
          out[key] = Math.max(out[key], value);
          break;
        default:
          break;
      }
    }
  }
  for (const key of Object.keys(out)) {
    const reduction = key.slice(key.lastIndexOf(':') + 1);
    if ((reduction === 'mean' || reduction === 'slack') && weight[key] > 0) out[key] /= weight[key];
  }
  return out;
}
