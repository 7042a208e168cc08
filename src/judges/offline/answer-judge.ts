/**
 * A deterministic offline answer judge, an APPROXIMATION of the LLM answer
 * judge of docs/method.md §9: correct when the answer is equivalent to the gold
 * answer (`answersEquivalent`: numbers "2" = "two" = "2.0", case, spacing and
 * punctuation ignored) or, failing that, when ROUGE-1 F1 of the two with
 * integers spelled out reaches `rougeThreshold` (default 0.6, the same
 * threshold τ that docs/method.md §5 puts on the answer reward).
 */
import { answersEquivalent, rouge1F, spellNumbers } from '../../algo/answer-match.js';
import type { AnswerJudge, AnswerJudgement, AnswerJudgeRequest } from '../judge.js';
import type { JudgeMeter } from '../meter.js';

export interface OfflineAnswerJudgeOptions {
  readonly rougeThreshold?: number;
  readonly meter?: JudgeMeter;
}

export function offlineAnswerCorrect(answer: string, gold: string, rougeThreshold = 0.6): boolean {
  if (answer.trim() === '') return false;
  return answersEquivalent(answer, gold) || rouge1F(spellNumbers(answer), spellNumbers(gold)) >= rougeThreshold;
}

export function createOfflineAnswerJudge(options: OfflineAnswerJudgeOptions = {}): AnswerJudge {
  const threshold = options.rougeThreshold ?? 0.6;
  return {
    name: `offline-answer@v1(rouge1≥${threshold})`,
    async judgeAnswer(request: AnswerJudgeRequest): Promise<AnswerJudgement> {
      options.meter?.judged();
      return { kind: 'judged', correct: offlineAnswerCorrect(request.answer, request.item.answer, threshold) };
    },
  };
}
