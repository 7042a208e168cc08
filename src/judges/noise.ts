/**
 * A noise model for a step judge: flips the step label (Alignment ∨
 * Contribution, docs/method.md §3) of each judged step with a given
 * probability, or (`target: criteria`) each criterion on its own, to measure
 * how much judge error MRPO's step shaping absorbs (docs/judge-audit.md
 * "MRPO under judge noise").
 *
 * - `uniform`: every step's label flips with probability `rate`.
 * - `early`: the flip probability falls linearly from 2·rate at the first step
 *   to 0 at the last (capped at 1), so a judge that errs mostly on early steps
 *   has, averaged over step positions, the same rate; a one-step completion
 *   flips with `rate`.
 *
 * `target: label` (default): a flipped valid step is returned as {alignment 0,
 * contribution 0}, a flipped invalid one as {alignment 1, contribution 1}.
 * `target: criteria`: Alignment and Contribution each flip on their own with
 * the step's probability p (independent draws), so the step label flips with
 * p(1 − p) for {1, 0} or {0, 1}, p² for {1, 1} and 1 − (1 − p)² for {0, 0}:
 * a judge that errs on one criterion rarely turns a valid step invalid. The flips are a fixed function
 * of (seed, item id, the completion's steps, step index) through SHA-256, so
 * they do not depend on the order or concurrency of judge calls: the same
 * completion is mis-judged the same way every time, as a deterministic judge
 * would. Unjudged results pass through unchanged. Rate 0 returns the wrapped
 * judge's verdicts unchanged.
 */
import { createHash } from 'node:crypto';
import type { StepVerdict } from '../types.js';
import type { StepJudge, StepJudgement, StepJudgeRequest } from './judge.js';

export const NOISE_MODES = ['uniform', 'early'] as const;
export type NoiseMode = (typeof NOISE_MODES)[number];
export const NOISE_TARGETS = ['label', 'criteria'] as const;
export type NoiseTarget = (typeof NOISE_TARGETS)[number];

export interface JudgeNoise {
  readonly mode: NoiseMode;
  /** Mean flip probability per step label (or per criterion), in [0, 1]. */
  readonly rate: number;
  /** What flips: the step label (default) or each criterion on its own. */
  readonly target?: NoiseTarget;
}

/** Probability that the label of step `index` (0-based) of `n` steps flips. */
export function flipProbability(noise: JudgeNoise, index: number, n: number): number {
  if (noise.mode === 'uniform' || n <= 1) return noise.rate;
  return Math.min(1, 2 * noise.rate * (1 - index / (n - 1)));
}

/** A uniform number in [0, 1) fixed by the key (48 bits of SHA-256). */
export function hashUniform(key: string): number {
  const h = createHash('sha256').update(key).digest();
  return h.readUIntBE(0, 6) / 2 ** 48;
}

/** The verdicts after the noise model (pure; exported for tests). */
export function noisyVerdicts(verdicts: readonly StepVerdict[], noise: JudgeNoise, key: string): StepVerdict[] {
  const n = verdicts.length;
  return verdicts.map((v, i) => {
    const p = flipProbability(noise, i, n);
    if (p <= 0) return v;
    if (noise.target === 'criteria') {
      const flip = (bit: 0 | 1, which: string): 0 | 1 => (hashUniform(`${key}|${i}|${which}`) < p ? ((1 - bit) as 0 | 1) : bit);
      return { alignment: flip(v.alignment, 'alignment'), contribution: flip(v.contribution, 'contribution') };
    }
    if (hashUniform(`${key}|${i}`) >= p) return v;
    const valid = v.alignment === 1 || v.contribution === 1;
    return valid ? { alignment: 0, contribution: 0 } : { alignment: 1, contribution: 1 };
  });
}

/** The judge with the noise model applied; `seed` chooses the flips. */
export function withJudgeNoise(judge: StepJudge, noise: JudgeNoise, seed: number): StepJudge {
  if (noise.rate === 0) return judge;
  return {
    name: `${judge.name}+noise(${noise.target === 'criteria' ? 'criteria,' : ''}${noise.mode}:${noise.rate})`,
    async judgeSteps(request: StepJudgeRequest, signal?: AbortSignal): Promise<StepJudgement> {
      const j = await judge.judgeSteps(request, signal);
      if (j.kind !== 'judged') return j;
      const key = `${seed}|${request.item.id}|${JSON.stringify(request.steps)}`;
      return { ...j, verdicts: noisyVerdicts(j.verdicts, noise, key) };
    },
  };
}
