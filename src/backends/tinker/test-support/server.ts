/**
 * TEST SUPPORT ONLY. A local Tinker-API server on 127.0.0.1 that speaks the
 * protocol of docs/tinker-protocol.md for the routes the client uses — handshake,
 * session + heartbeat, create_model, forward_backward, optim_step,
 * save_weights(_for_sampler), load_weights, create_sampling_session, asample,
 * unload_model, get_info and the retrieve_future long-poll — backed by a real
 * (tiny) trainable policy, with injectable faults.
 *
 * Semantics it enforces, as hosted Tinker / SkyRL do:
 * - training requests of a model execute in `seq_id` order (a later seq waits
 *   for the earlier one, like hosted Tinker); a re-submitted `(model, seq_id)`
 *   with byte-identical content returns the original future, different
 *   content is a 409 (SkyRL) — and is counted in `conflicts`;
 * - `load_weights` only as a model's first request;
 * - an image chunk's `expected_tokens` must match the count for the JPEG it
 *   carries (as SkyRL's vLLM renderer checks), else the request fails;
 * - every loss tensor must have the model input's length.
 * Protobuf bodies are read and results written by this folder's own
 * proto-reader.ts / proto-writer.ts, and image token counts come from
 * vision-tokens.ts, not from the client's code: a mistake shared by the
 * client's encoder and decoder (or its token count) cannot pass unseen.
 * Everything received is recorded for the tests' assertions.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import type { AdamWire } from './bigram-policy.js';
import {
  capabilitiesBody,
  clientConfigBody,
  createModelRefusal,
  forwardBackwardMetrics,
  getInfoBody,
  optimStepMetrics,
  seedRefusal,
  type PersonalityOptions,
} from './personality.js';
import { decodeForwardBackwardRequest } from './proto-reader.js';
import { writeForwardBackwardOutput, writeSampleResponse } from './proto-writer.js';
import { bigramFactory, type ServerDatum, type ServerInput, type ServerPolicy, type ServerPolicyFactory, type ServerSampler } from './server-policy.js';
import { QWEN3_VL_PROCESSOR, qwenImagePadTokens } from './vision-tokens.js';

export type Fault =
  /** Answer the nth request to `route` with this status (and body/headers) without processing it. */
  | { readonly route: string; readonly nth: number; readonly kind: 'status'; readonly status: number; readonly body?: unknown; readonly headers?: Readonly<Record<string, string>> }
  /** Drop the connection before processing the nth request. */
  | { readonly route: string; readonly nth: number; readonly kind: 'drop-before' }
  /** Process the nth request, then drop the connection instead of answering. */
  | { readonly route: string; readonly nth: number; readonly kind: 'drop-after' }
  /** The nth work submission to `route` gets a future that fails (a terminal error). */
  | { readonly route: string; readonly nth: number; readonly kind: 'fail-request'; readonly message: string }
  /** Answer the nth retrieve_future with `try_again` in this queue state. */
  | { readonly route: 'retrieve_future'; readonly nth: number; readonly kind: 'try-again'; readonly queueState: string };

