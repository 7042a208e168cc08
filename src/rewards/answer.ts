/**
 * Answer reward R_ans ∈ [0, 1] (docs/method.md §3).
 *
 * 1. If the extracted answer is equivalent to the gold answer (numbers: "2" =
 *    "two" = "2.0"; case-, whitespace- and punctuation-insensitive text
 *    equality), R_ans = 1. Deliberate improvement over the reference, which
 *    runs a math verifier on the whole completion and does not equate "two"
 *    with "2".
 * 2. Otherwise R_ans = Σ_c w_c·s_c over the active components c ∈ {rouge1,
 *    bleu1, semantic}, default weights 0.25 / 0.25 / 0.5. `rouge1` is ROUGE-1 F
 *    (rouge_score, Porter stemming, on tag-stripped lower-cased text), `bleu1`
 *    is NLTK sentence BLEU-1 with method4 smoothing on Python `str.split()`
 *    tokens, `semantic` a score from a SemanticScorer (BERTScore F1).
 *    A component is active when its weight is > 0 and (for `semantic`) a score
 *    was given. By default the weights are renormalised over the active
 *    components, so a missing BERT model does not cap fuzzy answers at 0.5 (the
 *    reference's silent quirk); `renormalize: false` reproduces the reference,
 *    where an inactive component scores 0.
 */
import { answersEquivalentTo, bleu1Reference, canonicalAnswerTokens, rouge1FTarget, rouge1FTargetTokens } from '../algo/answer-match.js';
import { pythonSplit } from '../algo/python-text.js';

export type AnswerComponent = 'rouge1' | 'bleu1' | 'semantic';

export interface AnswerWeights {
  readonly rouge1: number;
  readonly bleu1: number;
  readonly semantic: number;
}

export const DEFAULT_ANSWER_WEIGHTS: AnswerWeights = { rouge1: 0.25, bleu1: 0.25, semantic: 0.5 };

export interface AnswerRewardOptions {
  readonly weights?: Partial<AnswerWeights>;
  /** Precomputed semantic similarity of (prediction, gold), when a scorer is configured. */
  readonly semantic?: number;
  /** Renormalise the weights over the active components (default true). */
  readonly renormalize?: boolean;
}

export interface AnswerRewardResult {
  readonly value: number;
  /** True when the answer matched the gold answer exactly or numerically (value = 1). */
  readonly equivalent: boolean;
  /** Component scores that were computed (absent when `equivalent`). */
  readonly components: { readonly rouge1?: number; readonly bleu1?: number; readonly semantic?: number };
  /** The components that entered the mix. */
  readonly active: readonly AnswerComponent[];
}

/** Which components are active for the given weights and whether a semantic score is available. */
export function activeAnswerComponents(weights: AnswerWeights, hasSemantic: boolean): AnswerComponent[] {
  const active: AnswerComponent[] = [];
  if (weights.rouge1 > 0) active.push('rouge1');
  if (weights.bleu1 > 0) active.push('bleu1');
  if (weights.semantic > 0 && hasSemantic) active.push('semantic');
  return active;
}

export function answerReward(prediction: string, gold: string, options: AnswerRewardOptions = {}): AnswerRewardResult {
  return goldAnswerScorer(gold, options)(prediction, options.semantic);
}

/**
 * answerReward against one gold answer for many predictions (the completions of a group): the gold answer's tokens
 * for each metric are made once, when first needed. `scorer(prediction, semantic)` equals
 * `answerReward(prediction, gold, { ...options, semantic })`.
 */
export function goldAnswerScorer(gold: string, options: Omit<AnswerRewardOptions, 'semantic'> = {}): (prediction: string, semantic?: number) => AnswerRewardResult {
  const weights: AnswerWeights = { ...DEFAULT_ANSWER_WEIGHTS, ...options.weights };
  const renormalize = options.renormalize ?? true;
  let canonical: string[] | undefined;
  let rougeTarget: string[] | undefined;
  let bleuReference: string[][] | undefined;
  const goldCanonical = () => (canonical ??= canonicalAnswerTokens(gold));
  return (prediction, semantic) => {
    const active = activeAnswerComponents(weights, semantic !== undefined);
    if (answersEquivalentTo(prediction, goldCanonical)) return { value: 1, equivalent: true, components: {}, active };
    const components = {
      rouge1: weights.rouge1 > 0 ? rouge1FTarget(prediction, (rougeTarget ??= rouge1FTargetTokens(gold))) : undefined,
      bleu1: weights.bleu1 > 0 ? bleu1Reference(prediction, (bleuReference ??= [pythonSplit(gold)])) : undefined,
      semantic,
    };
    let total = 0;
    let weightSum = 0;
    for (const c of active) {
      total += weights[c] * (components[c] ?? 0);
      weightSum += weights[c];
    }
    const value = renormalize ? (weightSum > 0 ? total / weightSum : 0) : total;
    return { value: Math.min(1, Math.max(0, value)), equivalent: false, components: stripUndefined(components), active };
  };
}

function stripUndefined<T extends Record<string, number | undefined>>(o: T): { [K in keyof T]?: number } {
  const out: { [K in keyof T]?: number } = {};
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
