/**
 * Small hand-checked requests for the `mrpo serve` tests: one chest X-ray item
 * with a correct two-step completion and an incorrect three-step one whose
 * middle step is invalid. The expected rewards and advantages are derived by
 * hand in `expectedExample` (docs/method.md §3–5), not by the code under test.
 */
import type { TokenOffset } from '../../types.js';

export const GOLD_ANSWER = 'pneumothorax';
export const GOLD_REASONING = 'Chest X-ray. A visceral pleural line with absent lung markings at the left apex indicates a left pneumothorax.';
export const QUESTION = 'What abnormality is seen in the left hemithorax?';

export const S1 = 'The image is a chest X-ray.';
export const S2_CORRECT = 'There is a left pneumothorax.';
export const S2_WRONG = 'The heart is enlarged.';
export const S3_WRONG = 'This suggests cardiomegaly.';

/** c0: correct answer, steps [S1, S2_CORRECT]. */
export const TEXT_CORRECT = `<think>${S1} ${S2_CORRECT}</think><answer>pneumothorax</answer>`;
/** c1: wrong answer, steps [S1, S2_WRONG, S3_WRONG]. */
export const TEXT_WRONG = `<think>${S1} ${S2_WRONG} ${S3_WRONG}</think><answer>cardiomegaly</answer>`;

/** Whole-sentence "tokens" with tags and the spaces between steps as tokens of their own. */
export function sentenceTokens(text: string): { pieces: string[]; offsets: TokenOffset[] } {
  const pieces = text.split(/(<[^>]+>|(?<=\.) (?=[A-Z]))/).filter((p) => p !== '');
  const offsets: TokenOffset[] = [];
  let at = 0;
  for (const piece of pieces) {
    offsets.push([at, at + piece.length]);
    at += piece.length;
  }
  return { pieces, offsets };
}

/**
 * Hand derivation (GRPO/MRPO with the reference defaults, labels [1,1] and [1,0,1]):
 * c0: R_ans = 1 (equal answer), R_proc = 2/2 = 1, R_len = −(4−2)/4 = −0.5 → R = 1.5.
 * c1: R_ans = 0 (no shared word: ROUGE-1 = BLEU-1 = 0), R_proc = 2/3, R_len = −(4−3)/4 → R = 5/12.
 * μ = 23/24, sample σ = |1.5 − 5/12|/√2; A_0 = (1.5 − μ)/(σ + 1e-4) = −A_1.
 * MRPO, c1 incorrect: valid steps get +|A_1|, invalid step 2 of K = 3 gets
 * −w_2|A_1| with w_2 = exp(1 − 1/2) = 1.6487… → 1.65 (rounded to two decimals).
 */
export function expectedExample(): { total: [number, number]; a0: number; a1: number; w2: number } {
  const r0 = 1 + 1 - 0.5;
  const r1 = 0 + 2 / 3 - 0.25;
  const mu = (r0 + r1) / 2;
  const sigma = Math.abs(r0 - r1) / Math.SQRT2;
  return { total: [r0, r1], a0: (r0 - mu) / (sigma + 1e-4), a1: (r1 - mu) / (sigma + 1e-4), w2: 1.65 };
}

/** A shape request for the example (labels given, offsets from `sentenceTokens`). */
export function exampleShapeRequest(): Record<string, unknown> {
  return {
    estimator: 'mrpo',
    groups: [
      {
        gold: { answer: GOLD_ANSWER },
        completions: [
          { text: TEXT_CORRECT, tokenOffsets: sentenceTokens(TEXT_CORRECT).offsets, stepLabels: [1, 1] },
          { text: TEXT_WRONG, tokenOffsets: sentenceTokens(TEXT_WRONG).offsets, stepLabels: [1, 0, 1] },
        ],
      },
    ],
  };
}

/** A larger mixed request (three estimators' worth of cases) for library-equality checks. */
export function mixedShapeRequest(estimator: 'grpo' | 'gdpo' | 'mrpo'): Record<string, unknown> {
  const texts = [
    TEXT_CORRECT,
    TEXT_WRONG,
    `<thinking>1. ${S1} 2. ${S2_WRONG}</thinking><answer>two</answer>`,
    'no think block at all <answer>2</answer>',
  ];
  return {
    estimator,
    options: { tau: 0.6, minSteps: 2, maxSteps: 6 },
    groups: [
      { id: 'g0', gold: { answer: GOLD_ANSWER }, completions: texts.map((text, i) => ({ id: i, text, tokenOffsets: sentenceTokens(text).offsets, stepLabels: i % 2 === 0 ? [1, 0] : [0, 1, 1] })) },
      { gold: { answer: '2' }, completions: texts.map((text) => ({ text, rewards: { process: 0.5 } })) },
    ],
  };
}
