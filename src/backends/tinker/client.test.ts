import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../errors.js';
import { RejectedError } from './calls.js';
import { TinkerClient } from './client.js';
import { rlDatum } from './datums.js';
import { HOSTED_TINKER_BASE_URL, parseTinkerBackendConfig, TinkerBackendConfigSchema, tinkerEndpointFromEnv } from './config.js';
import { KEY_ECHO_FAULTS, startFakeTinker, type FakeTinkerServer } from './test-support/server.js';

let server: FakeTinkerServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const noTimer = { setInterval: () => 0, clearInterval: () => {} };
const jwtWithExp = (expSeconds: number): string =>
  ['eyJhbGciOiJub25lIn0', Buffer.from(JSON.stringify({ exp: expSeconds })).toString('base64url'), 'sig'].join('.');

describe('TinkerClient handshake', () => {
  it('exchanges the API key for a JWT when the server asks, sends it in X-API-Key, and refreshes it near expiry', async () => {
    const farFuture = jwtWithExp(Math.floor(Date.now() / 1000) + 3600);
    const soon = jwtWithExp(Math.floor(Date.now() / 1000) + 60); // < 5 min left: refreshed before the next request
    server = await startFakeTinker({ vocabSize: 10, apiKey: 'tml-k', jwts: [soon, farFuture] });
    const client = await TinkerClient.connect({ baseUrl: server.url, apiKey: 'tml-k', timer: noTimer });
    // first token at the handshake; it expires within 5 min, so it is refreshed before create_session
    expect(server.hits.get('auth/token')).toBe(2);
    const model = await client.createModel({ baseModel: 'm', rank: 2 });
    expect(server.hits.get('auth/token')).toBe(2); // the far-future token is kept
    expect(model.modelId).toMatch(/^model_/);
    await client.close();
    expect([...server.apiKeysSeen].sort()).toEqual(['tml-k', farFuture].sort());
  });

  it.each(KEY_ECHO_FAULTS)('never puts an API key the server echoes in its error body into the error (%s, HTTP %i)', async (route, status) => {
    const key = 'tml-echo-secret-9731';
    const body = { detail: `rejected X-API-Key ${key} (key=${key})` };
    server = await startFakeTinker({ vocabSize: 10, apiKey: key, faults: [{ route, nth: 1, kind: 'status', status, body }] });
    const attempt = async (): Promise<void> => {
      const client = await TinkerClient.connect({ baseUrl: server!.url, apiKey: key, timer: noTimer });
      try {
        await client.capabilities();
      } finally {
        await client.close();
      }
    };
    const error = await attempt().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error!.message).toContain(`HTTP ${status}`);
    expect(error!.message).toContain('rejected X-API-Key [redacted]');
    expect(error!.message).not.toContain(key);
  });

  it('refuses an empty key before any request', async () => {
    server = await startFakeTinker({ vocabSize: 10 });
    await expect(TinkerClient.connect({ baseUrl: server.url, apiKey: '', timer: noTimer })).rejects.toThrow(ConfigError);
    expect(server.hits.size).toBe(0);
  });

  it('refuses requests after close', async () => {
    server = await startFakeTinker({ vocabSize: 10 });
    const client = await TinkerClient.connect({ baseUrl: server.url, apiKey: 'k', timer: noTimer });
    await client.close();
    await expect(client.createModel({ baseModel: 'm', rank: 2 })).rejects.toThrow(/closed/);
  });
});

