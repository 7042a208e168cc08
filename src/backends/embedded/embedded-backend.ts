/**
 * The embedded policy backend: a small vision-language transformer trained on
 * the CPU (tfjs-wasm), behind the PolicyBackend seam (docs/architecture.md "Seams").
 *
 * Create it with `createEmbeddedBackend({ seed, corpus })` (a new model, the
 * vocabulary built from `corpus`) or `loadEmbeddedBackend(dir)` (a checkpoint).
 *
 * Conventions the training loop relies on:
 * - Prompt text is encoded as `<bos>` + tokens of `prompt.text`; the item's
 *   image must be raw pixels (`{ pixels, width, height, channels }`).
 * - A completion's `tokenIds` include the final `<eos>` when it stopped
 *   (`finishReason: 'stop'`); `<eos>` decodes to nothing, so its offset is the
 *   empty span [text.length, text.length] and its log-prob is trained like any
 *   other token (the policy learns to stop).
 * - `logprobs` are under the sampling distribution softmax(z/T) (greedy:
 *   softmax(z)); training scores at T = 1, so sample at temperature 1 for RL
 *   if π_old should equal π_θ (as the reference does).
 * - `train` with `kind: 'sft'` re-encodes `completion.text` and appends `<eos>`
 *   (the token ids, log-probs and advantages of the example are ignored); with
 *   `kind: 'policy-gradient'` it uses `completion.tokenIds`, `logprobs` (π_old)
 *   and `advantages_T`, which must all have the same length.
 * - The KL reference is a frozen copy of the weights at construction; call
 *   `setReference()` after the warm start to make the warm-started policy the
 *   reference (docs/method.md §6 uses the initial RL policy). It is saved and loaded
 *   with the checkpoint, so a resumed run keeps its reference. The AdamW
 *   moments are saved and loaded too; `resetOptimizer()` forgets them (a
 *   loaded warm start carries the SFT optimizer state otherwise).
 * - Deterministic: the same seed, inputs and call order give the same weights,
 *   samples and metrics (single-threaded wasm, seeded init and sampler).
 */
import { InputError, MrpoError } from '../../errors.js';
import { createRng } from '../../utils/rng.js';
import type {
  BackendMetrics,
  LossSpec,
  OptimizerSpec,
  PolicyBackend,
  Prompt,
  SampledCompletion,
  SamplingParams,
  TrainExample,
} from '../backend.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { ModelConfigSchema, type ModelConfig, type ModelConfigInput } from './config.js';
import { initEngine } from './engine.js';
import { imagePatches } from './image.js';
import { cloneParams, disposeParams, initParams, type Params } from './model.js';
import { sampleRows } from './sampler.js';
import { adamStep, createAdamState, lossGradients, scoreRows, type AdamState, type TrainRow } from './trainer.js';
import { BOS, EOS, WordTokenizer, type TokenizerOptions } from './tokenizer.js';

export interface EmbeddedBackendOptions {
  /** Seeds the weight initialisation. */
  readonly seed: number;
  /** Texts the vocabulary is built from: prompts, gold rationales, answers (and any wrong chains). */
  readonly corpus?: Iterable<string>;
  /** A ready vocabulary instead of a corpus (ids 0–3 must be <pad> <unk> <bos> <eos>). */
  readonly vocab?: readonly string[];
  readonly tokenizer?: TokenizerOptions;
  /** Model size; every field has a default (the demo size). */
  readonly model?: ModelConfigInput;
}

export class EmbeddedBackend implements PolicyBackend {
  readonly name = 'embedded';
  private closed = false;

  constructor(
    private config: ModelConfig,
    private tok: WordTokenizer,
    private params: Params,
    private reference: Params,
    private adam: AdamState,
  ) {}

  get modelConfig(): ModelConfig {
    return this.config;
  }

  get tokenizer(): WordTokenizer {
    return this.tok;
  }

  /** Number of trainable weights. */
  get parameterCount(): number {
    return Object.values(this.params).reduce((a, t) => a + t.size, 0);
  }

  /** Makes the current weights the frozen KL reference (call after the warm start). */
  setReference(): void {
    this.assertOpen();
    disposeParams(this.reference);
    this.reference = cloneParams(this.params);
  }

  /** Forgets the AdamW moments and step count (e.g. when RL starts from an SFT warm start). */
  resetOptimizer(): void {
    this.assertOpen();
    disposeParams(this.adam.m);
    disposeParams(this.adam.v);
    this.adam = createAdamState(this.params);
  }

  /** `<bos>` + the prompt's token ids. */
  promptIds(prompt: Prompt): number[] {
    return [BOS, ...this.tok.encode(prompt.text).ids];
  }

  async sample(prompts: readonly Prompt[], n: number, sampling: SamplingParams): Promise<SampledCompletion[][]> {
    this.assertOpen();
    await initEngine();
    if (!(sampling.temperature >= 0) || !Number.isFinite(sampling.temperature))
      throw new InputError('sampling.temperature', `expected a finite number ≥ 0 (0 = greedy), got ${sampling.temperature}`);
    if (!Number.isInteger(sampling.maxTokens) || sampling.maxTokens < 1)
      throw new InputError('sampling.maxTokens', `expected an integer ≥ 1, got ${sampling.maxTokens}`);
    if (!Number.isInteger(n) || n < 1) throw new InputError('sample n', `expected an integer ≥ 1, got ${n}`);
    const rows = prompts.flatMap((prompt, i) => {
      const textIds = this.promptIds(prompt);
      if (textIds.length >= this.config.maxTextLen)
        throw new InputError(`prompt ${i} (item ${prompt.item.id})`, `prompt is ${textIds.length} tokens; the model's maxTextLen is ${this.config.maxTextLen}`);
      const patches = imagePatches(prompt.item, this.config);
      return Array.from({ length: n }, () => ({ patches, textIds }));
    });
    const out = sampleRows(this.params, this.config, rows, sampling.maxTokens, sampling.temperature, createRng(sampling.seed));
    return prompts.map((_, i) =>
      out.slice(i * n, (i + 1) * n).map((r) => {
        const { text, offsets } = this.tok.decode(r.ids);
        return { text, tokenIds: r.ids, logprobs: r.logprobs, tokenOffsets: offsets, finishReason: r.finishReason };
      }),
    );
  }

