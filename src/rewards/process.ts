/**
 * Process reward R_proc ∈ [0, 1] (docs/method.md §3): the share of valid steps,
 * (valid steps)/K. No steps, or no labels (no gold reasoning, unjudged) → 0.
 * Labels are aligned by step number: a missing label counts as invalid, labels
 * beyond K are ignored.
 */
import type { StepLabel } from '../types.js';

export function processReward(labels_K: readonly StepLabel[] | null | undefined, stepCount: number): number {
  if (labels_K === null || labels_K === undefined || stepCount <= 0) return 0;
  let valid = 0;
  const n = Math.min(stepCount, labels_K.length);
  for (let k = 0; k < n; k++) if (labels_K[k] === 1) valid++;
  return valid / stepCount;
}
