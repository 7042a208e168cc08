/**
 * The judge seam (docs/architecture.md "Seams"). A judge never throws for a per-item
 * failure: an HTTP error, bad JSON or a timeout becomes an `Unjudged` value
 * with its reason, and a policy in the caller decides what to do with it.
 */
import type { Item, StepVerdict } from '../types.js';

/** A judge could not give a verdict; `reason` says why (never contains secrets). */
export interface Unjudged {
  readonly kind: 'unjudged';
  readonly reason: string;
  /** Tokens the failed attempts used (remote judges; absent when no call was made). */
  readonly usage?: JudgeUsage;
}

/** Tokens one judgement used: the endpoint's reported usage over every attempt; 0 for a cache hit. */
export interface JudgeUsage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** The verdict came from the cache (or a request another caller had in flight): nothing was paid for it. */
  readonly cached: boolean;
}

export interface StepJudgeRequest {
  /** The item: image, question, gold answer and gold reasoning. */
  readonly item: Item;
  /** The completion's steps, in order (text only; spans stay with the caller). */
  readonly steps: readonly string[];
}

export type StepJudgement =
  | {
      readonly kind: 'judged';
      /** One verdict per requested step, aligned by step number; missing ones are filled as invalid and counted in `missing`. */
      readonly verdicts: readonly StepVerdict[];
      /** How many of the steps the judge gave no verdict for (filled as {0, 0}). */
      readonly missing: number;
      /** How many verdicts the judge gave beyond the number of steps (dropped). */
      readonly extra: number;
      /** Tokens this judgement used (remote judges); absent for judges that make no calls. */
      readonly usage?: JudgeUsage;
    }
  | Unjudged;

export interface AnswerJudgeRequest {
  readonly item: Item;
  /** The model's extracted answer. */
  readonly answer: string;
}

export type AnswerJudgement = { readonly kind: 'judged'; readonly correct: boolean; readonly usage?: JudgeUsage } | Unjudged;

export interface StepJudge {
  /** Identifies the judge in logs, caches and run configs (e.g. `openai:gpt-5-mini@step-v1`, `exact-synthetic`). */
  readonly name: string;
  judgeSteps(request: StepJudgeRequest, signal?: AbortSignal): Promise<StepJudgement>;
}

export interface AnswerJudge {
  readonly name: string;
  judgeAnswer(request: AnswerJudgeRequest, signal?: AbortSignal): Promise<AnswerJudgement>;
}

/**
 * What a run of judging did and cost (the counters of src/judges/meter.ts),
 * here so that consumers of the seam (serve, train) can report them.
 */
export interface JudgeStats {
  /** Verdicts returned (fresh + cached). */
  readonly judged: number;
  /** Of those, verdicts served from the cache. */
  readonly cached: number;
  /** Unjudged results by reason category. */
  readonly unjudged: Readonly<Record<string, number>>;
  /** HTTP requests sent (including retried ones). */
  readonly requests: number;
  /** Retries after a failed or unparseable attempt. */
  readonly retries: number;
  /** Times an endpoint rejected a response format and a simpler one was used. */
  readonly formatFallbacks: number;
  /** Steps the step judge gave no verdict for (filled as invalid). */
  readonly missingSteps: number;
  /** Verdicts beyond the number of steps (dropped). */
  readonly extraVerdicts: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** Dollars at the configured prices; null when prices are unknown. */
  readonly costUsd: number | null;
}

/** A step is valid when Alignment = 1 or Contribution = 1 (docs/method.md §3). */
export function stepLabelsOf(verdicts: readonly StepVerdict[]): Array<0 | 1> {
  return verdicts.map((v) => (v.alignment === 1 || v.contribution === 1 ? 1 : 0));
}
