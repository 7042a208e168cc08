/**
 * The Tinker backend over real HTTP against the local test server
 * (test-support/server.ts): MRPO steps end to end with injected faults,
 * the exact per-token advantages on the wire, checkpoints, KL folding,
 * chunking, heartbeat and secrets.
 */
import { mkdtemp, readFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { computeAdvantages } from '../../algo/advantages/index.js';
import { segmentSteps } from '../../algo/steps.js';
import { ConfigError } from '../../errors.js';
import { lengthReward } from '../../rewards/length.js';
import { processReward } from '../../rewards/process.js';
import type { Item, StepLabel } from '../../types.js';
import type { LossSpec, OptimizerSpec, Prompt, SampledCompletion, TrainExample } from '../backend.js';
import { createTinkerBackend, type TinkerBackend, type TinkerBackendDeps } from './backend.js';
import { RequestFailedError } from './calls.js';
import { TinkerBackendConfigSchema, type TinkerBackendConfigInput } from './config.js';
import type { IntervalTimer } from './heartbeat.js';
import { chunkLength } from './render/chat.js';
import { loadTokenizer, type TextTokenizer } from './render/tokenizer.js';
import { BigramPolicy } from './test-support/bigram-policy.js';
import { startFakeTinker, type FakeTinkerOptions, type FakeTinkerServer } from './test-support/server.js';
import { writeTinyTokenizer, type TinyTokenizerInfo } from './test-support/tiny-tokenizer.js';

const KEY = 'tml-test-secret-4242';
let info: TinyTokenizerInfo;
let tokenizer: TextTokenizer;
const open: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  info = await writeTinyTokenizer(await mkdtemp(join(tmpdir(), 'mrpo-tinker-tok-')));
  tokenizer = await loadTokenizer(info.dir);
});
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

/** A timer the test fires by hand. */
function manualTimer(): IntervalTimer & { fire(): void; readonly active: Set<unknown> } {
  const active = new Set<unknown>();
  const callbacks = new Map<unknown, () => void>();
  return {
    active,
    setInterval: (cb) => {
      const h = Symbol('interval');
      active.add(h);
      callbacks.set(h, cb);
      return h;
    },
    clearInterval: (h) => {
      active.delete(h);
      callbacks.delete(h);
    },
    fire: () => {
      for (const h of active) callbacks.get(h)?.();
    },
  };
}

function item(id: string, shade: number): Item {
  return { id, image: { pixels: new Uint8Array(64 * 64).fill(shade), width: 64, height: 64, channels: 1 }, question: `q${id}`, answer: 'left lung', source: 'test' };
}
const prompts: Prompt[] = [
  { item: item('a', 40), text: 'Where is the lesion? Think step by step.' },
  { item: item('b', 200), text: 'Which side? Think step by step.' },
];

async function setup(
  serverOptions: Partial<FakeTinkerOptions> = {},
  config: Partial<TinkerBackendConfigInput> = {},
): Promise<{ server: FakeTinkerServer; backend: TinkerBackend; timer: ReturnType<typeof manualTimer>; warnings: string[] }> {
  // Letters, space, '.', and <|im_end|> are likely; everything else rare.
  const bias = new Map<number, number>();
  for (const ch of 'abehilnorst .') bias.set(ch.charCodeAt(0), 3);
  bias.set(info.special['<|im_end|>'], 1.5);
  const server = await startFakeTinker({ vocabSize: info.vocabSize, apiKey: KEY, bias, ...serverOptions });
  open.push(server);
  const timer = manualTimer();
  const warnings: string[] = [];
  const deps: TinkerBackendDeps = {
    tokenizer,
    timer,
    log: { warn: (m) => warnings.push(m) },
    retry: { backoffBaseMs: 2, backoffMaxMs: 20, serverErrorPollDelayMs: 1, pollTimeoutMs: 10_000, requestTimeoutMs: 10_000 },
  };
  const backend = await createTinkerBackend(
    TinkerBackendConfigSchema.parse({ name: 'tinker', model: 'Qwen/Qwen3-VL-30B-A3B-Instruct', tokenizer: info.dir, loraRank: 8, ...config }),
    { baseUrl: server.url, apiKey: KEY },
    deps,
  );
  open.push(backend);
  return { server, backend, timer, warnings };
}

