/**
 * Quilt-VQA loader (out-of-distribution, histopathology; Hugging Face
 * `wisdomik/Quilt_VQA`, gated: accept the terms on the dataset page, then
 * download it yourself). Parquet shards in the Hugging Face layout
 * (`data/<split>-*.parquet` or `*.parquet`), columns `image` (the HF image
 * struct `{bytes, path}`), `question`, `answer`, `answer_type` (`open` |
 * `closed`) and `context` (ignored). Read through the same parquet reader as
 * VQA-RAD and PathVQA (any codec hyparquet-compressors decodes).
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { InputError } from '../errors.js';
import type { Item } from '../types.js';
import type { Dataset } from './dataset.js';
import { findParquetSplits, readHfParquetRows } from './hf-parquet.js';
import { sniffImageMime } from './images.js';
import { IdAllocator, isYesNo, stableId } from './normalize.js';

/** The parquet files to read: a file as is; a folder's shards of `split`, or of its only split. */
export async function parquetFilesOf(path: string, split: string | undefined): Promise<string[]> {
  let isFile = false;
  try {
    isFile = (await stat(path)).isFile();
  } catch {
    throw new InputError(path, 'not found');
  }
  if (isFile) return [path];
  const splits = await findParquetSplits(path);
  if (splits.size === 0) throw new InputError(path, 'no parquet files (expected data/<split>-*.parquet or <split>-*.parquet)');
  if (split !== undefined) {
    const files = splits.get(split);
    if (files === undefined) throw new InputError(path, `no parquet files for split "${split}" (splits found: ${[...splits.keys()].join(', ')})`);
    return files;
  }
  if (splits.size === 1) return [...splits.values()][0] ?? [];
  throw new InputError(path, `several splits (${[...splits.keys()].join(', ')}): name one with --split`);
}

/** Quilt-VQA as a Dataset: every row, `answer_type` kept (a missing one is inferred: yes/no = closed). */
export function quiltVqaDataset(path: string, options: { split?: string } = {}): Dataset {
  return {
    name: `quilt-vqa/${options.split ?? basename(path)}`,
    async *items(): AsyncGenerator<Item> {
      const files = await parquetFilesOf(path, options.split);
      const ids = new IdAllocator();
      for await (const row of readHfParquetRows(files, { extraColumns: ['answer_type'] })) {
        const rawType = row.extra.answer_type?.trim().toLowerCase();
        if (rawType !== undefined && rawType !== 'open' && rawType !== 'closed')
          throw new InputError(row.where, `field "answer_type" must be "open" or "closed", got ${JSON.stringify(row.extra.answer_type)}`);
        const answerType = rawType ?? (isYesNo(row.answer) ? 'closed' : 'open');
        yield {
          id: ids.take(stableId('quilt-vqa', [row.imagePath ?? String(row.index), row.question, row.answer])),
          image: { bytes: row.imageBytes, mime: sniffImageMime(row.imageBytes) ?? 'application/octet-stream' },
          question: row.question.trim(),
          answer: row.answer.trim(),
          answerType,
          source: 'quilt-vqa',
        };
      }
    },
  };
}
