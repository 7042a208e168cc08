/**
 * Hugging Face parquet loader for VQA-RAD (`flaviagiammarino/vqa-rad`) and
 * PathVQA (`flaviagiammarino/path-vqa`) (docs/reference-facts.md §4): columns
 * `image` — the HF Image feature, stored as a struct `{bytes, path}` whose
 * `bytes` is the encoded JPEG/PNG file, taken as is — `question` and `answer`.
 * Files are `data/<split>-NNNNN-of-NNNNN[-hash].parquet`; shards of a split
 * are read in name order, and `index` counts rows across the shards of a split
 * (the reference's `{split}_{idx}.jpg` fallback name uses it). Any page
 * codec hyparquet-compressors decodes is read (snappy, gzip, zstd, brotli,
 * lz4); a file that cannot be read or decoded is an InputError naming it.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { InputError } from '../errors.js';
import type { Item } from '../types.js';
import type { Dataset } from './dataset.js';
import { sniffImageMime } from './images.js';
import { describeValue, IdAllocator, isYesNo, pythonStr, stableId } from './normalize.js';
import { invalid, isRecord, type IssueSink } from './record-issues.js';

export interface HfParquetRow {
  /** Row number within the split (across shards), from 0. */
  readonly index: number;
  readonly where: string;
  readonly question: string;
  readonly answer: string;
  /** The encoded image file, as stored. */
  readonly imageBytes: Uint8Array;
  /** `image.path` as stored (often null on the Hub). */
  readonly imagePath: string | null;
  /** Values of the `extraColumns` asked for that the file has (text columns as strings). */
  readonly extra: Readonly<Record<string, string | null>>;
}

const SPLIT_FILE = /^(train|validation|valid|val|test)[-_.]/i;

/** The parquet shards of each split in a dataset folder (`DIR/data/*.parquet` or `DIR/*.parquet`), in name order. */
export async function findParquetSplits(dir: string): Promise<Map<string, string[]>> {
  const splits = new Map<string, string[]>();
  for (const sub of [join(dir, 'data'), dir]) {
    let names: string[];
    try {
      names = await readdir(sub);
    } catch {
      continue;
    }
    for (const name of names.sort()) {
      if (!name.toLowerCase().endsWith('.parquet')) continue;
      const m = SPLIT_FILE.exec(name);
      if (!m) continue;
      const raw = m[1]!.toLowerCase();
      const split = raw === 'valid' || raw === 'val' ? 'validation' : raw;
      splits.set(split, [...(splits.get(split) ?? []), join(sub, name)]);
    }
    if (splits.size > 0) break;
  }
  return splits;
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return new TextDecoder('utf-8').decode(value); // an un-annotated BYTE_ARRAY text column
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return pythonStr(typeof value === 'bigint' ? Number(value) : value);
  return undefined;
}

/**
 * Reads the rows of one split's shards, one row group at a time (the image
 * bytes of a whole split never sit in memory at once). Without
 * `onInvalid` a malformed row throws an InputError naming the file, row and field.
 */
