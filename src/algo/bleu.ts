/**
 * Sentence BLEU with NLTK's semantics (`nltk.translate.bleu_score.sentence_bleu`,
 * NLTK 3.8; docs/method.md §3, docs/reference-facts.md §5a), and the MRPO BLEU-1 component.
 *
 * For weights w_1..w_N (N = weights.length; NLTK computes all N orders even
 * when some weights are 0; trailing zero-weight orders cannot change the value,
 * so they are skipped here):
 * 1. p_n = (clipped n-gram matches) / max(1, #hypothesis n-grams), kept as an
 *    unreduced fraction; clipping caps each hypothesis n-gram count at its
 *    largest count in any single reference.
 * 2. If the unigram numerator is 0 the score is 0 at once, before smoothing.
 * 3. BP: c = hypothesis length, r = the reference length closest to c (the
 *    shorter on ties); BP = 1 if c > r, 0 if c = 0, else exp(1 − r/c).
 * 4. Smoothing `none` (NLTK method0): a zero p_n becomes the smallest normal
 *    double (2.2250738585072014e-308), as NLTK does. `method4` (Chen & Cherry,
 *    k = 5): walking n upward with inc = 1, every zero p_n becomes
 *    (1 / (2^inc · k / ln c)) / denominator_n and inc += 1, only when c > 1.
 * 5. Score = BP · exp(fsum(w_n · ln p_n over p_n > 0)), with an exactly rounded
 *    sum like Python's math.fsum.
 * For BLEU-1 (weights 1,0,0,0) the smoothing never changes the value:
 * BLEU-1 = BP · clipped unigram matches / c, or 0 without matches.
 */
import { multisetOverlap } from './multiset.js';
import { pythonSplit } from './python-text.js';

export { pythonSplit } from './python-text.js';

export type BleuSmoothing = 'none' | 'method4';

/** sys.float_info.min: NLTK's method0 stand-in for a zero precision. */
const PYTHON_FLOAT_MIN = 2.2250738585072014e-308;
/** NLTK SmoothingFunction's k (method4). */
const METHOD4_K = 5;

/** Exactly rounded floating-point sum (Shewchuk's algorithm with Python fsum's half-even fix-up). */
export function fsum(values: readonly number[]): number {
  const partials: number[] = [];
  for (let x of values) {
    let i = 0;
    for (let j = 0; j < partials.length; j++) {
      let y = partials[j];
      if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) partials[i++] = lo;
      x = hi;
    }
    partials.length = i;
    if (x !== 0) partials.push(x); // as CPython: zero partials are not kept (fsum([-0.0]) is 0.0)
  }
  let n = partials.length;
  if (n === 0) return 0;
  let hi = partials[--n];
  let lo = 0;
  while (n > 0) {
    const x = hi;
    const y = partials[--n];
    hi = x + y;
    lo = y - (hi - x);
    if (lo !== 0) break;
  }
  // Round half to even across partials: if the remainder and the next partial share a sign, hi may need a nudge.
  if (n > 0 && ((lo < 0 && partials[n - 1] < 0) || (lo > 0 && partials[n - 1] > 0))) {
    const y = lo * 2;
    const x = hi + y;
    if (y === x - hi) hi = x;
  }
  return hi;
}

/** An unambiguous map key for the n-gram tokens[start, start+n). */
function ngramKey(tokens: readonly string[], start: number, n: number): string {
  if (n === 1) return tokens[start];
  let key = '';
  for (let k = start; k < start + n; k++) key += `${tokens[k].length}:${tokens[k]}`;
  return key;
}

function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = ngramKey(tokens, i, n);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** NLTK `modified_precision` as [numerator, denominator] (not reduced). */
export function modifiedPrecision(
  references: readonly (readonly string[])[],
  hypothesis: readonly string[],
  n: number,
): [number, number] {
  if (n === 1 && references.length === 1) {
    // One reference: clipping by its counts is the multiset intersection size.
    return [multisetOverlap(hypothesis, references[0]), Math.max(1, hypothesis.length)];
  }
  const counts = ngramCounts(hypothesis, n);
  const maxRefCounts = new Map<string, number>();
  for (const reference of references) {
    const refCounts = ngramCounts(reference, n);
    for (const key of counts.keys()) {
      const c = refCounts.get(key) ?? 0;
      if (c > (maxRefCounts.get(key) ?? 0)) maxRefCounts.set(key, c);
    }
  }
  let numerator = 0;
  let total = 0;
  for (const [key, count] of counts) {
    numerator += Math.min(count, maxRefCounts.get(key) ?? 0);
    total += count;
  }
  return [numerator, Math.max(1, total)];
}