export interface FakeTinkerOptions {
  readonly vocabSize: number;
  readonly seed?: number;
  /** Logit bias per token id for the initial weights of the bigram model. */
  readonly bias?: ReadonlyMap<number, number>;
  /** The model behind the server (default: the bigram model of bigram-policy.ts). */
  readonly policy?: ServerPolicyFactory;
  /** If set, requests must carry this `X-API-Key`. */
  readonly apiKey?: string;
  readonly faults?: readonly Fault[];
  /** How long retrieve_future holds a pending future before 408. */
  readonly holdMs?: number;
  /** Delay before a submitted request executes. */
  readonly workDelayMs?: number;
  /** `hosted`: a failed future is 200 `{error, category}`; `skyrl`: 400 `{detail}` (default: by personality). */
  readonly errorStyle?: 'hosted' | 'skyrl';
  /** Loss reduction of the service (default: `sum`; personality `skyrl`: `sequence-mean`, as its JAX backend). */
  readonly reduction?: 'sum' | 'sequence-mean';
  /** Enables `pjwt_auth_enabled`: `auth/token` (with the API key) returns these JWTs in turn; other routes need the latest. */
  readonly jwts?: readonly string[];
  /** Models listed by get_server_capabilities (default: none). */
  readonly supportedModels?: readonly string[];
  /**
   * Which real server to imitate (default `hosted`). `skyrl` follows SkyRL
   * a956457's JAX backend as measured (docs/tinker-protocol.md §8) and
   * read (personality.ts): a sample future with a seed > 2³¹−1 fails (400 at
   * retrieve), and `prompt_logprobs` has P−1 entries without the leading
   * null; forward_backward outputs have the text-only length (image tokens
   * dropped) and `metrics: {}`; optim metrics `skyrl.ai/*`; grad_clip_norm
   * dropped; a repeated save_weights name is 409 and an unknown
   * loss_fn_config key 422, both at submission; its client/config,
   * capabilities and get_info shapes; rank and adapter-slot limits checked
   * when create_model runs; failed futures answer 400 `{detail}`.
   */
  readonly personality?: 'hosted' | 'skyrl';
  /** SkyRL limits (personality `skyrl`): max_lora_rank (32), max_lora_adapters (32 → 31 models). */
  readonly limits?: PersonalityOptions;
  /** Whether forward_backward outputs leave out image tokens (default: personality `skyrl`); false isolates the other SkyRL traits. */
  readonly dropImageTokens?: boolean;
  /** Extra client/config fields (e.g. chunk limits). */
  readonly clientConfig?: Readonly<Record<string, unknown>>;
}

export interface Submission {
  readonly route: string;
  readonly modelId?: string;
  readonly seqId?: number;
  readonly samplingSessionId?: string;
  readonly bodyHash: string;
  readonly idempotencyKey: string | undefined;
  /** The request id returned (the same for a deduplicated re-submission). */
  requestId?: string;
  readonly duplicate: boolean;
}

interface Future {
  state: 'pending' | 'done' | 'failed';
  /** Results that have a protobuf form. */
  kind?: 'forward_backward' | 'sample';
  result?: unknown;
  error?: string;
  readonly waiters: Set<() => void>;
}

export interface ModelState {
  readonly id: string;
  readonly policy: ServerPolicy;
  nextSeq: number;
  readonly queue: Map<number, () => Promise<void>>;
  chain: Promise<void>;
  readonly seen: Map<number, { hash: string; requestId: string }>;
  unloaded: boolean;
  readonly baseModel: string;
  readonly rank: number;
}

export interface FakeTinkerServer {
  readonly url: string;
  readonly submissions: Submission[];
  /** Training ops in execution order. */
  readonly executed: Array<{ modelId: string; seqId: number; route: string }>;
  /** Every parsed forward_backward body, in arrival order (retries included). */
  readonly forwardBackwardBodies: Array<Record<string, any>>;
  /** `sampling_params.seed` of every asample submission, in arrival order. */
  readonly sampleSeeds: unknown[];
  readonly heartbeats: { count: number };
  readonly conflicts: { count: number };
  /** Arrivals in order: `<route>` for every request, with ` <request id>` for work submissions and polls. */
  readonly arrivals: string[];
  /** Requests per route (retries included). */
  readonly hits: Map<string, number>;
  readonly sessions: Set<string>;
  readonly models: Map<string, ModelState>;
  /** Every X-API-Key value received. */
  readonly apiKeysSeen: Set<string>;
  /** Changes the delay before submitted requests execute. */
  setWorkDelay(ms: number): void;
  close(): Promise<void>;
}

const hash = (text: string): string => createHash('sha256').update(text).digest('hex');

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

/** A protobuf reply (sent with Content-Type application/x-protobuf). */
class ProtoReply {
  constructor(readonly bytes: Uint8Array) {}
}

function fbResultToProto(result: Parameters<typeof writeForwardBackwardOutput>[0]): ProtoReply {
  return new ProtoReply(writeForwardBackwardOutput(result));
}

