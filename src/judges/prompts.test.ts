import { describe, expect, it } from 'vitest';
import { ANSWER_PROMPT_VERSION, answerPrompt, STEP_PROMPT_VERSION, stepPrompt, stepSchema } from './prompts.js';

describe('judge prompts', () => {
  it('are versioned', () => {
    expect(STEP_PROMPT_VERSION).toBe('step-v1');
    expect(ANSWER_PROMPT_VERSION).toBe('answer-v1');
  });

  it('step prompt numbers the steps, gives gold answer and reasoning, and puts the meta-commentary rule first', () => {
    const p = stepPrompt({ question: 'Which side?', goldAnswer: 'left', goldReasoning: 'The left lung is opaque.', steps: ['First  step.\n', 'Second step.'] });
    expect(p.user).toContain('Step 1: First step.\nStep 2: Second step.');
    expect(p.user).toContain('Gold answer: left');
    expect(p.user).toContain('Gold reasoning: The left lung is opaque.');
    expect(p.user.indexOf('meta-commentary')).toBeLessThan(p.user.indexOf('Alignment'));
    expect(p.user.indexOf('Alignment')).toBeLessThan(p.user.indexOf('Contribution'));
    expect(p.user).toContain('exactly 2 keys, "step1", "step2"');
  });

  it('step schema requires exactly step1…stepK with 0/1 bits', () => {
    const s = stepSchema(3).schema as { required: string[]; additionalProperties: boolean; properties: Record<string, { properties: Record<string, { enum: number[] }> }> };
    expect(s.required).toEqual(['step1', 'step2', 'step3']);
    expect(s.additionalProperties).toBe(false);
    expect(s.properties.step2.properties.alignment.enum).toEqual([0, 1]);
  });

  it('answer prompt spells integers out as words on both sides', () => {
    const p = answerPrompt({ question: 'How many lesions?', goldAnswer: '2', answer: 'there are 3 lesions' });
    expect(p.user).toContain('Gold answer: two');
    expect(p.user).toContain("Model's answer: there are three lesions");
    expect(p.user).toContain('{"verdict": "O"}');
  });
});
