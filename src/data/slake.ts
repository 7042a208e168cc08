/**
 * SLAKE loader (docs/reference-facts.md §4; docs/method.md §9: English only). Input: the
 * Hugging Face `BoKelvin/SLAKE` folder with `train.json`, `validation.json`
 * (or `validate.json`), `test.json` — arrays of
 * `{img_id, img_name: "xmlab1/source.jpg", question, answer, q_lang, answer_type, qid, …}` —
 * and the images unzipped as `imgs/xmlab<N>/source.jpg` (`images/` is accepted
 * too). Answers can be numbers; they become strings with Python's `str()` rules,
 * as the reference does. The image key is `xmlab<N>_<file>`.
 */
import { join } from 'node:path';
import { InputError } from '../errors.js';
import type { Item } from '../types.js';
import type { Dataset } from './dataset.js';
import { describeValue, flatImageKey, IdAllocator, isYesNo, pythonStr, stableId } from './normalize.js';
import { invalid, isRecord, readJsonFile, recordsOf, type IssueSink } from './record-issues.js';
import { pathExists } from '../utils/fs.js';

export type SlakeSplit = 'train' | 'validation' | 'test';

export interface SlakeRecord {
  /** Position in the file. */
  readonly index: number;
  readonly where: string;
  /** `xmlab1/source.jpg` as written in the file. */
  readonly imgName: string;
  /** The reference's flat key, `xmlab1_source.jpg`. */
  readonly imageKey: string;
  readonly question: string;
  readonly answer: string;
  /** `en` or `zh`; empty when the record has none. */
  readonly qLang: string;
  /** `OPEN` or `CLOSED` when present. */
  readonly answerType: string | undefined;
}

/** Reads one SLAKE split file. Without `onInvalid` a malformed record throws; with it, the record is skipped and reported. */
export async function readSlakeJson(file: string, options: { onInvalid?: IssueSink; label?: string } = {}): Promise<SlakeRecord[]> {
  const label = options.label ?? file;
  const records = recordsOf(await readJsonFile(file, label), label);
  const out: SlakeRecord[] = [];
  records.forEach(({ value, where }, index) => {
    if (!isRecord(value)) return invalid(options.onInvalid, where, `expected an object, got ${describeValue(value)}`);
    const imgName = value.img_name;
    if (typeof imgName !== 'string' || imgName.length === 0)
      return invalid(options.onInvalid, where, `field "img_name" must be a non-empty string like "xmlab1/source.jpg", got ${describeValue(imgName)}`);
    const q = value.question;
    if (typeof q !== 'string' && typeof q !== 'number') return invalid(options.onInvalid, where, `field "question" must be a string, got ${describeValue(q)}`);
    const a = value.answer;
    if (a === undefined || a === null || typeof a === 'object')
      return invalid(options.onInvalid, where, `field "answer" must be a string or number, got ${describeValue(a)}`);
    out.push({
      index,
      where,
      imgName,
      imageKey: flatImageKey(imgName),
      question: pythonStr(q),
      answer: pythonStr(a),
      qLang: typeof value.q_lang === 'string' ? value.q_lang : '',
      answerType: typeof value.answer_type === 'string' ? value.answer_type : undefined,
    });
    return undefined;
  });
  return out;
}


/** The split file in a SLAKE folder (`validation.json`, or the original `validate.json`). */
export async function slakeSplitFile(dir: string, split: SlakeSplit): Promise<string> {
  const names = split === 'validation' ? ['validation.json', 'validate.json'] : [`${split}.json`];
  for (const name of names) if (await pathExists(join(dir, name))) return join(dir, name);
  throw new InputError(join(dir, names[0]!), `SLAKE ${split} split not found (expected ${names.join(' or ')} in ${dir})`);
}

/** The SLAKE image root: `imgs/` (as in imgs.zip) or `images/` (the reference's layout). */
export async function slakeImageRoot(dir: string): Promise<string> {
  for (const name of ['imgs', 'images']) if (await pathExists(join(dir, name))) return join(dir, name);
  throw new InputError(dir, 'SLAKE image folder not found (expected imgs/xmlab<N>/source.jpg: unzip imgs.zip here)');
}

export interface SlakeDatasetOptions {
  readonly split: SlakeSplit;
  /** Keep only this `q_lang` (default `en`, as the paper); `all` keeps both. */
  readonly lang?: 'en' | 'zh' | 'all';
  /** Drop yes/no answers (default true: the open-ended protocol of docs/method.md §9). */
  readonly dropYesNo?: boolean;
}

/** A SLAKE split as a Dataset of items whose image is the file path. */
export function slakeDataset(dir: string, options: SlakeDatasetOptions): Dataset {
  const lang = options.lang ?? 'en';
  const dropYesNo = options.dropYesNo ?? true;
  return {
    name: `slake/${options.split}`,
    async *items(): AsyncGenerator<Item> {
      const file = await slakeSplitFile(dir, options.split);
      const root = await slakeImageRoot(dir);
      const ids = new IdAllocator();
      for (const r of await readSlakeJson(file)) {
        if (lang !== 'all' && r.qLang !== lang) continue;
        if (dropYesNo && isYesNo(r.answer)) continue;
        yield { id: ids.take(stableId('slake', [r.imageKey, r.question, r.answer])), image: join(root, r.imgName), question: r.question, answer: r.answer, source: 'slake' };
      }
    },
  };
}
