/**
 * `PolicyBackend` over the Tinker training API (issue 5): a LoRA model of a
 * vision-language base model trained on a remote service — hosted Tinker or a
 * self-hosted SkyRL tx server.
 *
 * - create: the server profile before anything trains (server-profile.ts):
 *   hosted Tinker or SkyRL tx, told from its own answers; a base model it does
 *   not serve, image prompts on a server that renders none and a LoRA rank
 *   above its limit are config errors; settings it ignores are warned about.
 * - sample: ephemeral sampler weights of the current training state
 *   (`save_weights_for_sampler`, made again only after a training step), then
 *   one `asample` per prompt with `num_samples = n`; per-token log-probs are
 *   π_old; text and token character offsets come from the local tokenizer.
 * - train: one datum per completion (datums.ts), advantages scaled so that the
 *   service's summed loss is the configured aggregation, `forward_backward`
 *   (`ppo` with thresholds 1−ε_low / 1+ε_high, or `importance_sampling`) and
 *   `optim_step` submitted back to back, then both awaited. Metrics: the
 *   objective recomputed from the learner's log-probs the service returns
 *   (`loss/total`, `loss/policy`, `loss/kl`, `loss/clipfrac`, `loss/ratio_mean`)
 *   and the service's own metrics under `tinker/`.
 * - save/load: `save_weights` (weights + optimizer) and a small JSON file with
 *   the `tinker://` path; load creates a fresh model and `load_weights` as its
 *   first request.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pLimit from 'p-limit';
import { z } from 'zod';
import { aggregateLosses, lossMetrics, tokenLosses, type TokenLossOutput } from '../../algo/losses.js';
import { ConfigError, InputError, RemoteError } from '../../errors.js';
import type { BackendMetrics, LossSpec, OptimizerSpec, PolicyBackend, Prompt, SampledCompletion, SamplingParams, TrainExample } from '../backend.js';
import type { Logger, QueueStateListener, RetryPolicy } from './calls.js';
import { TinkerClient } from './client.js';
import type { SamplingSession } from './sampling-session.js';
import type { TrainingModel } from './training-model.js';
import { parseTinkerBackendConfig, tinkerEndpointFromEnv, type TinkerBackendConfig, type TinkerEndpoint } from './config.js';
import { advantageScale_B_T, inputLength, rlDatum, sftDatum } from './datums.js';
import type { IntervalTimer } from './heartbeat.js';
import type { Clock } from './http.js';
import { chunkLength, createRenderer, type ChatRenderer, type InputChunk } from './render/chat.js';
import { imageTokenCount, readResizeRule, toJpeg, type VisionResizeRule } from './render/image.js';
import { loadTokenizer, type TextTokenizer } from './render/tokenizer.js';
import type { Datum } from './wire.js';
import {
  checkBaseModel,
  checkImages,
  explainCreateModelError,
  ignoredSettingWarnings,
  probeServer,
  refineWithModelInfo,
  type ServerProfile,
} from './server-profile.js';

/** Injected machinery (tests pass fast retry timings and their own timer). */
export interface TinkerBackendDeps {
  readonly clock?: Clock;
  readonly timer?: IntervalTimer;
  readonly log?: Logger;
  readonly fetch?: typeof fetch;
  readonly retry?: Partial<RetryPolicy>;
  readonly heartbeatIntervalMs?: number;
  readonly onQueueState?: QueueStateListener;
  /** A tokenizer already loaded (otherwise loaded from `config.tokenizer ?? config.model`). */
  readonly tokenizer?: TextTokenizer;
}

export const CHECKPOINT_FILE = 'tinker-checkpoint.json';

const CheckpointFile = z.object({
  format: z.literal('mrpo-tinker-checkpoint/1'),
  tinkerPath: z.string().startsWith('tinker://'),
  baseModel: z.string(),
  loraRank: z.number().int().positive(),
  renderer: z.string(),
});

const MAX_PROMPT_CACHE = 4096;

export class TinkerBackend implements PolicyBackend {
  readonly name = 'tinker';
  private sampler: SamplingSession | undefined;
  private referenceSampler: SamplingSession | undefined;
  private readonly prompts = new Map<string, Promise<InputChunk[]>>();
  private closed = false;

  private constructor(
    private readonly client: TinkerClient,
    private model: TrainingModel,
    private readonly config: TinkerBackendConfig,
    readonly tokenizer: TextTokenizer,
    readonly renderer: ChatRenderer,
    private readonly resizeRule: VisionResizeRule,
    private readonly profile: ServerProfile,
  ) {}

