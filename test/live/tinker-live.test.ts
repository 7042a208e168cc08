/**
 * The live conformance script (`npm run test:live`) run as a user runs it,
 * against the local test server in its SkyRL personality (int32 seeds, P−1
 * prompt log-probs, sequence-mean reduction, 400-style failed futures) with
 * its bigram model behind it (the embedded policy has no prompt log-probs): every check must pass there (the
 * failing verdicts are tested on hand-written logs in checks.test.ts).
 * Without TINKER_BASE_URL it must skip with one line; a bad setting exits 2.
 */
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WordTokenizer } from '../../src/backends/embedded/tokenizer.js';
import { writeEmbeddedHfTokenizer } from '../../src/backends/tinker/test-support/embedded-server-policy.js';
import { startFakeTinker, type FakeTinkerServer } from '../../src/backends/tinker/test-support/server.js';
import { syntheticCorpus } from '../../src/data/synthetic/index.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const KEY = 'tml-live-test-key';
let tokenizerDir: string;
let server: FakeTinkerServer;

function runLive(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const { TINKER_BASE_URL: _u, TINKER_API_KEY: _k, ...rest } = process.env;
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/live/tinker-live.ts')], { cwd: ROOT, env: { ...rest, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.on('exit', (code) => done({ code, out }));
  });
}

beforeAll(async () => {
  const vocab = WordTokenizer.fromCorpus(syntheticCorpus()).vocab;
  tokenizerDir = await mkdtemp(join(tmpdir(), 'mrpo-live-tok-'));
  const ids = await writeEmbeddedHfTokenizer(tokenizerDir, vocab);
  server = await startFakeTinker({
    vocabSize: ids.vocabSize,
    apiKey: KEY,
    holdMs: 20,
    // Each request takes 40 ms, so a training step lasts well over the script's 25 ms watch of the checkpoint
    // directory: the kill lands between step 2's checkpoint and the end of the run, as on a real server.
    workDelayMs: 40,
    personality: 'skyrl',
    errorStyle: 'skyrl',
    reduction: 'sequence-mean',
    supportedModels: [tokenizerDir],
  });
});
afterAll(async () => {
  await server?.close();
});

describe('npm run test:live', () => {
  it('skips with one line when TINKER_BASE_URL is not set', async () => {
    const { code, out } = await runLive({});
    expect(code).toBe(0);
    expect(out.trim().split('\n')).toHaveLength(1);
    expect(out).toMatch(/^test:live skipped: TINKER_BASE_URL is not set/);
  });

  it('passes every check against the SkyRL personality of the test server (train, SIGKILL, --resume), and never prints the key', async () => {
    const { code, out } = await runLive({ TINKER_BASE_URL: server.url, TINKER_API_KEY: KEY, MRPO_LIVE_REDUCTION: 'sequence-mean', MRPO_LIVE_STEPS: '3' });
    expect(out).not.toContain(KEY);
    expect(out, out).not.toMatch(/^FAIL/m);
    // The nine checks of the script, each reported once.
    expect(out.match(/^ok {3}\[protobuf\]/gm), out).toHaveLength(9);
    expect(code, out).toBe(0);
  }, 240_000);

  it('exits 2 with one line for a bad setting, before any training request', async () => {
    const before = server.submissions.length;
    const { code, out } = await runLive({ TINKER_BASE_URL: server.url, TINKER_API_KEY: KEY, MRPO_LIVE_STEPS: '2' });
    expect(code).toBe(2);
    expect(out.trim()).toBe('test:live: MRPO_LIVE_STEPS must be an integer ≥ 3, got "2"');
    expect(server.submissions.length).toBe(before);
  });
});
