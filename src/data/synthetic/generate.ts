/**
 * The seeded generator of the synthetic medical VQA task (issue 4): items with
 * an image, an open-ended question, a gold answer and a 4–6 step gold
 * rationale; and the SFT warm-start chains, which mix gold chains with
 * plausible wrong chains that begin with an early mistake and follow it
 * consistently (a wrong modality leads to the region of the same silhouette in
 * that modality, then to that region's finding of the same polarity), so a
 * policy warm-started on them fails early most of the time, as the paper's
 * base models do (docs/method.md §8, §10: 64% early failures).
 *
 * Item `i` of a split depends only on (seed, split, i), so a dataset of any
 * size is reproducible and its prefixes agree.
 */
import type { Item } from '../../types.js';
import { createRng, type Rng } from '../../utils/rng.js';
import { goldCompletion, type ThinkTag } from '../prompt.js';
import {
  answerFor,
  factsFrom,
  LEVELS,
  MODALITIES,
  POLARITIES,
  QUESTION_KINDS,
  SHAPES,
  shapeOf,
  SIDES,
  type Count,
  type Modality,
  type QuestionKind,
  type SyntheticFacts,
} from './facts.js';
import { renderImage } from './image.js';
import { QUESTIONS, stepKinds, stepSentence, type StepKind } from './texts.js';

export type SyntheticSplit = 'train' | 'test';

/** An item of the task with the facts it was generated from (the judge does not rely on them). */
export interface SyntheticItem extends Item {
  readonly facts: SyntheticFacts;
  readonly kind: QuestionKind;
  /** The kinds of the gold rationale's steps, in order. */
  readonly stepKinds: readonly StepKind[];
}

/** Share of questions of each kind; finding questions are the ones whose answer depends on the whole chain. */
export const QUESTION_MIX: Readonly<Record<QuestionKind, number>> = { finding: 0.6, location: 0.2, count: 0.2 };

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)];
}

function pickWeighted<K extends string>(rng: Rng, weights: Readonly<Record<K, number>>, keys: readonly K[]): K {
  let total = 0;
  for (const k of keys) total += weights[k];
  let u = rng.next() * total;
  for (const k of keys) {
    u -= weights[k];
    if (u < 0) return k;
  }
  return keys[keys.length - 1];
}