const sampling = { temperature: 1, maxTokens: 24, seed: 7 };
const optimizer: OptimizerSpec = { learningRate: 0.05, gradClip: 0, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0 };
const pgLoss = (aggregation: LossSpec extends infer L ? (L extends { aggregation: infer A } ? A : never) : never, beta = 0): LossSpec => ({
  kind: 'policy-gradient',
  beta,
  epsLow: 0.2,
  epsHigh: 0.2,
  aggregation,
  constant: 24,
});

/** Deterministic "judge": a step is valid when it contains the letter e. */
const labelsFor = (steps: ReturnType<typeof segmentSteps>): StepLabel[] => steps.map((s) => (s.text.includes('e') ? 1 : 0));

/** Rewards and MRPO per-token advantages for sampled groups, computed by the core library. */
function shape(groups: SampledCompletion[][]) {
  const input = {
    groups: groups.map((g) => ({
      completions: g.map((c) => {
        const steps = segmentSteps(c.text);
        const labels = steps.length > 0 ? labelsFor(steps) : null;
        const answer = c.text.includes('l') ? 0.5 : 0; // a toy answer reward
        return {
          rewards: { answer, process: processReward(labels, steps.length), length: lengthReward(steps.length) },
          steps,
          stepLabels: labels,
          tokenOffsets: c.tokenOffsets,
        };
      }),
    })),
  };
  return computeAdvantages('mrpo', input).value;
}

function examplesFrom(groups: SampledCompletion[][], adv: ReturnType<typeof shape>): TrainExample[] {
  return groups.flatMap((g, p) =>
    g.map((completion, i) => ({ prompt: prompts[p], completion, advantages_T: [...(adv.groups[p].completions[i].tokenAdvantages ?? [])] })),
  );
}

/** Asserts the protocol invariants over everything the server received. */
function assertProtocolInvariants(server: FakeTinkerServer): void {
  expect(server.conflicts.count).toBe(0);
  const byKey = new Map<string, Set<string>>();
  for (const s of server.submissions) {
    const key = `${s.route}|${s.modelId ?? s.samplingSessionId}|${s.seqId}`;
    if (!byKey.has(key)) byKey.set(key, new Set());
    byKey.get(key)!.add(s.bodyHash);
  }
  for (const [key, hashes] of byKey) expect(hashes.size, `${key} submitted with different content`).toBe(1);
  const perModel = new Map<string, number[]>();
  for (const e of server.executed) perModel.set(e.modelId, [...(perModel.get(e.modelId) ?? []), e.seqId]);
  for (const seqs of perModel.values()) expect(seqs).toEqual(seqs.map((_, i) => i + 1));
}

