/**
 * Reader and writer for item files (docs/method.md §1, §9; docs/reference-facts.md §3e).
 *
 * Reads, record by record, with errors that name the file, the line (JSONL)
 * or record (`$[12]`, JSON) and the field:
 * - our items JSONL: `{id, image, question, answer, answers?, answerType?, goldReasoning?, source}`
 *   (`answers`: every accepted answer, `answer` first; `answerType`: open | closed),
 *   `image` a path relative to the file, an absolute path, an http(s) URL or a
 *   `data:` URL;
 * - the reference's `{image, problem, solution}` records, as a JSON array or
 *   JSONL: `problem` → question (the reference's think/answer prompt suffix is
 *   stripped when present), `solution` → answer (`<answer>` tags stripped);
 * - the reference's merged MedThink records `{image_path, question, answer, solution}`
 *   (`solution` is the rationale → goldReasoning);
 * - a JSON object keyed by id whose values are such records.
 * Missing ids are derived stably from the image string, question and answer as
 * written (duplicates get `#2`, `#3`, …); a missing source is guessed from the
 * image path (`vqa-rad`, `slake`, `pathvqa`) or else is the file's stem.
 *
 * The writer emits our JSONL: local image paths become relative to the output
 * file; in-memory images (bytes, raw pixels) are written to an images folder.
 */
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { InputError } from '../errors.js';
import type { ImageSource, Item } from '../types.js';
import { readJsonl } from '../utils/jsonl.js';
import type { Dataset } from './dataset.js';
import { extensionForMime, isDataUrl, loadImageBytes } from './images.js';
import { describeValue, IdAllocator, pythonStr, stableId } from './normalize.js';

/** The reference's prompt suffix (docs/reference-facts.md §3b), with `<think>` or `<thinking>`; stripped from `problem`. */
const PROMPT_SUFFIX =
  /\s*Think step[- ]by[- ]step and enclose your reasoning in <(think|thinking)>\s*\.\.\.\s*<\/\1> tags\.\s*Then provide your answer in <answer>\s*\.\.\.\s*<\/answer> tags\.?\s*$/i;
const ANSWER_TAGS = /^\s*<answer>([\s\S]*?)<\/answer>\s*$/i;

/** Removes the reference's think/answer instruction from the end of a question, if present. */
export function stripPromptSuffix(question: string): string {
  return question.replace(PROMPT_SUFFIX, '');
}

/** `<answer> x </answer>` → `x`; other text unchanged (trimmed only when tags were removed). */
export function stripAnswerTags(answer: string): string {
  const m = ANSWER_TAGS.exec(answer);
  return m ? (m[1] ?? '').trim() : answer;
}

/** Guesses the source data set from an image path (`…/vqa-rad/…` → `vqa-rad`). */
export function guessSource(image: string): string | undefined {
  if (isDataUrl(image)) return undefined;
  const p = image.replace(/\\/g, '/').toLowerCase();
  if (/(^|\/)(vqa[-_]?rad|r-rad)(\/|$)/.test(p) || /synpic\d/.test(p)) return 'vqa-rad';
  if (/(^|\/)(slake|r-slake)(\/|$)/.test(p) || /(^|\/)xmlab\d+(\/|_)/.test(p)) return 'slake';
  if (/(^|\/)(path[-_]?vqa|r-pathvqa)(\/|$)/.test(p)) return 'pathvqa';
  if (/(^|\/)pmc[-_]?vqa(\/|$)/.test(p)) return 'pmc-vqa';
  return undefined;
}

type RecordObject = Record<string, unknown>;

interface RecordContext {
  readonly file: string;
  readonly fileDir: string;
  readonly fileStem: string;
  readonly ids: IdAllocator;
}

function requiredText(record: RecordObject, field: string, where: string, options: { allowNumber?: boolean } = {}): string {
  const value = record[field];
  if (typeof value === 'string') return value;
  if (options.allowNumber && (typeof value === 'number' || typeof value === 'boolean')) return pythonStr(value);
  throw new InputError(where, `field "${field}" must be a string, got ${describeValue(value)}`);
}

