/**
 * MedThink loader (docs/reference-facts.md §3e, §4): each file
 * (`R-RAD/open-end/trainset.json`, `R-SLAKE/open-end/train.json`,
 * `R-PathVQA/open-end/trainset.json`, and the test files) is a JSON object
 * mapping an id to `{question, choices, answer, solution, image | img_name, …}`.
 * An integer answer (not a boolean) indexes `choices`; anything else is the
 * answer itself, as a Python `str()`. The image is `img_name`, or `image` when
 * `img_name` is missing or empty (R-RAD has `image`, R-SLAKE `img_name`); its key
 * is the reference's flat key (`xmlab12/source.jpg` → `xmlab12_source.jpg`).
 *
 * Deliberate deviation: an integer answer outside `choices` is reported as a
 * malformed record (the reference silently uses the number itself as the answer).
 */
import { join } from 'node:path';
import type { Item } from '../types.js';
import type { Dataset } from './dataset.js';
import { describeValue, flatImageKey, IdAllocator, pythonStr, stableId } from './normalize.js';
import { invalid, isRecord, readJsonFile, recordsOf, type IssueSink } from './record-issues.js';

export interface MedThinkRecord {
  /** The record's id (its key in the file). */
  readonly key: string;
  readonly where: string;
  /** The image name as written (`synpic123.jpg`, `xmlab3/source.jpg`). */
  readonly image: string;
  readonly imageKey: string;
  readonly question: string;
  /** The resolved answer text. */
  readonly answer: string;
  /** The gold rationale. */
  readonly solution: string;
}

/** Resolves a MedThink answer: an integer (not boolean) indexes `choices`. Returns an error text when the index is out of range. */
export function resolveMedThinkAnswer(answer: unknown, choices: unknown): { answer: string } | { error: string } {
  if (typeof answer === 'number' && Number.isInteger(answer) && Array.isArray(choices)) {
    if (answer >= 0 && answer < choices.length) return { answer: pythonStr(choices[answer]) };
    return { error: `field "answer" is index ${answer} but "choices" has ${choices.length} entr${choices.length === 1 ? 'y' : 'ies'}` };
  }
  return { answer: pythonStr(answer) };
}

/**
 * Reads one MedThink file. Records with no image name or an empty question are
 * malformed (the reference drops them silently); without `onInvalid` they throw.
 */
export async function readMedThinkFile(file: string, options: { onInvalid?: IssueSink; label?: string } = {}): Promise<MedThinkRecord[]> {
  const label = options.label ?? file;
  const out: MedThinkRecord[] = [];
  for (const { key, value, where } of recordsOf(await readJsonFile(file, label), label)) {
    if (!isRecord(value)) {
      invalid(options.onInvalid, where, `expected an object, got ${describeValue(value)}`);
      continue;
    }
    const imgName = value.img_name;
    const rawImage = typeof imgName === 'string' && imgName.length > 0 ? imgName : value.image;
    const imageField = typeof imgName === 'string' && imgName.length > 0 ? 'img_name' : 'image';
    if (typeof rawImage !== 'string' || rawImage.length === 0) {
      invalid(options.onInvalid, where, `field "img_name" or "image" must be a non-empty string, got ${describeValue(rawImage)} in "${imageField}"`);
      continue;
    }
    const q = value.question;
    if ((typeof q !== 'string' && typeof q !== 'number') || pythonStr(q).length === 0) {
      invalid(options.onInvalid, where, `field "question" must be a non-empty string, got ${describeValue(q)}`);
      continue;
    }
    if (value.answer === undefined || value.answer === null) {
      invalid(options.onInvalid, where, `field "answer" must be a string or a choice index, got ${describeValue(value.answer)}`);
      continue;
    }
    const resolved = resolveMedThinkAnswer(value.answer, value.choices);
    if ('error' in resolved) {
      invalid(options.onInvalid, where, resolved.error);
      continue;
    }
    const solution = value.solution;
    if (solution !== undefined && solution !== null && typeof solution !== 'string') {
      invalid(options.onInvalid, where, `field "solution" must be a string, got ${describeValue(solution)}`);
      continue;
    }
    out.push({ key, where, image: rawImage, imageKey: flatImageKey(rawImage), question: pythonStr(q), answer: resolved.answer, solution: solution ?? '' });
  }
  return out;
}

/** A MedThink file as a Dataset with gold reasoning; images are `imagesDir/<image name>` when given, else the name. */
export function medthinkDataset(file: string, options: { source: string; imagesDir?: string }): Dataset {
  return {
    name: `medthink/${options.source}`,
    async *items(): AsyncGenerator<Item> {
      const ids = new IdAllocator();
      for (const r of await readMedThinkFile(file)) {
        const image = options.imagesDir ? join(options.imagesDir, r.image) : r.image;
        const id = ids.take(stableId(options.source, [r.imageKey, r.question, r.answer]));
        yield r.solution.length > 0
          ? { id, image, question: r.question, answer: r.answer, goldReasoning: r.solution, source: options.source }
          : { id, image, question: r.question, answer: r.answer, source: options.source };
      }
    },
  };
}
