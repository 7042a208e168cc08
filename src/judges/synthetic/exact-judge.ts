/**
 * The exact judge of the synthetic medical VQA task: the step rules of
 * docs/method.md §3 applied to facts that are known exactly, behind the same
 * StepJudge/AnswerJudge seam as the LLM judge.
 *
 * Facts of a text are the task words it mentions: modality (radiograph, ct,
 * mri), texture (smooth, speckled, striped — implies the modality), region,
 * silhouette (wide, tall — implies the region within the modality), lesion
 * polarity (bright, dark), side (left, right), level (upper, lower), count
 * (one/two/three or 1/2/3) and finding. The gold facts are read from the
 * item's gold rationale and completed through the task's tables (texture from
 * modality, silhouette from region), so an optional step the gold rationale
 * left out can still be checked.
 *
 * Per step, in this order (docs/method.md §3):
 * 1. Empty (no letter or digit), pure repetition (the same normalised text as
 *    an earlier step) or meta-commentary (a step that opens by announcing the
 *    reasoning — "I will…", "Let me…", "Now we…" — or states no task fact and
 *    talks about the process) → Alignment 0, Contribution 0.
 * 2. A step that is not a sentence of the task's closed language (the ≈200
 *    sentences its rationales are made of, matched case-insensitively with
 *    digits read as number words) is incoherent → 0, 0: without this rule a
 *    policy learns to game the judge with true facts in broken sentences
 *    ("There is wide.", "This appearance indicates wide."), which MRPO did
 *    after 60 steps.
 * 3. Alignment = 1 when the step states at least one fact and every fact it
 *    states equals the gold fact (a wrong modality, region, side, count or
 *    finding — or two values for one fact — is a contradiction; a step with no
 *    fact is generic).
 * 4. Contribution = 1 when the step states at least one fact the answer needs
 *    with its gold value and none with a wrong value. The answer needs: the
 *    finding and its polarity (finding questions), side and level (location
 *    questions), the count (count questions).
 * The answer judge: correct when the answer equals the gold answer after
 * lower-casing, dropping punctuation, collapsing whitespace and reading
 * 0–10 as number words.
 *
 * It imports the task's pure fact tables from src/data/synthetic/facts.ts
 * (data, no I/O): the judge is exact because it knows them.
 */
import type { StepVerdict } from '../../types.js';
import type { AnswerJudge, AnswerJudgeRequest, AnswerJudgement, StepJudge, StepJudgeRequest, StepJudgement } from '../judge.js';
import {
  answerFor,
  COUNT_WORDS,
  factsFrom,
  FINDINGS,
  FINDINGS_OF,
  LEVELS,
  MODALITIES,
  modalityOfRegion,
  POLARITIES,
  REGIONS,
  REGIONS_OF,
  SHAPES,
  shapeOf,
  SIDES,
  TEXTURE_OF,
  TEXTURES,
  QUESTION_KINDS,
  type Count,
  type Finding,
  type Modality,
  type Polarity,
  type Region,
} from '../../data/synthetic/facts.js';
import { stepSentence, type StepKind } from '../../data/synthetic/texts.js';

export type FactKey = 'modality' | 'texture' | 'region' | 'shape' | 'polarity' | 'side' | 'level' | 'count' | 'finding';

const WORD_FACT = new Map<string, [FactKey, string]>();
for (const m of MODALITIES) WORD_FACT.set(m, ['modality', m]);
for (const t of TEXTURES) WORD_FACT.set(t, ['texture', t]);
for (const r of REGIONS) WORD_FACT.set(r, ['region', r]);
for (const s of SHAPES) WORD_FACT.set(s, ['shape', s]);
for (const p of POLARITIES) WORD_FACT.set(p, ['polarity', p]);
for (const s of SIDES) WORD_FACT.set(s, ['side', s]);
for (const l of LEVELS) WORD_FACT.set(l, ['level', l]);
for (const f of FINDINGS) WORD_FACT.set(f, ['finding', f]);
['one', 'two', 'three'].forEach((w, i) => {
  WORD_FACT.set(w, ['count', String(i + 1)]);
  WORD_FACT.set(String(i + 1), ['count', String(i + 1)]);
});

/** The task facts a text mentions: fact → the set of values mentioned. */
export function mentionedFacts(text: string): Map<FactKey, Set<string>> {
  const out = new Map<FactKey, Set<string>>();
  for (const word of text.toLowerCase().split(/[^a-z0-9]+/)) {
    const hit = WORD_FACT.get(word);
    if (hit === undefined) continue;
    const set = out.get(hit[0]) ?? new Set<string>();
    set.add(hit[1]);
    out.set(hit[0], set);
  }
  return out;
}

export type GoldFacts = Readonly<Record<FactKey, string>>;

/**
 * Gold facts from a gold rationale (and the gold answer), completed through the
 * task's tables; null when the text does not state one value for each fact.
 */
export function goldFactsOf(goldReasoning: string, answer: string): GoldFacts | null {
  const m = mentionedFacts(`${goldReasoning} ${answer}`);
  const one = (k: FactKey): string | undefined => {
    const s = m.get(k);
    return s !== undefined && s.size === 1 ? [...s][0] : undefined;
  };
  let modality = one('modality') as Modality | undefined;
  const region = one('region') as Region | undefined;
  if (modality === undefined && region !== undefined) modality = modalityOfRegion(region);
  const polarity = one('polarity') as Polarity | undefined;
  const finding = (one('finding') as Finding | undefined) ?? (region !== undefined && polarity !== undefined ? FINDINGS_OF[region][POLARITIES.indexOf(polarity)] : undefined);
  const side = one('side');
  const level = one('level');
  const count = one('count');
  if (modality === undefined || region === undefined || polarity === undefined || finding === undefined) return null;
  if (side === undefined || level === undefined || count === undefined) return null;
  if (!REGIONS_OF[modality].includes(region) || !FINDINGS_OF[region].includes(finding)) return null;
  return { modality, texture: TEXTURE_OF[modality], region, shape: shapeOf(region), polarity, side, level, count, finding };
}