/** Converts one parsed record into an Item; `where` names the file and line/record. */
export function recordToItem(value: unknown, where: string, context: RecordContext): Item {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new InputError(where, `expected a JSON object (an item or an {image, problem, solution} record), got ${describeValue(value)}`);
  const record = value as RecordObject;
  const isReference = 'problem' in record;

  const imageField = 'image' in record || !('image_path' in record) ? 'image' : 'image_path';
  const rawImage = record[imageField];
  if (typeof rawImage !== 'string' || rawImage.trim().length === 0)
    throw new InputError(where, `field "${imageField}" must be a path or data URL, got ${describeValue(rawImage)}`);
  const image: string =
    isDataUrl(rawImage) || /^https?:\/\//i.test(rawImage) || isAbsolute(rawImage) ? rawImage : resolve(context.fileDir, rawImage);

  let question: string;
  let answer: string;
  let goldReasoning: string | undefined;
  if (isReference) {
    question = stripPromptSuffix(requiredText(record, 'problem', where, { allowNumber: true }));
    answer = stripAnswerTags(requiredText(record, 'solution', where, { allowNumber: true }));
  } else {
    question = requiredText(record, 'question', where, { allowNumber: true });
    answer = requiredText(record, 'answer', where, { allowNumber: true });
    if ('solution' in record && !('goldReasoning' in record)) goldReasoning = requiredText(record, 'solution', where);
  }
  if ('goldReasoning' in record && record.goldReasoning !== undefined && record.goldReasoning !== null) {
    goldReasoning = requiredText(record, 'goldReasoning', where);
  }

  let source: string;
  if ('source' in record && record.source !== undefined && record.source !== null) source = requiredText(record, 'source', where);
  else source = guessSource(image) ?? context.fileStem;

  let id: string;
  const rawId = record.id;
  if (rawId === undefined || rawId === null) id = context.ids.take(stableId(source, [rawImage, question, answer]));
  else if (typeof rawId === 'string' && rawId.length > 0) id = rawId;
  else if (typeof rawId === 'number' && Number.isFinite(rawId)) id = String(rawId);
  else throw new InputError(where, `field "id" must be a non-empty string or a number, got ${describeValue(rawId)}`);

  const extra = acceptedAnswersOf(record, where, answer);
  return { id, image, question, answer, ...extra, ...(goldReasoning === undefined ? {} : { goldReasoning }), source };
}

/** The optional `answers` (accepted answers, non-empty strings) and `answerType` (open | closed) of a record. */
function acceptedAnswersOf(record: RecordObject, where: string, answer: string): { answers?: string[]; answerType?: 'open' | 'closed' } {
  const out: { answers?: string[]; answerType?: 'open' | 'closed' } = {};
  const raw = record.answers;
  if (raw !== undefined && raw !== null) {
    if (!Array.isArray(raw) || raw.length === 0) throw new InputError(where, `field "answers" must be a non-empty array of strings, got ${describeValue(raw)}`);
    const list = raw.map((a, i) => {
      if (typeof a === 'string' || typeof a === 'number') return String(a);
      throw new InputError(where, `field "answers[${i}]" must be a string, got ${describeValue(a)}`);
    });
    out.answers = list.includes(answer) ? [answer, ...list.filter((a) => a !== answer)] : [answer, ...list];
  }
  const type = record.answerType;
  if (type !== undefined && type !== null) {
    if (type !== 'open' && type !== 'closed') throw new InputError(where, `field "answerType" must be "open" or "closed", got ${describeValue(type)}`);
    out.answerType = type;
  }
  return out;
}

function contextFor(path: string): RecordContext {
  const name = basename(path);
  const ext = extname(name);
  return { file: name, fileDir: dirname(resolve(path)), fileStem: ext ? name.slice(0, -ext.length) : name, ids: new IdAllocator() };
}

async function* readItemLines(path: string, context: RecordContext): AsyncGenerator<Item> {
  for await (const { value, line } of readJsonl(path, { name: context.file })) yield recordToItem(value, `${context.file} line ${line}`, context);
}

function* readJsonDocument(parsed: unknown, context: RecordContext): Generator<Item> {
  if (Array.isArray(parsed)) {
    for (let i = 0; i < parsed.length; i++) yield recordToItem(parsed[i], `${context.file} record ${i} ($[${i}])`, context);
    return;
  }
  if (parsed !== null && typeof parsed === 'object') {
    const record = parsed as RecordObject;
    // One record on its own, or an object keyed by id (MedThink style).
    if ('image' in record || 'image_path' in record) {
      yield recordToItem(record, `${context.file} $`, context);
      return;
    }
    for (const [key, value] of Object.entries(record)) {
      const where = `${context.file} record "${key}" ($[${JSON.stringify(key)}])`;
      const withId = value !== null && typeof value === 'object' && !Array.isArray(value) && !('id' in value) ? { id: key, ...(value as RecordObject) } : value;
      yield recordToItem(withId, where, context);
    }
    return;
  }
  throw new InputError(context.file, `expected a JSON array of records, an object of records, or JSONL; got ${describeValue(parsed)}`);
}

