import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { KEY_ECHO_FAULTS, startFakeTinker, type FakeTinkerServer } from '../../backends/tinker/test-support/server.js';
import { main } from '../main.js';

let server: FakeTinkerServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function run(args: string[], env: Record<string, string>) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += String(c)));
  stderr.on('data', (c) => (err += String(c)));
  const code = await main(args, { stdin: new PassThrough(), stdout, stderr, env, cwd: process.cwd() });
  return { code, out, err };
}

describe('mrpo tinker check', () => {
  it('reports the endpoint, session and offered models; exit 1 when --model is not offered', async () => {
    server = await startFakeTinker({ vocabSize: 10, apiKey: 'tml-cli', supportedModels: ['Qwen/Qwen3-VL-30B-A3B-Instruct'] });
    const env = { TINKER_BASE_URL: server.url, TINKER_API_KEY: 'tml-cli' };
    const ok = await run(['tinker', 'check', '--model', 'Qwen/Qwen3-VL-30B-A3B-Instruct'], env);
    expect(ok.code).toBe(0);
    const report = JSON.parse(ok.out);
    expect(report).toMatchObject({ baseUrl: server.url, auth: 'api-key', modelSupported: true, chunkLimits: { maxDatums: 1024, maxBytes: 5_000_000 } });
    expect(report.supportedModels).toEqual([{ model: 'Qwen/Qwen3-VL-30B-A3B-Instruct', maxContextLength: 32768 }]);
    expect(ok.out + ok.err).not.toContain('tml-cli');
    const missing = await run(['tinker', 'check', '--model', 'Qwen/Qwen3-VL-235B-A22B-Instruct'], env);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('does not offer Qwen/Qwen3-VL-235B-A22B-Instruct; it offers: Qwen/Qwen3-VL-30B-A3B-Instruct');
  });

  it('prints the server profile: SkyRL tx (stub client/config), models without context length, no image rendering, the wire the client will use, what it ignores', async () => {
    server = await startFakeTinker({ vocabSize: 10, personality: 'skyrl', supportedModels: ['/models/tiny-qwen3'] });
    const r = await run(['tinker', 'check', '--model', '/models/tiny-qwen3'], { TINKER_BASE_URL: server.url, TINKER_API_KEY: 'tml-dummy' });
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(report).toMatchObject({
      server: { kind: 'skyrl' },
      supportedModels: [{ model: '/models/tiny-qwen3' }],
      model: '/models/tiny-qwen3',
      modelSupported: true,
      contextLength: null,
      rendersImages: false,
      wireFormat: 'protobuf',
      sdkVersion: '0.38.0',
      loraRankLimit: null,
    });
    expect(report.loraRankNote).toContain('default max_lora_rank is 32');
    expect(report.ignoredSettings.map((i: { setting: string }) => i.setting)).toEqual(['gradClip', 'LoRA alpha', 'lora_config.train_unembed']);
    expect(server.hits.get('create_model') ?? 0).toBe(0); // the check creates no model
  });

  it('prints hosted Tinker as rendering images, with context lengths and nothing ignored', async () => {
    server = await startFakeTinker({ vocabSize: 10, supportedModels: ['Qwen/Qwen3-VL-30B-A3B-Instruct'] });
    const r = await run(['tinker', 'check'], { TINKER_BASE_URL: server.url, TINKER_API_KEY: 'tml-dummy' });
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ server: { kind: 'hosted' }, rendersImages: true, ignoredSettings: [], supportedModels: [{ maxContextLength: 32768 }] });
  });

  it('--config: checks the backend block against the server (exit 2 naming backend.images on SkyRL; the JSON wire and its SDK version when asked for)', async () => {
    server = await startFakeTinker({ vocabSize: 10, personality: 'skyrl', supportedModels: ['m'] });
    const env = { TINKER_BASE_URL: server.url, TINKER_API_KEY: 'tml-dummy' };
    const dir = await mkdtemp(join(tmpdir(), 'mrpo-tinker-check-'));
    const vl = join(dir, 'vl.json');
    await writeFile(vl, JSON.stringify({ backend: { name: 'tinker', model: 'm' } }));
    const refused = await run(['tinker', 'check', '--config', vl], env);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/backend\.images: is "send".*SkyRL tx.*backend\.images: omit/);
    const text = join(dir, 'text.yaml');
    await writeFile(text, 'backend:\n  name: tinker\n  model: m\n  images: omit\n  wireFormat: json\n  serverReduction: sequence-mean\n');
    const ok = await run(['tinker', 'check', '--config', text], env);
    expect(ok.code, ok.err).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ wireFormat: 'json', sdkVersion: '0.24.1', modelSupported: true, rendersImages: false });
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ backend: { name: 'tinker', model: 'm', loraRank: 0 } }));
    const badRun = await run(['tinker', 'check', '--config', bad], env);
    expect(badRun.code).toBe(2);
    expect(badRun.err).toContain(`${bad} backend.loraRank`);
  });

  it('exits 2 without TINKER_API_KEY and 1 with a wrong key, never printing the key', async () => {
    server = await startFakeTinker({ vocabSize: 10, apiKey: 'tml-right' });
    const noKey = await run(['tinker', 'check'], { TINKER_BASE_URL: server.url });
    expect(noKey.code).toBe(2);
    expect(noKey.err).toContain('TINKER_API_KEY');
    const wrong = await run(['tinker', 'check'], { TINKER_BASE_URL: server.url, TINKER_API_KEY: 'tml-wrong-secret' });
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain('HTTP 401');
    expect(wrong.err).not.toContain('tml-wrong-secret');
  });

  it.each(KEY_ECHO_FAULTS)('never prints an API key the server echoes in its error body (%s, HTTP %i)', async (route, status) => {
    const key = 'tml-cli-echoed-5150';
    server = await startFakeTinker({ vocabSize: 10, apiKey: key, faults: [{ route, nth: 1, kind: 'status', status, body: { detail: `bad key ${key}` } }] });
    const r = await run(['tinker', 'check'], { TINKER_BASE_URL: server.url, TINKER_API_KEY: key });
    expect(r.code).toBe(1);
    expect(r.err).toContain(`HTTP ${status}`);
    expect(r.err).toContain('bad key [redacted]');
    expect(r.out + r.err).not.toContain(key);
  });
});