/** A 32-bit seed for item `index` of `split` (independent of how many items are generated). */
export function itemSeed(seed: number, split: SyntheticSplit, index: number): number {
  const r = createRng((Math.imul(seed >>> 0, 0x9e3779b1) ^ (split === 'train' ? 0x51ed27 : 0x2c1b3c6d)) >>> 0);
  const base = Math.floor(r.next() * 4294967296);
  return (base ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
}

export function generateItem(seed: number, split: SyntheticSplit, index: number): SyntheticItem {
  const rng = createRng(itemSeed(seed, split, index));
  const facts = factsFrom(pick(rng, MODALITIES), pick(rng, SHAPES), pick(rng, POLARITIES), {
    side: pick(rng, SIDES),
    level: pick(rng, LEVELS),
    count: (1 + rng.int(3)) as Count,
  });
  const kind = pickWeighted(rng, QUESTION_MIX, QUESTION_KINDS);
  const extra = rng.int(3); // 0: none, 1: texture, 2: silhouette
  const kinds = stepKinds({ texture: extra === 1, shape: extra === 2, diagnosis: kind === 'finding' || rng.next() < 0.5 });
  const answer = answerFor(kind, facts);
  const image = renderImage(facts, rng);
  return {
    id: `synthetic-${split}-${seed}-${index}`,
    image,
    question: QUESTIONS[kind],
    answer,
    goldReasoning: kinds.map((k) => stepSentence(k, facts, answer)).join(' '),
    source: 'synthetic',
    facts,
    kind,
    stepKinds: kinds,
  };
}

export function generateItems(seed: number, split: SyntheticSplit, count: number, offset = 0): SyntheticItem[] {
  return Array.from({ length: count }, (_, i) => generateItem(seed, split, offset + i));
}

// ---------------------------------------------------------------------------
// SFT warm-start chains

/** Where a warm-start chain's first mistake is: none (gold), the modality, the region, or the lesion description. */
export type MistakeStage = 'none' | 'modality' | 'region' | 'lesion';
export const MISTAKE_STAGES: readonly MistakeStage[] = ['none', 'modality', 'region', 'lesion'];

export interface WarmStartMix {
  /** Relative weight of each kind of chain; `none` = the gold chain. */
  readonly weights: Readonly<Record<MistakeStage, number>>;
  /**
   * `cycle`: a wrong modality is always the same confusion (radiograph → ct →
   * mri → radiograph), a systematic bias like a base model's; `random`: any
   * other modality.
   */
  readonly confusion: 'cycle' | 'random';
}

/**
 * The default mix: most chains go wrong, and most wrong chains go wrong at the
 * start. With `cycle` confusion the wrong modality is the most likely first
 * step for every image (0.6 against 0.4 for the right one), so a greedy
 * warm-started policy fails at step 1 most of the time, while sampling at
 * temperature 1 still finds the right chain often enough for RL to learn from.
 */
export const DEFAULT_WARM_START_MIX: WarmStartMix = {
  weights: { none: 0.22, modality: 0.6, region: 0.12, lesion: 0.06 },
  confusion: 'cycle',
};

export interface WarmStartChain {
  readonly mistake: MistakeStage;
  /** The (possibly wrong) facts the chain follows. */
  readonly facts: SyntheticFacts;
  readonly answer: string;
  /** The full completion text in the §1 format. */
  readonly text: string;
}

function otherModality(m: Modality, rng: Rng, confusion: WarmStartMix['confusion']): Modality {
  const i = MODALITIES.indexOf(m);
  if (confusion === 'cycle') return MODALITIES[(i + 1) % MODALITIES.length];
  return MODALITIES[(i + 1 + rng.int(MODALITIES.length - 1)) % MODALITIES.length];
}

/** The facts a chain with a mistake at `stage` follows, coherent with that mistake. */
export function mistakenFacts(item: SyntheticItem, stage: MistakeStage, rng: Rng, confusion: WarmStartMix['confusion'] = 'cycle'): SyntheticFacts {
  const f = item.facts;
  const rest = { side: f.side, level: f.level, count: f.count };
  switch (stage) {
    case 'none':
      return f;
    case 'modality':
      return factsFrom(otherModality(f.modality, rng, confusion), shapeOf(f.region), f.polarity, rest);
    case 'region':
      return factsFrom(f.modality, SHAPES[1 - SHAPES.indexOf(shapeOf(f.region))], f.polarity, rest);
    case 'lesion': {
      // The misread attribute is the one the question asks about, so the mistake reaches the answer.
      if (item.kind === 'location') return { ...f, side: f.side === 'left' ? 'right' : 'left' };
      if (item.kind === 'count') return { ...f, count: (f.count === 1 ? 2 : f.count === 3 ? 2 : pick(rng, [1, 3])) as Count };
      return factsFrom(f.modality, shapeOf(f.region), POLARITIES[1 - POLARITIES.indexOf(f.polarity)], rest);
    }
  }
}

/** One warm-start SFT chain for an item: gold or wrong from an early step on, per the mix. */
export function warmStartChain(item: SyntheticItem, rng: Rng, mix: WarmStartMix = DEFAULT_WARM_START_MIX, tag: ThinkTag = 'think'): WarmStartChain {
  const mistake = pickWeighted(rng, mix.weights, MISTAKE_STAGES);
  const facts = mistakenFacts(item, mistake, rng, mix.confusion);
  const answer = answerFor(item.kind, facts);
  const reasoning = item.stepKinds.map((k) => stepSentence(k, facts, answer)).join(' ');
  return { mistake, facts, answer, text: goldCompletion(reasoning, answer, tag) };
}
