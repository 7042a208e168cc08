/**
 * A client for the Tinker training API (docs/tinker-protocol.md): the bootstrap
 * handshake (§1.3: `client/config`, optional JWT exchange, `create_session`,
 * heartbeat), creation of LoRA training models (§3; training-model.ts holds
 * their seq-ordered requests) and sampling sessions (§5; sampling-session.ts),
 * and the retrieval of results in the chosen wire format.
 */
import { ConfigError, RemoteError } from '../../errors.js';
import {
  DEFAULT_RETRY_POLICY,
  nullLogger,
  postWithRetries,
  ProtobufPayload,
  retrieveFuture,
  type CallContext,
  type Logger,
  type QueueStateListener,
  type RetryPolicy,
} from './calls.js';
import { DEFAULT_CHUNK_LIMITS, type ChunkLimits } from './chunking.js';
import { nodeIntervalTimer, startHeartbeat, type Heartbeat, type IntervalTimer } from './heartbeat.js';
import { createTransport, describeErrorBody, jsonBody, systemClock, type Clock, type Transport } from './http.js';
import { SamplingSession } from './sampling-session.js';
import { TrainingModel } from './training-model.js';
import { decodeForwardBackwardOutput, decodeSampleResponse } from './wire-proto.js';
import {
  AuthTokenResponse,
  ClientConfigResponse,
  CreateModelResult,
  CreateSessionResponse,
  FutureResponse,
  GetInfoResponse,
  parseResponse,
  type WireFormat,
} from './wire.js';
import { z } from 'zod';
import { redactSecrets } from '../../utils/redact.js';
import { DEFAULT_SDK_VERSION, JSON_SDK_VERSION, sdkSpeaksJson } from './config.js';

export { DEFAULT_SDK_VERSION, JSON_SDK_VERSION } from './config.js';

export interface TinkerClientOptions {
  readonly baseUrl: string;
  /** Sent as `X-API-Key`; never logged. */
  readonly apiKey: string;
  readonly wireFormat?: WireFormat;
  readonly sdkVersion?: string;
  readonly tags?: readonly string[];
  readonly projectId?: string;
  readonly heartbeatIntervalMs?: number;
  readonly timer?: IntervalTimer;
  readonly clock?: Clock;
  readonly log?: Logger;
  readonly retry?: Partial<RetryPolicy>;
  readonly fetch?: typeof fetch;
  readonly onQueueState?: QueueStateListener;
}

/** A base model listed by get_server_capabilities. */
export interface SupportedModel {
  readonly model: string;
  readonly maxContextLength?: number;
}

export interface LoraSpec {
  readonly baseModel: string;
  readonly rank: number;
  readonly seed?: number;
  readonly trainUnembed?: boolean;
  readonly trainMlp?: boolean;
  readonly trainAttn?: boolean;
}

