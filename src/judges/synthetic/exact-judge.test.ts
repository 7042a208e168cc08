import { describe, expect, it } from 'vitest';
import type { Item, StepVerdict } from '../../types.js';
import { stepLabelsOf } from '../judge.js';
import { createSyntheticJudge, goldFactsOf, isMetaCommentary, mentionedFacts, normalizeAnswer, sentenceKey, taskSentences } from './exact-judge.js';
import { generateItems, warmStartChain } from '../../data/synthetic/index.js';
import { createRng } from '../../utils/rng.js';

const GOLD =
  'The background has a speckled texture. The image is a ct scan. The image shows the abdomen. ' +
  'There are two bright lesions in the right lower abdomen. This appearance indicates calculus. So the answer is calculus.';

function item(question: string, answer: string, goldReasoning: string | undefined = GOLD): Item {
  return { id: 'x', image: 'x.png', question, answer, goldReasoning, source: 'synthetic' };
}

const V = (alignment: 0 | 1, contribution: 0 | 1): StepVerdict => ({ alignment, contribution });

async function verdicts(it: Item, steps: string[]): Promise<StepVerdict[]> {
  const j = await createSyntheticJudge().judgeSteps({ item: it, steps });
  if (j.kind !== 'judged') throw new Error(j.reason);
  expect(j.missing).toBe(0);
  expect(j.extra).toBe(0);
  return [...j.verdicts];
}

const findingItem = item('What abnormality is seen in this image?', 'calculus');

describe('exact synthetic judge — steps', () => {
  it('gold chain: facts are aligned; only steps stating the finding or its polarity contribute', async () => {
    const steps = GOLD.split(/(?<=\.) /);
    expect(await verdicts(findingItem, steps)).toEqual([V(1, 0), V(1, 0), V(1, 0), V(1, 1), V(1, 1), V(1, 1)]);
  });

  it('a chain that starts with the wrong modality stays wrong; the lesion step still contributes its polarity', async () => {
    const steps = [
      'The background has a striped texture.',
      'The image is an mri scan.',
      'The image shows the brain.',
      'There are two bright lesions in the right lower brain.',
      'This appearance indicates tumor.',
      'So the answer is tumor.',
    ];
    const v = await verdicts(findingItem, steps);
    expect(v).toEqual([V(0, 0), V(0, 0), V(0, 0), V(0, 1), V(0, 0), V(0, 0)]);
    expect(stepLabelsOf(v)).toEqual([0, 0, 0, 1, 0, 0]);
  });

  it('wrong side: not aligned; contributes for a finding question but not for a location question', async () => {
    const step = 'There are two bright lesions in the left lower abdomen.';
    expect(await verdicts(findingItem, [step])).toEqual([V(0, 1)]);
    const locationItem = item('Where is the lesion located?', 'right lower', GOLD.replace('So the answer is calculus.', 'So the answer is right lower.'));
    expect(await verdicts(locationItem, [step, 'So the answer is right lower.'])).toEqual([V(0, 0), V(1, 1)]);
  });

  it('count questions need the count; digits count as numbers', async () => {
    const countItem = item('How many lesions are there?', 'two', GOLD.replace('So the answer is calculus.', 'So the answer is two.'));
    expect(
      await verdicts(countItem, ['There are 2 bright lesions in the right lower abdomen.', 'There are three bright lesions.', 'This appearance indicates calculus.']),
    ).toEqual([V(1, 1), V(0, 0), V(1, 0)]);
  });

  it('meta-commentary, empty steps and repetition are invalid first, whatever they state', async () => {
    const steps = [
      'I will now analyse the image.',
      'Let me look at the ct scan.',
      'Now we need to think step by step.',
      '.',
      'The image shows the abdomen.',
      'The image shows the  abdomen',
    ];
    expect(await verdicts(findingItem, steps)).toEqual([V(0, 0), V(0, 0), V(0, 0), V(0, 0), V(1, 0), V(0, 0)]);
  });

  it('generic statements and two values for one fact are not aligned', async () => {
    expect(await verdicts(findingItem, ['The image is abnormal.', 'The image is a ct or mri scan.', 'This appearance indicates calculus or cyst.'])).toEqual([
      V(0, 0),
      V(0, 0),
      V(0, 0),
    ]);
  });

  it('optional facts the gold rationale left out are derived from the tables', async () => {
    const short = 'The image is a ct scan. The image shows the abdomen. There is one dark lesion in the left upper abdomen. This appearance indicates cyst. So the answer is cyst.';
    const it2 = item('What abnormality is seen in this image?', 'cyst', short);
    expect(await verdicts(it2, ['The background has a speckled texture.', 'The silhouette is wide.', 'The silhouette is tall.', 'The background has a smooth texture.'])).toEqual([
      V(1, 0),
      V(1, 0),
      V(0, 0),
      V(0, 0),
    ]);
  });

  it('true facts in sentences outside the task language are incoherent (the judge-gaming MRPO found)', async () => {
    // Seen after 60 MRPO steps with the fact-only rules: each of these states one true fact ("wide": the abdomen's silhouette).
    expect(await verdicts(findingItem, ['The image is wide.', 'There is wide.', 'This appearance indicates wide.', 'So the answer is wide.', 'So the abdomen.'])).toEqual([
      V(0, 0), V(0, 0), V(0, 0), V(0, 0), V(0, 0),
    ]);
    // the same facts in the task's own sentences are fine, in any letter case and with a missing final period
    expect(await verdicts(findingItem, ['the silhouette is WIDE', 'So the answer is calculus.'])).toEqual([V(1, 0), V(1, 1)]);
  });

  it('every sentence of generated gold and warm-start chains is in the task language', () => {
    const language = taskSentences();
    expect(language.size).toBeGreaterThan(150);
    expect(language.size).toBeLessThan(400);
    const rng = createRng(3);
    for (const it of generateItems(11, 'train', 150))
      for (const text of [it.goldReasoning ?? '', warmStartChain(it, rng).text.replace(/<\/?think>|<answer>.*$/g, '')])
        for (const sentence of text.split(/(?<=\.) /)) expect(language.has(sentenceKey(sentence)), sentence).toBe(true);
  });

  it('items without usable gold reasoning are unjudged values, not errors', async () => {
    const judge = createSyntheticJudge();
    const noGold: Item = { id: 'y', image: 'y.png', question: 'q?', answer: 'calculus', source: 'synthetic' };
    const none = await judge.judgeSteps({ item: noGold, steps: ['The image is a ct scan.'] });
    expect(none.kind).toBe('unjudged');
    const foreign = await judge.judgeSteps({ item: item('q?', 'pneumonia', 'The lungs show consolidation.'), steps: ['x.'] });
    expect(foreign).toMatchObject({ kind: 'unjudged' });
    if (foreign.kind === 'unjudged') expect(foreign.reason).toContain('gold reasoning');
  });
});

