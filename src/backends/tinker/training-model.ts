/**
 * A LoRA training model on a Tinker server (docs/tinker-protocol.md §3): its
 * seq-ordered requests — forward_backward (chunked), optim_step, save_weights,
 * save_weights_for_sampler, load_weights — and unload.
 *
 * Ordering (§1.4, §9 item 4): the model numbers its requests with `seq_id`
 * 1, 2, 3, … across every training op, and a submission is POSTed only after
 * the previous one was accepted (its future returned) — results are awaited
 * separately (the backend awaits a `forward_backward` result and checks its
 * per-datum lengths before it submits `optim_step`). Chunks of one `forward_backward` are also posted in
 * order (the SDK posts them in parallel to hosted Tinker only; in order is
 * correct for both hosted and SkyRL, which executes in arrival order). If a
 * submission fails for good, the server may or may not hold that seq_id, so
 * the model refuses further requests with a clear error instead of leaving a
 * hole the server would wait on forever — except when the server refused it
 * with a 4xx (`RejectedError`: e.g. SkyRL's 409 on a repeated save_weights
 * name, 422 on a rejected request): then it holds nothing, the seq_id is
 * reused by the next request and the model stays usable. (A 4xx on a later
 * chunk of one forward_backward still breaks the model: the earlier chunks are
 * held.)
 */
import { RemoteError } from '../../errors.js';
import { RejectedError, type CallContext } from './calls.js';
import { mergeChunkMetrics, splitIntoChunks } from './chunking.js';
import type { LoraSpec, TinkerClient } from './client.js';
import { SamplingSession } from './sampling-session.js';
import { settleAll } from './settle.js';
import { encodeForwardBackward, PROTO_CONTENT_TYPE } from './wire-proto.js';
import {
  datumToJson,
  ForwardBackwardResult,
  LoadWeightsResult,
  OptimStepResult,
  parseResponse,
  SaveForSamplerResult,
  SaveWeightsResult,
  type AdamParams,
  type Datum,
  type LossFn,
} from './wire.js';

export interface ForwardBackwardOutput {
  /** One record per datum, in input order: `logprobs` (learner log-probs of the targets) and any other outputs. */
  readonly outputs: ReadonlyArray<Readonly<Record<string, readonly number[]>>>;
  readonly metrics: Readonly<Record<string, number>>;
}

/** A submitted request whose result has not been awaited yet. */
export interface Pending<T> {
  readonly seqIds: readonly number[];
  result(): Promise<T>;
}

export class TrainingModel {
  private lastSeq = 0;
  private turn: Promise<void> = Promise.resolve();
  private broken: string | undefined;
  private unloaded = false;

  constructor(
    private readonly client: TinkerClient,
    readonly modelId: string,
    readonly lora: LoraSpec,
  ) {}

  /** Number of seq-ordered requests submitted so far. */
  get requestCount(): number {
    return this.lastSeq;
  }

  /**
   * Submits seq-ordered requests: waits for the previous submission to be
   * accepted, gives each body the next seq_id, posts them in order.
   */
  private async submitOrdered(
    route: string,
    bodies: ReadonlyArray<(seqId: number) => unknown>,
    /** True for a refusal that means "already taken" (a lost first attempt): the seq_id counts as used, with no future. */
    alreadyTaken?: (error: RejectedError) => boolean,
  ): Promise<Array<{ seqId: number; requestId: string; taken?: true }>> {
    const previous = this.turn;
    let release!: () => void;
    this.turn = new Promise<void>((resolve) => (release = resolve));
    try {
      await previous;
      if (this.unloaded) throw new RemoteError(`model ${this.modelId} was unloaded`);
      if (this.broken !== undefined) throw new RemoteError(this.broken);
      const out: Array<{ seqId: number; requestId: string; taken?: true }> = [];
      for (const [i, body] of bodies.entries()) {
        const seqId = this.lastSeq + 1;
        try {
          const { requestId } = await this.client.submit(route, body(seqId));
          out.push({ seqId, requestId });
          this.lastSeq = seqId;
        } catch (error) {
          if (error instanceof RejectedError && i === 0 && alreadyTaken?.(error) === true) {
            out.push({ seqId, requestId: '', taken: true }); // no future to retrieve
            this.lastSeq = seqId;
            continue;
          }
          if (error instanceof RejectedError && i === 0) {
            // Refused outright (4xx), so not held: the seq_id stays free and the model stays usable.
            throw new RejectedError(error.status, `${error.message} (the server refused ${route} seq ${seqId} and holds nothing; model ${this.modelId} is still usable)`);
          }
          this.lastSeq = seqId; // may be held: never reuse a seq_id for different content
          this.broken =
            `model ${this.modelId}: ${route} seq ${seqId} could not be submitted (${(error as Error).message}); ` +
            (error instanceof RejectedError
              ? 'earlier chunks of the same request are held, so no further request is sent to this model — restart from the last checkpoint'
              : 'the server may or may not hold it, so no further request is sent to this model — restart from the last checkpoint');
          throw error;
        }
      }
      return out;
    } finally {
      release();
    }
  }

