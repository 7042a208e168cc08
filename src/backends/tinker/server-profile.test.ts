/**
 * Server capabilities before the first step (server-profile.ts): the server
 * kind from the answers SkyRL a956457's api.py defines and the SDK's types,
 * then, over real HTTP against both personalities of the test server: image
 * prompts refused on SkyRL before anything is created, warnings for what it
 * ignores, the LoRA rank limit and the adapter slots in config terms.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, RemoteError } from '../../errors.js';
import { createTinkerBackend, type TinkerBackend } from './backend.js';
import { RequestFailedError } from './calls.js';
import { TinkerClient } from './client.js';
import { TinkerBackendConfigSchema, type TinkerBackendConfigInput } from './config.js';
import { loadTokenizer, type TextTokenizer } from './render/tokenizer.js';
import { detectServerKind, probeServer } from './server-profile.js';
import { startFakeTinker, type FakeTinkerOptions, type FakeTinkerServer } from './test-support/server.js';
import { writeTinyTokenizer, type TinyTokenizerInfo } from './test-support/tiny-tokenizer.js';

const MODEL = 'Qwen/Qwen3-VL-30B-A3B-Instruct';
const noTimer = { setInterval: () => 0, clearInterval: () => {} };
const fast = { backoffBaseMs: 1, backoffMaxMs: 5, serverErrorPollDelayMs: 1, pollTimeoutMs: 5_000, requestTimeoutMs: 5_000 };
let info: TinyTokenizerInfo;
let tokenizer: TextTokenizer;
const open: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  info = await writeTinyTokenizer(await mkdtemp(join(tmpdir(), 'mrpo-profile-tok-')));
  tokenizer = await loadTokenizer(info.dir);
});
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function server(options: Partial<FakeTinkerOptions>): Promise<FakeTinkerServer> {
  const s = await startFakeTinker({ vocabSize: info.vocabSize, supportedModels: [MODEL], ...options });
  open.push(s);
  return s;
}

async function backendOn(s: FakeTinkerServer, config: Partial<TinkerBackendConfigInput> = {}, warnings: string[] = []): Promise<TinkerBackend> {
  const b = await createTinkerBackend(
    TinkerBackendConfigSchema.parse({ name: 'tinker', model: MODEL, tokenizer: info.dir, loraRank: 8, ...config }),
    { baseUrl: s.url, apiKey: 'tml-dummy' },
    { tokenizer, timer: noTimer, retry: fast, log: { warn: (m) => warnings.push(m) } },
  );
  open.push(b);
  return b;
}

const failure = (p: Promise<unknown>): Promise<Error | undefined> =>
  p.then(
    () => undefined,
    (e: unknown) => e as Error,
  );

/** Requests that train or sample (anything past creating the model). */
const trainingHits = (s: FakeTinkerServer): number =>
  ['forward_backward', 'optim_step', 'asample', 'save_weights', 'save_weights_for_sampler', 'load_weights'].reduce((n, r) => n + (s.hits.get(r) ?? 0), 0);

describe('detectServerKind (bodies as SkyRL a956457 api.py and the tinker SDK types define them)', () => {
  it('SkyRL: client/config is the stub {pjwt_auth_enabled: false}, capabilities list model_name only', () => {
    expect(detectServerKind({ clientConfigKeys: ['pjwt_auth_enabled'], usesJwt: false, capabilityFields: ['supported_models', 'supported_models[].model_name'] }).kind).toBe('skyrl');
  });
  it('hosted: client/config carries SDK feature flags, or enables JWT auth, or a context length is listed', () => {
    expect(detectServerKind({ clientConfigKeys: ['pjwt_auth_enabled', 'fwdbwd_max_chunk_len'], usesJwt: false }).kind).toBe('hosted');
    expect(detectServerKind({ clientConfigKeys: ['pjwt_auth_enabled'], usesJwt: true }).kind).toBe('hosted');
    expect(detectServerKind({ clientConfigKeys: ['pjwt_auth_enabled'], usesJwt: false, capabilityFields: ['supported_models[].max_context_length'] }).kind).toBe('hosted');
  });
  it("hosted Tinker's own base URL is hosted even with a sparse client/config", () => {
    expect(detectServerKind({ baseUrl: 'https://tinker.thinkingmachines.dev/services/tinker-prod', clientConfigKeys: ['pjwt_auth_enabled'], usesJwt: false }).kind).toBe('hosted');
    expect(detectServerKind({ baseUrl: 'http://127.0.0.1:8000', clientConfigKeys: ['pjwt_auth_enabled'], usesJwt: false }).kind).toBe('skyrl');
  });
  it("SkyRL's get_info model_data (base_model, lora_config) decides whatever the handshake looked like", () => {
    const modelData = { base_model: MODEL, lora_config: { rank: 8, seed: null }, model_name: MODEL };
    expect(detectServerKind({ clientConfigKeys: ['pjwt_auth_enabled', 'fwdbwd_max_chunk_len'], usesJwt: false, modelData }).kind).toBe('skyrl');
    expect(detectServerKind({ clientConfigKeys: ['pjwt_auth_enabled', 'fwdbwd_max_chunk_len'], usesJwt: false, modelData: { arch: 'x', model_name: MODEL, tokenizer_id: MODEL } }).kind).toBe('hosted');
  });
});