  static async create(config: TinkerBackendConfig, endpoint: TinkerEndpoint, deps: TinkerBackendDeps = {}): Promise<TinkerBackend> {
    if (config.loraRank < 1) throw new ConfigError('backend.loraRank', 'must be ≥ 1');
    // Local work first: a bad tokenizer path fails before anything is created remotely.
    const tokenizerSource = config.tokenizer ?? config.model;
    const tokenizer = deps.tokenizer ?? (await loadTokenizer(tokenizerSource));
    const renderer = createRenderer(config.renderer, tokenizer, { systemPrompt: config.systemPrompt });
    const resizeRule = await readResizeRule(config.tokenizer, renderer.resizeRule);
    const client = await TinkerClient.connect({
      baseUrl: endpoint.baseUrl,
      apiKey: endpoint.apiKey,
      wireFormat: config.wireFormat,
      sdkVersion: config.sdkVersion,
      tags: config.tags,
      projectId: config.projectId,
      clock: deps.clock,
      timer: deps.timer,
      log: deps.log,
      fetch: deps.fetch,
      retry: { pollTimeoutMs: config.pollTimeoutMs, ...deps.retry },
      heartbeatIntervalMs: deps.heartbeatIntervalMs,
      onQueueState: deps.onQueueState,
    });
    try {
      // Capabilities before anything is created (server-profile.ts): model, images, ignored settings.
      let profile = await probeServer(client, config, deps.log);
      checkBaseModel(profile, config.model);
      checkImages(profile, config.images);
      const model = await client.createModel({ baseModel: config.model, rank: config.loraRank, seed: config.loraSeed }).catch((error: unknown) => {
        throw explainCreateModelError(error, config.loraRank);
      });
      // get_info of the new model can reveal SkyRL where the handshake did not; checked again before any training request.
      const info = await client.getInfo(model.modelId).catch(() => undefined);
      const refined = refineWithModelInfo(profile, info?.model_data, client, config);
      if (refined !== profile) {
        profile = refined;
        checkImages(profile, config.images);
      }
      for (const line of ignoredSettingWarnings(profile)) deps.log?.warn(line);
      return new TinkerBackend(client, model, config, tokenizer, renderer, resizeRule, profile);
    } catch (error) {
      await client.close();
      throw error;
    }
  }

  /** What the server is and can do, as decided at create (server-profile.ts). */
  get serverProfile(): ServerProfile {
    return this.profile;
  }

  /** The service-side id of the current training model. */
  get modelId(): string {
    return this.model.modelId;
  }

  private assertOpen(): void {
    if (this.closed) throw new RemoteError('the tinker backend is closed');
  }

  /** Model-input chunks of a prompt (cached: sample and train render the same prompts). */
  renderPrompt(prompt: Prompt): Promise<InputChunk[]> {
    const key = `${prompt.item.id}\u0000${prompt.text}`;
    let chunks = this.prompts.get(key);
    if (chunks === undefined) {
      if (this.prompts.size >= MAX_PROMPT_CACHE) this.prompts.clear();
      chunks = (async () => {
        const image =
          this.config.images === 'omit' ? undefined : await toJpeg(prompt.item.image, { maxPixels: this.config.maxImagePixels, where: `item ${prompt.item.id} image` });
        return this.renderer.renderPrompt({ text: prompt.text, image }, (img) => imageTokenCount(img.height, img.width, this.resizeRule));
      })();
      this.prompts.set(key, chunks);
      chunks.catch(() => this.prompts.delete(key));
    }
    return chunks;
  }

  private async currentSampler(): Promise<SamplingSession> {
    this.sampler ??= await this.model.samplerForCurrentWeights();
    return this.sampler;
  }

