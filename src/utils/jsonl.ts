/**
 * The one JSONL reader (issue 12): every file or stream of JSON lines the
 * toolkit reads goes through here, so the rules are the same everywhere.
 *
 * - A UTF-8 byte-order mark at the start is ignored; lines end in `\n` or
 *   `\r\n`; blank lines are skipped; line numbers are 1-based and count the
 *   blank lines.
 * - A line that is not JSON is an InputError `<name> line N: not valid JSON (…)`.
 * - With `objects`, a line that is not a JSON object is an InputError
 *   `<name> line N: expected a JSON object, got …`.
 * - Torn last line: with `torn: 'drop'` a last line that has no newline after
 *   it and does not parse is dropped (an append cut short by a kill, in a log
 *   that is still written to); by default it is an error like any other.
 *   Only text can tell (a stream is read line by line): streams use the default.
 * - `hint` is appended to the JSON errors (e.g. what to do about them).
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { InputError } from '../errors.js';

export type JsonRecord = Record<string, unknown>;

export interface JsonlOptions {
  /** The file as named in errors. */
  readonly name: string;
  readonly objects?: boolean;
  readonly torn?: 'error' | 'drop';
  readonly hint?: string;
}

export interface JsonlLine<T = unknown> {
  readonly value: T;
  /** 1-based line number. */
  readonly line: number;
  /** The line as written (without its line ending). */
  readonly text: string;
}

type ObjectOptions = JsonlOptions & { readonly objects: true };

function shortJson(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

/** One line: undefined for a blank line (or a torn last line that is dropped); else its value, or an InputError. */
function parseLine(raw: string, line: number, options: JsonlOptions, tornCandidate: boolean): unknown {
  const text = line === 1 ? raw.replace(/^\uFEFF/, '') : raw;
  if (text.trim() === '') return undefined;
  const where = `${options.name} line ${line}`;
  const hint = options.hint === undefined ? '' : `; ${options.hint}`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    if (tornCandidate && options.torn === 'drop') return undefined;
    throw new InputError(where, `not valid JSON (${(error as Error).message})${hint}`);
  }
  if (options.objects && (value === null || typeof value !== 'object' || Array.isArray(value)))
    throw new InputError(where, `expected a JSON object, got ${shortJson(value)}${hint}`);
  return value;
}

/** The lines of a JSONL text, one at a time: the first bad line (in JSON or in what the caller checks) is the one reported. */
export function jsonlLines(text: string, options: ObjectOptions): Generator<JsonlLine<JsonRecord>>;
export function jsonlLines(text: string, options: JsonlOptions): Generator<JsonlLine>;
export function* jsonlLines(text: string, options: JsonlOptions): Generator<JsonlLine> {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const value = parseLine(line, i + 1, options, i === lines.length - 1);
    if (value !== undefined) yield { value, line: i + 1, text: line };
  }
}

/** The lines of a JSONL text, all at once. */
export function parseJsonl(text: string, options: ObjectOptions): JsonlLine<JsonRecord>[];
export function parseJsonl(text: string, options: JsonlOptions): JsonlLine[];
export function parseJsonl(text: string, options: JsonlOptions): JsonlLine[] {
  return [...jsonlLines(text, options)];
}

/** The lines of a JSONL file (a path: a missing file is an InputError "file not found") or stream, as they are read. */
export function readJsonl(source: string | NodeJS.ReadableStream, options: ObjectOptions): AsyncGenerator<JsonlLine<JsonRecord>>;
export function readJsonl(source: string | NodeJS.ReadableStream, options: JsonlOptions): AsyncGenerator<JsonlLine>;
export async function* readJsonl(source: string | NodeJS.ReadableStream, options: JsonlOptions): AsyncGenerator<JsonlLine> {
  let input: NodeJS.ReadableStream;
  let owned: ReturnType<typeof createReadStream> | null = null;
  if (typeof source === 'string') {
    const stream = createReadStream(source, { encoding: 'utf8' });
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', (error: NodeJS.ErrnoException) =>
        reject(new InputError(options.name, error.code === 'ENOENT' ? 'file not found' : `cannot read file (${error.code ?? error.message})`)),
      );
    });
    input = stream;
    owned = stream;
  } else input = source;
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  try {
    for await (const raw of lines) {
      n += 1;
      const value = parseLine(raw, n, { ...options, torn: 'error' }, false);
      if (value !== undefined) yield { value, line: n, text: raw };
    }
  } finally {
    lines.close();
    owned?.destroy();
  }
}