describe('4xx at submission (SkyRL-like server)', () => {
  it('counts 409 (repeated save_weights name) and 422 (rejected loss_fn_config) as not held: the model stays usable, seq_ids stay dense', async () => {
    server = await startFakeTinker({ vocabSize: 10, personality: 'skyrl' });
    const client = await TinkerClient.connect({ baseUrl: server.url, apiKey: 'tml-dummy', timer: noTimer, retry: { backoffBaseMs: 1, backoffMaxMs: 2 } });
    try {
      const model = await client.createModel({ baseModel: 'm', rank: 2 });
      const datum = rlDatum([{ kind: 'tokens', tokens: [1, 2, 3] }], [4, 5], [-1, -1], [0.5, -0.5]);
      const rejected = await model.forwardBackward([datum], 'importance_sampling', { clip_low_threshold: 0.8 }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(rejected).toBeInstanceOf(RejectedError);
      expect(rejected!.message).toMatch(/HTTP 422.*clip_low_threshold.*still usable/);
      expect(await model.saveWeights('ckpt-a')).toBe(`tinker://${model.modelId}/weights/ckpt-a`);
      const again = await model.saveWeights('ckpt-a').then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(again).toBeInstanceOf(RejectedError);
      expect(again!.message).toMatch(/HTTP 409.*already exists.*still usable/);
      // still usable: a valid step goes through, with the next free seq_ids
      const fb = await model.forwardBackward([datum], 'importance_sampling');
      const opt = await model.optimStep({ learning_rate: 0.01, beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: 0, grad_clip_norm: 0 });
      expect((await fb.result()).outputs[0].logprobs).toHaveLength(4);
      await opt.result();
      expect(server.executed.map((e) => [e.route, e.seqId])).toEqual([
        ['save_weights', 1],
        ['forward_backward', 2],
        ['optim_step', 3],
      ]);
    } finally {
      await client.close();
    }
  });
});

describe('save_weights on SkyRL when the answer is lost', () => {
  it("takes the retry's 409 'already exists' as the lost attempt's success: the path is returned, seq_ids stay dense, the checkpoint loads", async () => {
    server = await startFakeTinker({ vocabSize: 10, personality: 'skyrl', faults: [{ route: 'save_weights', nth: 1, kind: 'drop-after' }] });
    const warnings: string[] = [];
    const client = await TinkerClient.connect({ baseUrl: server.url, apiKey: 'tml-dummy', timer: noTimer, retry: { backoffBaseMs: 1, backoffMaxMs: 2 }, log: { warn: (m) => warnings.push(m) } });
    try {
      const model = await client.createModel({ baseModel: 'm', rank: 2 });
      const path = await model.saveWeights('ckpt-lost');
      expect(path).toBe(`tinker://${model.modelId}/weights/ckpt-lost`);
      expect(server.hits.get('save_weights')).toBe(2); // the lost attempt and the refused retry
      expect(warnings.some((w) => w.includes('taking it as saved'))).toBe(true);
      const datum = rlDatum([{ kind: 'tokens', tokens: [1, 2, 3] }], [4, 5], [-1, -1], [0.5, -0.5]);
      await (await model.forwardBackward([datum], 'importance_sampling')).result();
      expect(server.executed.filter((e) => e.modelId === model.modelId).map((e) => [e.route, e.seqId])).toEqual([
        ['save_weights', 1],
        ['forward_backward', 2],
      ]);
      const fresh = await client.createModel({ baseModel: 'm', rank: 2 });
      await fresh.loadWeights(path, true);
      // a repeated name without a lost attempt is still a refusal
      await expect(model.saveWeights('ckpt-lost')).rejects.toBeInstanceOf(RejectedError);
    } finally {
      await client.close();
    }
  });
});

describe('configuration', () => {
  it('reads the endpoint from TINKER_BASE_URL / TINKER_API_KEY, defaulting to hosted Tinker', () => {
    expect(tinkerEndpointFromEnv({ TINKER_API_KEY: ' tml-x ' })).toEqual({ baseUrl: HOSTED_TINKER_BASE_URL, apiKey: 'tml-x' });
    expect(tinkerEndpointFromEnv({ TINKER_API_KEY: 'tml-dummy', TINKER_BASE_URL: 'http://localhost:8000' }).baseUrl).toBe('http://localhost:8000');
    expect(() => tinkerEndpointFromEnv({})).toThrow(/TINKER_API_KEY: is not set/);
    expect(() => tinkerEndpointFromEnv({ TINKER_API_KEY: 'k', TINKER_BASE_URL: 'ftp://x' })).toThrow(/TINKER_BASE_URL: must be an http\(s\) URL/);
  });

  it('fills defaults and rejects unknown keys', () => {
    const c = TinkerBackendConfigSchema.parse({ name: 'tinker', model: 'Qwen/Qwen3-VL-30B-A3B-Instruct' });
    expect(c).toMatchObject({ renderer: 'qwen3-vl', loraRank: 32, lossFn: 'ppo', serverReduction: 'sum', kl: 'reject', wireFormat: 'protobuf', sdkVersion: '0.38.0', maxImagePixels: 802816 });
    expect(TinkerBackendConfigSchema.safeParse({ name: 'tinker', model: 'm', apiKey: 'secret' }).success).toBe(false);
    expect(() => parseTinkerBackendConfig({ name: 'tinker', model: 'm', loraRank: 0 })).toThrow(/^backend\.loraRank: /);
    expect(() => parseTinkerBackendConfig({ name: 'tinker' })).toThrow(/^backend\.model: /);
  });

  it('ties sdkVersion to wireFormat: protobuf + 0.38.0 by default, JSON with 0.24.1, inconsistent pairs rejected naming the key', () => {
    const base = { name: 'tinker', model: 'm' } as const;
    expect(TinkerBackendConfigSchema.parse({ ...base, wireFormat: 'json' })).toMatchObject({ wireFormat: 'json', sdkVersion: '0.24.1' });
    expect(TinkerBackendConfigSchema.parse({ ...base, wireFormat: 'protobuf' })).toMatchObject({ wireFormat: 'protobuf', sdkVersion: '0.38.0' });
    expect(TinkerBackendConfigSchema.parse({ ...base, sdkVersion: '0.23.0' })).toMatchObject({ wireFormat: 'json', sdkVersion: '0.23.0' });
    expect(TinkerBackendConfigSchema.parse({ ...base, sdkVersion: '0.30.4' })).toMatchObject({ wireFormat: 'protobuf', sdkVersion: '0.30.4' });
    expect(() => parseTinkerBackendConfig({ ...base, wireFormat: 'json', sdkVersion: '0.38.0' })).toThrow(/^backend\.sdkVersion: 0\.38\.0 is a protobuf-only SDK/);
    expect(() => parseTinkerBackendConfig({ ...base, wireFormat: 'protobuf', sdkVersion: '0.24.1' })).toThrow(/^backend\.sdkVersion: 0\.24\.1 predates protobuf/);
  });

  it('reports sdk_version 0.38.0 and sends protobuf by default; JSON asked for reports 0.24.1, and proto_write_fwdbwd: true switches it to protobuf', async () => {
    const seen: string[] = [];
    const spy: typeof fetch = async (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      if (url.endsWith('/client/config')) seen.push(JSON.parse(String(init?.body)).sdk_version);
      return fetch(input, init);
    };
    server = await startFakeTinker({ vocabSize: 10 });
    const byDefault = await TinkerClient.connect({ baseUrl: server.url, apiKey: 'k', timer: noTimer, fetch: spy });
    expect(byDefault.wireFormat).toBe('protobuf');
    await byDefault.close();
    const json = await TinkerClient.connect({ baseUrl: server.url, apiKey: 'k', timer: noTimer, fetch: spy, wireFormat: 'json' });
    expect(json.wireFormat).toBe('json');
    await json.close();
    expect(seen).toEqual(['0.38.0', '0.24.1']);
    await server.close();
    server = await startFakeTinker({ vocabSize: 10, clientConfig: { proto_write_fwdbwd: true } });
    const flagged = await TinkerClient.connect({ baseUrl: server.url, apiKey: 'k', timer: noTimer, wireFormat: 'json' });
    expect(flagged.wireFormat).toBe('protobuf');
    await flagged.close();
  });
});
