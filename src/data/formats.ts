/**
 * Every benchmark loader by name, so that the CLI (`mrpo data convert`,
 * `mrpo eval`) reaches each of them the same way: a format name, a path, and
 * a few options (images folder, questions file, split). Items from every
 * format carry `answerType` (open | closed): as the data set says, or by the
 * reference's yes/no rule where it says nothing.
 */
import { basename, dirname, join } from 'node:path';
import { InputError, UsageError } from '../errors.js';
import type { Item } from '../types.js';
import { pathExists } from '../utils/fs.js';
import type { Dataset } from './dataset.js';
import { hfParquetDataset } from './hf-parquet.js';
import { itemsDataset } from './items-jsonl.js';
import { mimicCxrVqaDataset } from './mimic-cxr-vqa.js';
import { isYesNo } from './normalize.js';
import { pmcVqaDataset } from './pmc-vqa.js';
import { quiltVqaDataset } from './quilt-vqa.js';
import { slakeDataset, type SlakeSplit } from './slake.js';
import { vqaMed2019Dataset, vqaMed2021Dataset } from './vqa-med.js';
import { vqaRadOsfDataset } from './vqa-rad-osf.js';

export interface FormatOptions {
  /** Images folder (VQA-Med, PMC-VQA), or the MIMIC-CXR-JPG root (MIMIC-CXR-VQA). */
  readonly images?: string;
  /** Questions file (VQA-Med 2021). */
  readonly questions?: string;
  /** Split, for folder formats (vqa-rad, pathvqa, slake, quilt-vqa). */
  readonly split?: string;
  /** PMC-VQA: append the options A–D to the question (multiple choice, closed). */
  readonly choices?: boolean;
}

export interface FormatInfo {
  readonly name: string;
  /** What PATH is, for help texts. */
  readonly path: string;
  readonly describe: string;
  open(path: string, options: FormatOptions): Promise<Dataset>;
}

function withAnswerType(dataset: Dataset, type?: 'open' | 'closed'): Dataset {
  return {
    name: dataset.name,
    async *items(): AsyncGenerator<Item> {
      for await (const item of dataset.items()) yield item.answerType !== undefined ? item : { ...item, answerType: type ?? (isYesNo(item.answer) ? 'closed' : 'open') };
    },
  };
}

async function firstExisting(base: string, names: readonly string[]): Promise<string | undefined> {
  for (const n of names) if (await pathExists(join(base, n))) return join(base, n);
  return undefined;
}

async function imagesOr(options: FormatOptions, file: string, guesses: readonly string[], what: string): Promise<string> {
  if (options.images !== undefined) return options.images;
  const found = await firstExisting(dirname(file), guesses);
  if (found === undefined) throw new UsageError(`${what}: give --images DIR (no ${guesses.join(', ')} folder next to ${file})`);
  return found;
}

const split = (options: FormatOptions, fallback: string): string => options.split ?? fallback;

