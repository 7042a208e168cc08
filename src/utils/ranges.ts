/**
 * The range rules shared by every edge that takes these settings: the
 * `mrpo shape` request (and so `mrpo serve`'s `/v1/shape` and `/v1/score`
 * bodies) and the `mrpo train` config file and flags. One rule, one message,
 * whichever edge the value came through; the edge adds where it was (file and
 * JSON path, flag, or request body path).
 *
 * | setting | rule |
 * |---|---|
 * | τ (`tau`) | finite, in [0, 1] |
 * | answer weights (`rouge1`, `bleu1`, `semantic`) | finite, ≥ 0, not all 0 |
 * | PPO clip ε (`epsLow`, `epsHigh`) | in (0, 1) |
 * | advantage std stabiliser ε (`epsilon`) | in (0, 1) |
 * | RL sampling temperature | finite, > 0 |
 * | K_min / K_max (`minSteps` / `maxSteps`) | integers, K_min ≥ 0, K_max ≥ 1, K_min ≤ K_max |
 */
import { z } from 'zod';

/** A number schema: finite (zod 4 refuses NaN and ±Infinity), then `test`, failing with `rule, got <value>`. */
function ranged(test: (value: number) => boolean, rule: string): z.ZodNumber {
  return z.number({ error: (issue) => (issue.input === undefined ? undefined : `expected a finite number, received ${describeValue(issue.input)}`) }).refine(test, {
    error: (issue) => `${rule}, got ${String(issue.input)}`,
  });
}

function describeValue(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

export const RANGE_RULES = {
  tau: 'must be in [0, 1]',
  answerWeight: 'must be ≥ 0',
  answerWeights: 'answer weights must not all be 0 (rouge1, bleu1, semantic)',
  clipEpsilon: 'must be in (0, 1)',
  stdEpsilon: 'must be in (0, 1)',
  temperature: 'must be > 0 (RL samples; 0 would make every completion of a group the same)',
  minSteps: 'must be an integer ≥ 0',
  maxSteps: 'must be an integer ≥ 1',
  stepBounds: 'minSteps must not exceed maxSteps',
} as const;

/** τ: an answer reward above it counts as correct (MRPO). */
export const tauRule = (): z.ZodNumber => ranged((v) => v >= 0 && v <= 1, RANGE_RULES.tau);
/** One answer-reward weight. */
export const answerWeightRule = (): z.ZodNumber => ranged((v) => v >= 0, RANGE_RULES.answerWeight);
/** PPO clip range ε_low / ε_high. */
export const clipEpsilonRule = (): z.ZodNumber => ranged((v) => v > 0 && v < 1, RANGE_RULES.clipEpsilon);
/** The ε added to the group std before dividing (GRPO/GDPO/MRPO normalisation). */
export const stdEpsilonRule = (): z.ZodNumber => ranged((v) => v > 0 && v < 1, RANGE_RULES.stdEpsilon);
/** The RL sampling temperature. */
export const temperatureRule = (): z.ZodNumber => ranged((v) => v > 0, RANGE_RULES.temperature);
/** An integer schema with a lower bound, failing with `rule, got <value>` (`.int()` kept so flags parse it as an integer). */
function integerAtLeast(min: number, rule: string): z.ZodNumber {
  const error = (issue: { input?: unknown }): string => `${rule}, got ${describeValue(issue.input)}`;
  return z.number({ error }).int({ error }).min(min, { error });
}
/** K_min of the length reward. */
export const minStepsRule = (): z.ZodNumber => integerAtLeast(0, RANGE_RULES.minSteps);
/** K_max of the length reward (R_len divides by it). */
export const maxStepsRule = (): z.ZodNumber => integerAtLeast(1, RANGE_RULES.maxSteps);

interface PartialWeights {
  readonly rouge1?: number;
  readonly bleu1?: number;
  readonly semantic?: number;
}

/**
 * The weights that will be used (the given ones over `defaults`) must not all be 0: the answer reward would be 0
 * for every answer that is not an exact match. Adds one issue at the weights object.
 */
export function checkAnswerWeights(weights: PartialWeights, defaults: Required<PartialWeights>, ctx: z.RefinementCtx): void {
  const w = { ...defaults, ...weights };
  if (w.rouge1 === 0 && w.bleu1 === 0 && w.semantic === 0) ctx.addIssue({ code: 'custom', message: RANGE_RULES.answerWeights });
}

/** K_min ≤ K_max, reported at `maxSteps` (absent values take `defaults`). */
export function checkStepBounds(o: { readonly minSteps?: number; readonly maxSteps?: number }, ctx: z.RefinementCtx, defaults: { minSteps?: number; maxSteps?: number } = {}): void {
  const min = o.minSteps ?? defaults.minSteps;
  const max = o.maxSteps ?? defaults.maxSteps;
  // Only between valid bounds: a bad bound has its own issue already.
  if (Number.isInteger(min) && Number.isInteger(max) && (min as number) >= 0 && (max as number) >= 1 && (min as number) > (max as number))
    ctx.addIssue({ code: 'custom', path: ['maxSteps'], message: `${RANGE_RULES.stepBounds} (minSteps ${min}, maxSteps ${max})` });
}