describe('TinkerBackend over HTTP', () => {
  it.each(['json', 'protobuf'] as const)('runs MRPO steps end to end through 408 holds, 429, 5xx, try-again and dropped connections (%s)', async (wireFormat) => {
    const { server, backend, warnings } = await setup({
      holdMs: 5,
      workDelayMs: 15, // longer than the hold: pending futures produce real 408s
      faults: [
        { route: 'create_model', nth: 1, kind: 'status', status: 503, body: { detail: 'warming up' } },
        { route: 'save_weights_for_sampler', nth: 1, kind: 'drop-after' },
        { route: 'asample', nth: 2, kind: 'status', status: 429, headers: { 'retry-after-ms': '3' } },
        { route: 'retrieve_future', nth: 2, kind: 'try-again', queueState: 'paused_rate_limit' },
        { route: 'retrieve_future', nth: 4, kind: 'status', status: 502 },
        { route: 'retrieve_future', nth: 6, kind: 'drop-before' },
        { route: 'forward_backward', nth: 1, kind: 'drop-before' },
        { route: 'optim_step', nth: 1, kind: 'drop-after' },
        { route: 'forward_backward', nth: 3, kind: 'status', status: 500 },
        { route: 'optim_step', nth: 3, kind: 'drop-after' },
      ],
    }, { wireFormat });
    const losses: number[] = [];
    for (let step = 0; step < 3; step++) {
      const groups = await backend.sample(prompts, 4, { ...sampling, seed: 100 + step });
      expect(groups).toHaveLength(2);
      for (const g of groups) {
        expect(g).toHaveLength(4);
        for (const c of g) {
          expect(c.logprobs).toHaveLength(c.tokenIds.length);
          expect(c.tokenOffsets).toHaveLength(c.tokenIds.length);
          expect(c.text).toBe(tokenizer.decode(c.tokenIds));
        }
      }
      const metrics = await backend.train(examplesFrom(groups, shape(groups)), pgLoss('seq-mean-token-mean'), optimizer);
      expect(Number.isFinite(metrics['loss/total'])).toBe(true);
      expect(metrics['tinker/datums']).toBe(8);
      losses.push(metrics['loss/total']);
    }
    assertProtocolInvariants(server);
    // the SDK's ForwardBackwardRequest is {forward_backward_input, model_id, seq_id}: no top-level "type"
    for (const b of server.forwardBackwardBodies) expect(Object.keys(b).filter((k) => k !== 'wire').sort()).toEqual(['forward_backward_input', 'model_id', 'seq_id']);
    // the faults really happened: re-submissions were deduplicated, 408s were served
    expect(server.submissions.filter((s) => s.duplicate).map((s) => s.route).sort()).toEqual(['optim_step', 'optim_step', 'save_weights_for_sampler']);
    expect(server.executed.map((e) => e.route)).toEqual([
      'save_weights_for_sampler', 'forward_backward', 'optim_step',
      'save_weights_for_sampler', 'forward_backward', 'optim_step',
      'save_weights_for_sampler', 'forward_backward', 'optim_step',
    ]);
    expect(warnings.some((w) => w.includes('paused_rate_limit'))).toBe(true);
    expect([...server.apiKeysSeen]).toEqual([KEY]);
    expect(warnings.join('\n')).not.toContain(KEY);
    expect(server.forwardBackwardBodies.every((b) => (b.wire === 'protobuf') === (wireFormat === 'protobuf'))).toBe(true);
  });

  it.each(['json', 'protobuf'] as const)('sends exactly the per-token advantages the core library computed, scaled by the aggregation weight (%s)', async (wireFormat) => {
    const { server, backend } = await setup({}, { wireFormat });
    const wire = (x: number): number => (wireFormat === 'protobuf' ? Math.fround(x) : x); // protobuf tensors are float32
    // Hand-written completions with steps, so that MRPO shapes tokens differently within a completion.
    const texts = [
      '<thinking>The lesion is left. It is in the lung.</thinking><answer>left lung</answer>',
      '<thinking>Bad step. The base is there.</thinking><answer>right</answer>',
      '<thinking>One step only.</thinking><answer>left</answer>',
      '<thinking>Here. Then there. And elsewhere.</thinking><answer>lung</answer>',
    ];
    const group: SampledCompletion[] = texts.map((text) => {
      const tokenIds = [...tokenizer.encode(text), info.special['<|im_end|>']];
      const d = tokenizer.decodeWithOffsets(tokenIds);
      return { text: d.text, tokenIds, logprobs: tokenIds.map((_, t) => -1 - 0.01 * t), tokenOffsets: d.offsets_T, finishReason: 'stop' };
    });
    const rewardsAnswer = [1, 0.1, 0.3, 0];
    const input = {
      groups: [
        {
          completions: group.map((c, i) => {
            const steps = segmentSteps(c.text);
            const stepLabels = labelsFor(steps);
            return { rewards: { answer: rewardsAnswer[i], process: processReward(stepLabels, steps.length), length: lengthReward(steps.length) }, steps, stepLabels, tokenOffsets: c.tokenOffsets };
          }),
        },
      ],
    };
    const adv = computeAdvantages('mrpo', input).value.groups[0].completions;
    // MRPO did shape: some completion has differing token advantages
    expect(adv.some((a) => new Set(a.tokenAdvantages).size > 1)).toBe(true);
    const batch: TrainExample[] = group.map((completion, i) => ({ prompt: prompts[0], completion, advantages_T: [...adv[i].tokenAdvantages!] }));

    const model = { policy: bigramOf(server, backend.modelId) };
    await backend.train(batch, pgLoss('token-mean'), optimizer);

    const body = server.forwardBackwardBodies.at(-1)!;
    expect(body.forward_backward_input.loss_fn).toBe('ppo');
    expect(body.forward_backward_input.loss_fn_config).toEqual({ clip_low_threshold: 0.8, clip_high_threshold: 1.2 });
    const totalTokens = group.reduce((s, c) => s + c.tokenIds.length, 0);
    const promptChunks = await backend.renderPrompt(prompts[0]);
    const P = chunkLength(promptChunks);
    body.forward_backward_input.data.forEach((d: any, b: number) => {
      const T = group[b].tokenIds.length;
      const advSent: number[] = d.loss_fn_inputs.advantages.data;
      expect(advSent).toHaveLength(P + T - 1);
      expect(advSent.slice(0, P - 1).every((x) => x === 0)).toBe(true); // prompt positions
      expect(advSent.slice(P - 1)).toEqual(adv[b].tokenAdvantages!.map((a) => wire(a / totalTokens))); // token-mean weight 1/ΣT
      expect(d.loss_fn_inputs.logprobs.data.slice(P - 1)).toEqual(group[b].logprobs.map(wire));
      expect(d.loss_fn_inputs.target_tokens.data.slice(P - 1)).toEqual(group[b].tokenIds); // targets shifted by one
      const lastPrompt = promptChunks.at(-1);
      expect(d.loss_fn_inputs.target_tokens.data[P - 2]).toBe(lastPrompt?.kind === 'tokens' ? lastPrompt.tokens.at(-1) : -1);
    });
    // The service optimised what was sent: on-policy (r = 1), a positive advantage makes the completion more
    // likely and a negative one less. (Off-policy, PPO's clip would zero the gradient: r ≪ 0.8 with A < 0.)
    const onPolicy = (ex: TrainExample, a: number): TrainExample => ({
      ...ex,
      completion: { ...ex.completion, logprobs: tokenLogprobs(model.policy, ex) },
      advantages_T: ex.advantages_T.map(() => a),
    });
    const noMomentum = { ...optimizer, beta1: 0 }; // each step follows its own gradient
    const one = batch[0];
    const lp0 = sequenceLogprob(model.policy, one);
    await backend.train([onPolicy(one, 1)], pgLoss('token-mean'), noMomentum);
    const lp1 = sequenceLogprob(model.policy, one);
    expect(lp1).toBeGreaterThan(lp0);
    await backend.train([onPolicy(one, -1)], pgLoss('token-mean'), noMomentum);
    expect(sequenceLogprob(model.policy, one)).toBeLessThan(lp1);
  });

  it('fails with a clear error when the service reports a request failed (hosted and SkyRL styles)', async () => {
    for (const errorStyle of ['hosted', 'skyrl'] as const) {
      const { backend, server } = await setup({ errorStyle, faults: [{ route: 'forward_backward', nth: 1, kind: 'fail-request', message: 'datum 3 is too long' }] });
      const groups = await backend.sample(prompts.slice(0, 1), 2, sampling);
      const examples = groups[0].map((completion) => ({ prompt: prompts[0], completion, advantages_T: completion.tokenIds.map(() => 1) }));
      const error = await backend.train(examples, pgLoss('token-mean'), optimizer).catch((e: unknown) => e as Error);
      expect(error).toBeInstanceOf(RequestFailedError);
      expect(error.message).toMatch(/^forward_backward seq 2: the training service reports request req-\d+ failed \(user\): datum 3 is too long$/);
      assertProtocolInvariants(server);
    }
  });

  it('re-submits a sample whose future expired (410) with the same seq_id and content', async () => {
    // retrieve_future #1 is create_model, #2 the sampler weights, #3 the sample
    const { server, backend } = await setup({ faults: [{ route: 'retrieve_future', nth: 3, kind: 'status', status: 410 }] });
    const [group] = await backend.sample(prompts.slice(0, 1), 2, sampling);
    expect(group).toHaveLength(2);
    const samples = server.submissions.filter((s) => s.route === 'asample');
    expect(samples.map((s) => [s.seqId, s.duplicate])).toEqual([
      [0, false],
      [0, true],
    ]);
    assertProtocolInvariants(server);
  });

  it('saves a checkpoint and resumes from it on a fresh model (load_weights first)', async () => {
    const { server, backend } = await setup();
    const groups = await backend.sample(prompts, 2, sampling);
    const examples = groups.flatMap((g, p) => g.map((completion) => ({ prompt: prompts[p], completion, advantages_T: completion.tokenIds.map(() => 0.5) })));
    await backend.train(examples, pgLoss('seq-mean-token-mean'), optimizer);
    const dir = join(await mkdtemp(join(tmpdir(), 'mrpo-ckpt-')), 'step-1');
    await mkdir(dir);
    await backend.save(dir);
    const record = JSON.parse(await readFile(join(dir, 'tinker-checkpoint.json'), 'utf8'));
    expect(record).toMatchObject({ format: 'mrpo-tinker-checkpoint/1', baseModel: 'Qwen/Qwen3-VL-30B-A3B-Instruct', loraRank: 8 });
    expect(record.tinkerPath).toMatch(/^tinker:\/\/model_[0-9a-f]+\/weights\/mrpo-step-1-[0-9a-f]{8}$/);
    expect(JSON.stringify(record)).not.toContain(KEY);
    const atSave = await backend.sample(prompts, 2, { ...sampling, seed: 99 });
    await backend.train(examples, pgLoss('seq-mean-token-mean'), { ...optimizer, learningRate: 0.5 });
    const changed = await backend.sample(prompts, 2, { ...sampling, seed: 99 });
    expect(changed).not.toEqual(atSave);
    const firstModel = backend.modelId;
    await backend.load(dir);
    expect(backend.modelId).not.toBe(firstModel);
    expect(server.models.get(firstModel)!.unloaded).toBe(true);
    expect(server.executed.filter((e) => e.modelId === backend.modelId)[0]).toMatchObject({ seqId: 1, route: 'load_weights' });
    const resumed = await backend.sample(prompts, 2, { ...sampling, seed: 99 });
    expect(resumed).toEqual(atSave);
    assertProtocolInvariants(server);
  });

  it('sends sampling seeds in [0, 2^31-1], deterministic per (seed, prompt), accepted by a SkyRL-like server that rejects wider ones', async () => {
    const { backend, server } = await setup({ personality: 'skyrl' }, { images: 'omit' });
    const bigSeeds = [0xffff_ffff, 2 ** 31, 123_456_789];
    for (const seed of bigSeeds) await backend.sample(prompts, 1, { ...sampling, seed });
    const seeds = server.sampleSeeds as number[];
    expect(seeds).toHaveLength(bigSeeds.length * prompts.length);
    for (const s of seeds) {
      expect(Number.isInteger(s)).toBe(true);
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThanOrEqual(2 ** 31 - 1);
    }
    expect(new Set(seeds).size).toBe(seeds.length); // distinct across seeds and prompts
    await backend.sample(prompts, 1, { ...sampling, seed: 0xffff_ffff });
    expect(seeds.slice(-2)).toEqual(seeds.slice(0, 2)); // same (seed, prompt) → same wire seed
  });

  it('checks forward_backward lengths before optim_step: a server that drops image tokens never gets an optim_step, and the error names the datum', async () => {
    // backend.serverRendersImages: true wrongly claims rendering for a SkyRL JAX server; the length check still catches it.
    const { backend, server } = await setup({ personality: 'skyrl' }, { serverRendersImages: true });
    const groups = await backend.sample(prompts, 2, sampling);
    const batch = examplesFrom(groups, shape(groups));
    const error = await backend.train(batch, pgLoss('token-mean'), optimizer).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/datum 0 has \d+ values of logprobs for the \d+ positions sent/);
    expect(error?.message).toContain('no optim_step was sent');
    expect(server.hits.get('optim_step') ?? 0).toBe(0);
    // the server holds that batch's gradients: nothing further goes to the model
    await expect(backend.train(batch, pgLoss('token-mean'), optimizer)).rejects.toThrow(/restart from the last checkpoint/);
    expect(server.hits.get('optim_step') ?? 0).toBe(0);
  });

  it('with images: omit, prompts are the text-only chat layout (no image chunk) and train on a server that drops image tokens', async () => {
    const { backend, server } = await setup({ personality: 'skyrl' }, { images: 'omit' });
    const expected = tokenizer.encode(`<|im_start|>user\n${prompts[0].text}<|im_end|>\n<|im_start|>assistant\n`);
    expect(await backend.renderPrompt(prompts[0])).toEqual([{ kind: 'tokens', tokens: expected }]);
    const groups = await backend.sample(prompts, 2, sampling);
    const batch = groups.flatMap((g, p) => g.map((completion) => ({ prompt: prompts[p], completion, advantages_T: completion.tokenIds.map((_, t) => (t % 2 ? 1 : -1)) })));
    const metrics = await backend.train(batch, pgLoss('token-mean'), optimizer);
    expect(Number.isFinite(metrics['loss/total'])).toBe(true);
    expect(server.hits.get('optim_step')).toBe(1);
    const body = server.forwardBackwardBodies.at(-1)!;
    body.forward_backward_input.data.forEach((d: any, b: number) => {
      expect(d.model_input.chunks.every((c: any) => c.type === 'encoded_text')).toBe(true);
      const P = b < 2 ? expected.length : tokenizer.encode(`<|im_start|>user\n${prompts[1].text}<|im_end|>\n<|im_start|>assistant\n`).length;
      const sent = d.model_input.chunks.flatMap((c: any) => c.tokens);
      expect(sent.length).toBe(P + batch[b].completion.tokenIds.length - 1); // the input is the sequence minus its last token
    });
  });

  it('refuses a backend.model the server does not list in get_server_capabilities, before create_model', async () => {
    await expect(setup({ supportedModels: ['Qwen/Qwen3-8B'] })).rejects.toThrow(/^backend\.model: the server does not offer "Qwen\/Qwen3-VL-30B-A3B-Instruct"; it offers: Qwen\/Qwen3-8B/);
    const { server } = await setup({ supportedModels: ['Qwen/Qwen3-8B', 'Qwen/Qwen3-VL-30B-A3B-Instruct'] });
    expect(server.hits.get('create_model')).toBe(1);
  });

  it.each(['hosted', 'skyrl'] as const)('rejects β > 0 unless KL folding is on; folded, it sends A + β(exp(ref − old) − 1) per token (%s prompt_logprobs)', async (personality) => {
    const { backend: strict } = await setup();
    const g = await strict.sample(prompts.slice(0, 1), 2, sampling);
    const ex = g[0].map((completion) => ({ prompt: prompts[0], completion, advantages_T: completion.tokenIds.map((_, t) => (t % 2 ? 1 : -1)) }));
    await expect(strict.train(ex, pgLoss('token-mean', 0.04), optimizer)).rejects.toThrow(ConfigError);

    const { backend, server } = await setup({ personality }, { kl: 'fold', ...(personality === 'skyrl' ? { images: 'omit' as const } : {}) });
    const groups = await backend.sample(prompts.slice(0, 1), 2, sampling);
    const batch = groups[0].map((completion) => ({ prompt: prompts[0], completion, advantages_T: completion.tokenIds.map((_, t) => (t % 2 ? 1 : -1)) }));
    // The base model of the test server is the untrained initial policy; perturb the trained one first so ref ≠ old.
    await backend.train(batch, pgLoss('token-mean'), { ...optimizer, learningRate: 0.3 });
    const fresh = await backend.sample(prompts.slice(0, 1), 2, { ...sampling, seed: 3 });
    const batch2 = fresh[0].map((completion) => ({ prompt: prompts[0], completion, advantages_T: completion.tokenIds.map((_, t) => (t % 3 ? 0.5 : -0.5)) }));
    const metrics = await backend.train(batch2, pgLoss('token-mean', 0.04), optimizer);
    expect(metrics['loss/kl']).toBeGreaterThan(0);
    const base = new BigramPolicy(info.vocabSize, 1, serverBias());
    const P = chunkLength(await backend.renderPrompt(prompts[0]));
    const totalTokens = batch2.reduce((s, e) => s + e.completion.tokenIds.length, 0);
    const body = server.forwardBackwardBodies.at(-1)!;
    body.forward_backward_input.data.forEach((d: any, b: number) => {
      const ex = batch2[b];
      const input = [...d.model_input.chunks.flatMap((c: any) => (c.type === 'encoded_text' ? c.tokens : new Array(c.expected_tokens).fill(0)))];
      const ref = ex.completion.tokenIds.map((tok, t) => BigramPolicy.logProbs(base.W, info.vocabSize, input[P - 1 + t])[tok]);
      const expected = ex.advantages_T.map((a, t) => ((a + 0.04 * (Math.exp(ref[t] - ex.completion.logprobs[t]) - 1)) / totalTokens));
      const sent: number[] = d.loss_fn_inputs.advantages.data.slice(P - 1);
      sent.forEach((x, t) => expect(x).toBeCloseTo(expected[t], 6)); // float32 on the wire in principle; JSON keeps doubles
    });
  });

  it('splits forward_backward into chunks under the server limit, in seq order; optim_step only after every chunk result was checked', async () => {
    const { server, backend } = await setup({ clientConfig: { fwdbwd_max_chunk_len: 3 } });
    const groups = await backend.sample(prompts, 4, sampling);
    const examples = groups.flatMap((g, p) => g.map((completion) => ({ prompt: prompts[p], completion, advantages_T: completion.tokenIds.map(() => 1) })));
    const metrics = await backend.train(examples, pgLoss('seq-mean-token-mean'), optimizer);
    // not pipelined: optim_step is submitted after the last forward_backward chunk's result arrived (its lengths are checked first)
    const submitted = server.arrivals.findIndex((a) => a.startsWith('optim_step '));
    const fbIds = server.arrivals.filter((a) => a.startsWith('forward_backward ')).map((a) => a.split(' ')[1]);
    const lastPoll = server.arrivals.findLastIndex((a) => fbIds.some((id) => a === `retrieve_future ${id}`));
    expect(lastPoll).toBeGreaterThan(0);
    expect(submitted).toBeGreaterThan(lastPoll);
    const fb = server.executed.filter((e) => e.route === 'forward_backward').map((e) => e.seqId);
    expect(fb).toEqual([2, 3, 4]); // 8 datums → 3 + 3 + 2; seq 1 was the sampler weights
    expect(server.forwardBackwardBodies.map((b) => b.forward_backward_input.data.length)).toEqual([3, 3, 2]);
    expect(server.executed.at(-1)).toMatchObject({ route: 'optim_step', seqId: 5 });
    expect(Number.isFinite(metrics['tinker/loss:sum'])).toBe(true);
    assertProtocolInvariants(server);
  });

  it("makes the service's reduction equal the chosen aggregation, for summing (hosted) and sequence-mean (SkyRL) servers", async () => {
    for (const reduction of ['sum', 'sequence-mean'] as const) {
      for (const aggregation of ['seq-mean-token-mean', 'token-mean', 'seq-sum-const'] as const) {
        const { backend } = await setup({ reduction }, { serverReduction: reduction, wireFormat: 'json' }); // JSON keeps doubles: exact comparisons
        const groups = await backend.sample(prompts, 3, sampling);
        const examples = groups.flatMap((g, p) => g.map((completion) => ({ prompt: prompts[p], completion, advantages_T: completion.tokenIds.map((_, t) => Math.sin(t + p)) })));
        const m = await backend.train(examples, pgLoss(aggregation), optimizer);
        // loss/total is recomputed on the client from the learner log-probs with the *unscaled* advantages
        expect(m['tinker/loss:sum']).toBeCloseTo(m['loss/total'], 9);
        expect(Math.abs(m['loss/total'])).toBeGreaterThan(1e-6);
        await backend.close();
      }
    }
  });

  it('trains SFT with cross_entropy: target = the text + <|im_end|>, weight 1/ΣT on its positions', async () => {
    const { server, backend } = await setup({}, { wireFormat: 'json' }); // JSON keeps doubles: exact weights on the wire
    const texts = ['<thinking>The lung.</thinking><answer>left</answer>', '<answer>no</answer>'];
    const batch: TrainExample[] = texts.map((text) => ({
      prompt: prompts[1],
      completion: { text, tokenIds: [], logprobs: [], tokenOffsets: [], finishReason: 'stop' },
      advantages_T: [],
    }));
    const m = await backend.train(batch, { kind: 'sft' }, optimizer);
    const body = server.forwardBackwardBodies.at(-1)!;
    expect(body.forward_backward_input.loss_fn).toBe('cross_entropy');
    const targets = texts.map((t) => [...tokenizer.encode(t), info.special['<|im_end|>']]);
    const total = targets[0].length + targets[1].length;
    const P = chunkLength(await backend.renderPrompt(prompts[1]));
    body.forward_backward_input.data.forEach((d: any, b: number) => {
      expect(d.loss_fn_inputs.target_tokens.data.slice(P - 1)).toEqual(targets[b]);
      expect(d.loss_fn_inputs.weights.data.slice(0, P - 1).every((w: number) => w === 0)).toBe(true);
      expect(d.loss_fn_inputs.weights.data.slice(P - 1)).toEqual(targets[b].map(() => 1 / total));
    });
    // the service's summed weighted NLL is the token-mean NLL the backend reports
    expect(m['tinker/loss:sum']).toBeCloseTo(m['loss/total'], 9);
  });

  it('close() stops a training step that is still waiting for the service, and unloads the model', async () => {
    const { server, backend } = await setup({ holdMs: 20 });
    const groups = await backend.sample(prompts.slice(0, 1), 2, sampling);
    const examples = groups[0].map((completion) => ({ prompt: prompts[0], completion, advantages_T: completion.tokenIds.map(() => 1) }));
    // from now on every request executes only after 3 s: the step's futures stay pending
    server.setWorkDelay(3_000);
    const step = backend.train(examples, pgLoss('token-mean'), optimizer).catch((e: unknown) => e as Error);
    await vi.waitFor(() => expect(server.arrivals.some((a) => a.startsWith('retrieve_future') && server.arrivals.some((b) => b.startsWith('optim_step')))).toBe(true), { timeout: 10_000 });
    await backend.close();
    const error = await step;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toMatch(/stopped because the Tinker client was closed/);
    expect(server.models.get(backend.modelId)!.unloaded).toBe(true);
  });

  it('beats the session heartbeat on the injected timer and stops it on close', async () => {
    const { server, backend, timer } = await setup();
    expect(timer.active.size).toBe(1);
    timer.fire();
    timer.fire();
    await vi.waitFor(() => expect(server.heartbeats.count).toBe(2), { timeout: 10_000 });
    await backend.close();
    expect(timer.active.size).toBe(0);
    timer.fire();
    await new Promise((r) => setTimeout(r, 20));
    expect(server.heartbeats.count).toBe(2);
    expect([...server.models.values()].every((m) => m.unloaded)).toBe(true);
    await expect(backend.sample(prompts, 1, sampling)).rejects.toThrow(/closed/);
  });
});

