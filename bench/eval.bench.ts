/**
 * `mrpo eval` (issue 10): building the benchmark tables (six conventions ×
 * all/open/closed, macro averages, FFP/FAR, 1000 bootstrap resamples each)
 * from judged rows, and the offline example suite end to end (embedded
 * policy + offline judges, 28 items).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTables, type JudgedRow } from '../src/cli/eval/tables.js';
import { main } from '../src/cli/main.js';
import { memoryIo } from '../src/cli/test-support/memory-io.js';
import { createRng } from '../src/utils/rng.js';

function rows(n: number, seed: number): JudgedRow[] {
  const rng = createRng(seed);
  const words = ['left', 'lower', 'lobe', 'nodule', 'effusion', 'liver', 'axial', 'ct'];
  return Array.from({ length: n }, () => {
    const gold = Array.from({ length: 1 + rng.int(3) }, () => words[rng.int(words.length)]).join(' ');
    const prediction = rng.next() < 0.4 ? gold : Array.from({ length: 1 + rng.int(4) }, () => words[rng.int(words.length)]).join(' ');
    const K = 2 + rng.int(8);
    return {
      answerType: rng.next() < 0.4 ? 'closed' : 'open',
      prediction,
      answers: [gold],
      correct: prediction === gold,
      stepLabels: Array.from({ length: K }, () => (rng.next() < 0.8 ? 1 : 0)),
    } satisfies JudgedRow;
  });
}

export async function run(): Promise<void> {
  for (const perBenchmark of [500, 5000]) {
    const benchmarks = Array.from({ length: 8 }, (_, b) => ({ name: `b${b}`, group: b < 3 ? ('id' as const) : ('ood' as const), items: perBenchmark }));
    const data = { m: Object.fromEntries(benchmarks.map((b, i) => [b.name, rows(perBenchmark, i)])) };
    const start = performance.now();
    buildTables({ conventions: ['exact', 'f1', 'bleu1', 'rouge1', 'reward', 'judge'], models: ['m'], benchmarks, rows: data, bootstrap: { resamples: 1000, seed: 0 } });
    console.log(`eval tables, 1 model × 8 benchmarks × ${perBenchmark} items: ${((performance.now() - start) / 1000).toFixed(2)} s`);
  }
  const out = await mkdtemp(join(tmpdir(), 'mrpo-eval-bench-'));
  try {
    const start = performance.now();
    const code = await main(['eval', '--suite', 'examples/eval/suite.yaml', '--out', out], memoryIo('', {}, process.cwd()));
    if (code !== 0) throw new Error(`mrpo eval exited ${code}`);
    console.log(`eval example suite (embedded policy, offline judges, 28 items): ${((performance.now() - start) / 1000).toFixed(2)} s`);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}
