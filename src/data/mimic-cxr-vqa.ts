/**
 * MIMIC-Ext-MIMIC-CXR-VQA loader (out-of-distribution, chest X-ray; PhysioNet,
 * credentialed access: a PhysioNet credentialed account, CITI training and the
 * data use agreement, for both this dataset and MIMIC-CXR-JPG). Files
 * `mimiccxrvqa/dataset/{train,valid,test}.json`: a JSON array of
 * `{split, idx, image_id, question, content_type, semantic_type, template,
 * template_program, template_arguments, answer, subject_id, study_id,
 * image_path}` where `answer` is a LIST (several findings; an empty list,
 * nothing to list, is scored against "none") and `image_path` is relative to a local MIMIC-CXR-JPG root
 * (`files/p1x/p1xxxxxxx/sxxxxxxxx/<dicom_id>.jpg`). All answers are kept as
 * accepted answers; the first is the reference `answer`, and the list joined
 * by ", " when the question asks for several. `semantic_type` verify (yes/no)
 * and choose are closed questions, query open.
 */
import { basename, isAbsolute, join } from 'node:path';
import type { Item } from '../types.js';
import type { Dataset } from './dataset.js';
import { describeValue, isYesNo } from './normalize.js';
import { invalid, isRecord, readJsonFile, recordsOf, type IssueSink } from './record-issues.js';

export interface MimicCxrVqaRecord {
  readonly where: string;
  readonly idx: string;
  readonly imagePath: string;
  readonly question: string;
  readonly answers: readonly string[];
  readonly semanticType: string;
  readonly contentType: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);

/** Reads one MIMIC-CXR-VQA split file. Without `onInvalid` a malformed record throws, naming file, record and field. */
export async function readMimicCxrVqa(file: string, options: { onInvalid?: IssueSink } = {}): Promise<MimicCxrVqaRecord[]> {
  const label = basename(file);
  const out: MimicCxrVqaRecord[] = [];
  for (const { key, value, where } of recordsOf(await readJsonFile(file, label), label)) {
    if (!isRecord(value)) {
      invalid(options.onInvalid, where, `expected an object, got ${describeValue(value)}`);
      continue;
    }
    const imagePath = str(value.image_path);
    if (imagePath === undefined || imagePath.length === 0) {
      invalid(options.onInvalid, where, `field "image_path" must be a path under the MIMIC-CXR-JPG root, got ${describeValue(value.image_path)}`);
      continue;
    }
    const question = str(value.question)?.trim();
    if (question === undefined || question.length === 0) {
      invalid(options.onInvalid, where, `field "question" must be a non-empty string, got ${describeValue(value.question)}`);
      continue;
    }
    if (!Array.isArray(value.answer)) {
      invalid(options.onInvalid, where, `field "answer" must be a list of strings, got ${describeValue(value.answer)}`);
      continue;
    }
    const answers = value.answer.map(str);
    const bad = answers.findIndex((a) => a === undefined || a.trim().length === 0);
    if (bad >= 0) {
      invalid(options.onInvalid, where, `field "answer[${bad}]" must be a non-empty string, got ${describeValue(value.answer[bad])}`);
      continue;
    }
    out.push({
      where,
      idx: str(value.idx) ?? key,
      imagePath,
      question,
      // An empty list is the answer to a "list all …" question when there is nothing to list: scored against "none".
      answers: answers.length === 0 ? ['none'] : (answers as string[]).map((a) => a.trim()),
      semanticType: str(value.semantic_type) ?? '',
      contentType: str(value.content_type) ?? '',
    });
  }
  return out;
}

/** A MIMIC-CXR-VQA split file as a Dataset, images joined to `imagesRoot` (the MIMIC-CXR-JPG folder holding `files/`). */
export function mimicCxrVqaDataset(file: string, options: { imagesRoot: string }): Dataset {
  const stem = basename(file).replace(/\.json$/i, '');
  return {
    name: `mimic-cxr-vqa/${stem}`,
    async *items(): AsyncGenerator<Item> {
      for (const r of await readMimicCxrVqa(file)) {
        const joined = r.answers.join(', ');
        const answers = r.answers.length > 1 ? [joined, ...r.answers] : r.answers;
        yield {
          id: `mimic-cxr-vqa/${stem}/${r.idx}`,
          image: isAbsolute(r.imagePath) ? r.imagePath : join(options.imagesRoot, r.imagePath),
          question: r.question,
          answer: answers[0] ?? '',
          ...(answers.length > 1 ? { answers } : {}),
          answerType: r.semanticType === 'query' ? 'open' : r.semanticType === 'verify' || r.semanticType === 'choose' || answers.every(isYesNo) ? 'closed' : 'open',
          source: 'mimic-cxr-vqa',
        };
      }
    },
  };
}