  /** Queues a forward_backward (chunked by the server's limits); the result joins the chunks in order. */
  async forwardBackward(data: readonly Datum[], lossFn: LossFn, lossFnConfig?: Readonly<Record<string, number>>): Promise<Pending<ForwardBackwardOutput>> {
    if (data.length === 0) throw new RangeError('forwardBackward: empty batch');
    const chunks = splitIntoChunks(data, this.client.limits);
    const proto = this.client.wireFormat === 'protobuf';
    const bodies = chunks.map((chunk) => (seqId: number): unknown =>
      proto
        ? { bytes: encodeForwardBackward({ modelId: this.modelId, seqId, data: chunk, lossFn, lossFnConfig }), contentType: PROTO_CONTENT_TYPE }
        : {
            model_id: this.modelId,
            seq_id: seqId,
            forward_backward_input: {
              loss_fn: lossFn,
              ...(lossFnConfig && Object.keys(lossFnConfig).length > 0 ? { loss_fn_config: lossFnConfig } : {}),
              data: chunk.map(datumToJson),
            },
            // No top-level `type`: the SDK's ForwardBackwardRequest (0.3.0…0.24.1) is exactly {forward_backward_input, model_id, seq_id}.
          },
    );
    const submitted = await this.submitOrdered('forward_backward', bodies);
    return {
      seqIds: submitted.map((s) => s.seqId),
      result: async () => {
        const parts = await settleAll(
          submitted.map(async (s, i) => {
            const raw = await this.client.retrieveResult(s.requestId, `forward_backward seq ${s.seqId}`, 'ForwardBackward');
            const r = parseResponse(ForwardBackwardResult, raw, 'forward_backward');
            if (r.loss_fn_outputs.length !== chunks[i].length)
              throw this.misaligned(`forward_backward seq ${s.seqId}: ${r.loss_fn_outputs.length} outputs for ${chunks[i].length} datums`);
            const offset = chunks.slice(0, i).reduce((n, c) => n + c.length, 0);
            r.loss_fn_outputs.forEach((o, j) => {
              const want = chunks[i][j].lossFnInputs.target_tokens?.data.length;
              for (const [k, t] of Object.entries(o))
                if (want !== undefined && t.data.length !== want)
                  throw this.misaligned(
                    `forward_backward seq ${s.seqId}: datum ${offset + j} has ${t.data.length} values of ${k} for the ${want} positions sent ` +
                      '(did the server drop image tokens? SkyRL JAX renders text only)',
                  );
            });
            return { r, datums: chunks[i].length };
          }),
        );
        const outputs = parts.flatMap(({ r }) =>
          r.loss_fn_outputs.map((o) => Object.fromEntries(Object.entries(o).map(([k, t]) => [k, t.data])) as Record<string, number[]>),
        );
        return { outputs, metrics: mergeChunkMetrics(parts.map(({ r, datums }) => ({ metrics: r.metrics, datums }))) };
      },
    };
  }

  /**
   * A forward_backward whose per-datum results do not line up with the
   * request: its gradients are already accumulated on the server, so the
   * model is marked broken (no optim_step or other request follows) and the
   * error says which datum and lengths disagree.
   */
  private misaligned(message: string): RemoteError {
    this.broken ??= `model ${this.modelId}: ${message}; no optim_step was sent, so the weights were not updated, but the server holds that batch's gradients — restart from the last checkpoint`;
    return new RemoteError(`${message}; no optim_step was sent, the weights were not updated`);
  }

