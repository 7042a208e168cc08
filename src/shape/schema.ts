/**
 * The `mrpo shape` request contract (issue 2, README "The shape contract"),
 * validated with zod at the edge. Every error names the JSON path and what was
 * expected: `$.groups[0].completions[1].text: expected string, received number`.
 */
import { z } from 'zod';
import { InputError } from '../errors.js';
import { ESTIMATOR_NAMES, type EstimatorName } from '../algo/advantages/index.js';
import { SPLITTERS } from '../algo/steps.js';
import type { TokenOffset, TokenOffsets } from '../types.js';
import { DEFAULT_ANSWER_WEIGHTS } from '../rewards/answer.js';
import { DEFAULT_MAX_STEPS, DEFAULT_MIN_STEPS } from '../rewards/length.js';
import { answerWeightRule, checkAnswerWeights, checkStepBounds, maxStepsRule, minStepsRule, stdEpsilonRule, tauRule } from '../utils/ranges.js';

const finite = () => z.number().refine(Number.isFinite, { message: 'expected a finite number' });

const badPair = (pair: string) => `expected a pair [start, end] of integers with 0 ≤ start ≤ end, received ${pair}`;

/**
 * Flat offsets are views into shared blocks, handed out in order and never reused: one small array per completion
 * would cost an off-heap allocation each (measured: 0.2 ms for the 512 completions of the bench batch, against
 * 0.02 ms for views). A block lives as long as any of its views; large offset lists get an array of their own.
 */
const OFFSET_BLOCK = 1 << 16;
let block = new Int32Array(0);
let blockUsed = 0;

function flatOffsets(n: number): Int32Array {
  if (n > OFFSET_BLOCK >> 2) return new Int32Array(n);
  if (blockUsed + n > block.length) {
    block = new Int32Array(OFFSET_BLOCK);
    blockUsed = 0;
  }
  const view = new Int32Array(block.buffer, 4 * blockUsed, n);
  blockUsed += n;
  return view;
}

/**
 * Token offsets, checked by hand in one loop: zod per-tuple parsing is ~20× slower on 10^5 offsets. JSON gives
 * `[start, end]` pairs; `mrpo serve` may hand over the same numbers flat in an Int32Array (`start₀, end₀, …`), which
 * is checked by the same rule, with the same messages and paths. Valid pairs come out flat too, copied into an
 * Int32Array by the same loop: shape() then reads 8 bytes a token in one array instead of chasing one small array per
 * token (pairs whose values do not fit an int32 stay pairs, and the end-of-text check names them as they were).
 */
const tokenOffsets = z.unknown().transform((value, ctx): TokenOffsets => {
  if (value instanceof Int32Array) {
    if (value.length % 2 !== 0) {
      ctx.addIssue({ code: 'custom', message: `expected start, end values in pairs, received ${value.length} values` });
      return z.NEVER;
    }
    for (let i = 0; i < value.length; i += 2) {
      if (value[i] < 0 || value[i + 1] < value[i]) {
        ctx.addIssue({ code: 'custom', path: [i >> 1], message: badPair(`[${value[i]},${value[i + 1]}]`) });
        return z.NEVER;
      }
    }
    return value;
  }
  if (!Array.isArray(value)) {
    ctx.addIssue({ code: 'custom', message: `expected an array of [start, end] pairs, received ${describe(value)}` });
    return z.NEVER;
  }
  const flat = flatOffsets(2 * value.length);
  let fits = true;
  for (let i = 0; i < value.length; i++) {
    const pair: unknown = value[i];
    if (
      !Array.isArray(pair) ||
      pair.length !== 2 ||
      !Number.isInteger(pair[0]) ||
      !Number.isInteger(pair[1]) ||
      (pair[0] as number) < 0 ||
      (pair[1] as number) < (pair[0] as number)
    ) {
      ctx.addIssue({ code: 'custom', path: [i], message: badPair(JSON.stringify(pair) ?? 'undefined') });
      return z.NEVER;
    }
    flat[2 * i] = pair[0] as number;
    flat[2 * i + 1] = pair[1] as number;
    if ((pair[1] as number) > 0x7fffffff) fits = false;
  }
  return fits ? flat : (value as TokenOffset[]);
});

const rewardsSchema = z
  .object({ answer: finite().optional(), process: finite().optional(), length: finite().optional() })
  .strict();

