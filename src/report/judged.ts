/**
 * Reading judged traces for `mrpo analyze` (issue 3): JSONL lines
 * `{ "id", "correct": boolean, "stepLabels": [0|1, …] }`, optionally with
 * `source` (benchmark) and any further fields (the output of `mrpo judge steps`
 * is accepted as is). `correct: null` (answer unjudged) and
 * `stepLabels: null` (steps unjudged) are counted and left out of the failure
 * summary; anything else malformed is an InputError naming the file, the line
 * and the field. Also computes accuracy per source.
 */
import { InputError } from '../errors.js';
import type { StepLabel } from '../types.js';
import { jsonlLines } from '../utils/jsonl.js';
import type { SourceAccuracy } from './report-types.js';

export interface JudgedTrace {
  readonly id: string;
  /** null when the answer judge left the record unjudged. */
  readonly correct: boolean | null;
  /** null when the step judge left the record unjudged. */
  readonly stepLabels: readonly StepLabel[] | null;
  readonly source?: string;
}

export interface JudgedFile {
  readonly traces: readonly JudgedTrace[];
  /** Records whose `correct` is null. */
  readonly unjudgedAnswers: number;
  /** Records whose `stepLabels` is null (answer judged or not). */
  readonly unjudgedSteps: number;
  /** Records with both an answer verdict and step labels: what the failure summary is computed from. */
  readonly complete: ReadonlyArray<{ readonly correct: boolean; readonly stepLabels: readonly StepLabel[] }>;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (field missing)';
  const json = JSON.stringify(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

/** Like `describe`, naming the command that writes the field when it is missing. */
function missing(value: unknown, command: string): string {
  return value === undefined ? `nothing (field missing; \`${command}\` adds it)` : describe(value);
}

/** Validates one parsed record; `where` is e.g. `judged.jsonl line 7`. */
export function parseJudgedRecord(value: unknown, where: string): JudgedTrace {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InputError(where, `expected a JSON object, got ${describe(value)}`);
  const record = value as Record<string, unknown>;
  const id = record.id;
  if (typeof id !== 'string' && !(typeof id === 'number' && Number.isFinite(id)))
    throw new InputError(where, `field "id" must be a string, got ${describe(id)}`);
  const correct = record.correct;
  if (correct !== null && typeof correct !== 'boolean')
    throw new InputError(where, `field "correct" must be true, false or null (unjudged), got ${missing(correct, 'mrpo judge answers')}`);
  const labels = record.stepLabels;
  let stepLabels: StepLabel[] | null = null;
  if (labels !== null) {
    if (!Array.isArray(labels) || !labels.every((l) => l === 0 || l === 1))
      throw new InputError(where, `field "stepLabels" must be an array of 0/1 (or null when unjudged), got ${missing(labels, 'mrpo judge steps')}`);
    stepLabels = labels as StepLabel[];
  }
  const source = record.source;
  if (source !== undefined && source !== null && typeof source !== 'string')
    throw new InputError(where, `field "source" must be a string when present, got ${describe(source)}`);
  return { id: String(id), correct, stepLabels, ...(typeof source === 'string' ? { source } : {}) };
}

/** Parses a judged JSONL text (blank lines ignored). `name` is used in error messages. */
export function parseJudgedJsonl(text: string, name: string): JudgedFile {
  const traces: JudgedTrace[] = [];
  const firstLine = new Map<string, number>();
  for (const { value, line } of jsonlLines(text, { name })) {
    const where = `${name} line ${line}`;
    const trace = parseJudgedRecord(value, where);
    // As in `mrpo judge`: each (id, sample) once, else a trace would count twice.
    const sample = (value as { sample?: unknown }).sample ?? 0;
    const key = JSON.stringify([trace.id, sample]);
    const earlier = firstLine.get(key);
    if (earlier !== undefined)
      throw new InputError(where, `id ${JSON.stringify(trace.id)} with sample ${JSON.stringify(sample)} is already on line ${earlier} (each (id, sample) must be unique)`);
    firstLine.set(key, line);
    traces.push(trace);
  }
  if (traces.length === 0) throw new InputError(name, 'no records (expected JSONL lines {"id", "correct", "stepLabels"})');
  let unjudgedAnswers = 0;
  let unjudgedSteps = 0;
  const complete: Array<{ correct: boolean; stepLabels: readonly StepLabel[] }> = [];
  for (const t of traces) {
    if (t.correct === null) unjudgedAnswers++;
    if (t.stepLabels === null) unjudgedSteps++;
    if (t.correct !== null && t.stepLabels !== null) complete.push({ correct: t.correct, stepLabels: t.stepLabels });
  }
  return { traces, unjudgedAnswers, unjudgedSteps, complete };
}

/**
 * Accuracy per `source` over records with an answer verdict (step labels not
 * needed), sources in order of first appearance; records without a source are
 * grouped as "(none)" only when some other record has a source, else [] .
 */
export function accuracyBySource(traces: readonly JudgedTrace[]): SourceAccuracy[] {
  if (!traces.some((t) => t.source !== undefined)) return [];
  const groups = new Map<string, { traces: number; correct: number }>();
  for (const t of traces) {
    if (t.correct === null) continue;
    const key = t.source ?? '(none)';
    const g = groups.get(key) ?? { traces: 0, correct: 0 };
    g.traces++;
    if (t.correct) g.correct++;
    groups.set(key, g);
  }
  return [...groups].map(([source, g]) => ({ source, traces: g.traces, correct: g.correct, accuracy: g.correct / g.traces }));
}