  /** log π_θ (temperature 1) of each completion token given its prompt: re-scoring. */
  async score(examples: ReadonlyArray<{ prompt: Prompt; tokenIds: readonly number[] }>): Promise<number[][]> {
    this.assertOpen();
    await initEngine();
    const rows = examples.map((e, i) => this.trainRow(e.prompt, e.tokenIds, `examples[${i}]`));
    return scoreRows(this.params, this.config, rows).map((r) => Array.from(r));
  }

  async train(batch: readonly TrainExample[], loss: LossSpec, optimizer: OptimizerSpec): Promise<BackendMetrics> {
    this.assertOpen();
    await initEngine();
    if (batch.length === 0) throw new InputError('train batch', 'is empty');
    let rows: TrainRow[];
    let pg = null;
    if (loss.kind === 'sft') {
      rows = batch.map((e, i) => this.trainRow(e.prompt, [...this.tok.encode(e.completion.text).ids, EOS], `batch[${i}]`));
    } else {
      rows = batch.map((e, i) => {
        const T = e.completion.tokenIds.length;
        if (e.completion.logprobs.length !== T || e.advantages_T.length !== T)
          throw new InputError(
            `batch[${i}]`,
            `tokenIds, logprobs and advantages_T must have the same length, got ${T}, ${e.completion.logprobs.length}, ${e.advantages_T.length}`,
          );
        return this.trainRow(e.prompt, e.completion.tokenIds, `batch[${i}]`);
      });
      pg = {
        oldLogp_B_T: batch.map((e) => e.completion.logprobs),
        adv_B_T: batch.map((e) => e.advantages_T),
        refLogp_B_T: loss.beta !== 0 ? scoreRows(this.reference, this.config, rows) : null,
      };
    }
    const { grads, metrics } = lossGradients(this.params, this.config, rows, loss, pg);
    const { params, gradNorm } = adamStep(this.params, grads, this.adam, optimizer);
    this.params = params;
    return { ...metrics, 'grad/norm': gradNorm, 'optim/lr': optimizer.learningRate };
  }

  async save(dir: string): Promise<void> {
    this.assertOpen();
    await writeCheckpoint(dir, { model: this.config, vocab: this.tok.vocab, weights: this.params, reference: this.reference, adam: this.adam });
  }

  /** Replaces model, tokenizer, weights, reference and optimizer state with the checkpoint's. */
  async load(dir: string): Promise<void> {
    this.assertOpen();
    await initEngine();
    const s = await readCheckpoint(dir);
    this.disposeAll();
    this.config = s.model;
    this.tok = new WordTokenizer(s.vocab);
    this.params = s.weights;
    this.reference = s.reference ?? cloneParams(s.weights);
    this.adam = s.adam ?? createAdamState(s.weights);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.disposeAll();
    this.closed = true;
  }

  private trainRow(prompt: Prompt, completionIds: readonly number[], where: string): TrainRow {
    const promptIds = this.promptIds(prompt);
    const textIds = [...promptIds, ...completionIds];
    if (textIds.length > this.config.maxTextLen)
      throw new InputError(where, `prompt + completion is ${textIds.length} tokens; the model's maxTextLen is ${this.config.maxTextLen}`);
    for (const id of completionIds)
      if (!Number.isInteger(id) || id < 0 || id >= this.tok.size) throw new InputError(`${where}.completion.tokenIds`, `token id ${id} is outside the vocabulary (size ${this.tok.size})`);
    return { patches: imagePatches(prompt.item, this.config), textIds, start: promptIds.length };
  }

  private disposeAll(): void {
    disposeParams(this.params);
    disposeParams(this.reference);
    disposeParams(this.adam.m);
    disposeParams(this.adam.v);
  }

  private assertOpen(): void {
    if (this.closed) throw new MrpoError('the embedded backend is closed');
  }
}

/** A new embedded policy with seeded random weights and a vocabulary from `corpus` (or `vocab`). */
export async function createEmbeddedBackend(options: EmbeddedBackendOptions): Promise<EmbeddedBackend> {
  await initEngine();
  const parsed = ModelConfigSchema.safeParse(options.model ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(`embedded model config $.${issue.path.join('.')}`, issue.message);
  }
  let tok: WordTokenizer;
  if (options.vocab !== undefined) tok = new WordTokenizer(options.vocab);
  else if (options.corpus !== undefined) tok = WordTokenizer.fromCorpus(options.corpus, options.tokenizer);
  else throw new InputError('createEmbeddedBackend options', 'give either `corpus` (texts to build the vocabulary from) or `vocab`');
  const params = initParams(parsed.data, tok.size, createRng(options.seed));
  return new EmbeddedBackend(parsed.data, tok, params, cloneParams(params), createAdamState(params));
}

/** An embedded policy restored from a checkpoint directory written by `save`. */
export async function loadEmbeddedBackend(dir: string): Promise<EmbeddedBackend> {
  await initEngine();
  const s = await readCheckpoint(dir);
  return new EmbeddedBackend(s.model, new WordTokenizer(s.vocab), s.weights, s.reference ?? cloneParams(s.weights), s.adam ?? createAdamState(s.weights));
}
