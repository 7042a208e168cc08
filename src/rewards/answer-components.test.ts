import { describe, expect, it } from 'vitest';
import { describeAnswerReward } from './answer-components.js';

describe('describeAnswerReward', () => {
  it('says loudly that the semantic component is off and how the rest is weighted', () => {
    expect(describeAnswerReward()).toBe(
      'answer reward: 1 if the answer matches the gold answer, else 0.5·rouge1 + 0.5·bleu1 (semantic inactive: no BERTScore model configured; weights renormalised over the active components)',
    );
    expect(describeAnswerReward({ renormalize: false })).toBe(
      'answer reward: 1 if the answer matches the gold answer, else 0.25·rouge1 + 0.25·bleu1 (semantic inactive: no BERTScore model configured, scored 0 as in the reference)',
    );
  });
  it('names the scorer when one is configured', () => {
    expect(describeAnswerReward({ semantic: { name: 'bertscore:BiomedBERT@12' } })).toBe(
      'answer reward: 1 if the answer matches the gold answer, else 0.25·rouge1 + 0.25·bleu1 + 0.5·semantic[bertscore:BiomedBERT@12]',
    );
    expect(describeAnswerReward({ semantic: { name: 's' }, weights: { bleu1: 0 } })).toBe(
      'answer reward: 1 if the answer matches the gold answer, else 0.333·rouge1 + 0.667·semantic[s] (weights renormalised over the active components)',
    );
  });
  it('handles every component switched off', () => {
    expect(describeAnswerReward({ weights: { rouge1: 0, bleu1: 0, semantic: 0 } })).toBe('answer reward: 1 if the answer matches the gold answer, else 0');
  });
});
