/**
 * Resumable JSONL output for long CLI jobs (docs/cli.md "Long-running commands are
 * resumable"): on start, the existing output is read and the keys already
 * done are collected; a last line cut short by a crash is removed (and
 * reported); new records are appended in order of completion, as whole
 * lines, those that arrive together in one write. The lines are read by the
 * one JSONL reader (src/utils/jsonl.ts).
 */
import { mkdir, open, readFile, truncate, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { InputError } from '../errors.js';
import { jsonlLines, type JsonRecord } from '../utils/jsonl.js';
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
  // The text now ends in a newline (or is empty), so every line is whole: a bad one is an error.
  for (const { value, text: line } of jsonlLines(text, { name: basename(path), objects: true, hint: 'this is the existing output: fix or remove the file to resume' })) {
    if (!keep(value)) {
      dropped += 1;
      continue;
    }
    kept.push(line);
    const key = keyOf(value);
    if (key !== null) done.add(key);
  }
  // Without the dropped records, written to a temporary file and renamed so that a crash loses nothing.
  if (dropped > 0) await writeFileAtomic(path, kept.map((l) => `${l}\n`).join(''));
  const handle: FileHandle = await open(path, 'a');
  // Lines appended while the previous write is under way (or in the same turn) go out together in the next
  // write, in order: one system call per batch, not per line (a rerun over cached verdicts appends thousands
  // of lines a second). A crash can cut only the last line, which the next open removes.
  let chain: Promise<unknown> = Promise.resolve();
  let queue: string[] = [];
  let queued: Promise<void> | null = null;
  return {
    done,
    existing: kept.length,
    repaired,
    dropped,
    append(record) {
      queue.push(`${JSON.stringify(record)}\n`);
      if (queued === null) {
        const batch = chain.then(() => {
          const text = queue.join('');
          queue = [];
          queued = null;
          return handle.appendFile(text); // (loops until every byte is written, unlike a single write)
        });
        queued = batch.then(() => undefined);
        chain = batch.catch(() => undefined);
      }
      return queued;
    },
    async close() {
      await chain;
      await handle.sync().catch(() => undefined);
      await handle.close();
    },
  };
}
