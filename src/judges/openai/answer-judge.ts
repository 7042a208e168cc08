/**
 * The answer judge of docs/method.md §9 over an OpenAI-compatible endpoint: the
 * image, question, gold answer and the model's answer (integers spelled out
 * as words on both sides) go to the model with the `answer-v1` prompt, which
 * replies correct (O) or incorrect (X). An empty answer is incorrect without
 * a call.
 */
import type { AnswerJudge, AnswerJudgement, AnswerJudgeRequest } from '../judge.js';
import { parseAnswerVerdict } from '../parse-verdicts.js';
import { ANSWER_PROMPT_VERSION, ANSWER_SCHEMA, answerPrompt } from '../prompts.js';
import type { JudgeEndpoint } from './endpoint.js';

export function createOpenAIAnswerJudge(endpoint: JudgeEndpoint): AnswerJudge {
  const meter = endpoint.meter;
  return {
    name: `openai:${endpoint.model}@${ANSWER_PROMPT_VERSION}`,
    async judgeAnswer(request: AnswerJudgeRequest, signal?: AbortSignal): Promise<AnswerJudgement> {
      const { item, answer } = request;
      if (answer.trim() === '') {
        meter.judged();
        return { kind: 'judged', correct: false };
      }
      const call = await endpoint.call(
        {
          promptVersion: ANSWER_PROMPT_VERSION,
          inputs: { answer, goldAnswer: item.answer, kind: 'answer', question: item.question }, // (in key order: see withKeyFields)
          image: item.image,
          build: () => ({ prompt: answerPrompt({ question: item.question, goldAnswer: item.answer, answer }), schema: ANSWER_SCHEMA }),
          parse: (content) => {
            const correct = parseAnswerVerdict(content);
            return correct === null ? null : { correct };
          },
          revive: (cached) => {
            const c = (cached as { correct?: unknown } | null)?.correct;
            return typeof c === 'boolean' ? { correct: c } : null;
          },
        },
        signal,
      );
      if (call.kind === 'unjudged') {
        meter.unjudged(call.reason);
        return call;
      }
      meter.judged({ cached: call.cached });
      return { kind: 'judged', correct: call.value.correct, usage: call.usage };
    },
  };
}
