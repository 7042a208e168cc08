/**
 * PMC-VQA loader (docs/reference-facts.md §4; an out-of-distribution benchmark in
 * docs/method.md §9). Input: `train.csv` / `test.csv` / `test_clean.csv` with columns
 * `Figure_path`, `Question`, `Answer` (spelled `Anwser` in some releases),
 * `Choice A` … `Choice D` (values prefixed `A:` …) and `Answer_label`, and the
 * images unzipped from `images.zip` into an images folder. Parsed with
 * csv-parse (quoted fields, embedded newlines, BOM). The answer is the answer
 * text; when it is empty, the text of the choice named by `Answer_label`.
 * v2 (`train_2.csv` / `test_2.csv`: `index,Figure_path,Caption,Question,
 * Choice A..D,Answer,split`, options padded like `"  B: Left Anterior "`) has
 * no `Answer_label` and gives `Answer` as the letter A–D; it is resolved to
 * the option text.
 * `withChoices` appends the four options to the question for multiple-choice use.
 */
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parse } from 'csv-parse';
import { InputError } from '../errors.js';
import type { Item } from '../types.js';
import type { Dataset } from './dataset.js';
import { IdAllocator, stableId } from './normalize.js';
import { invalid, type IssueSink } from './record-issues.js';

export interface PmcVqaRow {
  readonly line: number;
  readonly where: string;
  readonly figurePath: string;
  readonly question: string;
  readonly answer: string;
  /** Option texts A–D without their `A:` prefixes (empty strings when absent). */
  readonly choices: readonly [string, string, string, string];
  readonly answerLabel: string;
}

const LABELS = ['A', 'B', 'C', 'D'] as const;

function stripChoicePrefix(value: string, label?: string): string {
  const re = label ? new RegExp(`^\\s*${label}\\s*:\\s*`) : /^\s*[A-D]\s*:\s*/;
  return value.replace(re, '').trim();
}

/** Reads a PMC-VQA CSV. Without `onInvalid` a malformed row throws an InputError naming the file, line and column. */
export async function* readPmcVqaCsv(file: string, options: { onInvalid?: IssueSink } = {}): AsyncGenerator<PmcVqaRow> {
  const label = basename(file);
  try {
    await access(file);
  } catch {
    throw new InputError(file, 'file not found');
  }
  const parser = createReadStream(file).pipe(parse({ columns: true, bom: true, info: true, skip_empty_lines: true, relax_column_count: false }));
  let header: string[] | undefined;
  let hasAnswerLabel = false;
  try {
    for await (const entry of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      const { record, info } = entry;
      const line = info.lines;
      const where = `${label} line ${line}`;
      if (header === undefined) {
        header = Object.keys(record);
        hasAnswerLabel = header.includes('Answer_label');
        for (const col of ['Figure_path', 'Question'])
          if (!header.includes(col)) throw new InputError(`${label} line 1`, `missing column "${col}" (columns: ${header.join(', ')})`);
        if (!header.includes('Answer') && !header.includes('Anwser') && !header.includes('Answer_label'))
          throw new InputError(`${label} line 1`, `missing column "Answer" (or "Anwser", or "Answer_label"); columns: ${header.join(', ')}`);
      }
      const figurePath = (record.Figure_path ?? '').trim();
      if (figurePath.length === 0) {
        invalid(options.onInvalid, where, 'column "Figure_path" is empty');
        continue;
      }
      const question = (record.Question ?? '').trim();
      if (question.length === 0) {
        invalid(options.onInvalid, where, 'column "Question" is empty');
        continue;
      }
      const choices = LABELS.map((l) => stripChoicePrefix(record[`Choice ${l}`] ?? '', l)) as [string, string, string, string];
      const answerLabel = (record.Answer_label ?? '').trim().toUpperCase();
      const rawAnswer = (record.Answer ?? record.Anwser ?? '').trim();
      let answer = stripChoicePrefix(rawAnswer);
      // v2 (`train_2.csv`, `test_2.csv`): no `Answer_label`, and `Answer` is the letter of the option.
      const v2Letter = !hasAnswerLabel && /^[A-D]$/i.test(rawAnswer) ? rawAnswer.toUpperCase() : undefined;
      if (v2Letter !== undefined) {
        answer = choices[LABELS.indexOf(v2Letter as (typeof LABELS)[number])] ?? '';
        if (answer.length === 0) {
          invalid(options.onInvalid, where, `column "Answer" is "${v2Letter}" but "Choice ${v2Letter}" is empty`);
          continue;
        }
      }
      if (answer.length === 0) {
        const k = LABELS.indexOf(answerLabel as (typeof LABELS)[number]);
        if (k >= 0) answer = choices[k] ?? '';
      }
      if (answer.length === 0) {
        invalid(options.onInvalid, where, 'column "Answer" is empty and "Answer_label" names no choice');
        continue;
      }
      yield { line, where, figurePath, question, answer, choices, answerLabel: v2Letter ?? answerLabel };
    }
  } catch (error) {
    if (error instanceof InputError) throw error;
    const e = error as Error & { lines?: number };
    throw new InputError(e.lines !== undefined ? `${label} line ${e.lines}` : label, `not valid CSV (${e.message})`);
  }
}

/** Formats the question with its options, for multiple-choice evaluation. */
export function questionWithChoices(question: string, choices: readonly string[]): string {
  const lines = choices.map((c, i) => (c.length > 0 ? `${LABELS[i]}: ${c}` : '')).filter((l) => l.length > 0);
  return lines.length > 0 ? `${question}\n${lines.join('\n')}` : question;
}

export interface PmcVqaDatasetOptions {
  /** Folder holding the figures (`Figure_path` is relative to it). */
  readonly imagesDir: string;
  /** Append the options A–D to the question (default false: open-ended use). */
  readonly withChoices?: boolean;
}

/** A PMC-VQA CSV as a Dataset. */
export function pmcVqaDataset(csvFile: string, options: PmcVqaDatasetOptions): Dataset {
  const stem = basename(csvFile).replace(/\.csv$/i, '');
  return {
    name: `pmc-vqa/${stem}`,
    async *items(): AsyncGenerator<Item> {
      const ids = new IdAllocator();
      for await (const row of readPmcVqaCsv(csvFile)) {
        const question = options.withChoices ? questionWithChoices(row.question, row.choices) : row.question;
        yield {
          id: ids.take(stableId('pmc-vqa', [row.figurePath, row.question, row.answer])),
          image: join(options.imagesDir, row.figurePath),
          question,
          answer: row.answer,
          source: 'pmc-vqa',
        };
      }
    },
  };
}
