/**
 * The one signature every advantage estimator shares (style.md rule 2): the
 * same input object in, the same shape out, so the loop never special-cases a
 * method.
 */
import type { Rewards, StepLabel, TokenOffsets } from '../../types.js';
import type { StepSpans } from './token-map.js';

export interface AdvantageCompletion {
  readonly rewards: Rewards;
  /** The completion's steps (spans in its text, objects or flat); needed by `mrpo` shaping and the token mapping. */
  readonly steps?: StepSpans;
  /** Step validity labels aligned by step number; null/absent = unjudged or no gold reasoning. */
  readonly stepLabels?: readonly StepLabel[] | null;
  /** Character span of each generated token (pairs, or flat in an Int32Array); when given, per-token advantages are returned. */
  readonly tokenOffsets?: TokenOffsets;
}

export interface AdvantageGroup {
  readonly completions: readonly AdvantageCompletion[];
}

export interface AdvantageOptions {
  /** MRPO: answer reward above τ counts as correct (strictly greater). Default 0.6. */
  readonly tau?: number;
  /** MRPO: round the step weights w_k to two decimals as the reference does (default true, faithful). */
  readonly roundWeights?: boolean;
  /** Added to the standard deviation in every normalisation. Default 1e-4 (the reference's). */
  readonly epsilon?: number;
}

export interface AdvantageInput {
  readonly groups: readonly AdvantageGroup[];
  readonly options?: AdvantageOptions;
}

export interface CompletionAdvantage {
  /** The sequence-level advantage A_i. */
  readonly advantage: number;
  /** MRPO: the value every token of step k gets (absent when the completion is not reshaped). */
  readonly stepAdvantages?: readonly number[];
  /** MRPO: w_k of each invalid step (null for valid steps), when reshaped. */
  readonly stepWeights?: readonly (number | null)[];
  /** Per-token advantages, when token offsets were given. */
  readonly tokenAdvantages?: number[];
  /** Steps that no token mapped to (when token offsets were given). */
  readonly unmappedSteps?: number;
}

export interface AdvantageOutput {
  readonly groups: ReadonlyArray<{ readonly completions: readonly CompletionAdvantage[] }>;
}

export interface AdvantageResult {
  readonly value: AdvantageOutput;
  /** Namespaced diagnostics (`adv/mean`, `adv/std`, `shape/reshaped`, `shape/unmapped_steps`, …). */
  readonly metrics: Readonly<Record<string, number>>;
}

export type AdvantageEstimator = (input: AdvantageInput) => AdvantageResult;

export const DEFAULT_TAU = 0.6;
export const DEFAULT_EPSILON = 1e-4;
