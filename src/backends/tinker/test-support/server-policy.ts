/**
 * TEST SUPPORT ONLY. What the local Tinker test server needs from the model
 * behind it: one `ServerPolicy` per training model, samplers on snapshots of
 * its weights, and opaque saved states. Two implementations: the tiny bigram
 * model (bigram-policy.ts) and the project's embedded CPU policy
 * (embedded-server-policy.ts).
 */
import { BigramPolicy, type AdamWire, type PolicyState } from './bigram-policy.js';

/** A model input as the server sees it: token per position (image positions 0) and the images. */
export interface ServerInput {
  readonly tokens_N: readonly number[];
  readonly images: ReadonlyArray<{ readonly position: number; readonly expectedTokens: number; readonly jpeg: Buffer }>;
}

export interface ServerDatum {
  readonly input: ServerInput;
  readonly inputs: Readonly<Record<string, readonly number[]>>;
}

export interface SampledSequence {
  readonly tokens: number[];
  readonly logprobs: number[];
  readonly stop_reason: 'stop' | 'length';
}

export interface SampleParamsIn {
  readonly max_tokens: number;
  readonly temperature: number;
  readonly stop: readonly number[];
  readonly seed: number;
}

export interface ServerSampler {
  sample(prompt: ServerInput, n: number, params: SampleParamsIn): Promise<SampledSequence[]>;
  /** log π(token_i | tokens before it) for i ≥ 1 (null at 0). */
  promptLogprobs(prompt: ServerInput): Promise<Array<number | null>>;
}

export interface ServerPolicy {
  forwardBackward(data: readonly ServerDatum[], lossFn: string, config: Readonly<Record<string, number>>): Promise<{ logprobs_B: number[][]; loss: number }>;
  optimStep(adam: AdamWire): Promise<Record<string, number>>;
  sampler(): Promise<ServerSampler>;
  saveState(): Promise<unknown>;
  loadState(state: unknown): Promise<void>;
  close(): Promise<void>;
}

export interface ServerPolicyFactory {
  readonly vocabSize: number;
  create(): Promise<ServerPolicy>;
  /** A sampler on the untrained base model (for reference log-probs). */
  baseSampler(): Promise<ServerSampler>;
  /** Releases what the factory made (temporary files). */
  close?(): Promise<void>;
}

function bigramSampler(W: Float64Array, V: number): ServerSampler {
  return {
    sample: async (prompt, n, params) => BigramPolicy.sample(W, V, prompt.tokens_N, n, params),
    promptLogprobs: async (prompt) => prompt.tokens_N.map((tok, i) => (i === 0 ? null : BigramPolicy.logProbs(W, V, prompt.tokens_N[i - 1])[tok])),
  };
}

/** The bigram model with the given reduction (`sum` = hosted Tinker, `sequence-mean` = SkyRL's JAX backend). */
export function bigramFactory(vocabSize: number, seed: number, bias: ReadonlyMap<number, number> | undefined, reduction: 'sum' | 'sequence-mean'): ServerPolicyFactory {
  return {
    vocabSize,
    baseSampler: async () => bigramSampler(new BigramPolicy(vocabSize, seed, bias).W, vocabSize),
    create: async () => {
      const policy = new BigramPolicy(vocabSize, seed, bias);
      const wrapper: ServerPolicy & { readonly policy: BigramPolicy } = {
        policy,
        forwardBackward: async (data, lossFn, config) =>
          policy.forwardBackward(
            data.map((d) => ({ input_N: d.input.tokens_N, inputs: d.inputs })),
            lossFn,
            config,
            reduction,
          ),
        optimStep: async (adam) => {
          const { grad_norm } = policy.optimStep(adam);
          return { 'grad_norm:mean': grad_norm };
        },
        sampler: async () => bigramSampler(policy.W.slice(), vocabSize),
        saveState: async () => policy.snapshot(),
        loadState: async (state) => policy.restore(state as PolicyState),
        close: async () => {},
      };
      return wrapper;
    },
  };
}
