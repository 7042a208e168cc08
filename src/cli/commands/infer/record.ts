/** The lines `mrpo infer` writes, and the (id, sample) key that output, resume and the judges share. */
import { isAbsolute, relative, sep } from 'node:path';
import { parseCompletion, segmentSteps, type SplitterName } from '../../../algo/steps.js';
import type { Item } from '../../../types.js';

/** The key of an output line: its item id and sample number (0 when absent). */
export const sampleKey = (id: unknown, sample: unknown): string => `${String(id)}\u0000${typeof sample === 'number' ? sample : 0}`;

/** A local image path as written in output: relative to the output file's folder (POSIX separators). */
export function imageForOutput(image: Item['image'], outDir: string | null): string | null {
  if (typeof image !== 'string') return null;
  if (outDir === null || image.startsWith('data:') || /^https?:\/\//i.test(image) || !isAbsolute(image)) return image;
  return relative(outDir, image).split(sep).join('/');
}

/** One output line: the item, the sample, the completion with think/answer parsed and its steps. */
export function completionRecord(item: Item, sample: number, text: string, finishReason: string, splitter: SplitterName, outDir: string | null): Record<string, unknown> {
  const parsed = parseCompletion(text);
  return {
    id: item.id,
    source: item.source,
    question: item.question,
    answer: item.answer,
    ...(item.answers !== undefined ? { answers: item.answers } : {}),
    ...(item.answerType !== undefined ? { answerType: item.answerType } : {}),
    ...(item.goldReasoning !== undefined ? { goldReasoning: item.goldReasoning } : {}),
    image: imageForOutput(item.image, outDir),
    sample,
    completion: text,
    think: parsed.think,
    prediction: parsed.answer,
    steps: segmentSteps(text, { splitter }),
    finishReason,
  };
}
