/**
 * ImageCLEF VQA-Med loaders (out-of-distribution benchmarks; GitHub
 * `abachaa/VQA-Med-2019` and `abachaa/VQA-Med-2021`).
 *
 * VQA-Med 2019: pipe-separated text, not CSV.
 * - training / validation: `All_QA_Pairs_{train,val}.txt` (and the per-category
 *   files in `QAPairsByCategory/`), lines `synpic41148|question|answer`, with the
 *   images in `Train_images/` / `Val_images/` as `synpic41148.jpg`;
 * - test: `VQAMed2019_Test_Questions_w_Ref_Answers.txt`, lines
 *   `image_id|category|question|answer` (category modality, plane, organ or
 *   abnormality), images in `VQAMed2019_Test_Images/`.
 * Questions carry stray tabs and double spaces (`is \tthis a t1 weighted
 * image?`): whitespace runs are collapsed. A yes/no answer marks the question
 * closed, any other open.
 *
 * VQA-Med 2021 (abnormality questions only): the reference answers
 * `Task1-VQAnswering2021-Test-ReferenceAnswers-4Evaluator.txt`, lines
 * `image_id|answer1|answer2…` (several accepted answers; a field may be quoted
 * CSV-style, `"…""drowned""…"`), joined by image id to the questions — either the
 * MS-COCO-style `…ReferenceQuestions_mscoco_format_vqa.json`
 * (`{questions: [{question, question_id}]}`) or pipe text `image_id|question` —
 * and to the images folder (`<image_id>.jpg`).
 */
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { InputError } from '../errors.js';
import type { Item } from '../types.js';
import type { Dataset } from './dataset.js';
import { assertNotLfsPointer } from './lfs.js';
import { describeValue, IdAllocator, isYesNo, stableId } from './normalize.js';
import { invalid, isRecord, readJsonFile, type IssueSink } from './record-issues.js';

export interface VqaMedRow {
  readonly where: string;
  readonly imageId: string;
  readonly question: string;
  /** Accepted answers, in file order (one for 2019). */
  readonly answers: readonly string[];
  readonly category?: string;
}

const collapse = (text: string): string => text.replace(/\s+/gu, ' ').trim();

