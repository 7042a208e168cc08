/**
 * The raw sources of `mrpo data build` as one row shape (docs/reference-facts.md §3e):
 * - VQA-RAD: the OSF JSON + image folder (the reference's source; split by
 *   `phrase_type`), or the Hugging Face parquet (`train`/`test`);
 * - SLAKE: `train.json`/`test.json` + `imgs/xmlab<N>/…`; key `xmlab<N>_<file>`;
 * - PathVQA: Hugging Face parquet, `train` and `test` (validation skipped);
 *   image names are MedThink's R-PathVQA file names, found by the md5 of the
 *   bytes, else the base name of `image.path`, else `{split}_{index}.jpg`.
 *   (The same md5 renaming is applied to VQA-RAD parquet against
 *   `R-RAD/images` when present: an extension, the reference uses OSF.)
 * and the MedThink files merged as the reference merges them.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import type { ImageInput } from './build-images.js';
import { fallbackImageName, findParquetSplits, readHfParquetRows } from './hf-parquet.js';
import { readMedThinkFile } from './medthink.js';
import { assertNotLfsPointer } from './lfs.js';
import { flatImageKey, isYesNo, normDedup } from './normalize.js';
import type { IssueSink } from './record-issues.js';
import { readSlakeJson, slakeImageRoot, slakeSplitFile } from './slake.js';
import { findVqaRadOsf, readVqaRadOsfJson, type VqaRadOsfRecord } from './vqa-rad-osf.js';

export type SourceName = 'vqa-rad' | 'slake' | 'pathvqa';
export type Split = 'train' | 'test';
export const SOURCE_NAMES: readonly SourceName[] = ['vqa-rad', 'slake', 'pathvqa'];

export interface RawRow {
  readonly source: SourceName;
  readonly split: Split;
  /** File and record, for messages. */
  readonly where: string;
  /** The field the image came from (`image_name`, `img_name`, `image.bytes`). */
  readonly imageField: string;
  /** The reference's flat image key. */
  readonly imageKey: string;
  /** Where the image goes under `<out>/images/` (`/`-separated). */
  readonly imageRel: string;
  readonly image: ImageInput;
  readonly question: string;
  readonly answer: string;
  /** SLAKE only: `en` / `zh`. */
  readonly qLang?: string;
}

/** md5 of each file in a folder → its name (the reference's MedThink name map; not recursive). A Git LFS pointer among the files is an InputError naming it. */
export async function md5NameMap(dir: string): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch {
    return map;
  }
  for (const name of names) {
    const path = join(dir, name);
    if (!(await stat(path)).isFile()) continue;
    const bytes = await readFile(path);
    assertNotLfsPointer(bytes, path); // else no parquet image would match, and every row would be silently unmatched
    const md5 = createHash('md5').update(bytes).digest('hex');
    if (!map.has(md5)) map.set(md5, name); // names are listed sorted, so the first name wins deterministically
  }
  return map;
}

/** MedThink image folders whose names the parquet images are renamed to. */
export function medthinkImageDirs(medthinkDir: string, source: SourceName, split: Split): string | undefined {
  if (source === 'pathvqa') return join(medthinkDir, 'R-PathVQA', 'images', split === 'train' ? 'Train_images' : 'Test_images');
  if (source === 'vqa-rad') return join(medthinkDir, 'R-RAD', 'images');
  return undefined;
}

async function* parquetRows(
  source: SourceName,
  dir: string,
  split: Split,
  nameMap: Map<string, string> | undefined,
  sink: IssueSink,
  renamed: { count: number },
): AsyncGenerator<RawRow> {
  const files = (await findParquetSplits(dir)).get(split);
  if (files === undefined) throw new InputError(dir, `no ${source} parquet files for split "${split}" (expected data/${split}-*.parquet)`);
  for await (const row of readHfParquetRows(files, { onInvalid: sink })) {
    let name: string | undefined;
    if (nameMap !== undefined && nameMap.size > 0) {
      name = nameMap.get(createHash('md5').update(row.imageBytes).digest('hex'));
      if (name !== undefined) renamed.count += 1;
    }
    name ??= fallbackImageName(row, split);
    yield {
      source,
      split,
      where: row.where,
      imageField: 'image.bytes',
      imageKey: flatImageKey(name),
      imageRel: `${source}/${split}/${name}`,
      image: { kind: 'bytes', bytes: row.imageBytes },
      question: row.question,
      answer: row.answer,
    };
  }
}

export interface RawRowsContext {
  readonly sink: IssueSink;
  /** The MedThink folder, for the md5 renaming of parquet images. */
  readonly medthinkDir?: string;
  /** Counts parquet images renamed to a MedThink name. */
  readonly renamed: { count: number };
  /** Parsed OSF JSON files, so a file that holds both splits is read (and its bad rows reported) once. */
  readonly osfCache?: Map<string, Promise<VqaRadOsfRecord[]>>;
}

