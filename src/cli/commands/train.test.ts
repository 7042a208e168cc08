/**
 * End to end through the CLI with the real embedded policy (tiny model, a few
 * steps): the run directory's contents, finite metrics, and resume after a
 * SIGKILL — the resumed run's logs are continuous, with no duplicated or torn
 * lines, and equal to those of an uninterrupted run (the loop derives all
 * randomness of step n from (seed, n) and the backend is deterministic).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { memoryIo } from '../test-support/memory-io.js';

const TINY = [
  '--steps', '4',
  '--prompts-per-step', '2',
  '--group-size', '2',
  '--max-tokens', '16',
  '--eval-size', '2',
  '--eval-interval', '2',
  '--checkpoint-interval', '1',
  '--samples-per-step', '2',
  '--dataset.train-size', '8',
  '--dataset.test-size', '2',
  '--backend.d-model', '16',
  '--backend.layers', '1',
  '--backend.heads', '2',
  '--backend.ff-dim', '16',
  '--learning-rate', '0.01',
];

async function lines(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '');
}

function allFinite(record: Record<string, unknown>, where: string): void {
  for (const [k, v] of Object.entries(record)) {
    if (k === 'step') continue;
    expect(typeof v === 'number' && Number.isFinite(v), `${where} ${k} = ${String(v)}`).toBe(true);
  }
}

describe('mrpo train (embedded policy, tiny)', () => {
  it('SFT then MRPO from its checkpoint: run directory contents and finite metrics', async () => {
    const root = await mkdtemp(join(tmpdir(), 'mrpo-train-'));
    const io = memoryIo('', {}, root);
    expect(await main(['train', '--algorithm', 'sft', '--sft-data', 'warm-start-mix', '--sft-batch-size', '4', ...TINY, '--out', 'sft'], io), io.err()).toBe(0);
    expect(await main(['train', '--algorithm', 'mrpo', '--init', 'sft', ...TINY, '--out', 'mrpo'], io), io.err()).toBe(0);

    const run = join(root, 'mrpo');
    expect((await readdir(run)).sort()).toEqual(['checkpoints', 'config.json', 'eval.jsonl', 'metrics.jsonl', 'report.html', 'samples.jsonl']);
    const config = JSON.parse(await readFile(join(run, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ algorithm: 'mrpo', steps: 4, groupSize: 2, init: join(root, 'sft') });
    const metrics = (await lines(join(run, 'metrics.jsonl'))).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(metrics.map((m) => m.step)).toEqual([0, 1, 2, 3, 4]);
    metrics.forEach((m) => allFinite(m, `step ${String(m.step)}`));
    for (const key of ['reward/answer', 'reward/process', 'reward/length', 'reward/total', 'steps/failed_share', 'judge/unjudged', 'loss/total', 'adv/mean'])
      expect(metrics[1], key).toHaveProperty([key]);
    // FFP stage shares are logged exactly when some trace of the step failed (docs/method.md §8).
    for (const m of metrics.slice(1))
      for (const stage of ['early', 'mid', 'late'])
        expect(m[`steps/ffp_${stage}`] !== undefined, `step ${String(m.step)} ffp_${stage}`).toBe((m['steps/failed_share'] as number) > 0);
    for (const s of [0, 2, 4]) expect(metrics[s]).toHaveProperty(['eval/accuracy']);
    expect(metrics[1]).not.toHaveProperty(['eval/accuracy']);
    const evals = (await lines(join(run, 'eval.jsonl'))).map((l) => JSON.parse(l));
    expect(evals.map((e: { step: number }) => e.step)).toEqual([0, 2, 4]);
    expect(evals[0].summary).toHaveProperty('stageShare');
    const samples = (await lines(join(run, 'samples.jsonl'))).map((l) => JSON.parse(l));
    expect(samples).toHaveLength(8);
    expect(samples[0]).toHaveProperty('tokenAdvantages');
    expect(samples[0]).toHaveProperty('steps');
    expect((await readdir(join(run, 'checkpoints'))).sort()).toEqual(['step-3', 'step-4']);
    expect((await readdir(join(run, 'checkpoints', 'step-4'))).sort()).toEqual(['policy', 'trainer.json']);
    const html = await readFile(join(run, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('Held-out evaluations');
    // the SFT run logs losses, not rewards
    const sft = (await lines(join(root, 'sft', 'metrics.jsonl'))).map((l) => JSON.parse(l));
    expect(sft[1]).toHaveProperty(['loss/total']);
    expect(sft[1]).not.toHaveProperty(['reward/total']);
    // an existing run is not overwritten
    const again = memoryIo('', {}, root);
    expect(await main(['train', ...TINY, '--out', 'mrpo'], again)).toBe(2);
    expect(again.err()).toMatch(/already holds a run/);
  });

  it('resumes after SIGKILL with continuous logs equal to an uninterrupted run', async () => {
    const root = await mkdtemp(join(tmpdir(), 'mrpo-resume-'));
    const flags = ['train', '--algorithm', 'grpo', ...TINY, '--steps', '8', '--eval-interval', '3'];
    const mainTs = resolve(__dirname, '../main.ts');
    const tsx = pathToFileURL(resolve(__dirname, '../../../node_modules/tsx/dist/loader.mjs')).href;
    const child = spawn(process.execPath, ['--import', tsx, mainTs, ...flags, '--out', 'killed'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    // Kill once the checkpoint of step 2 exists (the run is then somewhere in step 3–8).
    const deadline = Date.now() + 50_000;
    while (!existsSync(join(root, 'killed', 'checkpoints', 'step-2', 'trainer.json'))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the child never reached step 2:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    child.kill('SIGKILL');
    await exited;
    const before = await lines(join(root, 'killed', 'metrics.jsonl'));
    expect(before.length).toBeGreaterThanOrEqual(3); // steps 0, 1, 2 at least

    const io = memoryIo('', {}, root);
    expect(await main(['train', '--resume', 'killed'], io), io.err()).toBe(0);
    const resumedFrom = Number(/resumed after step (\d+)/.exec(io.err())?.[1]);
    expect(resumedFrom).toBeGreaterThanOrEqual(2);
    expect(resumedFrom).toBeLessThan(8); // the kill landed mid-run
    const ref = memoryIo('', {}, root);
    expect(await main([...flags, '--out', 'straight'], ref), ref.err()).toBe(0);

    for (const log of ['metrics.jsonl', 'eval.jsonl', 'samples.jsonl']) {
      const got = (await lines(join(root, 'killed', log))).map((l) => JSON.parse(l));
      const want = (await lines(join(root, 'straight', log))).map((l) => JSON.parse(l));
      expect(got.map((r: { step: number }) => r.step), log).toEqual(want.map((r: { step: number }) => r.step));
      const strip = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith('time/') && !k.startsWith('perf/')));
      got.forEach((r: Record<string, unknown>, i: number) => {
        const a = strip(r);
        const b = strip(want[i]);
        for (const k of Object.keys(b)) {
          if (typeof b[k] === 'number') expect(a[k] as number, `${log} step ${String(r.step)} ${k}`).toBeCloseTo(b[k] as number, 5);
          else expect(a[k], `${log} step ${String(r.step)} ${k}`).toEqual(b[k]);
        }
      });
    }
    const metrics = (await lines(join(root, 'killed', 'metrics.jsonl'))).map((l) => JSON.parse(l));
    expect(metrics.map((m: { step: number }) => m.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });
});