/** The bigram model behind a training model of the test server. */
function bigramOf(server: FakeTinkerServer, modelId: string): BigramPolicy {
  return (server.models.get(modelId)!.policy as unknown as { policy: BigramPolicy }).policy;
}

function serverBias(): Map<number, number> {
  const bias = new Map<number, number>();
  for (const ch of 'abehilnorst .') bias.set(ch.charCodeAt(0), 3);
  bias.set(info.special['<|im_end|>'], 1.5);
  return bias;
}

/** log π(token | previous) of each completion token under the server's current weights. */
function tokenLogprobs(policy: BigramPolicy, ex: TrainExample): number[] {
  // The bigram model only looks at the previous token: the last prompt token precedes the completion.
  let prev = imEndAssistantPrefixLast();
  return ex.completion.tokenIds.map((tok) => {
    const lp = BigramPolicy.logProbs(policy.W, info.vocabSize, prev)[tok];
    prev = tok;
    return lp;
  });
}

function sequenceLogprob(policy: BigramPolicy, ex: TrainExample): number {
  return tokenLogprobs(policy, ex).reduce((s, x) => s + x, 0);
}

/** The prompt ends with "<|im_start|>assistant\n": its last token is the newline byte. */
function imEndAssistantPrefixLast(): number {
  return '\n'.charCodeAt(0);
}
