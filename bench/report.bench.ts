/**
 * `mrpo analyze` and the report (issue 3): parsing + FFP/FAR summary of judged
 * JSONL, rendering the HTML report (vega-lite → SVG headless), BERTScore greedy
 * matching on BERT-base-sized embeddings (pure math), and the BERTScore scorer
 * end to end on the tiny local ONNX model (tokeniser + ONNX runtime overhead per
 * sentence; a real BiomedBERT forward pass costs far more).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summarizeFailures } from '../src/algo/failure.js';
import { accuracyBySource, parseJudgedJsonl } from '../src/report/judged.js';
import { renderReport } from '../src/report/report.js';
import { bertScoreFromEmbeddings } from '../src/rewards/bertscore-match.js';
import { createBertScorer } from '../src/rewards/bertscore.js';
import { writeTinyBert } from '../src/rewards/test-support/tiny-bert.js';
import { createRng } from '../src/utils/rng.js';

async function timeAsync(fn: () => Promise<unknown>, minSeconds = 1): Promise<number> {
  await fn(); // warm-up
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < minSeconds * 1000) {
    await fn();
    n++;
  }
  return (performance.now() - start) / 1000 / n;
}

function judgedJsonl(traces: number, seed: number): string {
  const rng = createRng(seed);
  const sources = ['vqa-rad', 'slake', 'pathvqa'];
  const lines: string[] = [];
  for (let i = 0; i < traces; i++) {
    const K = 2 + rng.int(12);
    const stepLabels = Array.from({ length: K }, () => (rng.next() < 0.8 ? 1 : 0));
    lines.push(JSON.stringify({ id: `t${i}`, correct: rng.next() < 0.5, stepLabels, source: sources[rng.int(3)], think: 'x'.repeat(400) }));
  }
  return lines.join('\n');
}

export async function run(): Promise<void> {
  const text = judgedJsonl(20_000, 1);
  const perParse = await timeAsync(async () => {
    const file = parseJudgedJsonl(text, 'bench.jsonl');
    summarizeFailures(file.complete);
    accuracyBySource(file.traces);
  });
  console.log(`analyze/parse+summarize: ${Math.round(20_000 / perParse)} traces/s (20000 traces with 400-char think fields, ${(perParse * 1e3).toFixed(0)} ms)`);

  const runs = [1, 2].map((seed) => {
    const file = parseJudgedJsonl(judgedJsonl(2000, seed), 'b');
    return { label: `run${seed}`, summary: summarizeFailures(file.complete), accuracyBySource: accuracyBySource(file.traces) };
  });
  const perReport = await timeAsync(() => renderReport({ title: 'bench', runs }), 3);
  console.log(`report/render-2-runs: ${(perReport * 1e3).toFixed(0)} ms per report (4 charts, 3 tables)`);

  const rng = createRng(7);
  const emb = (tokens: number) => ({
    data: Float32Array.from({ length: tokens * 768 }, () => rng.normal()),
    tokens,
    dim: 768,
    weights: Array.from({ length: tokens }, (_, i) => (i === 0 || i === tokens - 1 ? 0 : 1)),
  });
  const cand = emb(32);
  const ref = emb(32);
  const perMatch = await timeAsync(async () => bertScoreFromEmbeddings(cand, ref));
  console.log(`bertscore/greedy-match-32x32x768: ${Math.round(1 / perMatch)} pairs/s`);

  const dir = await mkdtemp(join(tmpdir(), 'mrpo-bench-bert-'));
  try {
    const scorer = await createBertScorer({ modelDir: await writeTinyBert(join(dir, 'tiny')), layer: 2 });
    const pairs = Array.from({ length: 64 }, (_, i) => ({ prediction: `left lung ${'kidney '.repeat(i % 8)}`, reference: `right lungs ${i}` }));
    const perBatch = await timeAsync(() => scorer.score(pairs));
    console.log(`bertscore/tiny-model-end-to-end: ${Math.round(64 / perBatch)} pairs/s (tokeniser + ONNX runtime overhead, 2-dim model)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