/** The raw rows of one source split, in file order, before any filtering. */
export async function* rawRows(source: SourceName, dir: string, split: Split, context: RawRowsContext): AsyncGenerator<RawRow> {
  const { sink } = context;
  if (source === 'slake') {
    const file = await slakeSplitFile(dir, split);
    const root = await slakeImageRoot(dir);
    for (const r of await readSlakeJson(file, { onInvalid: sink })) {
      const rel = r.imgName.replace(/\\/g, '/');
      yield {
        source,
        split,
        where: r.where,
        imageField: 'img_name',
        imageKey: r.imageKey,
        imageRel: `slake/${rel}`,
        image: { kind: 'file', path: join(root, ...rel.split('/')) },
        question: r.question,
        answer: r.answer,
        qLang: r.qLang,
      };
    }
    return;
  }
  if (source === 'vqa-rad') {
    const osf = await findVqaRadOsf(dir);
    if (osf !== undefined) {
      let records = context.osfCache?.get(osf.json);
      if (records === undefined) {
        records = readVqaRadOsfJson(osf.json, { onInvalid: sink });
        context.osfCache?.set(osf.json, records);
      }
      for (const r of await records) {
        if (r.split !== split) continue;
        yield {
          source,
          split,
          where: r.where,
          imageField: 'image_name',
          imageKey: r.imageKey,
          imageRel: `vqa-rad/${r.imageKey}`,
          image: { kind: 'file', path: join(osf.imagesDir, r.imageName) },
          question: r.question,
          answer: r.answer,
        };
      }
      return;
    }
  }
  const imageDir = context.medthinkDir ? medthinkImageDirs(context.medthinkDir, source, split) : undefined;
  const nameMap = imageDir ? await md5NameMap(imageDir) : undefined;
  yield* parquetRows(source, dir, split, nameMap, sink, context.renamed);
}

/** MedThink files per source (docs/reference-facts.md §3e). */
export const MEDTHINK_FILES: Record<SourceName, Record<Split, string>> = {
  'vqa-rad': { train: 'R-RAD/open-end/trainset.json', test: 'R-RAD/open-end/testset.json' },
  slake: { train: 'R-SLAKE/open-end/train.json', test: 'R-SLAKE/open-end/test.json' },
  pathvqa: { train: 'R-PathVQA/open-end/trainset.json', test: 'R-PathVQA/open-end/testset.json' },
};

export interface MergedMedThinkRow {
  readonly source: SourceName;
  readonly where: string;
  readonly imageKey: string;
  readonly question: string;
  readonly answer: string;
  readonly solution: string;
}

export interface MergedMedThink {
  readonly rows: MergedMedThinkRow[];
  readonly perSource: Partial<Record<SourceName, { read: number; yesNo: number; duplicates: number; kept: number }>>;
  /** MedThink files that were expected but absent. */
  readonly missingFiles: string[];
}

/**
 * Merges the MedThink files of the given sources in the reference's order:
 * yes/no answers dropped (string rule), rows de-duplicated on
 * (image key, normalised question, normalised answer) across all sources when `dedup`.
 */
export async function mergeMedThink(medthinkDir: string, sources: readonly SourceName[], split: Split, options: { dedup: boolean; sink: IssueSink }): Promise<MergedMedThink> {
  const rows: MergedMedThinkRow[] = [];
  const perSource: MergedMedThink['perSource'] = {};
  const missingFiles: string[] = [];
  const seen = new Set<string>();
  for (const source of sources) {
    const file = join(medthinkDir, ...MEDTHINK_FILES[source][split].split('/'));
    try {
      await stat(file);
    } catch {
      missingFiles.push(file);
      continue;
    }
    const counts = { read: 0, yesNo: 0, duplicates: 0, kept: 0 };
    for (const r of await readMedThinkFile(file, { onInvalid: options.sink })) {
      counts.read += 1;
      if (isYesNo(r.answer)) {
        counts.yesNo += 1;
        continue;
      }
      if (options.dedup) {
        const key = `${r.imageKey}\u0000${normDedup(r.question)}\u0000${normDedup(r.answer)}`;
        if (seen.has(key)) {
          counts.duplicates += 1;
          continue;
        }
        seen.add(key);
      }
      rows.push({ source, where: r.where, imageKey: r.imageKey, question: r.question, answer: r.answer, solution: r.solution });
      counts.kept += 1;
    }
    perSource[source] = counts;
  }
  return { rows, perSource, missingFiles };
}
