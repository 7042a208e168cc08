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
import type { TokenOffsets } from '../../types.js';

/** What the mapping reads of a step: its span (a Step has one). */
export interface StepSpan {
  readonly start: number;
  readonly end: number;
}

export interface TokenStepMap {
  /** Step index of each token, −1 for none. */
  readonly step_T: Int32Array;
  /** Number of tokens mapped to each step. */
  readonly tokens_K: Int32Array;
  readonly unmappedSteps: number;
}

function firstStepEndingAfter(steps_K: readonly StepSpan[], s: number): number {
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
function bestStep(steps_K: readonly StepSpan[], k: number, s: number, e: number): number {
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

/** Past every offset: the span of the step after the last one. */
const BEYOND = 0x7fffffff;

export function mapTokensToSteps(offsets_T: TokenOffsets, steps_K: readonly StepSpan[]): TokenStepMap {
  const K = steps_K.length;
  const index_K = Array.from({ length: K }, (_, k) => k);
  const { tokenAdvantages, unmappedSteps } = tokenAdvantagesFor(offsets_T, steps_K, -1, index_K);
  const step_T = Int32Array.from(tokenAdvantages);
  const tokens_K = new Int32Array(K);
  for (const k of step_T) if (k >= 0) tokens_K[k]++;
  return { step_T, tokens_K, unmappedSteps };
}

/** Steps that got a token, reused across calls (the call is synchronous). */
let seen_K = new Uint8Array(64);

/**
 * Per-token advantages: the sequence advantage everywhere, replaced by
 * `stepValues_K[k]` on the tokens of step k when step values are given.
 * Plain number[] (what JSON output and backends take).
 *
 * One pass over the tokens: step k is the first step ending after the
 * token's start; most tokens lie inside it (then no other step can overlap
 * them) or before it, which is decided from its span kept in locals; the
 * others take the overlap search. Offsets are read in place in either form.
 */
export function tokenAdvantagesFor(
  offsets_T: TokenOffsets,
  steps_K: readonly StepSpan[],
  advantage: number,
  stepValues_K: readonly number[] | undefined,
): { tokenAdvantages: number[]; unmappedSteps: number } {
  const T = tokenCount(offsets_T);
  const K = steps_K.length;
  const out = new Array<number>(T);
  if (K === 0) {
    for (let t = 0; t < T; t++) out[t] = advantage;
    return { tokenAdvantages: out, unmappedSteps: 0 };
  }
  if (seen_K.length < K) seen_K = new Uint8Array(Math.max(K, 2 * seen_K.length));
  const seen = seen_K;
  seen.fill(0, 0, K);
  const flat = offsets_T instanceof Int32Array ? offsets_T : undefined;
  const pairs = offsets_T instanceof Int32Array ? [] : offsets_T;
  // Without step values every token keeps the advantage; the walk still counts the steps that got a token.
  const values_K = stepValues_K ?? new Array<number>(K).fill(advantage);
  let k = 0;
  let kStart = steps_K[0].start;
  let kEnd = steps_K[0].end;
  let prevStart = 0;
  // Each branch stores its own value (a value chosen first and stored after gets boxed by V8: 16 more bytes a token).
  for (let t = 0; t < T; t++) {
    let s: number;
    let e: number;
    if (flat !== undefined) {
      s = flat[2 * t];
      e = flat[2 * t + 1];
    } else {
      const off = pairs[t];
      s = off[0];
      e = off[1];
    }
    if (e <= s) {
      out[t] = advantage;
      continue;
    }
    if (s < prevStart || kEnd <= s) {
      // Out of text order: search from the start; in order: walk on.
      if (s < prevStart) k = firstStepEndingAfter(steps_K, s);
      while (k < K && steps_K[k].end <= s) k++;
      kStart = k < K ? steps_K[k].start : BEYOND;
      kEnd = k < K ? steps_K[k].end : BEYOND;
    }
    prevStart = s;
    if (kStart >= e) out[t] = advantage;
    else if (kStart <= s && e <= kEnd) {
      out[t] = values_K[k];
      seen[k] = 1;
    } else {
      const step = bestStep(steps_K, k, s, e);
      if (step < 0) out[t] = advantage;
      else {
        out[t] = values_K[step];
        seen[step] = 1;
      }
    }
  }
  let mapped = 0;
  for (let j = 0; j < K; j++) mapped += seen[j];
  return { tokenAdvantages: out, unmappedSteps: K - mapped };
}
