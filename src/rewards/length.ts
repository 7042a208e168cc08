/**
 * Length reward R_len ≤ 0 (docs/method.md §3), on the number of steps K:
 * K < K_min → −(K_min − K)/K_min; K > K_max → −(K − K_max)/K_max; else 0.
 * Reference values K_min = 4, K_max = 10.
 */
export interface LengthRewardOptions {
  readonly minSteps?: number;
  readonly maxSteps?: number;
}

export const DEFAULT_MIN_STEPS = 4;
export const DEFAULT_MAX_STEPS = 10;

export function lengthReward(stepCount: number, options: LengthRewardOptions = {}): number {
  const kMin = options.minSteps ?? DEFAULT_MIN_STEPS;
  const kMax = options.maxSteps ?? DEFAULT_MAX_STEPS;
  if (stepCount < kMin) return -(kMin - stepCount) / kMin;
  if (stepCount > kMax) return -(stepCount - kMax) / kMax;
  return 0;
}
