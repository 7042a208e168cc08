/**
 * `mrpo demo` and `mrpo experiment` end to end with the real embedded policy,
 * from a tiny warm start trained here (a few SFT steps), at the smallest
 * sizes: the table, the report and the per-run directories.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { BUNDLED_WARM_START } from './demo.js';
import { memoryIo } from '../test-support/memory-io.js';

const TINY_MODEL = ['--backend.d-model', '16', '--backend.layers', '1', '--backend.heads', '2', '--backend.ff-dim', '16'];
let root = '';

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mrpo-demo-'));
  const io = memoryIo('', {}, root);
  const code = await main(
    ['train', '--algorithm', 'sft', '--sft-data', 'warm-start-mix', '--steps', '2', '--sft-batch-size', '4', '--eval-size', '2', '--dataset.train-size', '8', '--dataset.test-size', '2', '--no-report', ...TINY_MODEL, '--out', 'warm'],
    io,
  );
  expect(code, io.err()).toBe(0);
});

describe('the committed warm start (assets/warm-start)', () => {
  it('loads with the current model code and fails early, as the demo says', async () => {
    const io = memoryIo('', {}, root);
    const code = await main(['train', '--algorithm', 'mrpo', '--init', BUNDLED_WARM_START, '--steps', '0', '--eval-size', '64', '--no-report', '--out', 'bundled'], io);
    expect(code, io.err()).toBe(0);
    const [first] = (await readFile(join(root, 'bundled', 'eval.jsonl'), 'utf8')).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
    // Recorded when it was made (assets/warm-start/README.md, regenerated 2026-12-07): accuracy 18.8%, 64/64 failed, 98.4% of them early.
    // If the embedded model's code changes what these weights compute, this fails: regenerate the asset.
    expect(first.accuracy).toBeLessThan(0.3);
    expect(first.summary.withFailure / first.summary.traces).toBeGreaterThan(0.9);
    expect(first.summary.stageShare.early).toBeGreaterThan(0.75);
  });
});

describe('mrpo demo', () => {
  it('runs MRPO from the warm start and prints the before/after table and the report path', async () => {
    const io = memoryIo('', {}, root);
    const small = ['--prompts-per-step', '2', '--group-size', '2', '--eval-size', '4', '--max-tokens', '24'];
    expect(await main(['demo', '--steps', '1', '--seed', '3', ...small, '--out', 'demo', '--warm-start', 'warm'], io), io.err()).toBe(0);
    const out = io.out();
    expect(out).toMatch(/accuracy\s+early-failure share\s+failed traces/);
    expect(out).toMatch(/before \(warm start\)\s+\d+\.\d%\s+(\d+\.\d%|–)\s+\d+\/4/);
    expect(out).toMatch(/after MRPO \(1 steps\)\s+\d+\.\d%/);
    expect(out).toContain(`report: ${join(root, 'demo', 'mrpo', 'report.html')}`);
    const config = JSON.parse(await readFile(join(root, 'demo', 'mrpo', 'config.json'), 'utf8'));
    expect(config).toMatchObject({ algorithm: 'mrpo', seed: 3, steps: 1, groupSize: 2, evalSize: 4, init: join(root, 'warm'), provenance: { warmStart: 'checkpoint warm' } });
    expect(io.err()).toContain('warm start: checkpoint warm');
  });

  it('trains the warm start on the spot with --warm-start train', async () => {
    const io = memoryIo('', {}, root);
    const small = ['--prompts-per-step', '2', '--group-size', '2', '--eval-size', '2', '--max-tokens', '16'];
    expect(await main(['demo', '--steps', '1', ...small, '--out', 'demo-train', '--warm-start', 'train', '--warm-steps', '1'], io), io.err()).toBe(0);
    expect(io.err()).toContain(`warm start: SFT on the warm-start mix, 1 steps (${join(root, 'demo-train', 'warm-start')})`);
    const warm = JSON.parse(await readFile(join(root, 'demo-train', 'warm-start', 'config.json'), 'utf8'));
    expect(warm).toMatchObject({ algorithm: 'sft', sftData: 'warm-start-mix', steps: 1 });
    expect(existsSync(join(root, 'demo-train', 'warm-start', 'checkpoints', 'step-1', 'trainer.json'))).toBe(true);
    expect(io.out()).toMatch(/after MRPO \(1 steps\)/);
  });

  it('rejects bad flags with exit code 2', async () => {
    const io = memoryIo('', {}, root);
    expect(await main(['demo', '--steps', 'many'], io)).toBe(2);
    expect(io.err()).toContain('--steps must be an integer');
  });
});

describe('mrpo experiment', () => {
  it('trains each algorithm × seed from one warm start and writes one comparison', async () => {
    const args = [
      'experiment', '--algorithms', 'sft,grpo,mrpo', '--seeds', '0,1', '--steps', '1', '--prompts-per-step', '2', '--group-size', '2',
      '--sft-batch-size', '2', '--eval-size', '2', '--max-tokens', '16', '--dataset.train-size', '8', '--dataset.test-size', '2',
      '--warm-start', 'warm', '--out', 'exp',
    ];
    const io = memoryIo('', {}, root);
    expect(await main(args, io), io.err()).toBe(0);
    const dirs = (await readdir(join(root, 'exp'))).sort();
    expect(dirs).toEqual(['grpo-seed0', 'grpo-seed1', 'mrpo-seed0', 'mrpo-seed1', 'report.html', 'sft-seed0', 'sft-seed1', 'summary.json', 'summary.md']);
    const summary = JSON.parse(await readFile(join(root, 'exp', 'summary.json'), 'utf8'));
    expect(summary.byAlgorithm.map((r: { algorithm: string }) => r.algorithm)).toEqual(['warm start', 'sft', 'grpo', 'mrpo']);
    expect(summary.runs).toHaveLength(6);
    const sftConfig = JSON.parse(await readFile(join(root, 'exp', 'sft-seed1', 'config.json'), 'utf8'));
    expect(sftConfig).toMatchObject({ algorithm: 'sft', seed: 1, sftData: 'gold', init: join(root, 'warm') });
    expect(io.out()).toMatch(/^\| method \| seeds \| accuracy/);
    expect(io.out()).toMatch(/\| mrpo \| 2 \| /);
    expect(await readFile(join(root, 'exp', 'report.html'), 'utf8')).toContain('<svg');
    // a second invocation reuses the finished runs
    const again = memoryIo('', {}, root);
    expect(await main(args, again), again.err()).toBe(0);
    expect(again.err()).not.toMatch(/mrpo seed 0: mrpo, 1 steps/);
    expect(again.out()).toBe(io.out());
    expect(existsSync(join(root, 'exp', 'mrpo-seed1', 'checkpoints', 'step-1', 'trainer.json'))).toBe(true);
  });
});
