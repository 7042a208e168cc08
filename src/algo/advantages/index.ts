/**
 * The static, typed registry of advantage estimators (style.md rule 3):
 * `grpo | gdpo | mrpo`, one signature for all. An unknown name is an error
 * listing the valid names.
 */
import { UnknownNameError } from '../../errors.js';
import { gdpo } from './gdpo.js';
import { grpo } from './grpo.js';
import { mrpo } from './mrpo.js';
import type { AdvantageEstimator, AdvantageInput, AdvantageResult } from './types.js';

export const estimators = { grpo, gdpo, mrpo } as const satisfies Record<string, AdvantageEstimator>;

export type EstimatorName = keyof typeof estimators;
export const ESTIMATOR_NAMES = Object.keys(estimators) as EstimatorName[];

export function isEstimatorName(name: string): name is EstimatorName {
  return Object.hasOwn(estimators, name);
}

export function getEstimator(name: string): AdvantageEstimator {
  if (!isEstimatorName(name)) throw new UnknownNameError('advantage estimator', name, ESTIMATOR_NAMES);
  return estimators[name];
}

export function computeAdvantages(name: EstimatorName | string, input: AdvantageInput): AdvantageResult {
  return getEstimator(name)(input);
}

export { stepWeight } from './mrpo.js';
export { mapTokensToSteps, stepCount, tokenAdvantagesFor, tokenCount, type StepSpan, type StepSpans, type TokenStepMap } from './token-map.js';
export * from './types.js';