function jwtExpiryMs(jwt: string): number | undefined {
  const payload = jwt.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof claims.exp === 'number' ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

export class TinkerClient {
  private heartbeat: Heartbeat | undefined;
  private modelSeq = 0;
  private samplingSessionSeq = 0;
  private closed = false;
  private readonly models = new Set<TrainingModel>();

  private constructor(
    readonly ctx: CallContext,
    readonly sessionId: string,
    readonly limits: ChunkLimits,
    private readonly onQueueState: QueueStateListener | undefined,
    private readonly abort: AbortController,
    private readonly jwtAuth: boolean,
    readonly wireFormat: WireFormat,
    /** The `sdk_version` this client reports (tied to the wire format, config.ts). */
    readonly sdkVersion: string,
    /** The field names of the server's `client/config` answer (server-profile.ts tells the server kind by them). */
    readonly clientConfigKeys: readonly string[],
  ) {}

  /** Handshake, session and heartbeat. */
  static async connect(options: TinkerClientOptions): Promise<TinkerClient> {
    if (options.apiKey.length === 0) throw new ConfigError('TINKER_API_KEY', 'is empty; set it in the environment (SkyRL accepts any key, e.g. tml-dummy)');
    const clock = options.clock ?? systemClock;
    const log = options.log ?? nullLogger;
    const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    // Defaults as in config.ts: protobuf with a current SDK version; JSON only when asked for, with the last JSON SDK.
    const askedWire: WireFormat = options.wireFormat ?? (options.sdkVersion !== undefined && sdkSpeaksJson(options.sdkVersion) ? 'json' : 'protobuf');
    const sdkVersion = options.sdkVersion ?? (askedWire === 'json' ? JSON_SDK_VERSION : DEFAULT_SDK_VERSION);
    let jwt: { token: string; expiresAt: number | undefined } | undefined;
    // Every credential this client has sent; server texts in error messages are redacted with it.
    const secrets: string[] = [options.apiKey];
    let refreshing: Promise<void> | undefined;
    const apiKeyOnly = createTransport({ baseUrl: options.baseUrl, credential: async () => options.apiKey, fetch: options.fetch });
    const refreshJwt = async (): Promise<void> => {
      const raw = await postWithRetries({ transport: apiKeyOnly, clock, policy, log, secrets }, 'auth/token', {});
      const token = parseResponse(AuthTokenResponse, raw, 'auth/token').jwt;
      secrets.push(token);
      jwt = { token, expiresAt: jwtExpiryMs(token) };
    };
    const transport: Transport = createTransport({
      baseUrl: options.baseUrl,
      fetch: options.fetch,
      credential: async () => {
        if (jwt === undefined) return options.apiKey;
        if (jwt.expiresAt !== undefined && jwt.expiresAt - clock.now() < 300_000) {
          refreshing ??= refreshJwt().finally(() => (refreshing = undefined));
          await refreshing;
        }
        return jwt.token;
      },
    });
    const abort = new AbortController();
    const ctx: CallContext = { transport, clock, policy, log, signal: abort.signal, secrets };

    const rawConfig = await postWithRetries(ctx, 'client/config', { sdk_version: sdkVersion });
    const config = parseResponse(ClientConfigResponse, rawConfig, 'client/config');
    if (config.pjwt_auth_enabled === true) await refreshJwt();
    const billingMax = config.billing_exception_max_pause_duration_sec;
    const ctxFinal: CallContext = billingMax === undefined || options.retry?.billingMaxPauseMs !== undefined ? ctx : { ...ctx, policy: { ...policy, billingMaxPauseMs: billingMax * 1000 } };
    const limits: ChunkLimits = {
      maxDatums: config.fwdbwd_max_chunk_len ?? DEFAULT_CHUNK_LIMITS.maxDatums,
      maxBytes: config.fwdbwd_max_chunk_bytes_count ?? DEFAULT_CHUNK_LIMITS.maxBytes,
    };
    const session = parseResponse(
      CreateSessionResponse,
      await postWithRetries(ctxFinal, 'create_session', {
        tags: options.tags ?? ['mrpo'],
        user_metadata: {},
        sdk_version: sdkVersion,
        ...(options.projectId ? { project_id: options.projectId } : {}),
        type: 'create_session',
      }),
      'create_session',
    );
    if (session.error_message) throw new RemoteError(`create_session: ${redactSecrets(session.error_message, secrets)}`);
    if (session.warning_message) log.warn(`training service: ${redactSecrets(session.warning_message, secrets)}`);
    const client = new TinkerClient(
      ctxFinal,
      session.session_id,
      limits,
      options.onQueueState,
      abort,
      config.pjwt_auth_enabled === true,
      config.proto_write_fwdbwd === true ? 'protobuf' : askedWire,
      sdkVersion,
      Object.keys(rawConfig as Record<string, unknown>),
    );
    client.heartbeat = startHeartbeat({
      transport,
      sessionId: session.session_id,
      intervalMs: options.heartbeatIntervalMs ?? 10_000,
      timer: options.timer ?? nodeIntervalTimer,
      clock,
      log,
    });
    return client;
  }

  private assertOpen(): void {
    if (this.closed) throw new RemoteError('the Tinker client is closed');
  }

  /** Submits a work request (not seq-ordered) and returns its request id. A `ctx` other than the client's is for cleanup after close. */
  async submit(route: string, body: unknown, headers?: Readonly<Record<string, string>>, ctx?: CallContext): Promise<{ requestId: string; modelId?: string }> {
    if (ctx === undefined) this.assertOpen();
    ctx ??= this.ctx;
    const future = parseResponse(FutureResponse, await postWithRetries(ctx, route, body, { headers }), route);
    return { requestId: future.request_id, modelId: future.model_id };
  }

  retrieve(requestId: string, label: string, requestType?: string, ctx: CallContext = this.ctx): Promise<unknown> {
    return retrieveFuture(ctx, requestId, { label, requestType, onQueueState: this.onQueueState });
  }

  /** Retrieves a forward_backward or sample result, in protobuf when the wire format is protobuf. */
  async retrieveResult(requestId: string, label: string, requestType: 'ForwardBackward' | 'Sample'): Promise<unknown> {
    const raw = await retrieveFuture(this.ctx, requestId, { label, requestType, onQueueState: this.onQueueState, acceptProtobuf: this.wireFormat === 'protobuf' });
    if (!(raw instanceof ProtobufPayload)) return raw;
    try {
      return requestType === 'ForwardBackward' ? decodeForwardBackwardOutput(raw.bytes) : decodeSampleResponse(raw.bytes);
    } catch (error) {
      throw new RemoteError(`${label}: cannot decode the protobuf result: ${(error as Error).message}`);
    }
  }

  /** Retry rules for best-effort cleanup (not aborted by close): give up within about half a minute. */
  private get cleanupContext(): CallContext {
    return { ...this.ctx, signal: undefined, policy: { ...this.ctx.policy, submitDeadlineMs: 15_000, futureDeadlineMs: 30_000, billingMaxPauseMs: 0 } };
  }

  /** Creates a LoRA training model on the server. */
  async createModel(lora: LoraSpec): Promise<TrainingModel> {
    this.assertOpen();
    const modelSeqId = this.modelSeq++;
    const body = {
      session_id: this.sessionId,
      model_seq_id: modelSeqId,
      base_model: lora.baseModel,
      user_metadata: {},
      lora_config: {
        rank: lora.rank,
        ...(lora.seed !== undefined ? { seed: lora.seed } : {}),
        train_unembed: lora.trainUnembed ?? true,
        train_mlp: lora.trainMlp ?? true,
        train_attn: lora.trainAttn ?? true,
      },
      type: 'create_model',
    };
    const { requestId } = await this.submit('create_model', body);
    const result = parseResponse(CreateModelResult, await this.retrieve(requestId, 'create_model', 'CreateModel'), 'create_model');
    const model = new TrainingModel(this, result.model_id, lora);
    this.models.add(model);
    return model;
  }

  /** `GET get_server_capabilities`: the base models the server offers. */
  async capabilities(): Promise<SupportedModel[]> {
    return (await this.serverCapabilities()).models;
  }

  /**
   * `GET get_server_capabilities`: the base models, and the field names the
   * server used (top level and per model), which server-profile.ts reads.
   */
  async serverCapabilities(): Promise<{ models: SupportedModel[]; fields: string[] }> {
    this.assertOpen();
    const response = await this.ctx.transport.get('get_server_capabilities', { timeoutMs: this.ctx.policy.requestTimeoutMs, signal: this.ctx.signal });
    if (response.status !== 200) throw new RemoteError(`get_server_capabilities: HTTP ${response.status} from the training service: ${describeErrorBody(response, this.ctx.secrets)}`);
    const parsed = parseResponse(
      z.object({ supported_models: z.array(z.object({ model_name: z.string(), max_context_length: z.number().nullish() }).passthrough()) }).passthrough(),
      jsonBody(response),
      'get_server_capabilities',
    );
    const fields = new Set(Object.keys(parsed));
    for (const m of parsed.supported_models) for (const k of Object.keys(m)) fields.add(`supported_models[].${k}`);
    return {
      models: parsed.supported_models.map((m) => ({ model: m.model_name, ...(typeof m.max_context_length === 'number' ? { maxContextLength: m.max_context_length } : {}) })),
      fields: [...fields],
    };
  }

  /** The API root this client talks to. */
  get baseUrl(): string {
    return this.ctx.transport.baseUrl;
  }

  /** Whether the handshake switched to a JWT (`pjwt_auth_enabled`). */
  get usesJwt(): boolean {
    return this.jwtAuth;
  }

  async getInfo(modelId: string): Promise<z.output<typeof GetInfoResponse>> {
    this.assertOpen();
    return parseResponse(GetInfoResponse, await postWithRetries(this.ctx, 'get_info', { model_id: modelId, type: 'get_info' }), 'get_info');
  }

  /** The next `sampling_session_seq_id` of this session (§1.4). */
  nextSamplingSessionSeq(): number {
    return this.samplingSessionSeq++;
  }

  /** A sampling session on saved sampler weights (`tinker://…/sampler_weights/…`) or on the base model. */
  async createSamplingSession(target: { modelPath: string } | { baseModel: string }): Promise<SamplingSession> {
    this.assertOpen();
    const raw = await postWithRetries(this.ctx, 'create_sampling_session', {
      session_id: this.sessionId,
      sampling_session_seq_id: this.nextSamplingSessionSeq(),
      ...('modelPath' in target ? { model_path: target.modelPath } : { base_model: target.baseModel }),
      type: 'create_sampling_session',
    });
    const id = parseResponse(z.object({ sampling_session_id: z.string().min(1) }).passthrough(), raw, 'create_sampling_session').sampling_session_id;
    return new SamplingSession(this, id);
  }

  /**
   * Stops every request, poll and retry loop still running (e.g. samples of a
   * batch that already failed), unloads the models (best effort, bounded),
   * stops the heartbeat. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    const cleanup = this.cleanupContext;
    for (const m of [...this.models])
      await m.unload(cleanup).catch((error: unknown) => this.ctx.log.warn(`could not unload model ${m.modelId}: ${(error as Error).message}`));
    await this.heartbeat?.stop();
  }

  /** For tests: whether the heartbeat is stopped and the client refuses work. */
  get isClosed(): boolean {
    return this.closed;
  }

  forget(model: TrainingModel): void {
    this.models.delete(model);
  }
}
