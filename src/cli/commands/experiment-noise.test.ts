/**
 * `mrpo experiment --noise`: at noise 0 the runs reproduce the runs without a
 * noise model for the same seeds (same eval and metrics logs), a noise level
 * above 0 changes training, and the summary carries the per-level table and
 * the MRPO − GRPO pairing. Tiny sizes, the committed warm start
 * (it writes steps, so step labels exist to flip), real embedded policy.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { memoryIo } from '../test-support/memory-io.js';
import { BUNDLED_WARM_START } from './demo.js';

const SMALL = ['--algorithms', 'grpo,mrpo', '--seeds', '0,1', '--steps', '2', '--prompts-per-step', '2', '--group-size', '4', '--eval-size', '3', '--dataset.train-size', '8', '--dataset.test-size', '3', '--warm-start', BUNDLED_WARM_START];
let root = '';

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mrpo-noise-'));
});

const text = (dir: string, file: string) => readFile(join(root, dir, file), 'utf8');
/** metrics.jsonl without its wall-clock fields (time/…, perf/…). */
async function metrics(dir: string): Promise<unknown[]> {
  const rows = (await text(dir, 'metrics.jsonl')).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  return rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !/^(time|perf)\//.test(k))));
}

describe('mrpo experiment --noise', () => {
  it('at noise 0 reproduces the runs without a noise model; uniform 0.5 changes them; the summary pairs MRPO with GRPO', async () => {
    const plain = memoryIo('', {}, root);
    expect(await main(['experiment', ...SMALL, '--out', 'plain'], plain), plain.err()).toBe(0);
    const noisy = memoryIo('', {}, root);
    expect(await main(['experiment', ...SMALL, '--noise', '0,0.5', '--out', 'noisy'], noisy), noisy.err()).toBe(0);

    for (const a of ['grpo', 'mrpo'])
      for (const s of [0, 1]) {
        expect(await text(`noisy/${a}-noise0-seed${s}`, 'eval.jsonl')).toBe(await text(`plain/${a}-seed${s}`, 'eval.jsonl'));
        expect(await metrics(`noisy/${a}-noise0-seed${s}`)).toEqual(await metrics(`plain/${a}-seed${s}`));
      }
    // The noisy judge changes the process rewards the policy is trained on.
    expect(await metrics('noisy/mrpo-noise0.5-seed0')).not.toEqual(await metrics('noisy/mrpo-noise0-seed0'));
    const config = JSON.parse(await text('noisy/mrpo-noise0.5-seed1', 'config.json'));
    expect(config.judgeNoise).toEqual({ mode: 'uniform', rate: 0.5, target: 'label' });

    const summary = JSON.parse(await text('noisy', 'summary.json'));
    expect(summary.noise).toEqual(['0', '0.5']);
    expect(summary.byNoise.map((r: { algorithm: string; noise: string }) => `${r.algorithm}@${r.noise}`)).toEqual(['grpo@0', 'mrpo@0', 'grpo@0.5', 'mrpo@0.5']);
    const runs: Array<{ algorithm: string; seed: number; accuracy: number }> = summary.runs;
    const acc = (name: string, seed: number) => runs.find((r) => r.algorithm === name && r.seed === seed)?.accuracy ?? Number.NaN;
    const diffs = [0, 1].map((s) => acc('mrpo noise 0', s) - acc('grpo noise 0', s));
    expect(summary.pairedMrpoVsGrpo[0].noise).toBe('0');
    expect(summary.pairedMrpoVsGrpo[0].accuracyDiff.mean).toBeCloseTo((diffs[0] + diffs[1]) / 2, 12);
    expect(noisy.out()).toContain('MRPO − GRPO accuracy (95% CI)');
  });

  it('rejects a bad noise level with exit code 2 before training', async () => {
    const io = memoryIo('', {}, root);
    expect(await main(['experiment', ...SMALL, '--noise', '0,1.5', '--out', 'bad'], io)).toBe(2);
    expect(io.err()).toContain('--noise: expected R, uniform:R, early:R, criteria:R or criteria-early:R with R in [0, 1], got "1.5"');
  });
});
