/**
 * The `shape` bench's scaling lines (issue 14: "nothing quadratic"): ns/token
 * of MRPO `shape()` as one dimension of the batch changes and the others stay.
 *
 * - group size 4, 8, 16 at ~512 tokens per completion, 512 completions
 *   (128, 64, 32 prompts): flat when the group work is linear;
 * - completion length ~128, ~512, ~2048 tokens at group size 8, with the
 *   number of prompts chosen so that every batch holds about the same number
 *   of tokens (256, 64, 16 prompts): flat, or falling, when nothing grows
 *   with a completion's length faster than its tokens.
 *
 * Each figure is the median (and best) of repeated calls on a validated
 * request, as the bench's other shape() lines.
 */
import { parseShapeRequest, shape } from '../../src/shape/index.js';
import { makeBatch, timeIt } from './batch.js';

const SECONDS = 1;

function nsPerToken(prompts: number, group: number, tokens: number): { median: number; best: number; tokens: number } {
  const batch = makeBatch({ prompts, group, tokens, seed: 2, estimator: 'mrpo' });
  const request = parseShapeRequest(batch.request);
  const t = timeIt(() => void shape(request), SECONDS);
  return { median: (t.median / batch.tokens) * 1e9, best: (t.best / batch.tokens) * 1e9, tokens: batch.tokens };
}

function line(label: string, values: readonly number[], rows: ReadonlyArray<{ median: number; best: number; tokens: number }>): string {
  const med = rows.map((r) => r.median.toFixed(1)).join(' / ');
  const best = rows.map((r) => r.best.toFixed(1)).join(' / ');
  const tokens = rows.map((r) => r.tokens).join(' / ');
  const ratio = rows[rows.length - 1].median / rows[0].median;
  return `shape-scaling/mrpo ${label} ${values.join(' / ')}: ${med} ns/token median (best ${best}); last/first ${ratio.toFixed(2)}× — batches of ${tokens} tokens`;
}

export function scaling(): void {
  const groups = [4, 8, 16];
  console.log(line('group size', groups, groups.map((g) => nsPerToken(512 / g, g, 512))));
  const lengths = [128, 512, 2048];
  console.log(line('completion length (group 8)', lengths, lengths.map((n) => nsPerToken((64 * 512) / n, 8, n))));
}
