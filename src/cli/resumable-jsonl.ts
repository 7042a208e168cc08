/**
 * Resumable JSONL output for long CLI jobs (cli.md "Long-running commands are
 * resumable"): on start, the existing output is read and the keys already
 * done are collected; a last line cut short by a crash is removed (and
 * reported); new records are appended one whole line per write, in order of
 * completion. Also: reading a JSONL input file or stream line by line with
 * errors that name the line.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, truncate, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { InputError } from '../errors.js';
import { writeFileAtomic } from './io.js';

export interface ResumableJsonl {
  /** Keys of the records already in the file. */
  readonly done: ReadonlySet<string>;
  /** Records already in the file. */
  readonly existing: number;
  /** True when a cut-off last line was removed. */
  readonly repaired: boolean;
  /** Existing records removed because `keep` rejected them. */
  readonly dropped: number;
  append(record: unknown): Promise<void>;
  close(): Promise<void>;
}

export type JsonRecord = Record<string, unknown>;

/**
 * Opens `path` for appending. `keyOf` names a record (null = no key);
 * `keep` (optional) decides whether an existing record counts as done — a
 * record that is not kept is removed from the file (e.g. `--retry-unjudged`).
 */
export async function openResumableJsonl(
  path: string,
  keyOf: (record: JsonRecord) => string | null,
  keep: (record: JsonRecord) => boolean = () => true,
): Promise<ResumableJsonl> {
  await mkdir(dirname(path), { recursive: true });
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new InputError(path, `cannot read output file (${(error as NodeJS.ErrnoException).code})`);
  }
  let repaired = false;
  const cut = text.lastIndexOf('\n') + 1;
  if (cut < text.length) {
    // The last line has no newline: the previous run stopped while writing it.
    repaired = true;
    text = text.slice(0, cut);
    await truncate(path, Buffer.byteLength(text));
  }
  const done = new Set<string>();
  const kept: string[] = [];
  let dropped = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (error) {
      throw new InputError(`${basename(path)} line ${i + 1}`, `existing output is not valid JSON (${(error as Error).message}); fix or remove the file to resume`);
    }
    if (record === null || typeof record !== 'object' || Array.isArray(record))
      throw new InputError(`${basename(path)} line ${i + 1}`, 'existing output line is not a JSON object');
    if (!keep(record as JsonRecord)) {
      dropped += 1;
      continue;
    }
    kept.push(line);
    const key = keyOf(record as JsonRecord);
    if (key !== null) done.add(key);
  }
  // Without the dropped records, written to a temporary file and renamed so that a crash loses nothing.
  if (dropped > 0) await writeFileAtomic(path, kept.map((l) => `${l}\n`).join(''));
  const handle: FileHandle = await open(path, 'a');
  let chain: Promise<unknown> = Promise.resolve();
  return {
    done,
    existing: kept.length,
    repaired,
    dropped,
    append(record) {
      const line = `${JSON.stringify(record)}\n`;
      const next = chain.then(() => handle.write(line));
      chain = next.catch(() => undefined);
      return next.then(() => undefined);
    },
    async close() {
      await chain;
      await handle.sync().catch(() => undefined);
      await handle.close();
    },
  };
}

/** The records of a JSONL file or stream, each with its 1-based line number; a bad line is an InputError naming it. */
export async function* readJsonlRecords(source: string | NodeJS.ReadableStream, name: string): AsyncGenerator<{ record: JsonRecord; line: number }> {
  let input: NodeJS.ReadableStream;
  if (typeof source === 'string') {
    const stream = createReadStream(source, { encoding: 'utf8' });
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', (error: NodeJS.ErrnoException) =>
        reject(new InputError(source, error.code === 'ENOENT' ? 'file not found' : `cannot read file (${error.code ?? error.message})`)),
      );
    });
    input = stream;
  } else input = source;
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  for await (const raw of lines) {
    n += 1;
    const text = n === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    if (text.trim() === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch (error) {
      throw new InputError(`${name} line ${n}`, `not valid JSON (${(error as Error).message})`);
    }
    if (record === null || typeof record !== 'object' || Array.isArray(record)) throw new InputError(`${name} line ${n}`, 'expected a JSON object');
    yield { record: record as JsonRecord, line: n };
  }
}