function sampleResultToProto(result: Parameters<typeof writeSampleResponse>[0]): ProtoReply {
  return new ProtoReply(writeSampleResponse(result));
}

function send(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(detail);
  }
}

export async function startFakeTinker(options: FakeTinkerOptions): Promise<FakeTinkerServer> {
  const V = options.vocabSize;
  const seed = options.seed ?? 1;
  const personality = options.personality ?? 'hosted';
  const factory = options.policy ?? bigramFactory(V, seed, options.bias, options.reduction ?? (personality === 'skyrl' ? 'sequence-mean' : 'sum'));
  const holdMs = options.holdMs ?? 50;
  const errorStyle = options.errorStyle ?? personality;
  const dropImageTokens = options.dropImageTokens ?? personality === 'skyrl';
  const futures = new Map<string, Future>();
  const samplers = new Map<string, ServerSampler>();
  const checkpoints = new Map<string, unknown>();
  const savesSubmitted = new Set<string>(); // skyrl: "<model>/<name>" of every save_weights accepted
  const sampleSeen = new Map<string, { hash: string; requestId: string }>();
  let nextId = 1;
  let workDelayMs = options.workDelayMs ?? 0;
  let jwtIssued = 0;
  let currentJwt: string | undefined;
  const state: FakeTinkerServer = {
    url: '',
    submissions: [],
    executed: [],
    forwardBackwardBodies: [],
    sampleSeeds: [],
    heartbeats: { count: 0 },
    conflicts: { count: 0 },
    arrivals: [],
    hits: new Map(),
    sessions: new Set(),
    models: new Map(),
    apiKeysSeen: new Set(),
    setWorkDelay: (ms) => {
      workDelayMs = ms;
    },
    close: async () => {},
  };
  const pendingFailures = new Map<string, string>(); // requestId → message (fail-request faults)

  const newFuture = (): [string, Future] => {
    const id = `req-${nextId++}`;
    const f: Future = { state: 'pending', waiters: new Set() };
    futures.set(id, f);
    return [id, f];
  };
  const settle = async (f: Future, run: () => unknown): Promise<void> => {
    try {
      f.result = await run();
      f.state = 'done';
    } catch (error) {
      f.error = error instanceof Error ? error.message : String(error);
      f.state = 'failed';
    }
    for (const w of f.waiters) w();
    f.waiters.clear();
  };
  const later = (fn: () => void): void => {
    if (workDelayMs > 0) setTimeout(fn, workDelayMs);
    else setImmediate(fn);
  };

  const flattenInput = async (chunks: Array<Record<string, any>>): Promise<ServerInput> => {
    const out: number[] = [];
    const images: Array<{ position: number; expectedTokens: number; jpeg: Buffer }> = [];
    for (const c of chunks) {
      if (c.type === 'encoded_text') out.push(...(c.tokens as number[]));
      else if (c.type === 'image') {
        if (c.format !== 'jpeg') throw new Error(`image format ${String(c.format)} not supported here`);
        const jpeg = Buffer.from(String(c.data), 'base64');
        const meta = await sharp(jpeg).metadata();
        if (meta.format !== 'jpeg') throw new Error('image data is not a JPEG');
        const expected = qwenImagePadTokens(meta.height ?? 0, meta.width ?? 0, QWEN3_VL_PROCESSOR);
        if (c.expected_tokens !== expected) throw new Error(`image expected_tokens ${String(c.expected_tokens)} but the JPEG (${meta.width}×${meta.height}) has ${expected}`);
        images.push({ position: out.length, expectedTokens: expected, jpeg });
        for (let i = 0; i < expected; i++) out.push(0);
      } else throw new Error(`unknown chunk type ${String(c.type)}`);
    }
    for (const t of out) if (!(Number.isInteger(t) && t >= 0 && t < V)) throw new Error(`token ${t} out of vocabulary`);
    return { tokens_N: out, images };
  };

  const getModel = (id: unknown): ModelState => {
    const m = state.models.get(String(id));
    if (m === undefined || m.unloaded) throw new HttpFailure(404, `unknown model ${String(id)}`);
    return m;
  };

  /** Runs a model's queued ops in seq order, one after the other. */
  const pump = (m: ModelState): void => {
    for (;;) {
      const op = m.queue.get(m.nextSeq);
      if (op === undefined) return;
      m.queue.delete(m.nextSeq);
      m.nextSeq++;
      m.chain = m.chain.then(op);
    }
  };

  /** A seq-ordered training submission with dedup on (model, seq_id). */
  const submitTraining = (route: string, body: Record<string, any>, bodyText: string, idem: string | undefined, run: (m: ModelState) => unknown): unknown => {
    const m = getModel(body.model_id);
    const seqId = body.seq_id as number;
    if (!Number.isInteger(seqId) || seqId < 1) throw new HttpFailure(400, `seq_id must be a positive integer`);
    const h = hash(bodyText);
    const prior = m.seen.get(seqId);
    if (prior !== undefined) {
      state.submissions.push({ route, modelId: m.id, seqId, bodyHash: h, idempotencyKey: idem, requestId: prior.requestId, duplicate: true });
      if (prior.hash !== h) {
        state.conflicts.count++;
        throw new HttpFailure(409, `sequence number ${seqId} was reused with a different payload`);
      }
      return { request_id: prior.requestId, model_id: m.id };
    }
    const [requestId, f] = newFuture();
    if (route === 'forward_backward') f.kind = 'forward_backward';
    m.seen.set(seqId, { hash: h, requestId });
    state.submissions.push({ route, modelId: m.id, seqId, bodyHash: h, idempotencyKey: idem, requestId, duplicate: false });
    const failure = pendingFailures.get(`${route}#${hitsOf(route)}`);
    m.queue.set(
      seqId,
      () =>
        new Promise<void>((resolve) =>
          later(() =>
            void settle(f, () => {
              state.executed.push({ modelId: m.id, seqId, route });
              if (failure !== undefined) throw new Error(failure);
              return run(m);
            }).then(resolve),
          ),
        ),
    );
    pump(m);
    return { request_id: requestId, model_id: m.id };
  };

  const hitsOf = (route: string): number => state.hits.get(route) ?? 0;

  const tensor = (inputs: Record<string, any>, key: string, N: number): number[] => {
    const t = inputs[key];
    if (t === undefined) throw new Error(`loss_fn_inputs.${key} is missing`);
    const data = t.data as number[];
    if (data.length !== N) throw new Error(`loss_fn_inputs.${key} has ${data.length} values for ${N} positions`);
    return data;
  };

  const routes: Record<string, (body: Record<string, any>, text: string, idem: string | undefined, acceptProto: boolean) => Promise<unknown> | unknown> = {
    'client/config': () => ({ ...clientConfigBody(personality, options.jwts !== undefined), ...options.clientConfig }),
    'auth/token': () => {
      const jwt = options.jwts?.[Math.min(jwtIssued, options.jwts.length - 1)];
      if (jwt === undefined) throw new HttpFailure(404, 'no auth/token here');
      jwtIssued++;
      currentJwt = jwt;
      return { jwt };
    },
    get_server_capabilities: () => capabilitiesBody(personality, options.supportedModels ?? []),
    create_session: () => {
      const id = `session-${nextId++}`;
      state.sessions.add(id);
      return { session_id: id, type: 'create_session' };
    },
    session_heartbeat: (body) => {
      if (!state.sessions.has(String(body.session_id))) throw new HttpFailure(404, 'unknown session');
      state.heartbeats.count++;
      return { type: 'session_heartbeat' };
    },
    create_model: (body) => {
      if (!state.sessions.has(String(body.session_id))) throw new HttpFailure(404, 'unknown session');
      const [requestId, f] = newFuture();
      const rank = Number(body.lora_config?.rank);
      later(() =>
        void settle(f, async () => {
          const live = [...state.models.values()].filter((m) => !m.unloaded).length;
          const refusal = createModelRefusal(personality, options.limits ?? {}, rank, live);
          if (refusal !== undefined) throw new Error(refusal);
          const id = `model_${(nextId++).toString(16).padStart(8, '0')}`;
          const model: ModelState = {
            id,
            policy: await factory.create(),
            nextSeq: 1,
            queue: new Map(),
            chain: Promise.resolve(),
            seen: new Map(),
            unloaded: false,
            baseModel: String(body.base_model),
            rank,
          };
          state.models.set(id, model);
          return { model_id: id, type: 'create_model' };
        }),
      );
      return { request_id: requestId };
    },
    get_info: (body) => {
      const m = getModel(body.model_id);
      return getInfoBody(personality, { id: m.id, baseModel: m.baseModel, rank: m.rank });
    },
    unload_model: (body) => {
      const m = getModel(body.model_id);
      m.unloaded = true;
      const [requestId, f] = newFuture();
      // queued requests of the model are dropped; the policy is released once they are done
      void m.chain.then(() => m.policy.close());
      void settle(f, () => ({ model_id: m.id, type: 'unload_model' }));
      return { request_id: requestId };
    },
    forward_backward: async (body, text, idem) => {
      state.forwardBackwardBodies.push(body);
      const input = body.forward_backward_input as Record<string, any>;
      if (personality === 'skyrl') {
        // SkyRL's ForwardBackwardInput._ALLOWED_KEYS_BY_LOSS_FN: 422 for any other loss_fn_config key.
        const allowed = input.loss_fn === 'ppo' ? ['clip_low_threshold', 'clip_high_threshold', 'value_clip'] : [];
        const bad = Object.keys(input.loss_fn_config ?? {}).filter((k) => !allowed.includes(k));
        if (bad.length > 0) throw new HttpFailure(422, `loss_fn_config keys ${bad.join(', ')} are not allowed for ${String(input.loss_fn)}`);
      }
      const data: ServerDatum[] = [];
      for (const d of input.data as Array<Record<string, any>>) {
        const modelInput = await flattenInput(d.model_input.chunks);
        const N = modelInput.tokens_N.length;
        const keys = input.loss_fn === 'cross_entropy' ? ['target_tokens', 'weights'] : ['target_tokens', 'logprobs', 'advantages'];
        const inputs: Record<string, number[]> = {};
        for (const k of keys) inputs[k] = tensor(d.loss_fn_inputs, k, N);
        data.push({ input: modelInput, inputs });
      }
      return submitTraining('forward_backward', body, text, idem, async (m) => {
        const { logprobs_B, loss } = await m.policy.forwardBackward(data, String(input.loss_fn), input.loss_fn_config ?? {});
        return {
          loss_fn_output_type: 'ArrayRecord',
          // SkyRL JAX drops image chunks when rendering: its per-token outputs have the text-only length.
          loss_fn_outputs: logprobs_B
            .map((lp, b) => (dropImageTokens ? lp.slice(data[b].input.images.reduce((n, im) => n + im.expectedTokens, 0)) : lp))
            .map((lp) => ({ logprobs: { data: lp, dtype: 'float32', shape: [lp.length] } })),
          metrics: forwardBackwardMetrics(personality, loss),
        };
      });
    },
    optim_step: (body, text, idem) =>
      submitTraining('optim_step', body, text, idem, async (m) => {
        const adam = body.adam_params as AdamWire;
        // SkyRL's AdamParams has no grad_clip_norm: pydantic drops it, so no clipping.
        const metrics = await m.policy.optimStep(personality === 'skyrl' ? { ...adam, grad_clip_norm: 0 } : adam);
        return { metrics: optimStepMetrics(personality, metrics, adam.learning_rate) };
      }),
    save_weights: (body, text, idem) => {
      // SkyRL: the checkpoint row is created at submission, so a repeated name (a retry after a lost answer
      // included) is refused with 409; its save futures carry no seq_id, so there is no dedup for saves.
      if (personality === 'skyrl') {
        const name = `${String(body.model_id)}/${String(body.path)}`;
        if (savesSubmitted.has(name)) throw new HttpFailure(409, `Checkpoint '${String(body.path)}' already exists for model '${String(body.model_id)}'`);
        savesSubmitted.add(name);
      }
      return submitTraining('save_weights', body, text, idem, async (m) => {
        const path = `tinker://${m.id}/weights/${String(body.path)}`;
        if (checkpoints.has(path)) throw new Error(`checkpoint ${path} exists`);
        checkpoints.set(path, await m.policy.saveState());
        return { path, type: 'save_weights' };
      });
    },
    save_weights_for_sampler: (body, text, idem) =>
      submitTraining('save_weights_for_sampler', body, text, idem, async (m) => {
        const id = `sampler-${nextId++}`;
        samplers.set(id, await m.policy.sampler());
        return { path: null, sampling_session_id: id, type: 'save_weights_for_sampler' };
      }),
    load_weights: (body, text, idem) => {
      const m = getModel(body.model_id);
      if (m.seen.size > 0 && !m.seen.has(body.seq_id as number)) throw new HttpFailure(400, 'load_weights must be the first request of a model');
      return submitTraining('load_weights', body, text, idem, async (mm) => {
        const ckpt = checkpoints.get(String(body.path));
        if (ckpt === undefined) throw new Error(`no checkpoint at ${String(body.path)}`);
        await mm.policy.loadState(ckpt);
        return { path: body.path, type: 'load_weights' };
      });
    },
    create_sampling_session: async (body) => {
      if (typeof body.base_model === 'string') {
        const id = `sampler-${nextId++}`;
        samplers.set(id, await factory.baseSampler());
        return { sampling_session_id: id };
      }
      throw new HttpFailure(400, 'only base_model sampling sessions are supported here');
    },
    asample: async (body, text) => {
      const sampler = samplers.get(String(body.sampling_session_id));
      if (sampler === undefined) throw new HttpFailure(404, `unknown sampling session ${String(body.sampling_session_id)}`);
      const key = `${String(body.sampling_session_id)}#${String(body.seq_id)}`;
      const h = hash(text);
      const prior = sampleSeen.get(key);
      state.submissions.push({ route: 'asample', samplingSessionId: String(body.sampling_session_id), seqId: body.seq_id as number, bodyHash: h, idempotencyKey: undefined, requestId: prior?.requestId, duplicate: prior !== undefined });
      if (prior !== undefined) {
        if (prior.hash !== h) {
          state.conflicts.count++;
          throw new HttpFailure(409, `sample seq ${String(body.seq_id)} was reused with a different payload`);
        }
        return { request_id: prior.requestId };
      }
      const params = body.sampling_params as { max_tokens?: number; temperature?: number; stop?: number[]; seed?: number };
      state.sampleSeeds.push(params.seed);
      if (typeof params.max_tokens !== 'number') throw new HttpFailure(400, 'max_tokens is required');
      const [requestId, f] = newFuture();
      f.kind = 'sample';
      sampleSeen.set(key, { hash: h, requestId });
      // SkyRL fails the future when the engine builds int32 PRNG keys, not the submission.
      const failure = pendingFailures.get(`asample#${hitsOf('asample')}`) ?? seedRefusal(personality, params.seed);
      let prompt: ServerInput | undefined;
      let promptError: string | undefined;
      try {
        prompt = await flattenInput(body.prompt.chunks);
      } catch (error) {
        promptError = (error as Error).message;
      }
      later(() =>
        void settle(f, async () => {
          if (failure !== undefined) throw new Error(failure);
          if (prompt === undefined) throw new Error(promptError);
          const sequences = await sampler.sample(prompt, body.num_samples as number, {
            max_tokens: params.max_tokens as number,
            temperature: params.temperature ?? 1,
            stop: params.stop ?? [],
            seed: params.seed ?? 0,
          });
          const full = body.prompt_logprobs ? await sampler.promptLogprobs(prompt) : null;
          const prompt_logprobs = full !== null && personality === 'skyrl' ? full.slice(1) : full;
          return { sequences, prompt_logprobs, type: 'sample' };
        }),
      );
      return { request_id: requestId };
    },
    retrieve_future: async (body, _text, _idem, acceptProto) => {
      const f = futures.get(String(body.request_id));
      if (f === undefined) throw new HttpFailure(404, `unknown request ${String(body.request_id)}`);
      if (f.state === 'pending') {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            f.waiters.delete(done);
            resolve();
          }, holdMs);
          const done = (): void => {
            clearTimeout(timer);
            resolve();
          };
          f.waiters.add(done);
        });
      }
      if (f.state === 'pending') throw new HttpFailure(408, 'still pending');
      if (f.state === 'failed') {
        if (errorStyle === 'skyrl') throw new HttpFailure(400, f.error ?? 'failed');
        return { error: f.error, category: 'user' };
      }
      if (acceptProto && f.kind === 'forward_backward') return fbResultToProto(f.result as Parameters<typeof fbResultToProto>[0]);
      if (acceptProto && f.kind === 'sample') return sampleResultToProto(f.result as Parameters<typeof sampleResultToProto>[0]);
      return f.result;
    },
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const route = url.pathname.replace(/^\/api\/v1\//, '');
      const raw = await readBody(req);
      const isProto = (req.headers['content-type'] ?? '').includes('application/x-protobuf');
      const text = isProto ? raw.toString('base64') : raw.toString('utf8');
      const acceptProto = (req.headers.accept ?? '').includes('application/x-protobuf');
      const n = (state.hits.get(route) ?? 0) + 1;
      state.hits.set(route, n);
      const key = req.headers['x-api-key'];
      if (typeof key === 'string') state.apiKeysSeen.add(key);
      const expected = options.jwts !== undefined && route !== 'client/config' && route !== 'auth/token' ? currentJwt : options.apiKey;
      if (expected !== undefined && key !== expected) return send(res, 401, { detail: 'invalid credential' });
      const fault = options.faults?.find((f) => f.route === route && f.nth === n);
      if (fault?.kind === 'status') return send(res, fault.status, fault.body, fault.headers);
      if (fault?.kind === 'drop-before') return req.socket.destroy();
      if (fault?.kind === 'try-again') return send(res, 200, { type: 'try_again', request_id: 'x', queue_state: fault.queueState });
      if (fault?.kind === 'fail-request') pendingFailures.set(`${route}#${n}`, fault.message);
      const handler = routes[route];
      if (handler === undefined) return send(res, 404, { detail: `no route ${route}` });
      let body: Record<string, any>;
      try {
        body = isProto ? (decodeForwardBackwardRequest(raw) as unknown as Record<string, any>) : text.length === 0 ? {} : (JSON.parse(text) as Record<string, any>);
      } catch (error) {
        return send(res, 400, { detail: `body is not ${isProto ? 'a valid protobuf ForwardBackwardRequest' : 'JSON'}: ${(error as Error).message}` });
      }
      if (isProto) body.wire = 'protobuf';
      try {
        if (route === 'retrieve_future') state.arrivals.push(`retrieve_future ${String(body.request_id)}`);
        const result = await handler(body, text, typeof req.headers['x-idempotency-key'] === 'string' ? req.headers['x-idempotency-key'] : undefined, acceptProto);
        const rid = (result as { request_id?: unknown } | undefined)?.request_id;
        if (route !== 'retrieve_future') state.arrivals.push(typeof rid === 'string' ? `${route} ${rid}` : route);
        if (fault?.kind === 'drop-after') return req.socket.destroy();
        if (result instanceof ProtoReply) {
          res.writeHead(200, { 'Content-Type': 'application/x-protobuf', 'Content-Length': result.bytes.byteLength });
          return res.end(Buffer.from(result.bytes));
        }
        send(res, 200, result);
      } catch (error) {
        if (error instanceof HttpFailure) return send(res, error.status, { detail: error.detail });
        send(res, 400, { detail: (error as Error).message });
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      for (const m of state.models.values()) {
        if (m.unloaded) continue;
        await m.chain;
        await m.policy.close();
      }
      await factory.close?.();
    },
  });
}

/** Routes and statuses at which the key-echo tests make the server answer with the API key in its error body. */
export const KEY_ECHO_FAULTS = [
  ['client/config', 401],
  ['create_session', 400],
  ['get_server_capabilities', 500],
] as const;
