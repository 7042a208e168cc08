/**
 * Token ↔ step mapping from character offsets (mrpo.md §5).
 *
 * Rule: a token [s, e) belongs to the step its characters overlap most; on a
 * tie (a token straddling two steps equally) the earlier step wins; a token
 * that overlaps no step (tags, whitespace between steps, the answer) or has an
 * empty span belongs to none (−1) and keeps the sequence advantage. A step
 * that no token belongs to is *unmapped* and counted: with real tokenizer
 * offsets that count should be zero.
 *
 * Steps must be sorted and non-overlapping (as segmentSteps returns them).
 * Tokens are expected in text order; out-of-order tokens are handled by a
 * binary search, only slower.
 */
import type { Step, TokenOffset } from '../../types.js';

export interface TokenStepMap {
  /** Step index of each token, −1 for none. */
  readonly step_T: Int32Array;
  /** Number of tokens mapped to each step. */
  readonly tokens_K: Int32Array;
  readonly unmappedSteps: number;
}

function firstStepEndingAfter(steps_K: readonly Step[], s: number): number {
  let lo = 0;
  let hi = steps_K.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (steps_K[mid].end <= s) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function mapTokensToSteps(offsets_T: readonly TokenOffset[], steps_K: readonly Step[]): TokenStepMap {
  const T = offsets_T.length;
  const K = steps_K.length;
  const step_T = new Int32Array(T).fill(-1);
  const tokens_K = new Int32Array(K);
  let k = 0;
  let prevStart = -Infinity;
  for (let t = 0; t < T; t++) {
    const off = offsets_T[t];
    const s = off[0];
    const e = off[1];
    if (e <= s) continue;
    if (s < prevStart) k = firstStepEndingAfter(steps_K, s);
    prevStart = s;
    while (k < K && steps_K[k].end <= s) k++;
    let best = -1;
    let bestOverlap = 0;
    for (let j = k; j < K && steps_K[j].start < e; j++) {
      const overlap = Math.min(e, steps_K[j].end) - Math.max(s, steps_K[j].start);
      if (overlap > bestOverlap) {
        bestOverlap = overlap;
        best = j;
      }
    }
    if (best >= 0) {
      step_T[t] = best;
      tokens_K[best]++;
    }
  }
  let unmappedSteps = 0;
  for (let j = 0; j < K; j++) if (tokens_K[j] === 0) unmappedSteps++;
  return { step_T, tokens_K, unmappedSteps };
}

/**
 * Per-token advantages: the sequence advantage everywhere, replaced by
 * `stepValues_K[k]` on the tokens of step k when step values are given.
 */
export function tokenAdvantagesFor(
  offsets_T: readonly TokenOffset[],
  steps_K: readonly Step[],
  advantage: number,
  stepValues_K: readonly number[] | undefined,
): { tokenAdvantages: Float64Array; unmappedSteps: number } {
  const map = mapTokensToSteps(offsets_T, steps_K);
  const out = new Float64Array(offsets_T.length).fill(advantage);
  if (stepValues_K !== undefined) {
    for (let t = 0; t < out.length; t++) {
      const k = map.step_T[t];
      if (k >= 0) out[t] = stepValues_K[k];
    }
  }
  return { tokenAdvantages: out, unmappedSteps: map.unmappedSteps };
}