/** Which facts the answer needs, by what the gold answer is. */
export function requiredFacts(answer: string): FactKey[] {
  const m = mentionedFacts(answer);
  if (m.has('finding')) return ['finding', 'polarity'];
  if (m.has('side') || m.has('level')) return ['side', 'level'];
  if (m.has('count')) return ['count'];
  return ['finding', 'polarity']; // an answer outside the vocabulary: the finding is what any diagnosis needs
}

const STEP_KINDS: readonly StepKind[] = ['texture', 'modality', 'region', 'shape', 'lesion', 'diagnosis', 'conclusion'];

/** A sentence for matching: lower case, digits 1–3 as words, single spaces, no final period. */
export function sentenceKey(text: string): string {
  return text
    .toLowerCase()
    .replace(/\b([1-3])\b/g, (d) => COUNT_WORDS[Number(d) - 1])
    .replace(/\s+/g, ' ')
    .replace(/[\s.!?]+$/, '')
    .trim();
}

/** Every sentence the task's language has (about 200), as sentence keys. */
export function taskSentences(): ReadonlySet<string> {
  const out = new Set<string>();
  for (const m of MODALITIES)
    for (const shape of SHAPES)
      for (const p of POLARITIES)
        for (const side of SIDES)
          for (const level of LEVELS)
            for (let c = 1; c <= 3; c++) {
              const f = factsFrom(m, shape, p, { side, level, count: c as Count });
              for (const q of QUESTION_KINDS) for (const k of STEP_KINDS) out.add(sentenceKey(stepSentence(k, f, answerFor(q, f))));
            }
  return out;
}

const META_OPENING = /^(?:(?:now|next|first|then|finally)\s*,?\s*)?(?:(?:i|we)\s*(?:will|'ll|shall|am going to|are going to|need to|have to|should|must|want to)\b|let(?:'s|\s+me|\s+us)\b)/;
const META_TALK = /\b(?:analy[sz]e|analysis|look(?:ing)? at|examin(?:e|ing)|think|consider|step by step|reason(?:ing)?|question|answer)\b/;

/** Lower-cased, whitespace-collapsed text without trailing punctuation (for repetition). */
function normStep(text: string): string {
  return text.toLowerCase().replace(/\s+/g, ' ').replace(/[\s.!?;:,]+$/, '').trim();
}

export function isMetaCommentary(text: string, facts: Map<FactKey, Set<string>>): boolean {
  const t = normStep(text);
  return META_OPENING.test(t) || (facts.size === 0 && META_TALK.test(t));
}

/** The verdicts of a completion's steps against the gold facts (pure; exported for tests). */
export function judgeStepsExactly(
  steps: readonly string[],
  gold: GoldFacts,
  required: readonly FactKey[],
  language: ReadonlySet<string> = taskSentences(),
): StepVerdict[] {
  const seen = new Set<string>();
  return steps.map((text): StepVerdict => {
    const norm = normStep(text);
    const repeated = seen.has(norm);
    seen.add(norm);
    const facts = mentionedFacts(text);
    if (!/[a-z0-9]/i.test(text) || repeated || isMetaCommentary(text, facts)) return { alignment: 0, contribution: 0 };
    // The task's language is closed: a sentence outside it ("There is wide.") states nothing coherent.
    if (!language.has(sentenceKey(text))) return { alignment: 0, contribution: 0 };
    let aligned = facts.size > 0;
    for (const [k, values] of facts) if (values.size !== 1 || !values.has(gold[k])) aligned = false;
    let contributes = false;
    let contradicts = false;
    for (const k of required) {
      const values = facts.get(k);
      if (values === undefined) continue;
      if (values.size === 1 && values.has(gold[k])) contributes = true;
      else contradicts = true;
    }
    return { alignment: aligned ? 1 : 0, contribution: contributes && !contradicts ? 1 : 0 };
  });
}

const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];

/** Normalised answer text: lower case, no punctuation, collapsed whitespace, 0–10 as words. */
export function normalizeAnswer(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9\s]+/g, ' ')
    .split(/\s+/)
    .filter((w) => w.length > 0)
    .map((w) => (/^\d+$/.test(w) && Number(w) <= 10 ? NUMBER_WORDS[Number(w)] : w))
    .join(' ');
}

export interface SyntheticJudge extends StepJudge, AnswerJudge {}

/** The exact judge of the synthetic task (`exact-synthetic`). */
export function createSyntheticJudge(): SyntheticJudge {
  const language = taskSentences();
  return {
    name: 'exact-synthetic',
    async judgeSteps(request: StepJudgeRequest): Promise<StepJudgement> {
      const { item, steps } = request;
      if (item.goldReasoning === undefined || item.goldReasoning.trim() === '')
        return { kind: 'unjudged', reason: `item ${item.id} has no gold reasoning` };
      const gold = goldFactsOf(item.goldReasoning, item.answer);
      if (gold === null)
        return { kind: 'unjudged', reason: `item ${item.id}: the gold reasoning does not state the synthetic task's facts` };
      return { kind: 'judged', verdicts: judgeStepsExactly(steps, gold, requiredFacts(item.answer), language), missing: 0, extra: 0 };
    },
    async judgeAnswer(request: AnswerJudgeRequest): Promise<AnswerJudgement> {
      return { kind: 'judged', correct: normalizeAnswer(request.answer) === normalizeAnswer(request.item.answer) };
    },
  };
}
