/**
 * The `mrpo eval` run: for each (model, benchmark) of the suite, inference,
 * answer judging (best over the accepted answers) and step judging, item by
 * item, resumable at item level. Each pair writes two JSONL files under
 * `<out>/runs/<model>/`: `<benchmark>.completions.jsonl` (what the model said)
 * and `<benchmark>.judged.jsonl` (with the verdicts). A rerun skips the items
 * already judged, judges the completions already made without asking the
 * model again, and retries items whose judge call failed. Interrupted work
 * (Ctrl-C or the caller's signal) is never written half-way.
 */
import { join } from 'node:path';
import pLimit from 'p-limit';
import { parseCompletion, segmentSteps, type SplitterName } from '../../algo/steps.js';
import type { Dataset } from '../../data/dataset.js';
import { openFormat } from '../../data/formats.js';
import { createSyntheticDataset } from '../../data/synthetic/index.js';
import { InputError } from '../../errors.js';
import { stepLabelsOf } from '../../judges/judge.js';
import { judgeAcceptedAnswers } from '../commands/judge/accepted.js';
import type { Item } from '../../types.js';
import { pathExists } from '../../utils/fs.js';
import { createRng } from '../../utils/rng.js';
import { readJsonl, type JsonRecord } from '../../utils/jsonl.js';
import { endpointRefusal, reasonCategory } from '../../utils/retry.js';
import { openResumableJsonl, type ResumableJsonl } from '../resumable-jsonl.js';
import type { EvalJudges, EvalModel } from './models.js';
import type { Suite, SuiteBenchmark } from './suite.js';

/** Unjudged step reasons that are facts about the trace: a rerun would give the same. */
const FINAL_STEP_REASONS = new Set(['no steps', 'no gold reasoning']);

export interface LoadedBenchmark {
  readonly entry: SuiteBenchmark;
  readonly items: readonly Item[];
  /** Items in the benchmark before sampling and the open/closed filter. */
  readonly available: number;
}

