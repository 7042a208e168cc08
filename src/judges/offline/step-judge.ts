/**
 * A deterministic offline step judge: an APPROXIMATION of the LLM step judge
 * of docs/method.md §3 by lexical agreement, for offline use, tests and CI. It sees
 * no image and understands no medicine; it counts shared words.
 *
 * For each step, in this order:
 * 1. Rule 0 → {0, 0}: the step is empty (no word), pure meta-commentary (it
 *    opens with "I will", "Let me", "Next, I'll"… and shares no key term with
 *    the gold reasoning or answer), or a repetition (its content stems have
 *    Jaccard similarity ≥ 0.8 with an earlier step's).
 * 2. Alignment = 1 when at least `alignThreshold` (default 0.5) of the step's
 *    distinct content stems are key terms of the gold rationale (its content
 *    words, stemmed) and the step names no side (left/right/bilateral) that
 *    the gold rationale or answer does not name while naming another.
 * 3. Contribution = 1 when the step mentions the gold answer: all of the
 *    answer's content stems (all its stems when it has no content word)
 *    occur in the step.
 * No steps or no gold reasoning → unjudged, as for the LLM judge.
 */
import type { StepVerdict } from '../../types.js';
import type { StepJudge, StepJudgement, StepJudgeRequest } from '../judge.js';
import type { JudgeMeter } from '../meter.js';
import { allStems, contentStems, words } from './lexical.js';

export interface OfflineStepJudgeOptions {
  /** Share of a step's content stems that must be gold key terms for Alignment = 1 (default 0.5). */
  readonly alignThreshold?: number;
  readonly meter?: JudgeMeter;
}

const META_OPENING =
  /^\s*(?:(?:first(?:ly)?|next|now|then|finally|okay|ok|so|alright|well|to begin|to start)\s*,?\s+)*(?:i will|i'll|i am going to|i'm going to|i need to|i should|i must|i want to|i shall|i can|let me|let's|let us|we will|we'll|we need to|we should|we can|to answer (?:this|the) question)\b/i;

const SIDES = ['left', 'right', 'bilateral'] as const;

function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  let shared = 0;
  for (const x of a) if (b.has(x)) shared += 1;
  const union = a.size + b.size - shared;
  return union === 0 ? 1 : shared / union;
}

/** The verdicts for `steps` against a gold rationale and answer (exported for tests). */
export function lexicalStepVerdicts(steps: readonly string[], goldReasoning: string, goldAnswer: string, alignThreshold = 0.5): StepVerdict[] {
  const goldTerms = new Set(contentStems(goldReasoning));
  const answerContent = contentStems(goldAnswer);
  const answerTerms = new Set(answerContent.length > 0 ? answerContent : allStems(goldAnswer));
  const goldSides = new Set(words(`${goldReasoning} ${goldAnswer}`).filter((w) => (SIDES as readonly string[]).includes(w)));
  const seen: Array<ReadonlySet<string>> = [];
  const zero: StepVerdict = { alignment: 0, contribution: 0 };
  return steps.map((step) => {
    const stems = new Set(contentStems(step));
    const every = new Set(allStems(step));
    const keyShared = [...stems].filter((s) => goldTerms.has(s) || answerTerms.has(s)).length;
    const repeated = stems.size > 0 && seen.some((prev) => jaccard(prev, stems) >= 0.8);
    seen.push(stems);
    if (every.size === 0) return zero; // empty
    if (META_OPENING.test(step) && keyShared === 0) return zero; // meta-commentary
    if (repeated) return zero;
    const aligned = stems.size > 0 && [...stems].filter((s) => goldTerms.has(s)).length / stems.size >= alignThreshold;
    const stepSides = words(step).filter((w) => (SIDES as readonly string[]).includes(w));
    const wrongSide = goldSides.size > 0 && stepSides.some((s) => !goldSides.has(s));
    const contributes = answerTerms.size > 0 && [...answerTerms].every((s) => every.has(s));
    return { alignment: aligned && !wrongSide ? 1 : 0, contribution: contributes ? 1 : 0 };
  });
}

export function createOfflineStepJudge(options: OfflineStepJudgeOptions = {}): StepJudge {
  const threshold = options.alignThreshold ?? 0.5;
  return {
    name: `offline-lexical@v1(align≥${threshold})`,
    async judgeSteps(request: StepJudgeRequest): Promise<StepJudgement> {
      const gold = request.item.goldReasoning?.trim() ?? '';
      let result: StepJudgement;
      if (request.steps.length === 0) result = { kind: 'unjudged', reason: 'no steps' };
      else if (gold === '') result = { kind: 'unjudged', reason: 'no gold reasoning' };
      else {
        options.meter?.judged();
        return { kind: 'judged', verdicts: lexicalStepVerdicts(request.steps, gold, request.item.answer, threshold), missing: 0, extra: 0 };
      }
      options.meter?.unjudged(result.reason);
      return result;
    },
  };
}
