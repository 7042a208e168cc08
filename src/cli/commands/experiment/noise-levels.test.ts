/** `--noise` levels: the accepted forms, their labels (table rows, run directories), and what is refused. */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../errors.js';
import { noiseLabel, parseNoiseLevel } from './noise-levels.js';

describe('parseNoiseLevel and noiseLabel', () => {
  it('reads every form and labels it back', () => {
    const cases: Array<[string, { mode: string; rate: number; target: string }, string]> = [
      ['0', { mode: 'uniform', rate: 0, target: 'label' }, '0'],
      ['0.1', { mode: 'uniform', rate: 0.1, target: 'label' }, '0.1'],
      ['uniform:0.2', { mode: 'uniform', rate: 0.2, target: 'label' }, '0.2'],
      ['early:0.2', { mode: 'early', rate: 0.2, target: 'label' }, 'early:0.2'],
      ['criteria:0.1', { mode: 'uniform', rate: 0.1, target: 'criteria' }, 'criteria:0.1'],
      ['criteria-early:0.2', { mode: 'early', rate: 0.2, target: 'criteria' }, 'criteria-early:0.2'],
      ['criteria:0', { mode: 'uniform', rate: 0, target: 'criteria' }, '0'], // rate 0 is the clean judge whatever flips
    ];
    for (const [raw, noise, label] of cases) {
      expect(parseNoiseLevel(raw)).toEqual(noise);
      expect(noiseLabel(parseNoiseLevel(raw))).toBe(label);
    }
  });

  it('refuses rates outside [0, 1] and unknown forms', () => {
    for (const raw of ['1.5', 'late:0.1', 'criteria:', '-0.1']) expect(() => parseNoiseLevel(raw)).toThrow(UsageError);
  });
});
