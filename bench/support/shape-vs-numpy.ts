/**
 * The `shape` bench's same-run comparisons for MRPO on the bench batch
 * (64 × 8 × ~512 tokens): mrpo's `shape()` in ns/token, against
 *
 * - the ceiling: a minimal loop that reads each token's start and end of the
 *   same batch, as shape() gets them (validation makes the request's pairs one
 *   flat Int32Array per completion), and writes a per-token value into a fresh
 *   number[] per completion (what the shortest possible per-token pass costs);
 * - a numpy reference (bench/support/shape_numpy.py, run with the worktree's
 *   `.venv-python`): from the texts, the flat token offsets, the step labels
 *   and the answer rewards R_ans (taken from shape()'s output; ROUGE-1/BLEU-1
 *   are not ported), it segments the think blocks into steps (Python `re`),
 *   computes R_proc, R_len, the group-normalised advantage, MRPO's step values,
 *   the token → step map and the per-token advantages (numpy). Compared: those
 *   per-token advantages against shape()'s `tokenAdvantages`, max |diff|. Because
 *   the numpy side gets R_ans, the bench also times shape() with R_ans given in
 *   the request (the same work as the numpy side) and gives both ratios. It
 *   also times shape() on the request with its offsets left as [start, end]
 *   pairs (validation makes them flat): what a caller that skips validation gets.
 * All of them run in three interleaved rounds; each figure pools its rounds' calls.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEFAULT_EPSILON, DEFAULT_TAU } from '../../src/algo/advantages/index.js';
import { DEFAULT_MAX_STEPS, DEFAULT_MIN_STEPS } from '../../src/rewards/length.js';
import { parseShapeRequest, shape } from '../../src/shape/index.js';
import { DEFAULT_SERVE_NODE_OPTIONS } from '../../src/cli/node-flags.js';
import { SHAPE_VS_NUMPY_BATCH, callTimes, fmt, makeBatch, medianBest } from './batch.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PYTHON = join(root, '.venv-python', 'bin', 'python');
const SCRIPT = join(root, 'bench', 'support', 'shape_numpy.py');
const SECONDS = 2;
const ROUNDS = 3;

interface NumpyTiming {
  median: number;
  best: number;
  segment_median: number;
  numpy_median: number;
  runs: number;
  numpy: string;
  times: number[];
  segment_times: number[];
  numpy_times: number[];
}

const ns = (seconds: number, tokens: number) => `${((seconds / tokens) * 1e9).toFixed(1)} ns/token`;

export function compareWithNumpy(): void {
  const batch = makeBatch(SHAPE_VS_NUMPY_BATCH);
  const T = batch.tokens;
  const request = parseShapeRequest(batch.request);
  const response = shape(request);

  // The same request with each completion's R_ans given: shape() then does what the numpy side does.
  const answer_C = response.groups.flatMap((g) => g.completions.map((c) => c.rewards.answer));
  let i = 0;
  const givenRequest = parseShapeRequest({
    ...batch.request,
    groups: batch.request.groups.map((g) => ({ ...g, completions: g.completions.map((c) => ({ ...c, rewards: { answer: answer_C[i++] } })) })),
  });

  // The same request with the offsets left as the batch's [start, end] pairs (validation would make them flat): what
  // shape() costs a library caller that builds its request without parseShapeRequest.
  const pairsRequest: typeof request = {
    ...request,
    groups: request.groups.map((g, p) => ({ ...g, completions: g.completions.map((c, i) => ({ ...c, tokenOffsets: batch.request.groups[p].completions[i].tokenOffsets })) })),
  };

  // Ceiling: read each token's offsets of the same batch as shape() gets them (flat Int32Arrays after validation),
  // write one number per token.
  const offsets_C = request.groups.flatMap((g) =>
    g.completions.map((c) => {
      if (!(c.tokenOffsets instanceof Int32Array)) throw new Error('shape-vs-numpy: expected validation to give flat offsets');
      return c.tokenOffsets;
    }),
  );
  let sink: number[][] = [];
  const ceilingLoop = () => {
    const outs: number[][] = new Array(offsets_C.length);
    for (let c = 0; c < offsets_C.length; c++) {
      const offs = offsets_C[c];
      const T = offs.length >> 1;
      const out = new Array<number>(T);
      for (let t = 0; t < T; t++) out[t] = offs[2 * t + 1] > offs[2 * t] ? c : -1;
      outs[c] = out;
    }
    sink = outs;
  };

  const hasPython = existsSync(PYTHON);
  const dir = hasPython ? mkdtempSync(join(tmpdir(), 'mrpo-shape-numpy-')) : '';
  // Every measure runs in ROUNDS interleaved rounds (shape(), R_ans given, offsets as pairs, ceiling, numpy, then again), each figure the
  // median of all its calls: load that comes and goes on a shared machine then falls on every side alike.
  const full_N: number[] = [];
  const given_N: number[] = [];
  const pairs_N: number[] = [];
  const ceiling_N: number[] = [];
  const numpy_N: number[] = [];
  const segment_N: number[] = [];
  const numpyPart_N: number[] = [];
  let numpyVersion = '';
  let advantages_T: Float64Array | undefined;
  let numpyFailed = false;
  const serve_N: number[] = [];
  let serveFailed = false;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      callTimes(() => void shape(request), SECONDS / ROUNDS, full_N);
      callTimes(() => void shape(givenRequest), SECONDS / ROUNDS, given_N);
      callTimes(() => void shape(pairsRequest), SECONDS / ROUNDS, pairs_N);
      callTimes(ceilingLoop, SECONDS / ROUNDS, ceiling_N);
      if (!serveFailed) serveFailed = !serveFlagsRound(SECONDS / ROUNDS, serve_N);
      if (!hasPython || numpyFailed) continue;
      const numpy = runNumpy(dir, batch.request, answer_C, offsets_C, SECONDS / ROUNDS);
      if (numpy === undefined) {
        numpyFailed = true;
        continue;
      }
      numpy_N.push(...numpy.timing.times);
      segment_N.push(...numpy.timing.segment_times);
      numpyPart_N.push(...numpy.timing.numpy_times);
      numpyVersion = numpy.timing.numpy;
      advantages_T ??= numpy.advantages_T;
    }
  } finally {
    if (hasPython) rmSync(dir, { recursive: true, force: true });
  }
  if (sink.length !== offsets_C.length) throw new Error('ceiling loop lost its output');

  const full = medianBest(full_N);
  const given = medianBest(given_N);
  const pairs = medianBest(pairs_N);
  const ceiling = medianBest(ceiling_N);
  console.log(`shape-vs-numpy/mrpo shape(): ${ns(full.median, T)} median, ${ns(full.best, T)} best (${fmt(T / full.median)} tokens/s) — ${batch.completions} completions, ${T} tokens, ${ROUNDS} rounds interleaved with the lines below`);
  console.log(`shape-vs-numpy/mrpo shape(), R_ans given: ${ns(given.median, T)} median, ${ns(given.best, T)} best (${fmt(T / given.median)} tokens/s)`);
  console.log(
    `shape-vs-numpy/mrpo shape(), offsets left as [start, end] pairs (a request not validated): ${ns(pairs.median, T)} median, ${ns(pairs.best, T)} best (${fmt(T / pairs.median)} tokens/s)`,
  );
  console.log(
    `shape-vs-numpy/ceiling (a loop reading each token's offsets, writing a per-token value): ${ns(ceiling.median, T)} median, ${ns(ceiling.best, T)} best; shape() takes ${(full.median / ceiling.median).toFixed(1)}× its time (R_ans given: ${(given.median / ceiling.median).toFixed(1)}×)`,
  );

  const serve = serve_N.length > 0 ? medianBest(serve_N) : undefined;
  if (serve !== undefined)
    console.log(
      `shape-vs-numpy/mrpo shape() under mrpo serve's V8 flags (${DEFAULT_SERVE_NODE_OPTIONS}, a child process, same rounds): ${ns(serve.median, T)} median, ${ns(serve.best, T)} best`,
    );
  if (!hasPython) {
    console.log(`shape-vs-numpy/numpy: skipped (no ${PYTHON}; create it with \`bash scripts/python-env.sh\`)`);
    return;
  }
  if (advantages_T === undefined) return;
  const shaped_T = response.groups.flatMap((g) => g.completions.flatMap((c) => c.tokenAdvantages ?? []));
  // Tokens that carry a step value rather than their completion's advantage (what the comparison exercises).
  const stepValued = response.groups.reduce((n, g) => n + g.completions.reduce((m, c) => m + (c.tokenAdvantages ?? []).filter((a) => a !== c.advantage).length, 0), 0);
  let maxDiff = advantages_T.length === shaped_T.length ? 0 : Number.POSITIVE_INFINITY;
  for (let t = 0; t < Math.min(shaped_T.length, advantages_T.length); t++) maxDiff = Math.max(maxDiff, Math.abs(shaped_T[t] - advantages_T[t]));
  const numpy = medianBest(numpy_N);
  console.log(
    `shape-vs-numpy/numpy ${numpyVersion} (re segmentation + numpy): ${ns(numpy.median, T)} median, ${ns(numpy.best, T)} best, of which segmentation ${ns(medianBest(segment_N).median, T)}, numpy ${ns(medianBest(numpyPart_N).median, T)} (${numpy_N.length} runs); mrpo shape() is ${(numpy.median / full.median).toFixed(1)}× faster (R_ans given: ${(numpy.median / given.median).toFixed(1)}×; best against best ${(numpy.best / full.best).toFixed(1)}×; offsets as pairs ${(numpy.median / pairs.median).toFixed(1)}×${serve === undefined ? '' : `; under serve's flags ${(numpy.median / serve.median).toFixed(1)}×`})`,
  );
  console.log(
    `shape-vs-numpy/numpy vs shape() per-token MRPO advantages (same texts, offsets, labels, R_ans): max |diff| ${maxDiff.toExponential(2)} over ${advantages_T.length} tokens (shape(): ${shaped_T.length}, ${stepValued} of them reshaped away from their completion's A)${maxDiff <= 1e-9 ? '' : ' — MISMATCH, numpy figures not comparable'}`,
  );
}

/** One round of shape-serve-flags.ts in a child Node process with serve's flags; its call times appended to `into`. False when it failed (said once). */
function serveFlagsRound(seconds: number, into: number[]): boolean {
  const tsx = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
  const child = join(root, 'bench', 'support', 'shape-serve-flags.ts');
  const r = spawnSync(process.execPath, ['--import', tsx, ...DEFAULT_SERVE_NODE_OPTIONS.split(' '), child, String(seconds)], { encoding: 'utf8', cwd: root });
  if (r.status !== 0) {
    console.log(`shape-vs-numpy/serve flags: failed (exit ${r.status}): ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`);
    return false;
  }
  into.push(...(JSON.parse(r.stdout.trim().split('\n').pop() ?? '[]') as number[]));
  return true;
}