describe('exact synthetic judge — helpers and answers', () => {
  it('reads facts and gold facts', () => {
    expect(mentionedFacts('There are two bright lesions in the right lower abdomen.')).toEqual(
      new Map([
        ['count', new Set(['2'])],
        ['polarity', new Set(['bright'])],
        ['side', new Set(['right'])],
        ['level', new Set(['lower'])],
        ['region', new Set(['abdomen'])],
      ]),
    );
    expect(goldFactsOf(GOLD, 'calculus')).toEqual({
      modality: 'ct', texture: 'speckled', region: 'abdomen', shape: 'wide', polarity: 'bright', side: 'right', level: 'lower', count: '2', finding: 'calculus',
    });
    expect(isMetaCommentary('So the answer is calculus.', mentionedFacts('So the answer is calculus.'))).toBe(false);
    expect(isMetaCommentary('Considering the question carefully.', new Map())).toBe(true);
  });

  it('judges answers after normalisation', async () => {
    const judge = createSyntheticJudge();
    const cases: Array<[string, string, boolean]> = [
      ['Calculus.', 'calculus', true],
      ['2', 'two', true],
      ['right   Upper', 'right upper', true],
      ['cyst', 'calculus', false],
      ['upper right', 'right upper', false],
      ['', 'two', false],
    ];
    for (const [answer, gold, correct] of cases) {
      const r = await judge.judgeAnswer({ item: item('q?', gold), answer });
      expect(r, `${answer} vs ${gold}`).toEqual({ kind: 'judged', correct });
    }
    expect(normalizeAnswer(' Three! ')).toBe('three');
  });
});
