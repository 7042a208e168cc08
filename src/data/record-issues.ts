/**
 * How loaders treat a malformed record: by default an InputError naming the
 * file, the record and the field; when the caller passes an issue sink (as
 * `mrpo data build` does) the record is skipped and the issue recorded, so a
 * build completes with a list of what was skipped and why instead of stopping
 * half-way.
 */
import { readFile } from 'node:fs/promises';
import { InputError } from '../errors.js';
import { assertNotLfsPointer } from './lfs.js';

export interface RecordIssue {
  /** File and record, e.g. `train.json record 12 ($[12])`. */
  readonly where: string;
  /** What is wrong, naming the field: `field "img_name" must be a string, got null`. */
  readonly problem: string;
}

export type IssueSink = (issue: RecordIssue) => void;

/** Reports an invalid record: throws without a sink, records it with one. Returns `undefined` so callers can `return invalid(...)`. */
export function invalid(sink: IssueSink | undefined, where: string, problem: string): undefined {
  if (sink === undefined) throw new InputError(where, problem);
  sink({ where, problem });
  return undefined;
}

/** Reads a JSON file, turning a missing file, a Git LFS pointer or a syntax error into an InputError naming it. */
export async function readJsonFile(path: string, label = path): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(label, code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(error)})`);
  }
  assertNotLfsPointer(text, label);
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new InputError(label, `not valid JSON (${(error as Error).message})`);
  }
}

/** The records of a JSON document that is an array of records or an object of records keyed by id. */
export function recordsOf(document: unknown, label: string): Array<{ key: string; value: unknown; where: string }> {
  if (Array.isArray(document)) return document.map((value, i) => ({ key: String(i), value, where: `${label} record ${i} ($[${i}])` }));
  if (document !== null && typeof document === 'object')
    return Object.entries(document as Record<string, unknown>).map(([key, value]) => ({
      key,
      value,
      where: `${label} record "${key}" ($[${JSON.stringify(key)}])`,
    }));
  throw new InputError(label, `expected a JSON array of records or an object of records keyed by id, got ${document === null ? 'null' : typeof document}`);
}

/** True for a plain JSON object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
