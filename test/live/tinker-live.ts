/**
 * `npm run test:live`: the live conformance test of the Tinker backend against
 * whatever server TINKER_BASE_URL names (hosted Tinker, or a self-hosted
 * SkyRL tx server). It runs the real product, as a user would:
 *
 *   1. `mrpo train` (a child process) runs MRPO on text items (and on image
 *      items too when the server renders images) through a
 *      recording proxy, checkpointing every step; it is killed with SIGKILL as
 *      soon as its step-2 checkpoint exists;
 *   2. `mrpo train --resume` continues the run to its last step;
 *   3. checks: both processes behaved, every step is in metrics.jsonl once
 *      with a finite loss, per-model seq_ids went 1, 2, 3 … in order, a
 *      repeated submission always carried the same content, the resumed model
 *      began with load_weights, no optim_step was applied twice, and the
 *      trained weights differ from the base model's (prompt log-probs of a
 *      fixed sequence, base sampler vs the final checkpoint's sampler).
 *
 * Without TINKER_BASE_URL it prints one line saying why it is skipped and
 * exits 0. Settings (environment): TINKER_API_KEY (required; SkyRL accepts any
 * value), MRPO_LIVE_MODEL (default: the first model the server lists),
 * MRPO_LIVE_TOKENIZER (default: MRPO_LIVE_MODEL, when it is a directory),
 * MRPO_LIVE_WIRE (protobuf | json | both; default protobuf),
 * MRPO_LIVE_REDUCTION (sum | sequence-mean; default sequence-mean when the
 * server is recognised as SkyRL tx, else sum), MRPO_LIVE_SERVER_RENDERS_IMAGES=1
 * (a SkyRL fsdp/megatron server: also run image items), MRPO_LIVE_STEPS
 * (default 4, at least 3), MRPO_LIVE_KEEP=1 keeps the run directories.
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TinkerClient } from '../../src/backends/tinker/client.js';
import { probeServer, type ServerProfile } from '../../src/backends/tinker/server-profile.js';
import { normalisePromptLogprobs } from '../../src/backends/tinker/backend.js';
import { createRenderer } from '../../src/backends/tinker/render/chat.js';
import { loadTokenizer } from '../../src/backends/tinker/render/tokenizer.js';
import { type Check, protocolChecks } from './checks.js';
import { startRecordingProxy } from './recording-proxy.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const env = process.env;

type Wire = 'json' | 'protobuf';
type Images = 'omit' | 'send';

function log(line: string): void {
  process.stdout.write(`[test:live ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

function fail(message: string): never {
  process.stderr.write(`test:live: ${message}\n`);
  process.exit(2);
}

/** Runs `mrpo` (from source, as `npm run mrpo` does) and resolves with its exit code or signal; `onTick` may kill it. */
function runMrpo(args: readonly string[], childEnv: NodeJS.ProcessEnv, logFile: string, onTick?: (kill: () => void) => void): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString('utf8');
    });
    const timer = onTick === undefined ? undefined : setInterval(() => onTick(() => child.kill('SIGKILL')), 25);
    child.on('exit', (code, signal) => {
      if (timer !== undefined) clearInterval(timer);
      void writeFile(logFile, output).then(() => done({ code, signal, output }));
    });
  });
}

