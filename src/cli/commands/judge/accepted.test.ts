/**
 * Several accepted answers: the judge is asked about each in turn until one
 * is accepted; the line's usage is the sum over the calls made; a failure
 * counts only when no answer was accepted.
 */
import { describe, expect, it } from 'vitest';
import type { AnswerJudge, AnswerJudgement } from '../../../judges/judge.js';
import type { Item } from '../../../types.js';
import { acceptedAnswersOf, judgeAcceptedAnswers } from './accepted.js';

const item: Item = { id: 'q1', image: 'x.png', question: 'What is seen?', answer: 'effusion', source: 'test' };

/** A judge with fixed answers per gold answer, recording what it was asked. */
function scripted(replies: Record<string, AnswerJudgement>): AnswerJudge & { asked: string[] } {
  const asked: string[] = [];
  return {
    name: 'scripted',
    asked,
    async judgeAnswer(request) {
      asked.push(request.item.answer);
      return replies[request.item.answer] ?? { kind: 'judged', correct: false };
    },
  };
}

const usage = (p: number, c: number) => ({ promptTokens: p, completionTokens: c, cached: false });
const signal = new AbortController().signal;

describe('judgeAcceptedAnswers', () => {
  it('stops at the first accepted answer and sums the usage of the calls made', async () => {
    const judge = scripted({
      'pleural effusion': { kind: 'judged', correct: false, usage: usage(100, 5) },
      effusion: { kind: 'judged', correct: true, usage: usage(90, 4) },
      fluid: { kind: 'judged', correct: true, usage: usage(80, 3) },
    });
    const result = await judgeAcceptedAnswers(judge, item, ['pleural effusion', 'effusion', 'fluid'], 'effusion', signal);
    expect(result).toEqual({ kind: 'judged', correct: true, usage: usage(190, 9) });
    expect(judge.asked).toEqual(['pleural effusion', 'effusion']);
  });

  it('is wrong when no answer is accepted, and unjudged only when a call failed and none was accepted', async () => {
    expect(await judgeAcceptedAnswers(scripted({}), item, ['a', 'b'], 'c', signal)).toEqual({ kind: 'judged', correct: false });
    const failing = scripted({ a: { kind: 'unjudged', reason: 'timeout', usage: usage(10, 0) } });
    expect(await judgeAcceptedAnswers(failing, item, ['a', 'b'], 'c', signal)).toEqual({ kind: 'unjudged', reason: 'timeout', usage: usage(10, 0) });
    const recovered = scripted({ a: { kind: 'unjudged', reason: 'timeout' }, b: { kind: 'judged', correct: true } });
    expect(await judgeAcceptedAnswers(recovered, item, ['a', 'b'], 'b', signal)).toEqual({ kind: 'judged', correct: true });
  });

  it('takes a line’s answers array, else its one answer', () => {
    expect(acceptedAnswersOf({ answers: ['x', ' ', 'y', 3] }, item)).toEqual(['x', 'y']);
    expect(acceptedAnswersOf({}, item)).toEqual(['effusion']);
  });
});
