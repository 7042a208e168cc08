/**
 * A realistic shaping batch for benchmarks: P prompts × G completions of about
 * `tokens` BPE-like tokens each (think block of medical sentences, answer),
 * with token offsets (words split into ≤ 4-character pieces, a leading space
 * attached to the next piece, as byte-level BPE does), step labels and gold
 * answers. Seeded.
 */
import { createRng, type Rng } from '../../src/utils/rng.js';
import type { EstimatorName } from '../../src/algo/advantages/index.js';

const SUBJECTS = ['The image', 'This axial CT', 'The chest radiograph', 'The lesion', 'The opacity', 'The left lung', 'The right kidney', 'The liver', 'The mass', 'The heart'];
const VERBS = ['shows', 'demonstrates', 'suggests', 'contains', 'is consistent with', 'reveals', 'indicates'];
const OBJECTS = ['a hypodense lesion in the right lobe', 'consolidation in the left lower zone', 'an enlarged cardiac silhouette', 'a 2.5 cm nodule near the hilum', 'pleural effusion on the left side', 'no acute abnormality', 'calcified granulomas', 'a fracture of the sixth rib'];
const ANSWERS = ['left lower lobe', 'pneumonia', 'right kidney', 'two', 'cardiomegaly', 'pleural effusion', 'liver', 'ct'];

function sentence(rng: Rng): string {
  return `${SUBJECTS[rng.int(SUBJECTS.length)]} ${VERBS[rng.int(VERBS.length)]} ${OBJECTS[rng.int(OBJECTS.length)]}.`;
}

/** Offsets of BPE-like tokens: each word (with its leading space) cut into pieces of at most 4 characters. */
export function bpeLikeOffsets(text: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const re = /\s*[^\s<>]+|\s*<[^>]*>/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const end = m.index + m[0].length;
    for (let s = m.index; s < end; s += 4) out.push([s, Math.min(end, s + 4)]);
  }
  return out;
}

export interface BenchBatch {
  readonly request: {
    estimator: EstimatorName;
    groups: Array<{ gold: { answer: string }; completions: Array<{ text: string; tokenOffsets: Array<[number, number]>; stepLabels: Array<0 | 1> }> }>;
  };
  readonly tokens: number;
  readonly completions: number;
}

/** The batch shape-vs-numpy.ts compares on (64 prompts × 8 completions × ~512 tokens, MRPO). */
export const SHAPE_VS_NUMPY_BATCH = { prompts: 64, group: 8, tokens: 512, seed: 1, estimator: 'mrpo' } as const;

export function makeBatch(options: { prompts: number; group: number; tokens: number; seed: number; estimator: EstimatorName }): BenchBatch {
  const rng = createRng(options.seed);
  let tokens = 0;
  let completions = 0;
  const groups = Array.from({ length: options.prompts }, () => {
    const gold = ANSWERS[rng.int(ANSWERS.length)];
    return {
      gold: { answer: gold },
      completions: Array.from({ length: options.group }, () => {
        const parts: string[] = [];
        let text = '';
        do {
          parts.push(sentence(rng));
          text = `<think>${parts.join(' ')}</think><answer>${rng.next() < 0.4 ? gold : ANSWERS[rng.int(ANSWERS.length)]}</answer>`;
        } while (bpeLikeOffsets(text).length < options.tokens);
        const tokenOffsets = bpeLikeOffsets(text);
        tokens += tokenOffsets.length;
        completions++;
        return { text, tokenOffsets, stepLabels: parts.map(() => (rng.next() < 0.6 ? 1 : 0) as 0 | 1) };
      }),
    };
  });
  return { request: { estimator: options.estimator, groups }, tokens, completions };
}

/**
 * Runs fn repeatedly for at least `seconds` after a warm-up; returns the
 * median and the best seconds per call (the best is the least disturbed by
 * other processes on a shared machine).
 */
export function timeIt(fn: () => void, seconds = 2): { median: number; best: number } {
  return medianBest(callTimes(fn, seconds, [], { minCalls: 5 }));
}

/**
 * The seconds of each call of fn, appended to `into` (and returned): `warmup` untimed calls first (default 3), then
 * calls until `seconds` have passed and at least `minCalls` were made (default 1).
 */
export function callTimes(fn: () => void, seconds: number, into: number[] = [], options: { warmup?: number; minCalls?: number } = {}): number[] {
  for (let i = 0; i < (options.warmup ?? 3); i++) fn();
  const minCalls = options.minCalls ?? 1;
  let calls = 0;
  const start = process.hrtime.bigint();
  do {
    const t0 = process.hrtime.bigint();
    fn();
    into.push(Number(process.hrtime.bigint() - t0) / 1e9);
    calls++;
  } while (Number(process.hrtime.bigint() - start) / 1e9 < seconds || calls < minCalls);
  return into;
}

/** The median and the best of per-call times. */
export function medianBest(times: readonly number[]): { median: number; best: number } {
  const sorted = [...times].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], best: sorted[0] };
}

export function fmt(x: number): string {
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(1);
}
