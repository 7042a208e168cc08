/**
 * The policy-backend seam (docs/architecture.md "Seams"). The training loop drives any
 * backend through this interface and never knows which one it is: the
 * embedded CPU policy, a remote Tinker-API training service, or a
 * sampling-only OpenAI-compatible server.
 */
import type { Item, TokenOffset } from '../types.js';

/** What the policy is asked: the item (image + question) and the rendered instruction text. */
export interface Prompt {
  readonly item: Item;
  /** The question with the think/answer instruction of docs/method.md §1 appended. */
  readonly text: string;
}

export interface SamplingParams {
  readonly temperature: number;
  readonly maxTokens: number;
  /** Seed for the backend's sampler, where it supports one. */
  readonly seed: number;
}

/** One sampled completion, with what the loss and the step mapping need. */
export interface SampledCompletion {
  readonly text: string;
  /** Generated token ids (prompt excluded). */
  readonly tokenIds: readonly number[];
  /** log π_old of each generated token under the sampling policy. */
  readonly logprobs: readonly number[];
  /** Character span of each generated token in `text`. */
  readonly tokenOffsets: readonly TokenOffset[];
  /** Why generation stopped. */
  readonly finishReason: 'stop' | 'length';
}

/** One completion to train on, with its per-token advantages (length = tokenIds.length). */
export interface TrainExample {
  readonly prompt: Prompt;
  readonly completion: SampledCompletion;
  readonly advantages_T: readonly number[];
}

export type LossAggregation = 'seq-mean-token-mean' | 'token-mean' | 'seq-sum-const';

/** The RL objective of docs/method.md §6, or supervised cross-entropy for SFT. */
export type LossSpec =
  | {
      readonly kind: 'policy-gradient';
      readonly beta: number;
      readonly epsLow: number;
      readonly epsHigh: number;
      readonly aggregation: LossAggregation;
      /** Divisor for `seq-sum-const` (Dr. GRPO): the maximum completion length. */
      readonly constant: number;
    }
  | { readonly kind: 'sft' };

export interface OptimizerSpec {
  readonly learningRate: number;
  readonly gradClip: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
}

/** Namespaced metrics (`loss/total`, `loss/clipfrac`, `loss/kl`, `grad/norm`, …). */
export type BackendMetrics = Readonly<Record<string, number>>;

export interface PolicyBackend {
  readonly name: string;
  /** G completions for each prompt: result[p][g]. */
  sample(prompts: readonly Prompt[], n: number, sampling: SamplingParams): Promise<SampledCompletion[][]>;
  /** One optimiser step on the batch. For `sft`, `completion.text` is the target and advantages are ignored. */
  train(batch: readonly TrainExample[], loss: LossSpec, optimizer: OptimizerSpec): Promise<BackendMetrics>;
  /** Writes the policy state into `dir` (the caller makes the directory and renames it atomically). */
  save(dir: string): Promise<void>;
  load(dir: string): Promise<void>;
  /** Releases sessions, workers, memory. */
  close(): Promise<void>;
}
