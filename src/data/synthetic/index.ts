/**
 * The synthetic medical VQA task (issue 4) behind the Dataset seam, and its
 * corpus: every text the task can produce (prompts, rationale sentences,
 * answers), from which a word-level tokenizer is built.
 */
import type { Dataset } from '../dataset.js';
import { renderPrompt, type ThinkTag } from '../prompt.js';
import {
  answerFor,
  COUNT_WORDS,
  factsFrom,
  LEVELS,
  MODALITIES,
  POLARITIES,
  QUESTION_KINDS,
  SHAPES,
  SIDES,
  type Count,
} from './facts.js';
import { generateItem, type SyntheticItem, type SyntheticSplit } from './generate.js';
import { QUESTIONS, stepSentence, type StepKind } from './texts.js';

export * from './facts.js';
export * from './generate.js';
export { QUESTIONS, renderCompletion, stepKinds, stepSentence, type StepKind } from './texts.js';
export { renderImage, IMAGE_SIZE } from './image.js';

export interface SyntheticDatasetOptions {
  readonly seed: number;
  readonly split: SyntheticSplit;
  readonly size: number;
}

export function createSyntheticDataset(options: SyntheticDatasetOptions): Dataset & { list(): SyntheticItem[] } {
  const list = (): SyntheticItem[] => Array.from({ length: options.size }, (_, i) => generateItem(options.seed, options.split, i));
  return {
    name: `synthetic/${options.split}`,
    list,
    async *items() {
      for (let i = 0; i < options.size; i++) yield generateItem(options.seed, options.split, i);
    },
  };
}

const ALL_STEP_KINDS: readonly StepKind[] = ['texture', 'modality', 'region', 'shape', 'lesion', 'diagnosis', 'conclusion'];

/**
 * Every text of the task's vocabulary: the prompt of each question (with both
 * think tags), every rationale sentence for every combination of facts and
 * answers, the answers, and the completion tags. A tokenizer built from these
 * covers everything the task, its gold chains and its wrong chains can say.
 */
export function syntheticCorpus(): string[] {
  const texts = new Set<string>();
  for (const tag of ['think', 'thinking'] as ThinkTag[]) {
    for (const kind of QUESTION_KINDS) texts.add(renderPrompt(QUESTIONS[kind], tag));
    texts.add(`<${tag}></${tag}><answer></answer>`);
  }
  for (const modality of MODALITIES)
    for (const shape of SHAPES)
      for (const polarity of POLARITIES)
        for (const side of SIDES)
          for (const level of LEVELS)
            for (let c = 1; c <= COUNT_WORDS.length; c++) {
              const facts = factsFrom(modality, shape, polarity, { side, level, count: c as Count });
              for (const kind of QUESTION_KINDS) {
                const answer = answerFor(kind, facts);
                texts.add(answer);
                for (const step of ALL_STEP_KINDS) texts.add(stepSentence(step, facts, answer));
              }
            }
  return [...texts];
}
