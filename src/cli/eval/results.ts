/**
 * Reads the judged files of a run back into table rows, and the cost
 * estimate printed before a run starts.
 */
import { readJsonl } from '../../utils/jsonl.js';
import { pathExists } from '../../utils/fs.js';
import type { Prices } from '../../judges/meter.js';
import type { StepLabel } from '../../types.js';
import { isFinalJudged } from './runner.js';
import type { JudgedRow } from './tables.js';

/** The judged rows of one pair, restricted to the ids of the current sample (the last line of an id wins). */
export async function readJudgedRows(file: string, ids: ReadonlySet<string>): Promise<JudgedRow[]> {
  if (!(await pathExists(file))) return [];
  const byId = new Map<string, JudgedRow>();
  for await (const { value: record } of readJsonl(file, { name: file, objects: true })) {
    if (typeof record.id !== 'string' || !ids.has(record.id) || !isFinalJudged(record)) continue;
    const answers = Array.isArray(record.answers) ? (record.answers as unknown[]).filter((a): a is string => typeof a === 'string') : [];
    byId.set(record.id, {
      answerType: record.answerType === 'closed' ? 'closed' : 'open',
      prediction: typeof record.prediction === 'string' ? record.prediction : '',
      answers: answers.length > 0 ? answers : [String(record.answer ?? '')],
      correct: typeof record.correct === 'boolean' ? record.correct : null,
      stepLabels: Array.isArray(record.stepLabels) ? (record.stepLabels as StepLabel[]) : null,
    });
  }
  return [...byId.values()];
}

/** Ids of the sample already judged for good in a pair's judged file. */
export async function readJudgedIds(file: string, ids: ReadonlySet<string>): Promise<Set<string>> {
  const done = new Set<string>();
  if (!(await pathExists(file))) return done;
  for await (const { value: record } of readJsonl(file, { name: file, objects: true })) if (typeof record.id === 'string' && ids.has(record.id) && isFinalJudged(record)) done.add(record.id);
  return done;
}

/** Assumed tokens per judge call for the estimate (an image at the default budget is ~1,000 tokens). */
export const ESTIMATE_PROMPT_TOKENS = 1300;
export const ESTIMATE_COMPLETION_TOKENS = 300;

export interface CostEstimate {
  readonly calls: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly usd: number | null;
}

/** Judge calls: `stepCalls` step calls and at most `answerCalls` answer calls (one per accepted answer). */
export function estimateJudgeCost(stepCalls: number, answerCalls: number, prices: Prices | null): CostEstimate {
  const calls = stepCalls + answerCalls;
  const promptTokens = calls * ESTIMATE_PROMPT_TOKENS;
  const completionTokens = calls * ESTIMATE_COMPLETION_TOKENS;
  const usd = prices === null ? null : (promptTokens * prices.inputPerMillion + completionTokens * prices.outputPerMillion) / 1e6;
  return { calls, promptTokens, completionTokens, usd };
}