export async function* readHfParquetRows(
  files: readonly string[],
  options: { onInvalid?: IssueSink; extraColumns?: readonly string[] } = {},
): AsyncGenerator<HfParquetRow> {
  let index = 0;
  for (const path of files) {
    const label = path;
    let file;
    let metadata;
    try {
      file = await asyncBufferFromFile(path);
      metadata = await parquetMetadataAsync(file);
    } catch (error) {
      throw new InputError(path, `not a readable parquet file (${(error as Error).message})`);
    }
    const columns = parquetSchema(metadata).children.map((c) => c.element.name);
    for (const needed of ['image', 'question', 'answer'])
      if (!columns.includes(needed)) throw new InputError(path, `parquet file has no "${needed}" column (columns: ${columns.join(', ')})`);
    const extraColumns = (options.extraColumns ?? []).filter((c) => columns.includes(c));
    // One row group at a time: hyparquet decodes whole row groups, so smaller reads would decode a group repeatedly.
    let groupStart = 0;
    for (const [groupIndex, group] of metadata.row_groups.entries()) {
      const start = groupStart;
      const end = start + Number(group.num_rows);
      groupStart = end;
      if (end === start) continue;
      // utf8: false keeps the un-annotated image.bytes as bytes (hyparquet decodes such columns as text by default).
      // compressors: hyparquet alone decodes only snappy; gzip, zstd, brotli and lz4 come from hyparquet-compressors.
      let rows: unknown[];
      try {
        rows = await parquetReadObjects({ file, metadata, rowStart: start, rowEnd: end, columns: ['image', 'question', 'answer', ...extraColumns], utf8: false, compressors });
      } catch (error) {
        const codecs = [...new Set(group.columns.map((c) => c.meta_data?.codec).filter((c) => c !== undefined))].join(', ');
        throw new InputError(`${path} row group ${groupIndex} (rows ${start}–${end - 1})`, `cannot decode parquet data${codecs ? ` (codec ${codecs})` : ''}: ${(error as Error).message}`, { cause: error });
      }
      for (let i = 0; i < rows.length; i++) {
        const rowNo = start + i;
        const where = `${label} row ${rowNo}`;
        const row = rows[i] as Record<string, unknown>;
        const rowIndex = index++;
        const image = row.image;
        if (!isRecord(image)) {
          invalid(options.onInvalid, where, `field "image" must be a struct {bytes, path}, got ${describeValue(image)}`);
          continue;
        }
        const bytes = image.bytes;
        if (!(bytes instanceof Uint8Array) || bytes.length === 0) {
          invalid(options.onInvalid, where, `field "image.bytes" must hold the encoded image, got ${bytes instanceof Uint8Array ? '0 bytes' : describeValue(bytes)}`);
          continue;
        }
        const question = text(row.question);
        if (question === undefined) {
          invalid(options.onInvalid, where, `field "question" must be a string, got ${describeValue(row.question)}`);
          continue;
        }
        const answer = text(row.answer);
        if (answer === undefined) {
          invalid(options.onInvalid, where, `field "answer" must be a string, got ${describeValue(row.answer)}`);
          continue;
        }
        const path = text(image.path);
        const extra = Object.fromEntries(extraColumns.map((c) => [c, text(row[c]) ?? null]));
        yield { index: rowIndex, where, question, answer, imageBytes: bytes, imagePath: path ?? null, extra };
      }
    }
  }
}

/** The reference's fallback image name: the base name of `image.path`, or `{split}_{index}.jpg`. */
export function fallbackImageName(row: Pick<HfParquetRow, 'imagePath' | 'index'>, split: string): string {
  const base = row.imagePath ? (row.imagePath.replace(/\\/g, '/').split('/').pop() ?? '') : '';
  return base.length > 0 ? base : `${split}_${row.index}.jpg`;
}

/** One split of a Hugging Face parquet dataset as items with in-memory images (yes/no dropped unless `dropYesNo: false`). */
export function hfParquetDataset(dir: string, options: { source: string; split: string; dropYesNo?: boolean }): Dataset {
  const dropYesNo = options.dropYesNo ?? true;
  return {
    name: `${options.source}/${options.split}`,
    async *items(): AsyncGenerator<Item> {
      const files = (await findParquetSplits(dir)).get(options.split);
      if (files === undefined) throw new InputError(dir, `no parquet files for split "${options.split}" (expected data/${options.split}-*.parquet)`);
      const ids = new IdAllocator();
      for await (const row of readHfParquetRows(files)) {
        if (dropYesNo && isYesNo(row.answer)) continue;
        const name = fallbackImageName(row, options.split);
        yield {
          id: ids.take(stableId(options.source, [name, row.question, row.answer])),
          image: { bytes: row.imageBytes, mime: sniffImageMime(row.imageBytes) ?? 'application/octet-stream' },
          question: row.question,
          answer: row.answer,
          source: options.source,
        };
      }
    },
  };
}
