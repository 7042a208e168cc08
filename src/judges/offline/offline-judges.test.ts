import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Item } from '../../types.js';
import { createJudgeMeter } from '../meter.js';
import { createOfflineAnswerJudge, offlineAnswerCorrect } from './answer-judge.js';
import { createOfflineStepJudge, lexicalStepVerdicts } from './step-judge.js';

const GOLD = 'This is an axial CT of the chest. There is a large pneumothorax in the right hemithorax with collapse of the right lung.';

describe('offline step judge (lexical approximation)', () => {
  it('labels hand-made steps', () => {
    const steps = [
      'I will now analyze the image carefully.', // meta-commentary → 0/0
      'This is an axial CT scan of the chest.', // all content terms in gold → aligned
      'The right lung has collapsed, with a large pneumothorax.', // aligned and mentions the answer
      'The right lung has collapsed, with a large pneumothorax.', // repetition → 0/0
      'The left hemithorax shows a pneumothorax.', // wrong side: not aligned, but mentions the answer
      'Cardiomegaly and pleural effusion are typical of heart failure.', // unrelated
      '   ', // empty
    ];
    expect(lexicalStepVerdicts(steps, GOLD, 'pneumothorax')).toEqual([
      { alignment: 0, contribution: 0 },
      { alignment: 1, contribution: 0 },
      { alignment: 1, contribution: 1 },
      { alignment: 0, contribution: 0 },
      { alignment: 0, contribution: 1 },
      { alignment: 0, contribution: 0 },
      { alignment: 0, contribution: 0 },
    ]);
  });

  it('a short conclusion restating an earlier finding is not a repetition', () => {
    expect(lexicalStepVerdicts(['The left lung is opaque.', 'So left.'], 'The left lung is opaque.', 'left')).toEqual([
      { alignment: 1, contribution: 1 },
      { alignment: 1, contribution: 1 },
    ]);
  });

  it('a meta-commentary opening that names a key finding is judged on content', () => {
    expect(lexicalStepVerdicts(['Let me note the pneumothorax in the right hemithorax.'], GOLD, 'pneumothorax')).toEqual([{ alignment: 1, contribution: 1 }]);
  });

  it('numbers match across digits and words', () => {
    expect(lexicalStepVerdicts(['There are 2 nodules.'], 'Two nodules are seen in the liver.', 'two')).toEqual([{ alignment: 1, contribution: 1 }]);
  });

  it('one verdict per step; a repeated step is 0/0; a sentence of the gold rationale is aligned (property)', () => {
    const goldSentences = GOLD.split(/(?<=\.)\s+/);
    const step = fc.oneof(fc.constantFrom(...goldSentences), fc.lorem({ maxCount: 8 }), fc.constant(''));
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 8 }), fc.nat(), (steps, pick) => {
        const gold = goldSentences[pick % goldSentences.length];
        const withRepeat = [gold, ...steps, gold];
        const verdicts = lexicalStepVerdicts(withRepeat, GOLD, 'pneumothorax');
        expect(verdicts).toHaveLength(withRepeat.length);
        expect(verdicts[verdicts.length - 1]).toEqual({ alignment: 0, contribution: 0 });
        expect(verdicts[0].alignment).toBe(1);
      }),
      { numRuns: 200 },
    );
  });

  it('gives unjudged for no steps or no gold reasoning, and counts', async () => {
    const meter = createJudgeMeter(null);
    const judge = createOfflineStepJudge({ meter });
    const item: Item = { id: 'a', image: 'x.png', question: 'q', answer: 'pneumothorax', goldReasoning: GOLD, source: 't' };
    expect(await judge.judgeSteps({ item, steps: [] })).toEqual({ kind: 'unjudged', reason: 'no steps' });
    const { goldReasoning: _, ...noGold } = item;
    expect(await judge.judgeSteps({ item: noGold, steps: ['x.'] })).toEqual({ kind: 'unjudged', reason: 'no gold reasoning' });
    expect(await judge.judgeSteps({ item, steps: ['A pneumothorax.'] })).toEqual({ kind: 'judged', verdicts: [{ alignment: 1, contribution: 1 }], missing: 0, extra: 0 });
    expect(meter.snapshot()).toMatchObject({ judged: 1, unjudged: { 'no steps': 1, 'no gold reasoning': 1 } });
  });
});

describe('offline answer judge', () => {
  it('equivalence, then a ROUGE-1 threshold', async () => {
    expect(offlineAnswerCorrect('Two', '2')).toBe(true);
    expect(offlineAnswerCorrect('the left lower lobe', 'left lower lobe')).toBe(true); // R = 1, P = 3/4 → F ≈ 0.857
    expect(offlineAnswerCorrect('right lung', 'left lung')).toBe(false); // F = 0.5 < 0.6
    expect(offlineAnswerCorrect('', 'left lung')).toBe(false);
    expect(offlineAnswerCorrect('right lung', 'left lung', 0.5)).toBe(true);
    const judge = createOfflineAnswerJudge();
    const item: Item = { id: 'a', image: 'x.png', question: 'q', answer: 'pneumothorax', source: 't' };
    expect(await judge.judgeAnswer({ item, answer: 'Pneumothorax.' })).toEqual({ kind: 'judged', correct: true });
  });
});