describe('probeServer over HTTP', () => {
  it.each([
    ['hosted', 'hosted', true, [{ model: MODEL, maxContextLength: 32768 }]],
    ['skyrl', 'skyrl', false, [{ model: MODEL }]],
  ] as const)('tells the %s personality (%s), its image rendering and models', async (personality, kind, rendersImages, models) => {
    const s = await server({ personality });
    const client = await TinkerClient.connect({ baseUrl: s.url, apiKey: 'tml-dummy', timer: noTimer });
    open.push(client);
    const profile = await probeServer(client, { serverRendersImages: undefined });
    expect(profile).toMatchObject({ kind, rendersImages, models, wireFormat: 'protobuf', sdkVersion: '0.38.0' });
  });
});

describe('TinkerBackend.create checks the server before any training request', () => {
  it('refuses image prompts on SkyRL (backend.images: send) before create_model, naming the key and the way out', async () => {
    const s = await server({ personality: 'skyrl' });
    const error = await failure(backendOn(s));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.message).toMatch(/^backend\.images: is "send".*the server is SkyRL tx, which does not render images.*set backend\.images: omit.*vLLM renderer/);
    expect(s.hits.get('create_model') ?? 0).toBe(0);
    expect(trainingHits(s)).toBe(0);
  });

  it('accepts images on SkyRL when backend.serverRendersImages is true, and text-only prompts (images: omit) always', async () => {
    const s = await server({ personality: 'skyrl', dropImageTokens: false });
    expect((await backendOn(s, { serverRendersImages: true })).serverProfile.rendersImages).toBe(true);
    expect((await backendOn(s, { images: 'omit' })).serverProfile.kind).toBe('skyrl');
  });

  it('refuses images when get_info reveals SkyRL after a hosted-looking handshake, unloading the new model, still before any training request', async () => {
    const skyrlInfo = { model_id: 'x', status: 'ready', model_data: { base_model: MODEL, lora_config: { rank: 8, seed: null }, model_name: MODEL } };
    const s = await server({ faults: [{ route: 'get_info', nth: 1, kind: 'status', status: 200, body: skyrlInfo }] });
    const error = await failure(backendOn(s));
    expect(error?.message).toMatch(/^backend\.images: .*SkyRL tx/);
    expect(s.hits.get('create_model')).toBe(1);
    expect([...s.models.values()].every((m) => m.unloaded)).toBe(true);
    expect(trainingHits(s)).toBe(0);
  });

  it('warns once per setting SkyRL ignores (grad clip, LoRA alpha, train_unembed, a sum reduction); nothing on hosted', async () => {
    const warnings: string[] = [];
    await backendOn(await server({ personality: 'skyrl' }), { images: 'omit' }, warnings);
    expect(warnings).toHaveLength(4);
    expect(warnings[0]).toMatch(/^SkyRL tx ignores gradClip: .*no grad_clip_norm/);
    expect(warnings[1]).toMatch(/^SkyRL tx ignores LoRA alpha: fixed at 32 .*32\/rank = 4 at backend\.loraRank 8/);
    expect(warnings[2]).toMatch(/^SkyRL tx ignores lora_config\.train_unembed: /);
    expect(warnings[3]).toMatch(/^SkyRL tx ignores backend\.serverReduction: .*\(here: sum\); set backend\.serverReduction: sequence-mean/);
    const quiet: string[] = [];
    await backendOn(await server({ personality: 'skyrl' }), { images: 'omit', serverReduction: 'sequence-mean' }, quiet);
    expect(quiet).toHaveLength(3);
    const hosted: string[] = [];
    await backendOn(await server({}), {}, hosted);
    expect(hosted).toEqual([]);
  });

  it.each([
    [64, undefined, 32],
    [16, 8, 8],
  ] as const)('LoRA rank %i above the SkyRL limit (max_lora_rank %s → %i) fails at create, naming backend.loraRank', async (rank, maxLoraRank, limit) => {
    const s = await server({ personality: 'skyrl', limits: maxLoraRank === undefined ? {} : { maxLoraRank } });
    const error = await failure(backendOn(s, { images: 'omit', loraRank: rank }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.message).toMatch(new RegExp(`^backend\\.loraRank: is ${rank}, above the server's limit of ${limit} .*set backend\\.loraRank to at most ${limit}`));
    expect(trainingHits(s)).toBe(0);
  });

  it('SkyRL max_lora_adapters N holds N−1 models: the second run on a 2-slot server gets a clear error; a freed slot works again', async () => {
    const s = await server({ personality: 'skyrl', limits: { maxLoraAdapters: 2 } });
    const first = await backendOn(s, { images: 'omit' });
    const error = await failure(backendOn(s, { images: 'omit' }));
    expect(error).toBeInstanceOf(RemoteError);
    expect(error?.message).toMatch(/no free LoRA adapter slot .*max_lora_adapters 2 holds 1 models/);
    await first.close(); // unloads its model
    expect((await backendOn(s, { images: 'omit' })).serverProfile.kind).toBe('skyrl');
  });
});