function runNumpy(
  dir: string,
  raw: ReturnType<typeof makeBatch>['request'],
  answer_C: readonly number[],
  offsets_C: readonly Int32Array[],
  seconds: number,
): { timing: NumpyTiming; advantages_T: Float64Array } | undefined {
  const completions = raw.groups.flatMap((g) => g.completions);
  const texts = completions.map((c) => c.text);
  // Python indexes strings by code point, JS by UTF-16 unit: the same for ASCII, which the bench batch is.
  if (texts.some((t) => /[^\x00-\x7f]/.test(t))) throw new Error('shape-vs-numpy: the bench batch must be ASCII');
  const total = offsets_C.reduce((n, o) => n + o.length, 0);
  const flat = new Int32Array(total);
  let k = 0;
  for (const offs of offsets_C) {
    flat.set(offs, k);
    k += offs.length;
  }
  const offsetsFile = join(dir, 'offsets.i32');
  const outFile = join(dir, 'advantages.f64');
  writeFileSync(offsetsFile, new Uint8Array(flat.buffer));
  const input = {
    texts,
    group_sizes: raw.groups.map((g) => g.completions.length),
    labels: completions.map((c) => c.stepLabels),
    answer: answer_C,
    tau: DEFAULT_TAU,
    epsilon: DEFAULT_EPSILON,
    min_steps: DEFAULT_MIN_STEPS,
    max_steps: DEFAULT_MAX_STEPS,
    round_weights: true,
    offsets_file: offsetsFile,
    token_counts: offsets_C.map((o) => o.length >> 1),
    out_file: outFile,
    seconds,
  };
  const inputFile = join(dir, 'batch.json');
  writeFileSync(inputFile, JSON.stringify(input));
  const r = spawnSync(PYTHON, [SCRIPT, inputFile], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.log(`shape-vs-numpy/numpy: failed (exit ${r.status}): ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`);
    return undefined;
  }
  const timing = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as NumpyTiming;
  const bytes = readFileSync(outFile);
  const advantages_T = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return { timing, advantages_T };
}
