/**
 * Token ↔ step mapping from character offsets (docs/method.md §5).
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
 *
 * Offsets come as `[start, end]` pairs or flat (an Int32Array `start₀, end₀, …`,
 * what `mrpo serve` decodes request bodies to); both are read in place.
 */
import type { Step, TokenOffsets } from '../../types.js';

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

/** The number of tokens in offsets (pairs or flat). */
export function tokenCount(offsets_T: TokenOffsets): number {
  return offsets_T instanceof Int32Array ? offsets_T.length >> 1 : offsets_T.length;
}

/** The step that token [s, e) overlaps most among steps k…, the earlier on a tie; −1 for none. */
function bestStep(steps_K: readonly Step[], k: number, s: number, e: number): number {
  let best = -1;
  let bestOverlap = 0;
  for (let j = k; j < steps_K.length && steps_K[j].start < e; j++) {
    const overlap = Math.min(e, steps_K[j].end) - Math.max(s, steps_K[j].start);
    if (overlap > bestOverlap) {
      bestOverlap = overlap;
      best = j;
    }
  }
  return best;
}

/**
 * Calls visit(t, k) for every token t that belongs to a step k (the rule above). One loop per offsets form, so
 * that each reads its form in place.
 */
function forEachTokenStep(offsets_T: TokenOffsets, steps_K: readonly Step[], visit: (t: number, k: number) => void): void {
  const K = steps_K.length;
  let k = 0;
  let prevStart = -Infinity;
  if (offsets_T instanceof Int32Array) {
    for (let t = 0; 2 * t < offsets_T.length; t++) {
      const s = offsets_T[2 * t];
      const e = offsets_T[2 * t + 1];
      if (e <= s) continue;
      if (s < prevStart) k = firstStepEndingAfter(steps_K, s);
      prevStart = s;
      while (k < K && steps_K[k].end <= s) k++;
      const best = bestStep(steps_K, k, s, e);
      if (best >= 0) visit(t, best);
    }
    return;
  }
  for (let t = 0; t < offsets_T.length; t++) {
    const off = offsets_T[t];
    const s = off[0];
    const e = off[1];
    if (e <= s) continue;
    if (s < prevStart) k = firstStepEndingAfter(steps_K, s);
    prevStart = s;
    while (k < K && steps_K[k].end <= s) k++;
    const best = bestStep(steps_K, k, s, e);
    if (best >= 0) visit(t, best);
  }
}

export function mapTokensToSteps(offsets_T: TokenOffsets, steps_K: readonly Step[]): TokenStepMap {
  const step_T = new Int32Array(tokenCount(offsets_T)).fill(-1);
  const tokens_K = new Int32Array(steps_K.length);
  forEachTokenStep(offsets_T, steps_K, (t, k) => {
    step_T[t] = k;
    tokens_K[k]++;
  });
  let unmappedSteps = 0;
  for (let j = 0; j < steps_K.length; j++) if (tokens_K[j] === 0) unmappedSteps++;
  return { step_T, tokens_K, unmappedSteps };
}

/**
 * Per-token advantages: the sequence advantage everywhere, replaced by
 * `stepValues_K[k]` on the tokens of step k when step values are given.
 * Plain number[] (what JSON output and backends take).
 */
export function tokenAdvantagesFor(
  offsets_T: TokenOffsets,
  steps_K: readonly Step[],
  advantage: number,
  stepValues_K: readonly number[] | undefined,
): { tokenAdvantages: number[]; unmappedSteps: number } {
  const T = tokenCount(offsets_T);
  const out = new Array<number>(T);
  for (let t = 0; t < T; t++) out[t] = advantage;
  const K = steps_K.length;
  let seen = 0; // bit set of steps that got a token (K ≤ 31), else counted below
  const hit = K > 31 ? new Uint8Array(K) : undefined;
  forEachTokenStep(offsets_T, steps_K, (t, k) => {
    if (stepValues_K !== undefined) out[t] = stepValues_K[k];
    if (hit !== undefined) hit[k] = 1;
    else seen |= 1 << k;
  });
  let mapped = 0;
  if (hit !== undefined) for (let k = 0; k < K; k++) mapped += hit[k];
  else for (let k = 0; k < K; k++) mapped += (seen >>> k) & 1;
  return { tokenAdvantages: out, unmappedSteps: K - mapped };
}
