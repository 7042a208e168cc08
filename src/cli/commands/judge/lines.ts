/**
 * Reading a completion line for `mrpo judge` (the item, the prediction, the
 * steps; an InputError naming the line and field otherwise) and writing the
 * judged line: the verdict fields and what the judgement cost.
 */
import { resolve } from 'node:path';
import { extractAnswer, segmentSteps, type SplitterName } from '../../../algo/steps.js';
import { InputError } from '../../../errors.js';
import { stepLabelsOf, type AnswerJudgement, type JudgeUsage, type StepJudgement } from '../../../judges/judge.js';
import { costOf, type Prices } from '../../../judges/meter.js';
import type { Item } from '../../../types.js';
import type { JsonRecord } from '../../../utils/jsonl.js';

function describe(value: unknown): string {
  return value === undefined ? 'nothing' : value === null ? 'null' : Array.isArray(value) ? 'an array' : `${typeof value} ${JSON.stringify(value).slice(0, 40)}`;
}

/** The item a completion line is about; `baseDir` resolves relative image paths. */
export function itemOfLine(record: JsonRecord, where: string, baseDir: string): Item {
  const text = (field: string, optional = false): string | undefined => {
    const v = record[field];
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
    if (optional && (v === undefined || v === null)) return undefined;
    throw new InputError(where, `field "${field}" must be a string, got ${describe(v)}`);
  };
  const image = record.image;
  if (image !== undefined && image !== null && typeof image !== 'string') throw new InputError(where, `field "image" must be a path or data URL, got ${describe(image)}`);
  const resolved =
    typeof image !== 'string' || image.startsWith('data:') || /^https?:\/\//i.test(image) ? (image ?? '') : resolve(baseDir, image);
  const goldReasoning = text('goldReasoning', true);
  return {
    id: text('id') as string,
    image: resolved,
    question: text('question') as string,
    answer: text('answer') as string,
    ...(goldReasoning !== undefined ? { goldReasoning } : {}),
    source: text('source', true) ?? 'unknown',
  };
}

export function predictionOf(record: JsonRecord, where: string): string {
  if (typeof record.prediction === 'string') return record.prediction;
  if (typeof record.completion === 'string') return extractAnswer(record.completion);
  throw new InputError(where, `field "prediction" (or "completion") must be a string, got ${describe(record.prediction ?? record.completion)}`);
}

export function stepsOf(record: JsonRecord, where: string, splitter: SplitterName): string[] {
  const steps = record.steps;
  if (Array.isArray(steps))
    return steps.map((s, i) => {
      if (typeof s === 'string') return s;
      if (s !== null && typeof s === 'object' && typeof (s as { text?: unknown }).text === 'string') return (s as { text: string }).text;
      throw new InputError(where, `field "steps[${i}]" must be {start, end, text} or a string, got ${describe(s)}`);
    });
  if (typeof record.completion === 'string') return segmentSteps(record.completion, { splitter }).map((s) => s.text);
  throw new InputError(where, `field "steps" (or "completion") is required, got ${describe(steps)}`);
}

/**
 * What one judgement cost, as written in the judged line: tokens (0 when no
 * call was made, or the verdict came from the cache) and dollars at the
 * configured prices (null when the model has no known prices and tokens were used).
 */
export interface CostFields {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly cached: boolean;
  readonly costUsd: number | null;
}

export function costFields(usage: JudgeUsage | undefined, prices: Prices | null): CostFields {
  const promptTokens = usage?.promptTokens ?? 0;
  const completionTokens = usage?.completionTokens ?? 0;
  return {
    promptTokens,
    completionTokens,
    cached: usage?.cached ?? false,
    costUsd: promptTokens + completionTokens === 0 ? 0 : costOf(prices, promptTokens, completionTokens),
  };
}

/** The line `judge answers` writes: the input plus `correct` and `answerJudge` (name, cost, reason when unjudged). */
export function answerLine(record: JsonRecord, judgeName: string, result: AnswerJudgement, prices: Prices | null): JsonRecord {
  const cost = costFields(result.usage, prices);
  return {
    ...record,
    correct: result.kind === 'judged' ? result.correct : null,
    answerJudge: result.kind === 'judged' ? { name: judgeName, ...cost } : { name: judgeName, unjudged: result.reason, ...cost },
  };
}

/** The line `judge steps` writes: the input (without an earlier `unjudged`) plus the verdicts, labels and `stepJudge` (name, counts, cost). */
export function stepsLine(record: JsonRecord, judgeName: string, result: StepJudgement, prices: Prices | null): JsonRecord {
  const { unjudged: _previous, ...rest } = record;
  const cost = costFields(result.usage, prices);
  return result.kind === 'judged'
    ? { ...rest, stepVerdicts: result.verdicts, stepLabels: stepLabelsOf(result.verdicts), stepJudge: { name: judgeName, missing: result.missing, extra: result.extra, ...cost } }
    : { ...rest, stepVerdicts: [], stepLabels: null, unjudged: result.reason, stepJudge: { name: judgeName, ...cost } };
}
