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
 * what `mrpo serve` decodes request bodies to); both are read in place. Steps
 * come as span objects or flat the same way (what shape() segments into); their
 * bounds are copied into one scratch array first, so one walk reads both.
 */
import type { TokenOffsets } from '../../types.js';
import { plainObjectMaker } from '../../utils/plain-object.js';

/** What the mapping reads of a step: its span (a Step has one). */
export interface StepSpan {
  readonly start: number;
  readonly end: number;
}

/** A completion's steps: span objects, or their bounds flat in an Int32Array (`start₀, end₀, …`, what shape() makes). */
export type StepSpans = readonly StepSpan[] | Int32Array;

/** No steps, flat. */
export const NO_STEPS: StepSpans = new Int32Array(0);

/** The number of steps (objects or flat). */
export function stepCount(steps_K: StepSpans): number {
  return steps_K instanceof Int32Array ? steps_K.length >> 1 : steps_K.length;
}

/** The steps' bounds, flat, in a scratch array reused across calls (every call is synchronous): one form to read. */
let bounds_K = new Float64Array(128);

function boundsOf(steps_K: StepSpans): Float64Array {
  const K = stepCount(steps_K);
  if (bounds_K.length < 2 * K) bounds_K = new Float64Array(Math.max(2 * K, 2 * bounds_K.length));
  const b = bounds_K;
  if (steps_K instanceof Int32Array) b.set(steps_K.length === 2 * K ? steps_K : steps_K.subarray(0, 2 * K));
  else
    for (let k = 0; k < K; k++) {
      b[2 * k] = steps_K[k].start;
      b[2 * k + 1] = steps_K[k].end;
    }
  return b;
}

export interface TokenStepMap {
  /** Step index of each token, −1 for none. */
  readonly step_T: Int32Array;
  /** Number of tokens mapped to each step. */
  readonly tokens_K: Int32Array;
  readonly unmappedSteps: number;
}

