/**
 * The step judge of docs/method.md §3 over an OpenAI-compatible endpoint: the image,
 * question, gold answer, gold reasoning and the numbered steps go to the
 * model with the `step-v1` prompt; the reply's verdicts are aligned to the K
 * steps by step number, missing ones are filled as invalid ({0, 0}) and
 * counted, extra ones dropped and counted. No steps or no gold reasoning
 * gives an unjudged value ("no steps", "no gold reasoning": docs/method.md says such
 * completions get no step labels), never a call.
 */
import type { StepVerdict } from '../../types.js';
import type { StepJudge, StepJudgement, StepJudgeRequest } from '../judge.js';
import { parseStepVerdicts, readBit, type ParsedStepVerdicts } from '../parse-verdicts.js';
import { STEP_PROMPT_VERSION, stepPrompt, stepSchema } from '../prompts.js';
import { unjudged, type JudgeEndpoint } from './endpoint.js';

function reviveSteps(k: number) {
  return (cached: unknown): ParsedStepVerdicts | null => {
    const c = cached as { verdicts?: unknown; missing?: unknown; extra?: unknown } | null;
    if (!c || !Array.isArray(c.verdicts) || c.verdicts.length !== k || typeof c.missing !== 'number' || typeof c.extra !== 'number') return null;
    const verdicts: Array<StepVerdict | null> = [];
    for (const v of c.verdicts as unknown[]) {
      if (v === null) {
        verdicts.push(null);
        continue;
      }
      const a = readBit((v as { alignment?: unknown }).alignment);
      const b = readBit((v as { contribution?: unknown }).contribution);
      if (a === null || b === null) return null;
      verdicts.push({ alignment: a, contribution: b });
    }
    return { verdicts, missing: c.missing, extra: c.extra };
  };
}

export function createOpenAIStepJudge(endpoint: JudgeEndpoint): StepJudge {
  const meter = endpoint.meter;
  // The reply parser and cache reviver for K steps, made once per K.
  const readers = new Map<number, { parse: (content: string) => ParsedStepVerdicts | null; revive: (cached: unknown) => ParsedStepVerdicts | null }>();
  const readersFor = (k: number) => {
    let r = readers.get(k);
    if (r === undefined) {
      r = { parse: (content) => parseStepVerdicts(content, k), revive: reviveSteps(k) };
      readers.set(k, r);
    }
    return r;
  };
  return {
    name: `openai:${endpoint.model}@${STEP_PROMPT_VERSION}`,
    async judgeSteps(request: StepJudgeRequest, signal?: AbortSignal): Promise<StepJudgement> {
      const { item, steps } = request;
      const k = steps.length;
      const gold = item.goldReasoning?.trim() ?? '';
      let result: StepJudgement;
      if (k === 0) result = unjudged('no steps');
      else if (gold === '') result = unjudged('no gold reasoning');
      else {
        const readers = readersFor(k);
        const call = await endpoint.call(
          {
            promptVersion: STEP_PROMPT_VERSION,
            inputs: { goldAnswer: item.answer, goldReasoning: gold, kind: 'steps', question: item.question, steps }, // (in key order: see withKeyFields)
            image: item.image,
            build: () => ({ prompt: stepPrompt({ question: item.question, goldAnswer: item.answer, goldReasoning: gold, steps }), schema: stepSchema(k) }),
            parse: readers.parse,
            revive: readers.revive,
          },
          signal,
        );
        if (call.kind === 'unjudged') result = call;
        else {
          meter.steps(call.value.missing, call.value.extra);
          meter.judged({ cached: call.cached });
          return {
            kind: 'judged',
            verdicts: call.value.verdicts.includes(null) ? call.value.verdicts.map((v) => v ?? { alignment: 0, contribution: 0 }) : (call.value.verdicts as StepVerdict[]),
            missing: call.value.missing,
            extra: call.value.extra,
            usage: call.usage,
          };
        }
      }
      meter.unjudged(result.reason);
      return result;
    },
  };
}