async function readText(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(file, code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(error)})`);
  }
  assertNotLfsPointer(text, file);
  return text.replace(/^\uFEFF/, '');
}

function lines(text: string): string[] {
  return text.split(/\r?\n/);
}

/** Reads a VQA-Med 2019 QA file: 3 fields (train/val) or 4 (test, with the category). */
export async function readVqaMed2019(file: string, options: { onInvalid?: IssueSink } = {}): Promise<VqaMedRow[]> {
  const label = basename(file);
  const rows: VqaMedRow[] = [];
  const all = lines(await readText(file));
  for (let i = 0; i < all.length; i++) {
    const line = all[i] ?? '';
    if (line.trim().length === 0) continue;
    const where = `${label} line ${i + 1}`;
    const parts = line.split('|');
    if (parts.length !== 3 && parts.length !== 4) {
      invalid(options.onInvalid, where, `expected "image_id|question|answer" or "image_id|category|question|answer", got ${parts.length} "|"-separated fields`);
      continue;
    }
    const [imageId, a, b, c] = parts.map((p) => p.trim()) as [string, string, string, string | undefined];
    const category = c === undefined ? undefined : a;
    const question = collapse(c === undefined ? a : b);
    const answer = collapse(c === undefined ? b : c);
    const field = c === undefined ? ['image_id', 'question', 'answer'] : ['image_id', 'category', 'question', 'answer'];
    const empty = [imageId, ...(category === undefined ? [] : [category]), question, answer].findIndex((v) => v.length === 0);
    if (empty >= 0) {
      invalid(options.onInvalid, where, `field "${field[empty]}" is empty`);
      continue;
    }
    rows.push({ where, imageId, question, answers: [answer], ...(category === undefined ? {} : { category }) });
  }
  return rows;
}

/** Reads the VQA-Med 2021 reference answers: `image_id|answer1|answer2…`, CSV-style quoting. */
export async function readVqaMed2021Answers(file: string, options: { onInvalid?: IssueSink } = {}): Promise<Map<string, { where: string; answers: string[] }>> {
  const label = basename(file);
  const text = await readText(file);
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parse(text, { delimiter: '|', relax_column_count: true, relax_quotes: true, skip_empty_lines: true, info: true }) as unknown as typeof records;
  } catch (error) {
    const e = error as Error & { lines?: number };
    throw new InputError(e.lines !== undefined ? `${label} line ${e.lines}` : label, `not valid "|"-separated text (${e.message})`);
  }
  const out = new Map<string, { where: string; answers: string[] }>();
  for (const { record, info } of records) {
    const where = `${label} line ${info.lines}`;
    const [id = '', ...rest] = record.map((f) => f.trim());
    const answers = rest.map(collapse).filter((a) => a.length > 0);
    if (id.length === 0) {
      invalid(options.onInvalid, where, 'field "image_id" is empty');
      continue;
    }
    if (answers.length === 0) {
      invalid(options.onInvalid, where, `image "${id}" has no reference answer (expected "image_id|answer1|answer2…")`);
      continue;
    }
    const earlier = out.get(id);
    if (earlier !== undefined) {
      invalid(options.onInvalid, where, `image "${id}" is already on ${earlier.where}`);
      continue;
    }
    out.set(id, { where, answers });
  }
  return out;
}

/** Reads the VQA-Med 2021 questions: the MS-COCO-style JSON, or `image_id|question` text. */
export async function readVqaMed2021Questions(file: string): Promise<Map<string, string>> {
  const label = basename(file);
  const out = new Map<string, string>();
  if (file.toLowerCase().endsWith('.json')) {
    const doc = await readJsonFile(file, label);
    const list = isRecord(doc) ? doc.questions : undefined;
    if (!Array.isArray(list)) throw new InputError(label, `expected {"questions": [{"question", "question_id"}, …]}, got ${isRecord(doc) ? 'no "questions" array' : describeValue(doc)}`);
    list.forEach((q, i) => {
      const where = `${label} $.questions[${i}]`;
      if (!isRecord(q)) throw new InputError(where, `expected an object, got ${describeValue(q)}`);
      if (typeof q.question_id !== 'string' || q.question_id.length === 0) throw new InputError(where, `field "question_id" must be a non-empty string, got ${describeValue(q.question_id)}`);
      if (typeof q.question !== 'string' || q.question.trim().length === 0) throw new InputError(where, `field "question" must be a non-empty string, got ${describeValue(q.question)}`);
      out.set(q.question_id, collapse(q.question));
    });
    return out;
  }
  const all = lines(await readText(file));
  for (let i = 0; i < all.length; i++) {
    const line = all[i] ?? '';
    if (line.trim().length === 0) continue;
    const cut = line.indexOf('|');
    const id = cut < 0 ? '' : line.slice(0, cut).trim();
    const question = cut < 0 ? '' : collapse(line.slice(cut + 1));
    if (id.length === 0 || question.length === 0) throw new InputError(`${label} line ${i + 1}`, 'expected "image_id|question"');
    out.set(id, question);
  }
  return out;
}

function answerTypeOf(answers: readonly string[]): 'open' | 'closed' {
  return answers.every((a) => isYesNo(a)) ? 'closed' : 'open';
}

/** A VQA-Med 2019 QA file with its images folder as a Dataset. */
export function vqaMed2019Dataset(file: string, options: { imagesDir: string }): Dataset {
  return {
    name: `vqa-med-2019/${basename(file).replace(/\.txt$/i, '')}`,
    async *items(): AsyncGenerator<Item> {
      const ids = new IdAllocator();
      for (const row of await readVqaMed2019(file)) {
        const answer = row.answers[0] ?? '';
        yield {
          id: ids.take(stableId('vqa-med-2019', [row.imageId, row.question, answer])),
          image: join(options.imagesDir, `${row.imageId}.jpg`),
          question: row.question,
          answer,
          answerType: answerTypeOf(row.answers),
          source: 'vqa-med-2019',
        };
      }
    },
  };
}

/** The VQA-Med 2021 test set: reference answers joined to the questions and the images folder. */
export function vqaMed2021Dataset(answersFile: string, options: { questionsFile: string; imagesDir: string }): Dataset {
  return {
    name: 'vqa-med-2021/test',
    async *items(): AsyncGenerator<Item> {
      const questions = await readVqaMed2021Questions(options.questionsFile);
      for (const [imageId, { where, answers }] of await readVqaMed2021Answers(answersFile)) {
        const question = questions.get(imageId);
        if (question === undefined) throw new InputError(where, `image "${imageId}" has no question in ${basename(options.questionsFile)}`);
        yield {
          id: `vqa-med-2021/${imageId}`,
          image: join(options.imagesDir, `${imageId}.jpg`),
          question,
          answer: answers[0] ?? '',
          answers,
          answerType: answerTypeOf(answers),
          source: 'vqa-med-2021',
        };
      }
    },
  };
}