export const FORMATS: readonly FormatInfo[] = [
  {
    name: 'items',
    path: 'FILE (items JSONL / JSON, or the reference {image, problem, solution} records)',
    describe: "mrpo's item files",
    open: async (path) => withAnswerType(itemsDataset(path)),
  },
  {
    name: 'vqa-rad',
    path: 'DIR (OSF release: "VQA_RAD Dataset Public.json" + image folder)',
    describe: 'VQA-RAD, OSF 89kps; split train|test (default test)',
    open: async (path, o) => withAnswerType(vqaRadOsfDataset(path, { split: split(o, 'test') === 'train' ? 'train' : 'test', dropYesNo: false })),
  },
  {
    name: 'vqa-rad-hf',
    path: 'DIR (Hugging Face flaviagiammarino/vqa-rad: data/<split>-*.parquet)',
    describe: 'VQA-RAD parquet; split (default test)',
    open: async (path, o) => withAnswerType(hfParquetDataset(path, { source: 'vqa-rad', split: split(o, 'test'), dropYesNo: false })),
  },
  {
    name: 'pathvqa',
    path: 'DIR (Hugging Face flaviagiammarino/path-vqa: data/<split>-*.parquet)',
    describe: 'PathVQA parquet; split (default test)',
    open: async (path, o) => withAnswerType(hfParquetDataset(path, { source: 'pathvqa', split: split(o, 'test'), dropYesNo: false })),
  },
  {
    name: 'slake',
    path: 'DIR (BoKelvin/SLAKE: test.json + imgs/)',
    describe: 'SLAKE, English questions; split train|validation|test (default test)',
    open: async (path, o) => {
      const s = split(o, 'test');
      if (s !== 'train' && s !== 'validation' && s !== 'test') throw new UsageError(`slake: --split must be train, validation or test, got "${s}"`);
      return withAnswerType(slakeDataset(path, { split: s as SlakeSplit, dropYesNo: false }));
    },
  },
  {
    name: 'pmc-vqa',
    path: 'FILE (test.csv, test_clean.csv, test_2.csv, …)',
    describe: 'PMC-VQA v1 or v2 CSV; images from --images or images/ (v1), figures/ (v2) beside it; --choices for multiple choice',
    open: async (path, o) => {
      const imagesDir = await imagesOr(o, path, ['images', 'figures'], 'pmc-vqa');
      return withAnswerType(pmcVqaDataset(path, { imagesDir, withChoices: o.choices === true }), o.choices === true ? 'closed' : 'open');
    },
  },
  {
    name: 'vqa-med-2019',
    path: 'FILE (All_QA_Pairs_{train,val}.txt, or VQAMed2019_Test_Questions_w_Ref_Answers.txt)',
    describe: 'ImageCLEF VQA-Med 2019; images from --images or Train_images/, Val_images/, VQAMed2019_Test_Images/ beside it',
    open: async (path, o) => {
      // The folder that goes with the file: train → Train_images, val → Val_images, test → the test images.
      const name = basename(path).toLowerCase();
      const guesses = name.includes('train') ? ['Train_images'] : name.includes('val') ? ['Val_images'] : ['VQAMed2019_Test_Images', 'Test_images'];
      return vqaMed2019Dataset(path, { imagesDir: await imagesOr(o, path, [...guesses, 'images'], 'vqa-med-2019') });
    },
  },
  {
    name: 'vqa-med-2021',
    path: 'FILE (Task1-VQAnswering2021-Test-ReferenceAnswers-4Evaluator.txt)',
    describe: 'ImageCLEF VQA-Med 2021 test: several accepted answers; needs --questions (the mscoco-format questions JSON or image_id|question text) and --images',
    open: async (path, o) => {
      if (o.questions === undefined) throw new UsageError('vqa-med-2021: give --questions FILE (…ReferenceQuestions_mscoco_format_vqa.json, or image_id|question text)');
      return vqaMed2021Dataset(path, { questionsFile: o.questions, imagesDir: await imagesOr(o, path, ['images', 'VQA-Med-2021-Test-Images'], 'vqa-med-2021') });
    },
  },
  {
    name: 'quilt-vqa',
    path: 'DIR or FILE (Hugging Face wisdomik/Quilt_VQA parquet)',
    describe: 'Quilt-VQA (gated on Hugging Face), with answer_type',
    open: async (path, o) => quiltVqaDataset(path, o.split === undefined ? {} : { split: o.split }),
  },
  {
    name: 'mimic-cxr-vqa',
    path: 'FILE (mimiccxrvqa/dataset/test.json)',
    describe: 'MIMIC-Ext-MIMIC-CXR-VQA (PhysioNet, credentialed); --images = the MIMIC-CXR-JPG root holding files/',
    open: async (path, o) => {
      if (o.images === undefined) throw new UsageError('mimic-cxr-vqa: give --images DIR, the MIMIC-CXR-JPG root that holds files/p1x/…');
      return mimicCxrVqaDataset(path, { imagesRoot: o.images });
    },
  },
];

export const FORMAT_NAMES: readonly string[] = FORMATS.map((f) => f.name);

export function formatInfo(name: string, where = '--format'): FormatInfo {
  const info = FORMATS.find((f) => f.name === name);
  if (info === undefined) throw new UsageError(`${where}: unknown format "${name}"; expected one of: ${FORMAT_NAMES.join(', ')}`);
  return info;
}

/** Opens `path` in the named format, after checking that the path exists. */
export async function openFormat(name: string, path: string, options: FormatOptions = {}): Promise<Dataset> {
  const info = formatInfo(name);
  if (!(await pathExists(path))) throw new InputError(path, `not found (format ${name} expects ${info.path})`);
  return info.open(path, options);
}