const completionSchema = z
  .object({
    /** Optional client-side identifier, echoed back. */
    id: z.union([z.string(), z.number()]).optional(),
    text: z.string(),
    tokenOffsets: tokenOffsets.optional(),
    rewards: rewardsSchema.optional(),
    stepLabels: z.array(z.union([z.literal(0), z.literal(1)])).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const offsets = c.tokenOffsets;
    if (offsets === undefined) return;
    const tooFar = (i: number, end: number) =>
      ctx.addIssue({ code: 'custom', path: ['tokenOffsets', i], message: `token ends at ${end}, after the end of text (length ${c.text.length})` });
    if (offsets instanceof Int32Array) {
      for (let i = 1; i < offsets.length; i += 2) if (offsets[i] > c.text.length) return tooFar(i >> 1, offsets[i]);
      return;
    }
    for (let i = 0; i < offsets.length; i++) if (offsets[i][1] > c.text.length) return tooFar(i, offsets[i][1]);
  });

const groupSchema = z
  .object({
    id: z.union([z.string(), z.number()]).optional(),
    gold: z.object({ answer: z.string(), reasoning: z.string().optional() }).strict().optional(),
    completions: z.array(completionSchema).min(1, { message: 'expected at least one completion' }),
  })
  .strict()
  .superRefine((g, ctx) => {
    if (g.gold !== undefined) return;
    g.completions.forEach((c, i) => {
      if (c.rewards?.answer === undefined)
        ctx.addIssue({ code: 'custom', path: ['completions', i, 'rewards', 'answer'], message: 'required when the group has no gold.answer (the answer reward is computed from gold.answer)' });
    });
  });

// Range rules shared with `mrpo train` (utils/ranges.ts); absent values take the defaults of rewards/.
const weightsSchema = z
  .object({ rouge1: answerWeightRule().optional(), bleu1: answerWeightRule().optional(), semantic: answerWeightRule().optional() })
  .strict()
  .superRefine((w, ctx) => checkAnswerWeights(w, DEFAULT_ANSWER_WEIGHTS, ctx));

export const shapeOptionsSchema = z
  .object({
    tau: tauRule().optional(),
    minSteps: minStepsRule().optional(),
    maxSteps: maxStepsRule().optional(), // R_len divides by K_max
    roundWeights: z.boolean().optional(),
    epsilon: stdEpsilonRule().optional(),
    splitter: z.enum(SPLITTERS as [string, ...string[]]).optional(),
    answerWeights: weightsSchema.optional(),
    renormalize: z.boolean().optional(),
  })
  .strict()
  .superRefine((o, ctx) => checkStepBounds(o, ctx, { minSteps: DEFAULT_MIN_STEPS, maxSteps: DEFAULT_MAX_STEPS }));

export const shapeRequestSchema = z
  .object({
    estimator: z.enum(ESTIMATOR_NAMES as [EstimatorName, ...EstimatorName[]]),
    options: shapeOptionsSchema.optional(),
    groups: z.array(groupSchema),
  })
  .strict();

export type ShapeRequest = z.infer<typeof shapeRequestSchema>;
export type ShapeOptions = z.infer<typeof shapeOptionsSchema>;
export type ShapeGroupRequest = z.infer<typeof groupSchema>;
export type ShapeCompletionRequest = z.infer<typeof completionSchema>;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** `$.groups[0].completions[1].text` from a zod path. */
export function jsonPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '$';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `.${String(key)}`;
  return out;
}

/** Readable one-line problems from zod issues (at most `limit`). */
export function formatIssues(error: z.ZodError, limit = 5): string[] {
  return error.issues.slice(0, limit).map((issue) => {
    const message = issue.message.replace(/^Invalid input: /, '').replace(/^Invalid option: /, '');
    return `${jsonPath(issue.path)}: ${message}`;
  });
}

/**
 * Validates a parsed JSON document as a shape request. `source` names the
 * input in errors (a file name, `request body`). Throws InputError listing up
 * to five problems, each with its JSON path.
 */
export function parseShapeRequest(json: unknown, source = 'input'): ShapeRequest {
  const result = shapeRequestSchema.safeParse(json);
  if (result.success) return result.data;
  const problems = formatIssues(result.error);
  const more = result.error.issues.length > problems.length ? ` (and ${result.error.issues.length - problems.length} more)` : '';
  const first = result.error.issues[0];
  throw new InputError(source, problems.join('; ') + more, { jsonPath: first === undefined ? '$' : jsonPath(first.path) });
}
