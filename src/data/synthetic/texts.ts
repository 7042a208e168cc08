/**
 * The words of the synthetic task: questions, rationale sentences and the
 * think/answer completion format of docs/method.md §1. Every sentence ends with a
 * period and sentences are joined by one space, so the faithful regex splitter
 * of docs/method.md §2 cuts a rationale into exactly these steps.
 *
 * A rationale follows the order of clinical rationales: (texture) → modality →
 * anatomy/region (→ silhouette) → finding with location, laterality and count →
 * (diagnosis) → conclusion. The bracketed steps are optional (at most one of
 * texture and silhouette; the diagnosis only for questions that do not ask for
 * it), so gold rationales have 4–6 steps.
 */
import { countWord, shapeOf, TEXTURE_OF, type QuestionKind, type SyntheticFacts } from './facts.js';

export const QUESTIONS: Readonly<Record<QuestionKind, string>> = {
  finding: 'What abnormality is seen in this image?',
  location: 'Where is the lesion located?',
  count: 'How many lesions are there?',
};

export type StepKind = 'texture' | 'modality' | 'region' | 'shape' | 'lesion' | 'diagnosis' | 'conclusion';

/** The steps a rationale has, in order; `texture`, `shape` and `diagnosis` are the optional ones. */
export function stepKinds(options: { texture: boolean; shape: boolean; diagnosis: boolean }): StepKind[] {
  const kinds: StepKind[] = [];
  if (options.texture) kinds.push('texture');
  kinds.push('modality', 'region');
  if (options.shape) kinds.push('shape');
  kinds.push('lesion');
  if (options.diagnosis) kinds.push('diagnosis');
  kinds.push('conclusion');
  return kinds;
}

const MODALITY_PHRASE = { radiograph: 'a radiograph', ct: 'a ct scan', mri: 'an mri scan' } as const;

/** One rationale sentence stating the facts of the given kind (ends with a period). */
export function stepSentence(kind: StepKind, facts: SyntheticFacts, answer: string): string {
  switch (kind) {
    case 'texture':
      return `The background has a ${TEXTURE_OF[facts.modality]} texture.`;
    case 'modality':
      return `The image is ${MODALITY_PHRASE[facts.modality]}.`;
    case 'region':
      return `The image shows the ${facts.region}.`;
    case 'shape':
      return `The silhouette is ${shapeOf(facts.region)}.`;
    case 'lesion': {
      const where = `in the ${facts.side} ${facts.level} ${facts.region}`;
      return facts.count === 1
        ? `There is one ${facts.polarity} lesion ${where}.`
        : `There are ${countWord(facts.count)} ${facts.polarity} lesions ${where}.`;
    }
    case 'diagnosis':
      return `This appearance indicates ${facts.finding}.`;
    case 'conclusion':
      return `So the answer is ${answer}.`;
  }
}

/** A full completion in the format of docs/method.md §1. */
export function renderCompletion(sentences: readonly string[], answer: string, thinkTag: 'think' | 'thinking' = 'think'): string {
  return `<${thinkTag}>${sentences.join(' ')}</${thinkTag}><answer>${answer}</answer>`;
}
