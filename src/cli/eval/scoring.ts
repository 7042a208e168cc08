/**
 * The scoring conventions of the benchmark table, side by side (issue 10:
 * harnesses disagree on how they score open-ended medical VQA, so the table
 * shows each). Every scorer takes the best match over the item's accepted
 * answers. Per item, a score in [0, 1]:
 *
 * - `exact`: normalised exact match — 1 when the prediction and an answer are
 *   the same up to case, punctuation, whitespace and the writing of numbers
 *   (`answersEquivalent`: "2" = "two" = "2.0"), as lmms-eval-style harnesses
 *   normalise before comparing;
 * - `f1`: token F1 (SQuAD style) over the same normalised tokens
 *   (`normalizeAnswerText`), the clipped overlap |p ∩ g| giving
 *   P = overlap/|p|, R = overlap/|g|, F1 = 2PR/(P+R);
 * - `bleu1`: NLTK sentence BLEU-1 with method4 smoothing on `str.split()`
 *   tokens (`bleu1`), as MultiMedEval and MedEvalKit report;
 * - `rouge1`: ROUGE-1 F (rouge_score with the Porter stemmer, `rouge1F`);
 * - `reward`: the reference's answer reward R_ans (docs/method.md §3) without
 *   the semantic component (weights renormalised over ROUGE-1 and BLEU-1);
 * - `judge`: the answer judge's verdict (LLM or offline), 1 correct / 0 not.
 */
import { answersEquivalent, bleu1, normalizeAnswerText, rouge1F } from '../../algo/answer-match.js';
import { multisetOverlap } from '../../algo/multiset.js';
import { answerReward } from '../../rewards/answer.js';

export const CONVENTIONS = ['exact', 'f1', 'bleu1', 'rouge1', 'reward', 'judge'] as const;
export type Convention = (typeof CONVENTIONS)[number];
/** The conventions computed from the texts alone (no judge). */
export type LexicalConvention = Exclude<Convention, 'judge'>;

export const CONVENTION_TITLES: Readonly<Record<Convention, string>> = {
  exact: 'normalised exact match',
  f1: 'token F1',
  bleu1: 'BLEU-1 (NLTK, method4)',
  rouge1: 'ROUGE-1 F (Porter stemmer)',
  reward: "answer reward R_ans (the reference's, no semantic part)",
  judge: 'answer-judge accuracy',
};

/** Token F1 of two texts over their normalised tokens (0 when either has none). */
export function tokenF1(prediction: string, gold: string): number {
  const p = normalizeAnswerText(prediction).split(' ').filter((t) => t.length > 0);
  const g = normalizeAnswerText(gold).split(' ').filter((t) => t.length > 0);
  const overlap = multisetOverlap(p, g);
  if (overlap === 0) return 0;
  const precision = overlap / p.length;
  const recall = overlap / g.length;
  return (2 * precision * recall) / (precision + recall);
}

const SCORERS: Readonly<Record<LexicalConvention, (prediction: string, gold: string) => number>> = {
  exact: (p, g) => (answersEquivalent(p, g) ? 1 : 0),
  f1: tokenF1,
  bleu1: (p, g) => bleu1(p, g),
  rouge1: (p, g) => rouge1F(p, g),
  reward: (p, g) => answerReward(p, g, { weights: { semantic: 0 } }).value,
};

/** The score of a prediction under one convention: the best over the accepted answers. */
export function scoreAnswer(convention: LexicalConvention, prediction: string, answers: readonly string[]): number {
  const scorer = SCORERS[convention];
  let best = 0;
  for (const gold of answers) {
    const s = scorer(prediction, gold);
    if (s > best) best = s;
    if (best === 1) break;
  }
  return best;
}

/** Every lexical convention's score for one prediction. */
export function lexicalScores(prediction: string, answers: readonly string[]): Record<LexicalConvention, number> {
  return {
    exact: scoreAnswer('exact', prediction, answers),
    f1: scoreAnswer('f1', prediction, answers),
    bleu1: scoreAnswer('bleu1', prediction, answers),
    rouge1: scoreAnswer('rouge1', prediction, answers),
    reward: scoreAnswer('reward', prediction, answers),
  };
}
