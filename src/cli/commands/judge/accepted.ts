/**
 * Items with several accepted answers (VQA-Med 2021, MIMIC-Ext-CXR-VQA): a
 * prediction is correct when the answer judge accepts any of them. Used by
 * `mrpo judge answers` and `mrpo eval`.
 */
import type { AnswerJudge, AnswerJudgement, JudgeUsage } from '../../../judges/judge.js';
import type { Item } from '../../../types.js';
import type { JsonRecord } from '../../../utils/jsonl.js';

/** The accepted answers of a line: its `answers` array when it has one, else `[answer]`. */
export function acceptedAnswersOf(record: JsonRecord, item: Item): string[] {
  const list = Array.isArray(record.answers) ? record.answers.filter((a): a is string => typeof a === 'string' && a.trim() !== '') : [];
  return list.length > 0 ? list : [item.answer];
}

function addUsage(total: JudgeUsage | undefined, more: JudgeUsage | undefined): JudgeUsage | undefined {
  if (more === undefined) return total;
  if (total === undefined) return more;
  return { promptTokens: total.promptTokens + more.promptTokens, completionTokens: total.completionTokens + more.completionTokens, cached: total.cached && more.cached };
}

/**
 * Correct when the judge accepts any of `answers` (asked in turn, stopping at
 * the first yes); unjudged only when none was accepted and a call failed. The
 * usage is the sum over the calls made.
 */
export async function judgeAcceptedAnswers(judge: AnswerJudge, item: Item, answers: readonly string[], prediction: string, signal: AbortSignal): Promise<AnswerJudgement> {
  let failure: AnswerJudgement | undefined;
  let usage: JudgeUsage | undefined;
  const withUsage = (r: AnswerJudgement): AnswerJudgement => (usage === undefined ? r : { ...r, usage });
  for (const gold of answers) {
    const result = await judge.judgeAnswer({ item: { ...item, answer: gold }, answer: prediction }, signal);
    usage = addUsage(usage, result.usage);
    if (result.kind === 'judged' && result.correct) return withUsage(result);
    if (result.kind === 'unjudged') {
      if (result.reason === 'aborted') return withUsage(result);
      failure ??= result;
    }
  }
  return withUsage(failure ?? { kind: 'judged', correct: false });
}