/** The reference length closest to the hypothesis length, the shorter one on ties. */
export function closestRefLength(references: readonly (readonly string[])[], hypLength: number): number {
  let best = -1;
  for (const ref of references) {
    const len = ref.length;
    if (best < 0) best = len;
    else {
      const d = Math.abs(len - hypLength);
      const bd = Math.abs(best - hypLength);
      if (d < bd || (d === bd && len < best)) best = len;
    }
  }
  return best;
}

/** NLTK `brevity_penalty(closest_ref_len, hyp_len)`. */
export function brevityPenalty(closestRefLen: number, hypLength: number): number {
  if (hypLength > closestRefLen) return 1;
  if (hypLength === 0) return 0;
  return Math.exp(1 - closestRefLen / hypLength);
}

/**
 * NLTK `sentence_bleu(references, hypothesis, weights, smoothing_function)`.
 * Defaults as NLTK: weights (0.25, 0.25, 0.25, 0.25), no smoothing (method0).
 * @throws RangeError when `references` is empty (NLTK raises too).
 */
export function sentenceBleu(
  references: readonly (readonly string[])[],
  hypothesis: readonly string[],
  weights: readonly number[] = [0.25, 0.25, 0.25, 0.25],
  smoothing: BleuSmoothing = 'none',
): number {
  if (references.length === 0) throw new RangeError('sentenceBleu: at least one reference is required');
  if (weights.length === 0) return 0; // NLTK: no orders means a zero unigram numerator
  // Orders after the last non-zero weight only add w·ln p = ±0 to the sum (p > 0 is finite), so they are not
  // computed; orders before it are, because a zero precision there moves method4's counter.
  let orders = 1;
  for (let i = weights.length - 1; i > 0; i--) {
    if (weights[i] !== 0) {
      orders = i + 1;
      break;
    }
  }
  const numerators_N: number[] = [];
  const denominators_N: number[] = [];
  for (let n = 1; n <= orders; n++) {
    const [num, den] = modifiedPrecision(references, hypothesis, n);
    numerators_N.push(num);
    denominators_N.push(den);
  }
  const c = hypothesis.length;
  const bp = brevityPenalty(closestRefLength(references, c), c);
  if (numerators_N[0] === 0) return 0;

  const p_N: number[] = [];
  let inc = 1;
  for (let i = 0; i < orders; i++) {
    const num = numerators_N[i];
    const den = denominators_N[i];
    if (num !== 0) p_N.push(num / den);
    else if (smoothing === 'none') p_N.push(PYTHON_FLOAT_MIN);
    else if (c > 1) {
      // Same operation order as NLTK, so the double is bit-identical: 1 / (2**inc * k / log(c)) / denominator.
      p_N.push(1 / ((2 ** inc * METHOD4_K) / Math.log(c)) / den);
      inc++;
    } else p_N.push(0); // c ≤ 1: left at 0 and dropped below
  }
  const terms: number[] = [];
  for (let i = 0; i < orders; i++) if (p_N[i] > 0) terms.push(weights[i] * Math.log(p_N[i]));
  return bp * Math.exp(fsum(terms));
}

const BLEU1_WEIGHTS: readonly number[] = [1, 0, 0, 0];

/**
 * The MRPO BLEU-1 component, as the reference computes it:
 * `sentence_bleu([gold.strip().split()], prediction.strip().split(), weights=(1,0,0,0), smoothing_function=method4)`.
 * Tokens are Python `str.split()` pieces: case-sensitive, punctuation attached
 * ("lung." ≠ "lung"). (`strip()` changes nothing before `split()`.)
 */
export function bleu1(prediction: string, gold: string): number {
  return bleu1Reference(prediction, [pythonSplit(gold)]);
}

/** bleu1(prediction, gold) with the reference `[pythonSplit(gold)]` made once for many predictions. */
export function bleu1Reference(prediction: string, reference: readonly (readonly string[])[]): number {
  return sentenceBleu(reference, pythonSplit(prediction), BLEU1_WEIGHTS, 'method4');
}