function hashName(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** A seeded sample of `size` items, kept in file order. */
export function sampleItems<T>(items: readonly T[], size: number | undefined, seed: number): T[] {
  if (size === undefined || size >= items.length) return [...items];
  const rng = createRng(seed);
  const index = items.map((_, i) => i);
  for (let i = index.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [index[i], index[j]] = [index[j] as number, index[i] as number];
  }
  return index
    .slice(0, size)
    .sort((a, b) => a - b)
    .map((i) => items[i] as T);
}

function datasetOf(entry: SuiteBenchmark): Promise<Dataset> {
  if (entry.format === 'synthetic') return Promise.resolve(createSyntheticDataset({ seed: entry.seed ?? 0, split: 'test', size: entry.size ?? 0 }));
  return openFormat(entry.format, entry.path as string, {
    ...(entry.images !== undefined ? { images: entry.images } : {}),
    ...(entry.questions !== undefined ? { questions: entry.questions } : {}),
    ...(entry.split !== undefined ? { split: entry.split } : {}),
    ...(entry.choices !== undefined ? { choices: entry.choices } : {}),
  });
}

/** Reads (and so validates) a benchmark, filters open/closed questions and draws the sample. */
export async function loadBenchmark(entry: SuiteBenchmark, suite: Pick<Suite, 'sample' | 'seed'>): Promise<LoadedBenchmark> {
  const all: Item[] = [];
  const seen = new Set<string>();
  for await (const raw of (await datasetOf(entry)).items()) {
    const item: Item = raw.answerType !== undefined ? raw : { ...raw, answerType: 'open' };
    if (seen.has(item.id)) throw new InputError(`benchmark "${entry.name}" (${entry.path ?? entry.format})`, `item id "${item.id}" is used twice (ids must be unique)`);
    seen.add(item.id);
    all.push(item);
  }
  const kept = entry.questionTypes === 'all' ? all : all.filter((i) => i.answerType === entry.questionTypes);
  const where = `benchmark "${entry.name}" (${entry.path ?? entry.format})`;
  if (kept.length === 0) throw new InputError(where, `no ${entry.questionTypes === 'all' ? '' : `${entry.questionTypes} `}items`);
  const items = sampleItems(kept, entry.sample ?? suite.sample, (suite.seed + hashName(entry.name)) >>> 0);
  // A missing image is a data problem: said before anything runs, not as one failed request per item.
  const missing: Item[] = [];
  for (let i = 0; i < items.length; i += 256)
    await Promise.all(
      items.slice(i, i + 256).map(async (item) => {
        const image = item.image;
        if (typeof image === 'string' && !/^(data:|https?:\/\/)/i.test(image) && !(await pathExists(image))) missing.push(item);
      }),
    );
  if (missing.length > 0)
    throw new InputError(where, `${missing.length} of ${items.length} items have no image file, e.g. item "${missing[0]!.id}": ${String(missing[0]!.image)} (check the images folder)`);
  return { entry, items, available: all.length };
}

export interface PairProgress {
  readonly model: string;
  readonly benchmark: string;
  readonly items: number;
  readonly alreadyJudged: number;
  readonly alreadyCompleted: number;
}

/**
 * An endpoint that refused a request in a way every later call would repeat
 * (wrong key, model or route: `endpointRefusal`). A refused model stops that
 * model (its other benchmarks are not tried); a refused judge stops the run.
 */
export interface EndpointRefused {
  /** `model <name>`, or `judge`. */
  readonly endpoint: string;
  /** e.g. `http 401`, `http 400, wrong model`. */
  readonly category: string;
  /** `<benchmark>/<item id>: <reason>` of the first refused call. */
  readonly example: string;
}

export interface RunPairsResult {
  readonly failures: Record<string, { count: number; example: string }>;
  /** Endpoints that refused (at most one entry per model, and one for the judges). */
  readonly refused: readonly EndpointRefused[];
  /** True when the caller's signal stopped the run (not a refusal). */
  readonly interrupted: boolean;
}

export function pairFiles(out: string, model: string, benchmark: string): { completions: string; judged: string } {
  return { completions: join(out, 'runs', model, `${benchmark}.completions.jsonl`), judged: join(out, 'runs', model, `${benchmark}.judged.jsonl`) };
}

/** True when a judged record is final (both verdicts, or a step reason a rerun would repeat). */
export function isFinalJudged(r: JsonRecord): boolean {
  return typeof r.correct === 'boolean' && (Array.isArray(r.stepLabels) || (typeof r.unjudged === 'string' && FINAL_STEP_REASONS.has(r.unjudged)));
}

const idKey = (r: JsonRecord): string | null => (typeof r.id === 'string' ? r.id : null);

function itemRecord(item: Item, benchmark: string, model: string): JsonRecord {
  return {
    id: item.id,
    benchmark,
    model,
    source: item.source,
    question: item.question,
    answer: item.answer,
    ...(item.answers !== undefined ? { answers: item.answers } : {}),
    answerType: item.answerType ?? 'open',
    ...(typeof item.image === 'string' ? { image: item.image } : {}),
  };
}

export interface RunPairsOptions {
  readonly out: string;
  readonly models: readonly EvalModel[];
  readonly benchmarks: readonly LoadedBenchmark[];
  readonly judges: EvalJudges;
  readonly splitter: SplitterName;
  readonly signal: AbortSignal;
  readonly onStart?: (pair: PairProgress) => void;
  /** Called once per item finished (judged), skipped items excluded. */
  readonly onItem?: () => void;
}

/** Runs every pair; returns the inference failures by reason and the endpoints that refused. */
export async function runPairs(options: RunPairsOptions): Promise<RunPairsResult> {
  const failures: Record<string, { count: number; example: string }> = {};
  const fail = (category: string, example: string): void => {
    const seen = failures[category];
    if (seen) seen.count += 1;
    else failures[category] = { count: 1, example };
  };
  const refused: EndpointRefused[] = [];
  const judgeStop = new AbortController();
  const runSignal = AbortSignal.any([options.signal, judgeStop.signal]);
  for (const model of options.models) {
    const modelStop = new AbortController();
    const signal = AbortSignal.any([runSignal, modelStop.signal]);
    for (const bench of options.benchmarks) {
      if (signal.aborted) break;
      const files = pairFiles(options.out, model.name, bench.entry.name);
      const sinks: ResumableJsonl[] = [];
      try {
        const completions = await openResumableJsonl(files.completions, idKey);
        sinks.push(completions);
        const judged = await openResumableJsonl(files.judged, idKey, isFinalJudged);
        sinks.push(judged);
        const made = new Map<string, JsonRecord>();
        if (completions.existing > 0) {
          for await (const { value: record } of readJsonl(files.completions, { name: files.completions, objects: true })) if (typeof record.id === 'string') made.set(record.id, record);
        }
        const todo = bench.items.filter((i) => !judged.done.has(i.id));
        options.onStart?.({ model: model.name, benchmark: bench.entry.name, items: bench.items.length, alreadyJudged: bench.items.length - todo.length, alreadyCompleted: todo.filter((i) => made.has(i.id)).length });
        const pool = pLimit(Math.max(1, model.concurrency) * 2);
        await Promise.all(
          todo.map((item) =>
            pool(async () => {
              if (signal.aborted) return;
              let record = made.get(item.id);
              if (record === undefined) {
                const result = await model.complete(item, signal);
                if (result.kind === 'failed') {
                  if (result.reason === 'aborted' || signal.aborted) return; // not tried to the end: a rerun does it
                  const refusal = endpointRefusal(result.reason);
                  const example = `${bench.entry.name}/${item.id}: ${result.reason}`;
                  if (refusal !== null) {
                    refused.push({ endpoint: `model ${model.name}`, category: refusal, example });
                    modelStop.abort(new Error('the model endpoint refused'));
                    return;
                  }
                  fail(`${model.name}: ${reasonCategory(result.reason)}`, example);
                  return;
                }
                const parsed = parseCompletion(result.text);
                record = {
                  ...itemRecord(item, bench.entry.name, model.name),
                  completion: result.text,
                  prediction: parsed.answer,
                  steps: segmentSteps(result.text, { splitter: options.splitter }),
                  finishReason: result.finishReason,
                };
                await completions.append(record);
              }
              const verdict = await judgeRecord(item, record, options.judges, signal);
              if (verdict.kind === 'stopped') return; // aborted: a rerun judges it
              if (verdict.kind === 'refused') {
                if (!judgeStop.signal.aborted) {
                  refused.push({ endpoint: 'judge', category: verdict.category, example: `${model.name}/${bench.entry.name}/${item.id}: ${verdict.reason}` });
                  judgeStop.abort(new Error('the judge endpoint refused'));
                }
                return;
              }
              await judged.append({ ...record, ...verdict.record });
              options.onItem?.();
            }),
          ),
        );
      } finally {
        for (const s of sinks) await s.close();
      }
    }
    if (runSignal.aborted) break;
  }
  return { failures, refused, interrupted: options.signal.aborted };
}

type JudgeOutcome =
  | { readonly kind: 'judged'; readonly record: JsonRecord }
  /** Aborted: nothing to write. */
  | { readonly kind: 'stopped' }
  /** The judge endpoint refused (`endpointRefusal`): nothing to write, and no later item can be judged. */
  | { readonly kind: 'refused'; readonly category: string; readonly reason: string };

/** Answer verdict (any accepted answer judged correct) and step verdicts. */
async function judgeRecord(item: Item, record: JsonRecord, judges: EvalJudges, signal: AbortSignal): Promise<JudgeOutcome> {
  const unwritable = (reason: string): JudgeOutcome | null => {
    if (reason === 'aborted' || signal.aborted) return { kind: 'stopped' };
    const category = endpointRefusal(reason);
    return category === null ? null : { kind: 'refused', category, reason };
  };
  const prediction = typeof record.prediction === 'string' ? record.prediction : '';
  const v = await judgeAcceptedAnswers(judges.answer, item, item.answers ?? [item.answer], prediction, signal);
  const answerStop = v.kind === 'unjudged' ? unwritable(v.reason) : null;
  if (answerStop !== null) return answerStop;
  const correct = v.kind === 'judged' ? v.correct : null;
  const answerReason = v.kind === 'unjudged' ? v.reason : undefined;
  const stepTexts = Array.isArray(record.steps) ? (record.steps as Array<{ text: string }>).map((s) => s.text) : [];
  const s = await judges.steps.judgeSteps({ item, steps: stepTexts }, signal);
  const stepsStop = s.kind === 'unjudged' ? unwritable(s.reason) : null;
  if (stepsStop !== null) return stepsStop;
  const verdicts: JsonRecord = {
    correct,
    answerJudge: answerReason === undefined ? { name: judges.answer.name } : { name: judges.answer.name, unjudged: answerReason },
    ...(s.kind === 'judged'
      ? { stepVerdicts: s.verdicts, stepLabels: stepLabelsOf(s.verdicts), stepJudge: { name: judges.steps.name, missing: s.missing, extra: s.extra } }
      : { stepVerdicts: [], stepLabels: null, unjudged: s.reason, stepJudge: { name: judges.steps.name } }),
  };
  return { kind: 'judged', record: verdicts };
}