async function weightsMoved(baseUrl: string, apiKey: string, wire: Wire, model: string, tokenizer: string, rank: number, tinkerPath: string): Promise<Check> {
  const client = await TinkerClient.connect({ baseUrl, apiKey, wireFormat: wire, tags: ['mrpo-test-live'] });
  try {
    // A rendered user turn (the layout the run's prompts have) followed by a fixed answer, as one token chunk.
    const text = await loadTokenizer(tokenizer);
    const turn = await createRenderer('qwen3-vl', text).renderPrompt({ text: 'What abnormality is seen in this image?' }, () => 0);
    const tokens = [...turn.flatMap((c) => (c.kind === 'tokens' ? c.tokens : [])), ...text.encode('<think> The lesion is bright. </think><answer> nodule </answer>')];
    const request = { prompt: [{ kind: 'tokens' as const, tokens }], numSamples: 1, params: { max_tokens: 1, temperature: 1, top_k: -1, top_p: 1, stop: [], seed: 1 }, promptLogprobs: true };
    const base = await (await client.createSamplingSession({ baseModel: model })).sample(request);
    const trained = await client.createModel({ baseModel: model, rank });
    await trained.loadWeights(tinkerPath, false);
    const after = await (await trained.samplerForCurrentWeights()).sample(request);
    const a = normalisePromptLogprobs(base.prompt_logprobs, tokens.length) ?? [];
    const b = normalisePromptLogprobs(after.prompt_logprobs, tokens.length) ?? [];
    if (a.length !== tokens.length || b.length !== tokens.length)
      return { name: 'the trained weights differ from the base model', ok: false, detail: `prompt_logprobs lengths ${a.length} / ${b.length} for ${tokens.length} tokens` };
    let maxDiff = 0;
    for (let i = 1; i < tokens.length; i++) maxDiff = Math.max(maxDiff, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
    return { name: 'the trained weights differ from the base model', ok: maxDiff > 1e-5, detail: `max |Δ log p| over ${tokens.length - 1} prompt tokens = ${maxDiff.toExponential(3)}` };
  } finally {
    await client.close();
  }
}

/** The step of the newest complete checkpoint (a `step-N` directory with its trainer.json). */
async function latestCheckpoint(runDir: string): Promise<number> {
  const names = await readdir(join(runDir, 'checkpoints'));
  const steps = names.map((n) => /^step-(\d+)$/.exec(n)).filter((m) => m !== null && existsSync(join(runDir, 'checkpoints', m[0], 'trainer.json'))).map((m) => Number((m as RegExpExecArray)[1]));
  return Math.max(0, ...steps);
}

async function runOnce(wire: Wire, images: Images, setup: { baseUrl: string; apiKey: string; model: string; tokenizer: string; reduction: string; steps: number }): Promise<Check[]> {
  const proxy = await startRecordingProxy(setup.baseUrl);
  const dir = await mkdtemp(join(tmpdir(), `mrpo-live-${wire}-${images}-`));
  const runDir = join(dir, 'run');
  const rank = 4;
  const samplesPerStep = 1;
  const config = {
    algorithm: 'mrpo',
    seed: 3,
    steps: setup.steps,
    promptsPerStep: 2,
    groupSize: 4,
    maxTokens: 24,
    temperature: 1,
    beta: 0,
    learningRate: 1e-2,
    evalInterval: 0,
    evalSize: 2,
    checkpointInterval: 1,
    samplesPerStep,
    dataset: { name: 'synthetic', trainSize: 8, testSize: 2 },
    backend: { name: 'tinker', model: setup.model, tokenizer: setup.tokenizer, loraRank: rank, images, wireFormat: wire, serverReduction: setup.reduction, ...(images === 'send' ? { serverRendersImages: true } : {}) },
  };
  const configPath = join(dir, 'config.json');
  await writeFile(configPath, JSON.stringify(config, null, 2));
  const childEnv = { ...env, TINKER_BASE_URL: proxy.url, TINKER_API_KEY: setup.apiKey };
  const checks: Check[] = [];
  try {
    log(`${wire}/${images}: mrpo train (${setup.steps} steps), killed with SIGKILL once checkpoints/step-2 exists; logs in ${dir}`);
    const killAt = join(runDir, 'checkpoints', 'step-2', 'trainer.json');
    let killed = false;
    const first = await runMrpo(['train', '--config', configPath, '--out', runDir, '--no-report'], childEnv, join(dir, 'first.log'), (kill) => {
      if (!killed && existsSync(killAt)) {
        killed = true;
        kill();
      }
    });
    checks.push({ name: 'first run was killed with SIGKILL after its step-2 checkpoint', ok: first.signal === 'SIGKILL', detail: first.signal ?? `exit ${first.code}: ${first.output.trim().split('\n').slice(-3).join(' | ')}` });
    if (first.signal !== 'SIGKILL') return checks;
    const before = proxy.submissions.length;
    const resumedFrom = await latestCheckpoint(runDir);
    log(`${wire}: killed; mrpo train --resume (from step ${resumedFrom})`);
    const second = await runMrpo(['train', '--resume', runDir, '--no-report'], childEnv, join(dir, 'resume.log'));
    checks.push({ name: 'mrpo train --resume finished (exit 0)', ok: second.code === 0, detail: second.code === 0 ? `${proxy.submissions.length - before} submissions after the resume` : `exit ${second.code}: ${second.output.trim().split('\n').slice(-3).join(' | ')}` });
    if (second.code !== 0) return checks;
    const lines = (await readFile(join(runDir, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => 'loss/total' in l);
    const steps = lines.map((l) => l.step as number);
    const wantSteps = Array.from({ length: setup.steps }, (_, i) => i + 1);
    checks.push({ name: 'every step is in metrics.jsonl exactly once', ok: steps.join(',') === wantSteps.join(','), detail: `steps ${steps.join(',')}` });
    const losses = lines.map((l) => l['loss/total'] as number);
    checks.push({ name: 'every step loss is finite', ok: losses.every((x) => Number.isFinite(x)), detail: losses.map((x) => x.toExponential(2)).join(', ') });
    log(`${wire}: reward/total per step: ${lines.map((l) => Number(l['reward/total']).toFixed(4)).join(', ')}`);
    const trainer = JSON.parse(await readFile(join(runDir, 'checkpoints', `step-${setup.steps}`, 'trainer.json'), 'utf8')) as { step?: number };
    checks.push(...protocolChecks(proxy.submissions, resumedFrom, trainer.step ?? setup.steps, samplesPerStep));
    const record = JSON.parse(await readFile(join(runDir, 'checkpoints', `step-${setup.steps}`, 'policy', 'tinker-checkpoint.json'), 'utf8')) as { tinkerPath: string };
    checks.push(
      await weightsMoved(setup.baseUrl, setup.apiKey, wire, setup.model, setup.tokenizer, rank, record.tinkerPath).catch((error: unknown) => ({
        name: 'the trained weights differ from the base model',
        ok: false,
        detail: (error as Error).message,
      })),
    );
    return checks;
  } finally {
    await proxy.close();
    if (env.MRPO_LIVE_KEEP !== '1' && checks.every((c) => c.ok)) await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const baseUrl = env.TINKER_BASE_URL?.trim();
  if (!baseUrl) {
    process.stdout.write('test:live skipped: TINKER_BASE_URL is not set (start a Tinker server, e.g. SkyRL tx, and export TINKER_BASE_URL and TINKER_API_KEY; see the README, "Scale-out: the Tinker API")\n');
    return;
  }
  const apiKey = env.TINKER_API_KEY?.trim();
  if (!apiKey) fail('TINKER_API_KEY is not set (a SkyRL tx server accepts any value, e.g. tml-dummy)');
  const wireSetting = env.MRPO_LIVE_WIRE ?? 'protobuf';
  if (!['json', 'protobuf', 'both'].includes(wireSetting)) fail(`MRPO_LIVE_WIRE must be json, protobuf or both, got "${wireSetting}"`);
  const steps = Number(env.MRPO_LIVE_STEPS ?? '4');
  if (!Number.isInteger(steps) || steps < 3) fail(`MRPO_LIVE_STEPS must be an integer ≥ 3, got "${env.MRPO_LIVE_STEPS}"`);
  const started = Date.now();
  const probe = await TinkerClient.connect({ baseUrl, apiKey, tags: ['mrpo-test-live'] });
  let offered: Array<{ model: string }>;
  let profile: ServerProfile;
  try {
    offered = await probe.capabilities();
    profile = await probeServer(probe, { serverRendersImages: env.MRPO_LIVE_SERVER_RENDERS_IMAGES === '1' ? true : undefined });
  } finally {
    await probe.close();
  }
  const model = env.MRPO_LIVE_MODEL ?? offered[0]?.model;
  if (model === undefined) fail('the server lists no models; set MRPO_LIVE_MODEL to the base model it serves');
  const tokenizer = env.MRPO_LIVE_TOKENIZER ?? model;
  if (!existsSync(tokenizer) || !statSync(tokenizer).isDirectory()) fail(`MRPO_LIVE_TOKENIZER: "${tokenizer}" is not a directory with tokenizer.json (set it to the model's tokenizer directory)`);
  const reduction = env.MRPO_LIVE_REDUCTION ?? (profile.kind === 'skyrl' ? 'sequence-mean' : 'sum');
  if (reduction !== 'sum' && reduction !== 'sequence-mean') fail(`MRPO_LIVE_REDUCTION must be sum or sequence-mean, got "${reduction}"`);
  log(`server ${baseUrl}: ${profile.kind} (${profile.evidence}); model ${model}; offered: ${offered.map((m) => m.model).join(', ') || '(none)'}; reduction ${reduction}`);
  const wires: Wire[] = wireSetting === 'both' ? ['protobuf', 'json'] : [wireSetting as Wire];
  const runs: Array<{ wire: Wire; images: Images }> = wires.map((wire) => ({ wire, images: 'omit' }));
  if (profile.rendersImages) runs.push({ wire: wires[0], images: 'send' });
  else log(`VL items not run: the server does not render images (${profile.imagesNote}); MRPO_LIVE_SERVER_RENDERS_IMAGES=1 says it does`);
  let allOk = true;
  for (const { wire, images } of runs) {
    const t0 = Date.now();
    const label = images === 'send' ? `${wire}+images` : wire;
    const checks = await runOnce(wire, images, { baseUrl, apiKey, model, tokenizer, reduction, steps });
    for (const c of checks) {
      allOk &&= c.ok;
      process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'} [${label}] ${c.name}: ${c.detail}\n`);
    }
    log(`${label}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
  log(`${allOk ? 'passed' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  process.exitCode = allOk ? 0 : 1;
}

await main();
