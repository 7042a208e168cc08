/**
 * A full MRPO run through the training loop (src/train/loop.ts) with the
 * Tinker backend, over real HTTP to the local test server backed by the
 * embedded CPU policy — with injected faults — then a resume from the run's
 * checkpoint in a new backend (as a restarted process would); once with the
 * JSON wire format and once with protobuf. Then on text items against both
 * personalities of the test server (hosted Tinker and SkyRL tx), and a VL
 * config refused by SkyRL before any training request.
 */
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WordTokenizer } from '../embedded/tokenizer.js';
import { syntheticCorpus } from '../../data/synthetic/index.js';
import { createTask } from '../../cli/training-setup.js';
import { TrainConfigSchema } from '../../train/config.js';
import { runTraining } from '../../train/loop.js';
import { createTinkerBackend, type TinkerBackend } from './backend.js';
import { TinkerBackendConfigSchema } from './config.js';
import { embeddedFactory, writeEmbeddedHfTokenizer } from './test-support/embedded-server-policy.js';
import { startFakeTinker, type FakeTinkerServer } from './test-support/server.js';

const KEY = 'tml-e2e-key';
let vocab: readonly string[];
let ids: Awaited<ReturnType<typeof writeEmbeddedHfTokenizer>>;
let tokenizerDir: string;
const open: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  vocab = WordTokenizer.fromCorpus(syntheticCorpus()).vocab;
  tokenizerDir = await mkdtemp(join(tmpdir(), 'mrpo-e2e-tok-'));
  ids = await writeEmbeddedHfTokenizer(tokenizerDir, vocab);
});
afterAll(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function startServer(): Promise<FakeTinkerServer> {
  const server = await startFakeTinker({
    vocabSize: ids.vocabSize,
    apiKey: KEY,
    holdMs: 20,
    policy: embeddedFactory({ vocab, ids, seed: 11, model: { dModel: 32, layers: 1, heads: 2, ffDim: 64, imageSize: 16, patchSize: 8 } }),
    faults: [
      { route: 'create_model', nth: 1, kind: 'status', status: 502 },
      { route: 'asample', nth: 3, kind: 'drop-after' },
      { route: 'forward_backward', nth: 1, kind: 'drop-after' },
      { route: 'optim_step', nth: 2, kind: 'status', status: 429, headers: { 'retry-after': '0.01' } },
      { route: 'retrieve_future', nth: 5, kind: 'status', status: 503 },
      { route: 'retrieve_future', nth: 9, kind: 'drop-before' },
      { route: 'save_weights', nth: 1, kind: 'drop-after' },
    ],
  });
  open.push(server);
  return server;
}

async function newBackend(server: FakeTinkerServer, wireFormat: 'json' | 'protobuf'): Promise<TinkerBackend> {
  const b = await createTinkerBackend(
    TinkerBackendConfigSchema.parse({ name: 'tinker', model: 'Qwen/Qwen3-VL-30B-A3B-Instruct', tokenizer: tokenizerDir, loraRank: 4, wireFormat }),
    { baseUrl: server.url, apiKey: KEY },
    { retry: { backoffBaseMs: 2, backoffMaxMs: 20, serverErrorPollDelayMs: 1, pollTimeoutMs: 20_000, requestTimeoutMs: 20_000 } },
  );
  open.push(b);
  return b;
}

/** The small MRPO run both suites train (beta 0: the service has no KL term, backend.kl = reject). */
const LOOP = {
  algorithm: 'mrpo',
  promptsPerStep: 2,
  groupSize: 4,
  maxTokens: 24,
  beta: 0,
  learningRate: 3e-3,
  evalInterval: 0,
  evalSize: 2,
  checkpointInterval: 1,
  samplesPerStep: 1,
  dataset: { trainSize: 8, testSize: 2 },
} as const;

describe('MRPO through the training loop over the Tinker API (embedded policy behind the server)', () => {
  it.each(['json', 'protobuf'] as const)('trains, checkpoints and resumes; nothing is submitted twice with different content; seq_ids stay ordered (%s)', async (wireFormat) => {
    const server = await startServer();
    const runDir = join(await mkdtemp(join(tmpdir(), 'mrpo-e2e-run-')), 'run');
    const base = { ...LOOP, seed: 5 } as const;
    const first = TrainConfigSchema.parse({ ...base, steps: 2 });
    const result = await runTraining({ config: first, runDir, backend: await newBackend(server, wireFormat), task: await createTask(first) });
    expect(result.lastStep).toBe(2);
    const lines = (await readFile(join(runDir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    const trainLines = lines.filter((l) => 'loss/total' in l);
    expect(trainLines).toHaveLength(2);
    for (const l of trainLines) {
      // Three computations of the step's objective agree: the client's (from the learner's log-probs and the
      // unscaled advantages, aggregated seq-mean-token-mean), the service's summed loss of the scaled
      // advantages, and the embedded policy's own loss with all-ones weights.
      expect(Number.isFinite(l['loss/total'])).toBe(true);
      // (protobuf carries float32 tensors, hence the looser match there)
      const digits = wireFormat === 'json' ? 6 : 4;
      expect(l['tinker/loss:sum']).toBeCloseTo(l['loss/total'], digits);
      expect(l['tinker/optim/loss/total:mean']).toBeCloseTo(l['loss/total'], digits);
    }
    const ckpts = (await readdir(join(runDir, 'checkpoints'))).filter((n) => n.startsWith('step-'));
    expect(ckpts.length).toBeGreaterThan(0);
    const record = JSON.parse(await readFile(join(runDir, 'checkpoints', 'step-2', 'policy', 'tinker-checkpoint.json'), 'utf8'));
    expect(record.tinkerPath).toMatch(/^tinker:\/\//);

    // Resume in a fresh backend (a restarted process): the latest checkpoint is loaded into a new model.
    const second = TrainConfigSchema.parse({ ...base, steps: 3 });
    const resumed = await runTraining({ config: second, runDir, backend: await newBackend(server, wireFormat), task: await createTask(second), resume: true });
    expect(resumed.resumedFrom).toBe(2);
    expect(resumed.lastStep).toBe(3);

    expect(server.forwardBackwardBodies.length).toBeGreaterThan(0);
    expect(server.forwardBackwardBodies.every((b) => (b.wire === 'protobuf') === (wireFormat === 'protobuf'))).toBe(true);

    // Protocol invariants over everything the server received.
    expect(server.conflicts.count).toBe(0);
    const contents = new Map<string, Set<string>>();
    for (const s of server.submissions) {
      const key = `${s.route}|${s.modelId ?? s.samplingSessionId}|${s.seqId}`;
      contents.set(key, (contents.get(key) ?? new Set()).add(s.bodyHash));
    }
    for (const [key, hashes] of contents) expect(hashes.size, key).toBe(1);
    expect(server.submissions.some((s) => s.duplicate)).toBe(true); // the dropped connections did cause re-submissions
    const perModel = new Map<string, number[]>();
    for (const e of server.executed) perModel.set(e.modelId, [...(perModel.get(e.modelId) ?? []), e.seqId]);
    expect(perModel.size).toBe(2); // the first run's model and the resumed one
    for (const seqs of perModel.values()) expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    const resumedModel = [...perModel.keys()][1];
    expect(server.executed.find((e) => e.modelId === resumedModel)).toMatchObject({ seqId: 1, route: 'load_weights' });
  });
});

describe('MRPO on text items against both server personalities (hosted Tinker, SkyRL tx)', () => {
  const MODEL = 'Qwen/Qwen3-VL-30B-A3B-Instruct';
  const base = { ...LOOP, seed: 9 } as const;

  /** `faults: false` for runs through the CLI, whose default retry back-off is seconds. */
  async function personalityServer(personality: 'hosted' | 'skyrl', faults = true): Promise<FakeTinkerServer> {
    const server = await startFakeTinker({
      vocabSize: ids.vocabSize,
      apiKey: KEY,
      holdMs: 20,
      personality,
      supportedModels: [MODEL],
      policy: embeddedFactory({ vocab, ids, seed: 13, model: { dModel: 32, layers: 1, heads: 2, ffDim: 64, imageSize: 16, patchSize: 8 } }),
      faults: faults
        ? [
            { route: 'asample', nth: 2, kind: 'drop-after' },
            { route: 'forward_backward', nth: 1, kind: 'drop-after' },
            { route: 'retrieve_future', nth: 4, kind: 'status', status: 503 },
            // hosted: the retry gets the original future; SkyRL: 409 "already exists", taken as saved
            { route: 'save_weights', nth: 1, kind: 'drop-after' },
          ]
        : [],
    });
    open.push(server);
    return server;
  }

  async function textBackend(server: FakeTinkerServer, warnings: string[], images: 'send' | 'omit' = 'omit'): Promise<TinkerBackend> {
    const b = await createTinkerBackend(
      // The embedded policy behind the test server sums its loss whatever the personality, hence serverReduction: sum.
      TinkerBackendConfigSchema.parse({ name: 'tinker', model: MODEL, tokenizer: tokenizerDir, loraRank: 4, images, serverReduction: 'sum' }),
      { baseUrl: server.url, apiKey: KEY },
      { log: { warn: (m) => warnings.push(m) }, retry: { backoffBaseMs: 2, backoffMaxMs: 20, serverErrorPollDelayMs: 1, pollTimeoutMs: 20_000, requestTimeoutMs: 20_000 } },
    );
    open.push(b);
    return b;
  }

  it.each(['hosted', 'skyrl'] as const)('trains 2 steps, checkpoints, resumes to step 3 (%s; images: omit)', async (personality) => {
    const server = await personalityServer(personality);
    const runDir = join(await mkdtemp(join(tmpdir(), `mrpo-e2e-${personality}-`)), 'run');
    const warnings: string[] = [];
    const first = TrainConfigSchema.parse({ ...base, steps: 2 });
    const backend = await textBackend(server, warnings);
    expect(backend.serverProfile.kind).toBe(personality);
    expect((await runTraining({ config: first, runDir, backend, task: await createTask(first) })).lastStep).toBe(2);
    const second = TrainConfigSchema.parse({ ...base, steps: 3 });
    const resumed = await runTraining({ config: second, runDir, backend: await textBackend(server, warnings), task: await createTask(second), resume: true });
    expect(resumed).toMatchObject({ resumedFrom: 2, lastStep: 3 });

    const trainLines = (await readFile(join(runDir, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, number>)
      .filter((l) => 'loss/total' in l);
    expect(trainLines).toHaveLength(3);
    for (const l of trainLines) {
      expect(Number.isFinite(l['loss/total'])).toBe(true);
      if (personality === 'hosted') expect(l['tinker/loss:sum']).toBeCloseTo(l['loss/total'], 4);
      else {
        // SkyRL: forward_backward metrics {}, optim metrics skyrl.ai/* (the learning rate of the schedule, ≤ the configured one)
        expect(l['tinker/loss:sum']).toBeUndefined();
        expect(l['tinker/optim/skyrl.ai/learning_rate']).toBeGreaterThan(0);
        expect(l['tinker/optim/skyrl.ai/learning_rate']).toBeLessThanOrEqual(base.learningRate);
      }
    }
    // One warning line per setting SkyRL ignores, per backend created; none on hosted.
    expect(warnings.filter((w) => w.startsWith('SkyRL tx ignores'))).toHaveLength(personality === 'skyrl' ? 2 * 4 : 0);
    // SkyRL refused the retry of the save whose answer was dropped (409 "already exists"); taken as saved
    expect(warnings.filter((w) => w.includes('taking it as saved'))).toHaveLength(personality === 'skyrl' ? 1 : 0);
    expect(warnings.filter((w) => !w.startsWith('SkyRL tx ignores') && !w.includes('taking it as saved'))).toEqual([]);
    // Text only on the wire; seeds a SkyRL JAX sampler accepts; seq order and content invariants.
    for (const b of server.forwardBackwardBodies) for (const d of b.forward_backward_input.data) expect(d.model_input.chunks.every((c: { type: string }) => c.type === 'encoded_text')).toBe(true);
    for (const seed of server.sampleSeeds as number[]) expect(seed).toBeLessThanOrEqual(2 ** 31 - 1);
    expect(server.conflicts.count).toBe(0);
    const perModel = new Map<string, number[]>();
    for (const e of server.executed) perModel.set(e.modelId, [...(perModel.get(e.modelId) ?? []), e.seqId]);
    expect(perModel.size).toBe(2);
    for (const seqs of perModel.values()) expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(server.submissions.some((x) => x.duplicate)).toBe(true); // the dropped answers were re-submitted
  });

  it('a VL config (images: send) against SkyRL is refused before any training request, naming backend.images', async () => {
    const server = await personalityServer('skyrl');
    const error = await textBackend(server, [], 'send').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/^backend\.images: is "send".*SkyRL tx.*backend\.images: omit/);
    for (const route of ['create_model', 'forward_backward', 'optim_step', 'asample', 'save_weights_for_sampler']) expect(server.hits.get(route) ?? 0, route).toBe(0);
  });

  it('mrpo train on SkyRL with images: omit trains, and says once on stderr per setting SkyRL ignores', async () => {
    const { main } = await import('../../cli/main.js');
    const { memoryIo } = await import('../../cli/test-support/memory-io.js');
    const { writeFile } = await import('node:fs/promises');
    const server = await personalityServer('skyrl', false);
    const dir = await mkdtemp(join(tmpdir(), 'mrpo-cli-skyrl-text-'));
    const configPath = join(dir, 'config.json');
    const backend = { name: 'tinker', model: MODEL, tokenizer: tokenizerDir, loraRank: 4, images: 'omit', serverReduction: 'sequence-mean' };
    await writeFile(configPath, JSON.stringify({ ...base, steps: 1, backend }));
    const io = memoryIo('', { TINKER_BASE_URL: server.url, TINKER_API_KEY: KEY }, dir);
    const code = await main(['train', '--config', configPath, '--out', join(dir, 'run')], io);
    expect(code, io.err()).toBe(0);
    const lines = io.err().split('\n').filter((l) => l.includes('SkyRL tx ignores'));
    expect(lines.map((l) => /ignores ([^:]+):/.exec(l)?.[1])).toEqual(['gradClip', 'LoRA alpha', 'lora_config.train_unembed']);
  });

  it('mrpo train with a VL config against SkyRL exits 2 with one line naming backend.images and leaves no run directory', async () => {
    const { main } = await import('../../cli/main.js');
    const { memoryIo } = await import('../../cli/test-support/memory-io.js');
    const { writeFile, stat } = await import('node:fs/promises');
    const server = await personalityServer('skyrl', false);
    const dir = await mkdtemp(join(tmpdir(), 'mrpo-cli-skyrl-vl-'));
    const configPath = join(dir, 'config.json');
    await writeFile(configPath, JSON.stringify({ ...base, steps: 1, backend: { name: 'tinker', model: MODEL, tokenizer: tokenizerDir, loraRank: 4 } }));
    const io = memoryIo('', { TINKER_BASE_URL: server.url, TINKER_API_KEY: KEY }, dir);
    const code = await main(['train', '--config', configPath, '--out', join(dir, 'run')], io);
    expect(code).toBe(2);
    expect(io.err()).toMatch(/backend\.images: is "send"/);
    expect(server.hits.get('create_model') ?? 0).toBe(0);
    await expect(stat(join(dir, 'run'))).rejects.toThrow(); // validated before any output is created
  });
});

describe('mrpo train selects the Tinker backend from the config (composition root)', () => {
  it('runs `mrpo train --config` with backend.name tinker against the server named by TINKER_BASE_URL', async () => {
    const { main } = await import('../../cli/main.js');
    const { memoryIo } = await import('../../cli/test-support/memory-io.js');
    const { writeFile } = await import('node:fs/promises');
    const server = await startFakeTinker({
      vocabSize: ids.vocabSize,
      apiKey: KEY,
      holdMs: 5,
      policy: embeddedFactory({ vocab, ids, seed: 3, model: { dModel: 32, layers: 1, heads: 2, ffDim: 64, imageSize: 16, patchSize: 8 } }),
    });
    open.push(server);
    const dir = await mkdtemp(join(tmpdir(), 'mrpo-cli-tinker-'));
    const configPath = join(dir, 'config.json');
    const config = {
      algorithm: 'mrpo',
      steps: 1,
      promptsPerStep: 2,
      groupSize: 2,
      maxTokens: 16,
      beta: 0,
      evalInterval: 0,
      checkpointInterval: 1,
      dataset: { trainSize: 4, testSize: 2 },
      backend: { name: 'tinker', model: 'Qwen/Qwen3-VL-30B-A3B-Instruct', tokenizer: tokenizerDir, loraRank: 4 },
    };
    await writeFile(configPath, JSON.stringify(config));
    const io = memoryIo('', { TINKER_BASE_URL: server.url, TINKER_API_KEY: KEY }, dir);
    const code = await main(['train', '--config', configPath, '--out', join(dir, 'run')], io);
    expect(io.err()).not.toContain(KEY);
    expect(code, io.err()).toBe(0);
    const saved = JSON.parse(await readFile(join(dir, 'run', 'config.json'), 'utf8')) as { backend: { name: string; model: string } };
    expect(saved.backend).toMatchObject({ name: 'tinker', model: 'Qwen/Qwen3-VL-30B-A3B-Instruct' });
    const metrics = (await readFile(join(dir, 'run', 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(metrics.some((m) => m.step === 1 && typeof m['reward/total'] === 'number')).toBe(true);
  });

  it('names the bad key of a tinker backend block', async () => {
    const { createBackend } = await import('../../cli/training-setup.js');
    const config = TrainConfigSchema.parse({ backend: { name: 'tinker', loraRank: 4 } });
    await expect(createBackend(config, { TINKER_BASE_URL: 'http://127.0.0.1:9', TINKER_API_KEY: KEY })).rejects.toThrow(/model/);
  });
});