/** The first of the K steps with bounds b that ends after s (K when none does). */
function firstStepEndingAfter(b: Float64Array, K: number, s: number): number {
  let lo = 0;
  let hi = K;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (b[2 * mid + 1] <= s) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The number of tokens in offsets (pairs or flat). */
export function tokenCount(offsets_T: TokenOffsets): number {
  return offsets_T instanceof Int32Array ? offsets_T.length >> 1 : offsets_T.length;
}

/** The step that token [s, e) overlaps most among steps k…K − 1 (bounds b), the earlier on a tie; −1 for none. */
function bestStep(b: Float64Array, K: number, k: number, s: number, e: number): number {
  let best = -1;
  let bestOverlap = 0;
  for (let j = k; j < K && b[2 * j] < e; j++) {
    const overlap = Math.min(e, b[2 * j + 1]) - Math.max(s, b[2 * j]);
    if (overlap > bestOverlap) {
      bestOverlap = overlap;
      best = j;
    }
  }
  return best;
}

/** Past every offset: the span of the step after the last one. */
const BEYOND = 0x7fffffff;

/**
 * The rule above for tokens in sequence. The step k it keeps is the first step
 * ending after the last token's start: tokens in text order walk k forward,
 * one out of order searches for it. Most tokens end inside step k (then no
 * other step can overlap them) or before it, decided from its span kept in
 * fields; the others (a token running past step k) take the overlap search.
 */
class StepWalker {
  private k = 0;
  private kStart: number;
  private kEnd: number;
  private prevStart = 0;

  /** K steps with bounds b (start₀, end₀, …). */
  constructor(
    private readonly b: Float64Array,
    private readonly K: number,
  ) {
    this.kStart = K > 0 ? b[0] : BEYOND;
    this.kEnd = K > 0 ? b[1] : BEYOND;
  }

  /** The step of token [s, e), or −1. */
  stepOf(s: number, e: number): number {
    if (e <= s) return -1;
    if (s < this.prevStart || this.kEnd <= s) this.moveTo(s);
    this.prevStart = s;
    if (this.kStart >= e) return -1;
    // Steps before k end by s and steps after it start at kEnd or later: a token that ends by kEnd overlaps k alone.
    if (e <= this.kEnd) return this.k;
    return bestStep(this.b, this.K, this.k, s, e);
  }

  /** Tokens up to one starting at s were taken without stepOf (they lay inside one step, in order). */
  skipped(s: number): void {
    this.prevStart = s;
  }

  private moveTo(s: number): void {
    const b = this.b;
    const K = this.K;
    let k = s < this.prevStart ? firstStepEndingAfter(b, K, s) : this.k;
    while (k < K && b[2 * k + 1] <= s) k++;
    this.k = k;
    this.kStart = k < K ? b[2 * k] : BEYOND;
    this.kEnd = k < K ? b[2 * k + 1] : BEYOND;
  }
}

export function mapTokensToSteps(offsets_T: TokenOffsets, steps_K: StepSpans): TokenStepMap {
  const T = tokenCount(offsets_T);
  const K = stepCount(steps_K);
  const step_T = new Int32Array(T);
  const tokens_K = new Int32Array(K);
  const walker = new StepWalker(boundsOf(steps_K), K);
  for (let t = 0; t < T; t++) {
    const k = offsets_T instanceof Int32Array ? walker.stepOf(offsets_T[2 * t], offsets_T[2 * t + 1]) : walker.stepOf(offsets_T[t][0], offsets_T[t][1]);
    step_T[t] = k;
    if (k >= 0) tokens_K[k]++;
  }
  let unmappedSteps = 0;
  for (let j = 0; j < K; j++) if (tokens_K[j] === 0) unmappedSteps++;
  return { step_T, tokens_K, unmappedSteps };
}

/** What tokenAdvantagesFor returns, made by a constructor (not pretenured by V8: src/utils/plain-object.ts). */
const TokenAdvantages = plainObjectMaker(function (this: { tokenAdvantages: number[]; unmappedSteps: number }, tokenAdvantages: number[], unmappedSteps: number) {
  this.tokenAdvantages = tokenAdvantages;
  this.unmappedSteps = unmappedSteps;
});

/** Steps that got a token, reused across calls (the call is synchronous). */
let seen_K = new Uint8Array(64);
/** The sequence advantage once per step, when no step values are given: reused across calls (refilled each call). */
const constant_K: number[] = [0.5];

/**
 * Per-token advantages: the sequence advantage everywhere, replaced by
 * `stepValues_K[k]` on the tokens of step k when step values are given.
 * Plain number[] (what JSON output and backends take). One pass over the
 * tokens, one loop per offsets form so that each reads its form in place.
 */
export function tokenAdvantagesFor(
  offsets_T: TokenOffsets,
  steps_K: StepSpans,
  advantage: number,
  stepValues_K: readonly number[] | undefined,
): { tokenAdvantages: number[]; unmappedSteps: number } {
  const T = tokenCount(offsets_T);
  const K = stepCount(steps_K);
  const out = new Array<number>(T);
  if (K === 0) {
    for (let t = 0; t < T; t++) out[t] = advantage;
    return new TokenAdvantages(out, 0);
  }
  if (seen_K.length < K) seen_K = new Uint8Array(Math.max(K, 2 * seen_K.length));
  const seen = seen_K;
  seen.fill(0, 0, K);
  // Without step values every token keeps the advantage; the walk still counts the steps that got a token.
  let values_K = stepValues_K;
  if (values_K === undefined) {
    for (let k = 0; k < K; k++) constant_K[k] = advantage;
    values_K = constant_K;
  }
  const b = boundsOf(steps_K);
  const walker = new StepWalker(b, K);
  // After a token of step k, the tokens that follow it in order and lie inside step k are a run: they belong to step k
  // (no other step overlaps them), so the loop over the run checks only that. Each branch stores its own value (a
  // value chosen first and stored after gets boxed by V8: 16 more bytes a token).
  if (offsets_T instanceof Int32Array) {
    let t = 0;
    while (t < T) {
      let s = offsets_T[2 * t];
      const k = walker.stepOf(s, offsets_T[2 * t + 1]);
      if (k < 0) {
        out[t++] = advantage;
        continue;
      }
      const v = values_K[k];
      seen[k] = 1;
      out[t++] = v;
      let from = Math.max(s, b[2 * k]);
      const end = b[2 * k + 1];
      for (; t < T; t++) {
        s = offsets_T[2 * t];
        const e = offsets_T[2 * t + 1];
        if (s < from || e <= s || e > end) break;
        out[t] = v;
        from = s;
      }
      walker.skipped(from);
    }
  } else {
    let t = 0;
    while (t < T) {
      let off = offsets_T[t];
      const k = walker.stepOf(off[0], off[1]);
      if (k < 0) {
        out[t++] = advantage;
        continue;
      }
      const v = values_K[k];
      seen[k] = 1;
      out[t++] = v;
      let from = Math.max(off[0], b[2 * k]);
      const end = b[2 * k + 1];
      for (; t < T; t++) {
        off = offsets_T[t];
        const s = off[0];
        const e = off[1];
        if (s < from || e <= s || e > end) break;
        out[t] = v;
        from = s;
      }
      walker.skipped(from);
    }
  }
  let mapped = 0;
  for (let j = 0; j < K; j++) mapped += seen[j];
  return new TokenAdvantages(out, K - mapped);
}