  async optimStep(adam: AdamParams): Promise<Pending<Record<string, number>>> {
    const [s] = await this.submitOrdered('optim_step', [(seqId) => ({ model_id: this.modelId, seq_id: seqId, adam_params: adam, type: 'optim_step' })]);
    return {
      seqIds: [s.seqId],
      result: async () => parseResponse(OptimStepResult, await this.client.retrieve(s.requestId, `optim_step seq ${s.seqId}`, 'OptimStep'), 'optim_step').metrics ?? {},
    };
  }

  /** Saves weights + optimizer state under `name`; returns the `tinker://…/weights/<name>` path. */
  /**
   * Saves weights and optimizer state under `name`. SkyRL writes the
   * checkpoint row when it accepts the request (skyrl/tinker/api.py
   * a956457), so when the answer to an accepted save is lost, the retry is
   * refused with 409 "already exists": that refusal, after an unanswered
   * attempt, is the first attempt's success. The save then runs in SkyRL's
   * arrival order, before any later request of the model; the path is the
   * one SkyRL returns for a save (`tinker://<model>/weights/<name>`, measured).
   */
  async saveWeights(name: string, ttlSeconds?: number): Promise<string> {
    const [s] = await this.submitOrdered(
      'save_weights',
      [(seqId) => ({ model_id: this.modelId, path: name, seq_id: seqId, ...(ttlSeconds ? { ttl_seconds: ttlSeconds } : {}), type: 'save_weights' })],
      (error) => error.status === 409 && error.afterUnansweredAttempt && /already exists/i.test(error.message),
    );
    if (s.taken) {
      this.client.ctx.log.warn(`save_weights ${name}: the first answer was lost and the retry found the checkpoint already there; taking it as saved`);
      return `tinker://${this.modelId}/weights/${name}`;
    }
    return parseResponse(SaveWeightsResult, await this.client.retrieve(s.requestId, `save_weights seq ${s.seqId}`, 'SaveWeights'), 'save_weights').path;
  }

  /** Ephemeral sampler weights of the current training state, ready to sample from. */
  async samplerForCurrentWeights(): Promise<SamplingSession> {
    const samplingSeq = this.client.nextSamplingSessionSeq();
    const [s] = await this.submitOrdered('save_weights_for_sampler', [
      (seqId) => ({ model_id: this.modelId, seq_id: seqId, sampling_session_seq_id: samplingSeq, type: 'save_weights_for_sampler' }),
    ]);
    const r = parseResponse(
      SaveForSamplerResult,
      await this.client.retrieve(s.requestId, `save_weights_for_sampler seq ${s.seqId}`, 'SaveWeightsForSampler'),
      'save_weights_for_sampler',
    );
    if (r.sampling_session_id) return new SamplingSession(this.client, r.sampling_session_id);
    if (r.path) return this.client.createSamplingSession({ modelPath: r.path });
    throw new RemoteError('save_weights_for_sampler: the result has neither sampling_session_id nor path');
  }

  /** Loads a `tinker://…/weights/…` checkpoint; only valid as the model's first request. */
  async loadWeights(path: string, withOptimizer: boolean): Promise<void> {
    if (this.lastSeq !== 0) throw new RemoteError(`load_weights must be the first request of a model; model ${this.modelId} has had ${this.lastSeq}`);
    const [s] = await this.submitOrdered('load_weights', [
      (seqId) => ({ model_id: this.modelId, seq_id: seqId, path, optimizer: withOptimizer, type: 'load_weights' }),
    ]);
    parseResponse(LoadWeightsResult, await this.client.retrieve(s.requestId, `load_weights seq ${s.seqId}`, 'LoadWeights'), 'load_weights');
  }

  /** Frees the model on the server (after the submissions already queued). */
  async unload(ctx?: CallContext): Promise<void> {
    if (this.unloaded) return;
    this.unloaded = true;
    this.client.forget(this);
    await this.turn; // let queued submissions go first
    const { requestId } = await this.client.submit('unload_model', { model_id: this.modelId, type: 'unload_model' }, undefined, ctx);
    await this.client.retrieve(requestId, 'unload_model', undefined, ctx);
  }
}
