/**
 * VQA-RAD from its OSF release (project 89kps), the source the reference uses
 * (docs/reference-facts.md §3e): one JSON file of rows
 * `{qid, image_name, question, answer, answer_type, phrase_type, …}` and an
 * image folder (`VQA_RAD Image Folder/` in the release; `images/` accepted).
 * A row is test when `phrase_type` (trimmed, lower-cased) starts with `test`;
 * every other row is train.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import type { Item } from '../types.js';
import type { Dataset } from './dataset.js';
import { describeValue, flatImageKey, IdAllocator, isYesNo, pythonStr, stableId } from './normalize.js';
import { invalid, isRecord, readJsonFile, recordsOf, type IssueSink } from './record-issues.js';

export interface VqaRadOsfRecord {
  readonly index: number;
  readonly where: string;
  readonly imageName: string;
  readonly imageKey: string;
  readonly question: string;
  readonly answer: string;
  readonly phraseType: string;
  readonly answerType: string | undefined;
  readonly split: 'train' | 'test';
}

/** The reference's split rule. */
export function vqaRadSplit(phraseType: unknown): 'train' | 'test' {
  return pythonStr(phraseType ?? '').trim().toLowerCase().startsWith('test') ? 'test' : 'train';
}

/** Reads the OSF JSON. Without `onInvalid` a malformed row throws; with it, the row is skipped and reported. */
export async function readVqaRadOsfJson(file: string, options: { onInvalid?: IssueSink; label?: string } = {}): Promise<VqaRadOsfRecord[]> {
  const label = options.label ?? file;
  const out: VqaRadOsfRecord[] = [];
  recordsOf(await readJsonFile(file, label), label).forEach(({ value, where }, index) => {
    if (!isRecord(value)) return invalid(options.onInvalid, where, `expected an object, got ${describeValue(value)}`);
    const name = value.image_name;
    if (typeof name !== 'string' || name.length === 0)
      return invalid(options.onInvalid, where, `field "image_name" must be a non-empty string, got ${describeValue(name)}`);
    const q = value.question;
    if (typeof q !== 'string' && typeof q !== 'number') return invalid(options.onInvalid, where, `field "question" must be a string, got ${describeValue(q)}`);
    const a = value.answer;
    if (a === undefined || a === null || typeof a === 'object')
      return invalid(options.onInvalid, where, `field "answer" must be a string or number, got ${describeValue(a)}`);
    const phraseType = typeof value.phrase_type === 'string' ? value.phrase_type : '';
    out.push({
      index,
      where,
      imageName: name,
      imageKey: flatImageKey(name),
      question: pythonStr(q),
      answer: pythonStr(a),
      phraseType,
      answerType: typeof value.answer_type === 'string' ? value.answer_type : undefined,
      split: vqaRadSplit(phraseType),
    });
    return undefined;
  });
  return out;
}

export interface VqaRadOsfLayout {
  readonly json: string;
  readonly imagesDir: string;
}

/**
 * Finds the OSF layout in a folder: exactly one `*.json` at the top level and an
 * image folder named `images` or containing `Image`. Returns undefined when
 * there is no JSON file (the folder may hold the Hugging Face parquet instead).
 */
export async function findVqaRadOsf(dir: string): Promise<VqaRadOsfLayout | undefined> {
  let entries: string[];
  try {
    entries = (await readdir(dir)).sort();
  } catch (error) {
    throw new InputError(dir, `cannot read the VQA-RAD folder (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const jsons = entries.filter((e) => e.toLowerCase().endsWith('.json'));
  if (jsons.length === 0) return undefined;
  if (jsons.length > 1) throw new InputError(dir, `expected one OSF JSON file in the VQA-RAD folder, found ${jsons.length}: ${jsons.join(', ')}`);
  const folders: string[] = [];
  for (const e of entries) if ((await stat(join(dir, e))).isDirectory()) folders.push(e);
  const imagesDir = folders.find((f) => f === 'images') ?? folders.find((f) => f.toLowerCase().includes('image'));
  if (imagesDir === undefined) throw new InputError(dir, 'VQA-RAD image folder not found (expected "VQA_RAD Image Folder/" or "images/" next to the JSON)');
  return { json: join(dir, jsons[0]!), imagesDir: join(dir, imagesDir) };
}

/** One split of the OSF release as a Dataset (yes/no answers dropped unless `dropYesNo: false`). */
export function vqaRadOsfDataset(dir: string, options: { split: 'train' | 'test'; dropYesNo?: boolean }): Dataset {
  const dropYesNo = options.dropYesNo ?? true;
  return {
    name: `vqa-rad/${options.split}`,
    async *items(): AsyncGenerator<Item> {
      const layout = await findVqaRadOsf(dir);
      if (layout === undefined) throw new InputError(dir, 'no OSF JSON file found in the VQA-RAD folder');
      const ids = new IdAllocator();
      for (const r of await readVqaRadOsfJson(layout.json)) {
        if (r.split !== options.split || (dropYesNo && isYesNo(r.answer))) continue;
        yield { id: ids.take(stableId('vqa-rad', [r.imageKey, r.question, r.answer])), image: join(layout.imagesDir, r.imageName), question: r.question, answer: r.answer, source: 'vqa-rad' };
      }
    },
  };
}
