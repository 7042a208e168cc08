import { appendFile, mkdtemp, readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRng } from '../utils/rng.js';
import { optimizerAt, pickItems, stepSeed } from './loop.js';
import { resolveConfig } from './config.js';
import { readLog, RunDir } from './run-dir.js';
import type { Item } from '../types.js';

describe('run directory', () => {
  it('cuts logs back to a step and drops a torn last line', async () => {
    const run = new RunDir(await mkdtemp(join(tmpdir(), 'mrpo-run-')));
    await run.create();
    for (let s = 0; s <= 5; s++) await run.append('metrics', { step: s, 'reward/total': s / 2, bad: Number.NaN });
    await appendFile(run.file('metrics'), '{"step": 6, "reward/to'); // killed mid-write
    expect(await run.truncateLog('metrics', 3)).toBe(4);
    const lines = (await readFile(run.file('metrics'), 'utf8')).split('\n');
    expect(lines).toEqual(['{"step":0,"reward/total":0,"bad":null}', '{"step":1,"reward/total":0.5,"bad":null}', '{"step":2,"reward/total":1,"bad":null}', '{"step":3,"reward/total":1.5,"bad":null}', '']);
    expect(await run.truncateLog('metrics', -1)).toBe(0);
    expect(await readLog(run.file('metrics'))).toEqual([]);
  });

  it('writes checkpoints atomically, keeps the newest and ignores incomplete ones', async () => {
    const run = new RunDir(await mkdtemp(join(tmpdir(), 'mrpo-run-')));
    await run.create();
    for (const step of [1, 2, 3]) {
      await run.saveCheckpoint({ step, algorithm: 'mrpo', seed: 0 }, async (dir) => writeFile(join(dir, 'w.bin'), `weights ${step}`), 2);
    }
    await mkdir(join(run.path, 'checkpoints', 'step-9')); // no trainer.json: incomplete
    await mkdir(join(run.path, 'checkpoints', '.tmp-step-4-1'));
    expect((await run.checkpoints()).map((c) => c.step)).toEqual([2, 3]);
    const latest = await run.latestCheckpoint();
    expect(latest?.state).toEqual({ step: 3, algorithm: 'mrpo', seed: 0 });
    expect(await readFile(join(latest?.dir ?? '', 'policy', 'w.bin'), 'utf8')).toBe('weights 3');
    await run.removeTemporaries();
    expect((await readdir(join(run.path, 'checkpoints'))).sort()).toEqual(['step-2', 'step-3', 'step-9']);
  });

  it('a corrupt line that is not the torn last one is an error naming the file and line', async () => {
    const run = new RunDir(await mkdtemp(join(tmpdir(), 'mrpo-run-')));
    await run.create();
    await writeFile(run.file('metrics'), '{"step":0}\n{"step": 1, oops\n{"step":2}\n');
    const where = run.file('metrics').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await expect(readLog(run.file('metrics'))).rejects.toThrow(new RegExp(`${where}.*line 2: not valid JSON`));
    await expect(run.truncateLog('metrics', 5)).rejects.toThrow(/line 2: not valid JSON/);
    // a torn last line (no newline after it) is still dropped
    await writeFile(run.file('evals'), '{"step":0}\n{"step": 1, "summ');
    expect(await readLog(run.file('evals'))).toEqual([{ step: 0 }]);
    // but a complete (newline-terminated) bad last line is an error
    await writeFile(run.file('samples'), '{"step":0}\nnot json\n');
    await expect(readLog(run.file('samples'))).rejects.toThrow(/line 2: not valid JSON/);
  });

  it('a missing log is empty, other read errors are raised', async () => {
    const run = new RunDir(await mkdtemp(join(tmpdir(), 'mrpo-run-')));
    await run.create();
    expect(await readLog(run.file('metrics'))).toEqual([]);
    expect(await run.truncateLog('metrics', 3)).toBe(0);
    await mkdir(run.file('evals')); // a folder where the log should be: EISDIR
    await expect(readLog(run.file('evals'))).rejects.toThrow(/EISDIR/);
    await expect(run.truncateLog('evals', 3)).rejects.toThrow(/EISDIR/);
  });

  it('checkpoints(): no folder is no checkpoints, an unreadable one is an error', async () => {
    const missing = new RunDir(join(await mkdtemp(join(tmpdir(), 'mrpo-run-')), 'never-created'));
    expect(await missing.checkpoints()).toEqual([]);
    const dir = await mkdtemp(join(tmpdir(), 'mrpo-run-'));
    await writeFile(join(dir, 'checkpoints'), 'a file, not a folder'); // readdir: ENOTDIR
    const run = new RunDir(dir);
    await expect(run.checkpoints()).rejects.toThrow(/ENOTDIR/);
    await expect(run.latestCheckpoint()).rejects.toThrow(/ENOTDIR/);
  });
});

describe('loop helpers', () => {
  it('step seeds differ across steps and purposes and repeat for the same inputs', () => {
    const seeds = new Set<number>();
    for (let s = 0; s < 50; s++) for (let p = 0; p < 4; p++) seeds.add(stepSeed(7, s, p));
    expect(seeds.size).toBe(200);
    expect(stepSeed(7, 3, 1)).toBe(stepSeed(7, 3, 1));
  });

  it('picks distinct items', () => {
    const items = Array.from({ length: 10 }, (_, i) => ({ id: `i${i}` }) as Item);
    const picked = pickItems(items, 6, createRng(1));
    expect(new Set(picked.map((i) => i.id)).size).toBe(6);
    expect(pickItems(items, 20, createRng(1)).length).toBe(10);
  });

  it('linear schedule decays from the learning rate towards 0 without warm-up', () => {
    const c = resolveConfig({ steps: 4, learningRate: 0.1 }, 't');
    const lr = [1, 2, 3, 4].map((s) => optimizerAt(c, s).learningRate);
    [0.1, 0.075, 0.05, 0.025].forEach((want, i) => expect(lr[i]).toBeCloseTo(want, 12));
    const k = resolveConfig({ steps: 4, learningRate: 0.1, lrSchedule: 'constant' }, 't');
    expect(optimizerAt(k, 4).learningRate).toBe(0.1);
  });
});
