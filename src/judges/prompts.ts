/**
 * The judge prompts, versioned. A version string is part of every cache key,
 * so changing a prompt's wording means a new version (`step-v2`), never an
 * edit in place.
 *
 * - `step-v1`: the step judge of docs/method.md §3 — per numbered step, Alignment
 *   (consistent with the gold reasoning) and Contribution (helps derive the
 *   gold answer), with the meta-commentary / empty / repetition rule checked
 *   first. The judge sees the image, question, gold answer, gold reasoning and
 *   the numbered steps.
 * - `answer-v1`: the answer judge of docs/method.md §9 — correct (O) or incorrect
 *   (X), with integers spelled out as words on both sides before the judge
 *   sees them.
 *
 * The wording is this project's own, written from the criteria in docs/method.md.
 */
import { spellNumbers } from '../algo/answer-match.js';

export const STEP_PROMPT_VERSION = 'step-v1';
export const ANSWER_PROMPT_VERSION = 'answer-v1';

export interface PromptText {
  readonly system: string;
  /** The user message's text part (the image goes beside it). */
  readonly user: string;
}

/** A JSON schema for `response_format: {type: 'json_schema'}`. */
export interface JsonSchemaSpec {
  readonly name: string;
  readonly schema: Record<string, unknown>;
}

const STEP_SYSTEM = [
  'You are a board-certified physician and an exacting examiner of medical reasoning.',
  'You grade, step by step, the reasoning a model wrote to answer a question about a medical image.',
  'You compare each step with a reference (gold) reasoning and the gold answer, and you reply with JSON only.',
].join(' ');

const STEP_RULES = `Grade every step with two bits, in this order.

Rule 0 — check first. If the step is meta-commentary about what the model is doing or will do ("I will now analyse the image", "Let me look at the findings", "Next, I consider the question"), is empty, or only repeats an earlier step, give it alignment 0 and contribution 0 and go to the next step.

Alignment (1 or 0): is the step consistent with the gold reasoning?
- Early steps: 1 if they identify the correct modality, tissue or stain.
- Middle steps: 1 if they state the specific findings with the correct location and laterality.
- Last steps: 1 if they point in the same diagnostic direction as the gold reasoning.
- 0 for a contradiction of the gold reasoning, the wrong side or location, or a generic statement where the gold reasoning is specific.

Contribution (1 or 0): does the step directly help derive the gold answer?
- 1 if it states the gold answer or a finding that is required to reach it.
- 0 if it only gives context, is evasive, or is unrelated to the answer.

Judge each step on its own content: a step does not earn credit because a later step is right.`;

/** The step judge's prompt for one item and its numbered steps (`Step 1: …`). */
export function stepPrompt(input: { question: string; goldAnswer: string; goldReasoning: string; steps: readonly string[] }): PromptText {
  const k = input.steps.length;
  const numbered = input.steps.map((s, i) => `Step ${i + 1}: ${s.replace(/\s+/g, ' ').trim()}`).join('\n');
  const keys = Array.from({ length: k }, (_, i) => `"step${i + 1}"`).join(', ');
  const user = [
    'The image is attached.',
    `Question: ${input.question}`,
    `Gold answer: ${input.goldAnswer}`,
    `Gold reasoning: ${input.goldReasoning}`,
    '',
    `The model's reasoning, in ${k} numbered steps:`,
    numbered,
    '',
    STEP_RULES,
    '',
    `Reply with one JSON object with exactly ${k} keys, ${keys}; each value is {"alignment": 0 or 1, "contribution": 0 or 1}.`,
    'Example for two steps: {"step1": {"alignment": 1, "contribution": 0}, "step2": {"alignment": 0, "contribution": 0}}',
  ].join('\n');
  return { system: STEP_SYSTEM, user };
}

/** The JSON schema of a step-judge reply for K steps (strict: exactly the keys step1…stepK). */
export function stepSchema(k: number): JsonSchemaSpec {
  const bit = { type: 'integer', enum: [0, 1] };
  const verdict = {
    type: 'object',
    properties: { alignment: bit, contribution: bit },
    required: ['alignment', 'contribution'],
    additionalProperties: false,
  };
  const properties: Record<string, unknown> = {};
  for (let i = 1; i <= k; i++) properties[`step${i}`] = verdict;
  return {
    name: 'step_verdicts',
    schema: { type: 'object', properties, required: Object.keys(properties), additionalProperties: false },
  };
}

const ANSWER_SYSTEM = [
  'You are a board-certified physician grading answers to questions about medical images.',
  'You decide whether a model\'s answer is correct given the gold answer, and you reply with JSON only.',
].join(' ');

/** The answer judge's prompt; integers are spelled out as words on both sides first (docs/method.md §9). */
export function answerPrompt(input: { question: string; goldAnswer: string; answer: string }): PromptText {
  const user = [
    'The image is attached.',
    `Question: ${input.question}`,
    `Gold answer: ${spellNumbers(input.goldAnswer)}`,
    `Model's answer: ${spellNumbers(input.answer)}`,
    '',
    'Is the model\'s answer correct? It is correct (O) when it means the same as the gold answer for this question:',
    'synonyms, standard abbreviations, and differences in wording, case, word order or number format do not matter,',
    'and a more precise answer that contains the gold answer is correct. It is incorrect (X) when it names a different',
    'finding, location, side, organ, modality or count, when it is vague where the gold answer is specific, when it',
    'hedges between several answers, or when it is empty.',
    '',
    'Reply with one JSON object: {"verdict": "O"} for correct or {"verdict": "X"} for incorrect.',
  ].join('\n');
  return { system: ANSWER_SYSTEM, user };
}

export const ANSWER_SCHEMA: JsonSchemaSpec = {
  name: 'answer_verdict',
  schema: {
    type: 'object',
    properties: { verdict: { type: 'string', enum: ['O', 'X'] } },
    required: ['verdict'],
    additionalProperties: false,
  },
};