/**
 * Reads an item file (JSONL, a JSON array, or a JSON object of records) as items,
 * in file order. Image paths are resolved against the file's folder.
 */
export async function* readItems(path: string): AsyncGenerator<Item> {
  const context = contextFor(path);
  let head: string;
  try {
    const handle = await open(path, 'r');
    try {
      const buf = Buffer.alloc(4096);
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
      head = buf.subarray(0, bytesRead).toString('utf8').replace(/^\uFEFF/, '');
    } finally {
      await handle.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(path, code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(error)})`);
  }
  const ext = extname(path).toLowerCase();
  const first = head.trimStart()[0];
  if (ext === '.jsonl' || ext === '.ndjson' || (first !== '[' && first !== '{' && first !== undefined)) {
    yield* readItemLines(path, context);
    return;
  }
  if (first === undefined) return; // empty file: no items
  const text = (await readFile(path, 'utf8')).replace(/^\uFEFF/, '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // An object per line without a .jsonl extension is still JSONL.
    if (first === '{') {
      yield* readItemLines(path, context);
      return;
    }
    throw new InputError(context.file, `not valid JSON (${(error as Error).message})`);
  }
  yield* readJsonDocument(parsed, context);
}

/** An item file as a Dataset (re-read on every `items()` call). */
export function itemsDataset(path: string, name?: string): Dataset {
  const stem = contextFor(path).fileStem;
  return { name: name ?? stem, items: () => readItems(path) };
}

export interface WriteItemsOptions {
  /** Folder for in-memory images (bytes, pixels); default `<output folder>/images`. */
  readonly imagesDir?: string;
  /** Append to an existing file instead of replacing it (resumable writers). */
  readonly append?: boolean;
}

/** A file name for an item's image; ids that had to be altered get a hash suffix so `a/b` and `a_b` stay apart. */
function safeFileName(id: string): string {
  const safe = id.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 120) || 'image';
  return safe === id ? safe : `${safe}-${stableId('', [id]).slice(0, 8)}`;
}

function toPosix(p: string): string {
  return sep === '/' ? p : p.split(sep).join('/');
}

async function imageForJsonl(item: Item, outDir: string, imagesDir: string): Promise<string> {
  const image: ImageSource = item.image;
  if (typeof image === 'string') {
    if (isDataUrl(image) || /^https?:\/\//i.test(image)) return image;
    const rel = relative(outDir, resolve(image));
    return toPosix(rel);
  }
  const encoded = await loadImageBytes(image, { where: `item "${item.id}" field "image"` });
  const file = join(imagesDir, `${safeFileName(item.id)}${extensionForMime(encoded.mime)}`);
  await mkdir(imagesDir, { recursive: true });
  await writeFile(file, encoded.bytes);
  return toPosix(relative(outDir, file));
}

/** One item as its JSONL line (no newline); the image must already be a string. */
export function itemToJsonLine(item: Item, image: string): string {
  const record: Record<string, string | readonly string[]> = { id: item.id, image, question: item.question, answer: item.answer };
  if (item.answers !== undefined && (item.answers.length > 1 || item.answers[0] !== item.answer)) record.answers = item.answers;
  if (item.answerType !== undefined) record.answerType = item.answerType;
  if (item.goldReasoning !== undefined) record.goldReasoning = item.goldReasoning;
  record.source = item.source;
  return JSON.stringify(record);
}

/**
 * Writes items as our JSONL. Replacing writes go to a temporary file that is
 * renamed at the end, so a crash never leaves a half-written file. Returns the
 * number of items written.
 */
export async function writeItemsJsonl(path: string, items: Iterable<Item> | AsyncIterable<Item>, options: WriteItemsOptions = {}): Promise<number> {
  const full = resolve(path);
  const outDir = dirname(full);
  const imagesDir = resolve(options.imagesDir ?? join(outDir, 'images'));
  await mkdir(outDir, { recursive: true });
  const target = options.append ? full : `${full}.tmp-${process.pid}-${Date.now()}`;
  const handle = await open(target, options.append ? 'a' : 'w');
  let count = 0;
  try {
    let buffer = '';
    for await (const item of items as AsyncIterable<Item>) {
      buffer += `${itemToJsonLine(item, await imageForJsonl(item, outDir, imagesDir))}\n`;
      count += 1;
      if (buffer.length > 1 << 20) {
        await handle.write(buffer);
        buffer = '';
      }
    }
    if (buffer.length > 0) await handle.write(buffer);
  } catch (error) {
    await handle.close();
    if (!options.append) await rm(target, { force: true });
    throw error;
  }
  await handle.close();
  if (!options.append) await rename(target, full);
  return count;
}