describe('SkyRL seed failure', () => {
  it('a seed above int32 is accepted at submission and fails its future with 400 at retrieve_future', async () => {
    const s = await server({ personality: 'skyrl' });
    const client = await TinkerClient.connect({ baseUrl: s.url, apiKey: 'tml-dummy', timer: noTimer, retry: fast });
    open.push(client);
    const sampler = await client.createSamplingSession({ baseModel: MODEL });
    const request = (seed: number) => sampler.sample({ prompt: [{ kind: 'tokens', tokens: [1, 2, 3] }], numSamples: 1, params: { max_tokens: 2, temperature: 1, top_k: -1, top_p: 1, stop: [], seed } });
    const error = await failure(request(2 ** 31));
    expect(error).toBeInstanceOf(RequestFailedError);
    expect(error?.message).toMatch(/OverflowError: Python integer 2147483648 out of bounds for int32/);
    expect(s.hits.get('asample')).toBe(1);
    expect(s.submissions.filter((x) => x.route === 'asample')).toHaveLength(1); // the submission itself was accepted
    expect((await request(2 ** 31 - 1)).sequences).toHaveLength(1);
  });
});

describe('SkyRL training answers (test server personality skyrl)', () => {
  const prompt = {
    item: { id: 'a', image: { pixels: new Uint8Array(32 * 32).fill(90), width: 32, height: 32, channels: 1 as const }, question: 'q', answer: 'a', source: 'test' },
    text: 'Where is the lesion? Think step by step.',
  };
  const loss = { kind: 'policy-gradient', beta: 0, epsLow: 0.2, epsHigh: 0.2, aggregation: 'token-mean', constant: 1 } as const;
  const optimizer = { learningRate: 0.05, gradClip: 0, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0 };

  async function oneStep(s: FakeTinkerServer, gradClip: number): Promise<{ metrics: Record<string, number>; W: Float64Array | number[] }> {
    const b = await backendOn(s, { images: 'omit', serverReduction: 'sequence-mean', wireFormat: 'json' });
    const groups = await b.sample([prompt], 2, { temperature: 1, maxTokens: 12, seed: 3 });
    const batch = groups[0].map((completion) => ({ prompt, completion, advantages_T: completion.tokenIds.map((_, t) => (t % 2 ? 1 : -1)) }));
    const metrics = await b.train(batch, loss, { ...optimizer, gradClip });
    const policy = s.models.get(b.modelId)?.policy as unknown as { policy: { W: Float64Array | number[] } };
    return { metrics, W: Array.from(policy.policy.W) };
  }

  it('forward_backward metrics are {} and optim metrics skyrl.ai/*; the client still reports its recomputed objective', async () => {
    const { metrics } = await oneStep(await server({ personality: 'skyrl' }), 0);
    expect(Object.keys(metrics).filter((k) => k.startsWith('tinker/') && !k.startsWith('tinker/optim/')).sort()).toEqual(['tinker/datums', 'tinker/skipped_empty']);
    expect(metrics['tinker/optim/skyrl.ai/learning_rate']).toBe(optimizer.learningRate);
    expect(metrics['tinker/optim/skyrl.ai/grad_norm']).toBeGreaterThan(0);
    expect(Number.isFinite(metrics['loss/total'])).toBe(true);
  });

  it('grad_clip_norm is dropped: a tiny gradClip moves the weights exactly as no clip does (on hosted it shrinks the step)', async () => {
    const unclipped = await oneStep(await server({ personality: 'skyrl' }), 0);
    const clipped = await oneStep(await server({ personality: 'skyrl' }), 1e-9);
    expect(clipped.W).toEqual(unclipped.W);
    const hostedFree = await oneStep(await server({ dropImageTokens: false }), 0);
    const hostedClipped = await oneStep(await server({ dropImageTokens: false }), 1e-9);
    expect(hostedClipped.W).not.toEqual(hostedFree.W);
  });
});
