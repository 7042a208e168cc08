/**
 * The fact tables of the synthetic medical VQA task (issue 4, "The synthetic
 * task"): which regions each modality shows, which findings each region can
 * have, and the words that name them. The tables are what makes failures
 * cascade: the region vocabulary depends on the modality and the finding
 * vocabulary on the region, so a chain that names the wrong modality goes on
 * to name a region and a finding that are coherent with that mistake and wrong.
 *
 * Pure data and lookups; no randomness, no I/O.
 */

export const MODALITIES = ['radiograph', 'ct', 'mri'] as const;
export type Modality = (typeof MODALITIES)[number];

/** Texture of the image background per modality (what the image shows). */
export const TEXTURE_OF: Readonly<Record<Modality, Texture>> = { radiograph: 'smooth', ct: 'speckled', mri: 'striped' };
export const TEXTURES = ['smooth', 'speckled', 'striped'] as const;
export type Texture = (typeof TEXTURES)[number];

/** Body silhouette: index 0 of a modality's regions is wide, index 1 tall. */
export const SHAPES = ['wide', 'tall'] as const;
export type Shape = (typeof SHAPES)[number];

/** Regions per modality, indexed by silhouette (wide, tall). */
export const REGIONS_OF: Readonly<Record<Modality, readonly [Region, Region]>> = {
  radiograph: ['chest', 'knee'],
  ct: ['abdomen', 'neck'],
  mri: ['brain', 'spine'],
};
export const REGIONS = ['chest', 'knee', 'abdomen', 'neck', 'brain', 'spine'] as const;
export type Region = (typeof REGIONS)[number];

/** Lesion intensity relative to the body. */
export const POLARITIES = ['bright', 'dark'] as const;
export type Polarity = (typeof POLARITIES)[number];

/** Findings per region, indexed by polarity (bright, dark). */
export const FINDINGS_OF: Readonly<Record<Region, readonly [Finding, Finding]>> = {
  chest: ['nodule', 'pneumothorax'],
  knee: ['osteophyte', 'effusion'],
  abdomen: ['calculus', 'cyst'],
  neck: ['calcification', 'abscess'],
  brain: ['tumor', 'edema'],
  spine: ['herniation', 'syrinx'],
};
export const FINDINGS = [
  'nodule', 'pneumothorax', 'osteophyte', 'effusion', 'calculus', 'cyst',
  'calcification', 'abscess', 'tumor', 'edema', 'herniation', 'syrinx',
] as const;
export type Finding = (typeof FINDINGS)[number];

/** Patient side. The image follows the radiological convention: the patient's right is on the image's left. */
export const SIDES = ['left', 'right'] as const;
export type Side = (typeof SIDES)[number];
export const LEVELS = ['upper', 'lower'] as const;
export type Level = (typeof LEVELS)[number];

export const COUNT_WORDS = ['one', 'two', 'three'] as const;
export type Count = 1 | 2 | 3;

export const QUESTION_KINDS = ['finding', 'location', 'count'] as const;
export type QuestionKind = (typeof QUESTION_KINDS)[number];

/** Everything an item's image shows; the gold rationale and answer follow from it. */
export interface SyntheticFacts {
  readonly modality: Modality;
  readonly region: Region;
  readonly finding: Finding;
  readonly polarity: Polarity;
  readonly side: Side;
  readonly level: Level;
  readonly count: Count;
}

export function shapeOf(region: Region): Shape {
  for (const m of MODALITIES) {
    const i = REGIONS_OF[m].indexOf(region);
    if (i >= 0) return SHAPES[i];
  }
  throw new Error(`unknown region ${region}`);
}

export function modalityOfRegion(region: Region): Modality {
  for (const m of MODALITIES) if (REGIONS_OF[m].includes(region)) return m;
  throw new Error(`unknown region ${region}`);
}

export function regionOfFinding(finding: Finding): Region {
  for (const r of REGIONS) if (FINDINGS_OF[r].includes(finding)) return r;
  throw new Error(`unknown finding ${finding}`);
}

/** The facts that follow from a modality, a silhouette and a lesion polarity (the cascade). */
export function factsFrom(
  modality: Modality,
  shape: Shape,
  polarity: Polarity,
  rest: { side: Side; level: Level; count: Count },
): SyntheticFacts {
  const region = REGIONS_OF[modality][SHAPES.indexOf(shape)];
  const finding = FINDINGS_OF[region][POLARITIES.indexOf(polarity)];
  return { modality, region, finding, polarity, ...rest };
}

export function countWord(count: Count): (typeof COUNT_WORDS)[number] {
  return COUNT_WORDS[count - 1];
}

/** The gold answer to a question of the given kind. */
export function answerFor(kind: QuestionKind, facts: SyntheticFacts): string {
  switch (kind) {
    case 'finding':
      return facts.finding;
    case 'location':
      return `${facts.side} ${facts.level}`;
    case 'count':
      return countWord(facts.count);
  }
}