  async sample(prompts: readonly Prompt[], n: number, sampling: SamplingParams): Promise<SampledCompletion[][]> {
    this.assertOpen();
    if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`sample: n must be a positive integer, got ${n}`);
    const rendered = await Promise.all(prompts.map((p) => this.renderPrompt(p)));
    const sampler = await this.currentSampler();
    const limit = pLimit(this.config.sampleConcurrency);
    return Promise.all(
      rendered.map((chunks, p) =>
        limit(async () => {
          const result = await sampler.sample({
            prompt: chunks,
            numSamples: n,
            params: {
              max_tokens: sampling.maxTokens,
              temperature: sampling.temperature,
              top_k: -1,
              top_p: 1,
              stop: this.renderer.stopTokens,
              seed: sampleSeed(sampling.seed, p),
            },
          });
          if (result.sequences.length !== n) throw new RemoteError(`asample: asked for ${n} samples of prompt ${p}, got ${result.sequences.length}`);
          return result.sequences.map((seq, g): SampledCompletion => {
            const logprobs = seq.logprobs;
            if (logprobs === null || logprobs === undefined || logprobs.length !== seq.tokens.length)
              throw new RemoteError(
                `asample: sample ${g} of prompt ${p} has ${logprobs?.length ?? 'no'} log-probs for ${seq.tokens.length} tokens; per-token log-probs are needed as π_old`,
              );
            const decoded = this.tokenizer.decodeWithOffsets(seq.tokens);
            return { text: decoded.text, tokenIds: seq.tokens, logprobs, tokenOffsets: decoded.offsets_T, finishReason: seq.stop_reason };
          });
        }),
      ),
    );
  }

  /** log π_ref of each completion token, from a sampler on the base model (prompt log-probs of the full sequence). */
  private async referenceLogprobs(prompt: readonly InputChunk[], completion_T: readonly number[]): Promise<number[]> {
    this.referenceSampler ??= await this.client.createSamplingSession({ baseModel: this.config.model });
    const last = prompt[prompt.length - 1];
    if (last === undefined || last.kind !== 'tokens') throw new RangeError('prompt must end with text');
    const full: InputChunk[] = [...prompt.slice(0, -1), { kind: 'tokens', tokens: [...last.tokens, ...completion_T] }];
    const result = await this.referenceSampler.sample({
      prompt: full,
      numSamples: 1,
      promptLogprobs: true,
      params: { max_tokens: 1, temperature: 1, top_k: -1, top_p: 1, stop: [], seed: 0 },
    });
    const P = chunkLength(prompt);
    const lp = normalisePromptLogprobs(result.prompt_logprobs, P + completion_T.length);
    if (!lp || lp.length < P + completion_T.length) throw new RemoteError('reference log-probs: the sampler returned no prompt_logprobs for the sequence');
    return completion_T.map((_, t) => {
      const v = lp[P + t];
      if (v === null || !Number.isFinite(v)) throw new RemoteError(`reference log-probs: position ${P + t} has no log-prob`);
      return v;
    });
  }

  async train(batch: readonly TrainExample[], loss: LossSpec, optimizer: OptimizerSpec): Promise<BackendMetrics> {
    this.assertOpen();
    const adam = {
      learning_rate: optimizer.learningRate,
      beta1: optimizer.beta1,
      beta2: optimizer.beta2,
      eps: optimizer.eps,
      weight_decay: optimizer.weightDecay,
      grad_clip_norm: optimizer.gradClip,
    };
    if (loss.kind === 'sft') return this.trainSft(batch, adam);
    if (loss.beta !== 0 && this.config.kl === 'reject')
      throw new ConfigError(
        'loss.beta',
        `is ${loss.beta}, but the Tinker losses have no KL term; set beta to 0, or set backend.kl to "fold" (the KL gradient folded into the advantages, using a base-model sampler)`,
      );
    batch.forEach((ex, i) => {
      const T = ex.completion.tokenIds.length;
      if (ex.advantages_T.length !== T || ex.completion.logprobs.length !== T)
        throw new InputError(`train batch[${i}]`, `${T} tokens but ${ex.advantages_T.length} advantages and ${ex.completion.logprobs.length} log-probs`);
      const bad = ex.advantages_T.findIndex((a) => !Number.isFinite(a));
      if (bad >= 0) throw new InputError(`train batch[${i}].advantages_T[${bad}]`, `must be a finite number, got ${ex.advantages_T[bad]}`);
      const badLp = ex.completion.logprobs.findIndex((x) => !Number.isFinite(x));
      if (badLp >= 0) throw new InputError(`train batch[${i}].completion.logprobs[${badLp}]`, `must be a finite number, got ${ex.completion.logprobs[badLp]}`);
    });
    const examples = batch.filter((ex) => ex.completion.tokenIds.length > 0);
    if (examples.length === 0) return { 'tinker/skipped_empty': batch.length };
    const prompts = await Promise.all(examples.map((ex) => this.renderPrompt(ex.prompt)));
    const ref_B_T =
      loss.beta !== 0 ? await Promise.all(examples.map((ex, b) => this.referenceLogprobs(prompts[b], ex.completion.tokenIds))) : undefined;
    const lengths_B = examples.map((ex) => ex.completion.tokenIds.length);
    const scale_B_T = advantageScale_B_T(
      lengths_B,
      loss.aggregation,
      loss.aggregation === 'seq-sum-const' ? loss.constant : undefined,
      this.config.serverReduction,
      prompts.map((chunks, b) => inputLength(chunks, lengths_B[b])),
    );
    const datums: Datum[] = examples.map((ex, b) => {
      const old_T = ex.completion.logprobs;
      const sent_T = ex.advantages_T.map((a, t) => {
        const kl = ref_B_T === undefined ? 0 : loss.beta * (Math.exp(ref_B_T[b][t] - old_T[t]) - 1);
        return (a + kl) * scale_B_T[b][t];
      });
      return rlDatum(prompts[b], ex.completion.tokenIds, old_T, sent_T);
    });
    const lossFnConfig = this.config.lossFn === 'ppo' ? { clip_low_threshold: 1 - loss.epsLow, clip_high_threshold: 1 + loss.epsHigh } : undefined;
    // Not pipelined: forward_backward's per-datum lengths are checked against the request (TrainingModel)
    // before optim_step is sent, so a misaligned batch never updates the weights. Measured on SkyRL JAX: image
    // chunks are dropped and the learner log-probs come back text-only (11 for 15), docs/tinker-protocol.md §8.
    const fb = await this.model.forwardBackward(datums, this.config.lossFn, lossFnConfig);
    const fbOut = await fb.result();
    const opt = await this.model.optimStep(adam);
    this.sampler = undefined; // the weights change: the next sample needs new sampler weights
    const optMetrics = await opt.result();

    const outputs: TokenLossOutput[] = examples.map((ex, b) => {
      const learner = fbOut.outputs[b]?.logprobs;
      const P = chunkLength(prompts[b]);
      const T = lengths_B[b];
      if (learner === undefined || learner.length !== P + T - 1) throw new RemoteError(`forward_backward: datum ${b} has no learner log-probs of the expected length ${P + T - 1}`);
      return tokenLosses({
        logp_T: learner.slice(P - 1, P - 1 + T),
        oldLogp_T: ex.completion.logprobs,
        refLogp_T: ref_B_T?.[b],
        adv_T: ex.advantages_T,
        epsLow: this.config.lossFn === 'ppo' ? loss.epsLow : Infinity,
        epsHigh: this.config.lossFn === 'ppo' ? loss.epsHigh : Infinity,
        beta: ref_B_T === undefined ? 0 : loss.beta,
      });
    });
    const constant = loss.aggregation === 'seq-sum-const' ? loss.constant : undefined;
    const total = aggregateLosses(outputs.map((o) => o.loss_T), loss.aggregation, constant).value;
    const kl = ref_B_T === undefined ? 0 : aggregateLosses(outputs.map((o) => o.kl_T), loss.aggregation, constant).value;
    const metrics: Record<string, number> = {
      'loss/total': total,
      'loss/policy': total - loss.beta * kl,
      ...lossMetrics(outputs),
      'tinker/datums': datums.length,
      'tinker/skipped_empty': batch.length - examples.length,
    };
    for (const [k, v] of Object.entries(fbOut.metrics)) metrics[`tinker/${k}`] = v;
    for (const [k, v] of Object.entries(optMetrics)) metrics[`tinker/optim/${k}`] = v;
    return metrics;
  }

  /** Supervised step: cross-entropy on `completion.text` + end of turn, token-mean over the batch. */
  private async trainSft(batch: readonly TrainExample[], adam: Parameters<TrainingModel['optimStep']>[0]): Promise<BackendMetrics> {
    const prompts = await Promise.all(batch.map((ex) => this.renderPrompt(ex.prompt)));
    const targets_B = batch.map((ex) => [...this.tokenizer.encode(ex.completion.text), ...this.renderer.endOfTurn]);
    const totalTokens = targets_B.reduce((s, t) => s + t.length, 0);
    const datums = targets_B.map((target_T, b) => sftDatum(prompts[b], target_T, new Array<number>(target_T.length).fill(1 / totalTokens)));
    const fb = await this.model.forwardBackward(datums, 'cross_entropy');
    const fbOut = await fb.result(); // lengths checked before optim_step (see trainRl)
    const opt = await this.model.optimStep(adam);
    this.sampler = undefined;
    const optMetrics = await opt.result();
    let nll = 0;
    fbOut.outputs.forEach((o, b) => {
      const P = chunkLength(prompts[b]);
      const lp = o.logprobs ?? [];
      for (let t = 0; t < targets_B[b].length; t++) nll -= lp[P - 1 + t] ?? 0;
    });
    const metrics: Record<string, number> = { 'loss/total': nll / totalTokens, 'tinker/datums': datums.length };
    for (const [k, v] of Object.entries(fbOut.metrics)) metrics[`tinker/${k}`] = v;
    for (const [k, v] of Object.entries(optMetrics)) metrics[`tinker/optim/${k}`] = v;
    return metrics;
  }

  async save(dir: string): Promise<void> {
    this.assertOpen();
    const stem = basename(dir).replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 200) || 'checkpoint';
    const name = `mrpo-${stem}-${randomUUID().slice(0, 8)}`;
    const tinkerPath = await this.model.saveWeights(name, this.config.checkpointTtlSeconds);
    const file: z.infer<typeof CheckpointFile> = {
      format: 'mrpo-tinker-checkpoint/1',
      tinkerPath,
      baseModel: this.config.model,
      loraRank: this.config.loraRank,
      renderer: this.config.renderer,
    };
    await writeFile(join(dir, CHECKPOINT_FILE), `${JSON.stringify(file, null, 2)}\n`);
  }

  async load(dir: string): Promise<void> {
    this.assertOpen();
    const path = join(dir, CHECKPOINT_FILE);
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(path, 'utf8'));
    } catch (error) {
      throw new InputError(path, `cannot read the Tinker checkpoint record: ${(error as Error).message}`);
    }
    const parsed = CheckpointFile.safeParse(raw);
    if (!parsed.success) throw new InputError(path, `not a Tinker checkpoint record: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    const ckpt = parsed.data;
    if (ckpt.baseModel !== this.config.model || ckpt.loraRank !== this.config.loraRank)
      throw new ConfigError(path, `was saved from ${ckpt.baseModel} with LoRA rank ${ckpt.loraRank}, but the backend is configured for ${this.config.model} rank ${this.config.loraRank}`);
    if (this.model.requestCount > 0) {
      // load_weights is only valid as a model's first request: start a fresh model.
      await this.model.unload();
      this.model = await this.client.createModel({ baseModel: this.config.model, rank: this.config.loraRank, seed: this.config.loraSeed }).catch((error: unknown) => {
        throw explainCreateModelError(error, this.config.loraRank);
      });
    }
    this.sampler = undefined;
    await this.model.loadWeights(ckpt.tinkerPath, true);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.close();
  }
}

/** Factory (style.md: `createX(options)`). */
export function createTinkerBackend(config: TinkerBackendConfig, endpoint: TinkerEndpoint, deps: TinkerBackendDeps = {}): Promise<TinkerBackend> {
  return TinkerBackend.create(config, endpoint, deps);
}

/**
 * For the composition root: validates the config's `backend` block and
 * connects with the endpoint from the environment (TINKER_BASE_URL,
 * TINKER_API_KEY).
 */
export function createTinkerBackendFromConfig(
  block: unknown,
  env: Readonly<Record<string, string | undefined>>,
  deps: TinkerBackendDeps = {},
): Promise<TinkerBackend> {
  return createTinkerBackend(parseTinkerBackendConfig(block), tinkerEndpointFromEnv(env), deps);
}

/**
 * The `sampling_params.seed` of prompt `p` in a batch sampled with `seed`
 * (which already varies with the step): a 32-bit integer hash of (seed, p)
 * masked to 31 bits, so it lies in [0, 2³¹−1]. SkyRL's JAX sampler builds
 * `jax.random.PRNGKey` from an int32 array and answers HTTP 400
 * (`OverflowError … out of bounds for int32`) for any seed ≥ 2³¹, measured
 * against SkyRL a956457 (docs/tinker-protocol.md §8); hosted Tinker
 * accepts any 64-bit seed, so 31 bits suits both.
 */
export function sampleSeed(seed: number, p: number): number {
  let h = Math.imul((Math.floor(seed) >>> 0) ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ Math.imul(p + 1, 0xc2b2ae35), 0x27d4eb2f);
  h ^= h >>> 16;
  h = Math.imul(h, 0x165667b1);
  h ^= h >>> 15;
  return h & 0x7fff_ffff;
}

/**
 * `prompt_logprobs` for a sequence of `length` tokens in one form: one entry
 * per position, the first null (position 0 has no log-prob). Hosted Tinker
 * and SkyRL's vLLM path return that already; SkyRL's JAX sampler returns
 * `length − 1` entries without the leading null (`[: prompt_len − 1]` in
 * `skyrl/tx/utils/generator.py`, measured: 7 entries for 8 tokens), which is
 * shifted by one here. Other lengths are returned unchanged (callers check).
 */
export function normalisePromptLogprobs(lp: ReadonlyArray<number | null> | null | undefined, length: number): Array<number | null> | null {
  if (lp === null || lp === undefined) return null;
  if (lp.length === length - 1 && (lp.length === 0 || lp[0] !== null)) return [null, ...lp];
  return [...lp];
}
