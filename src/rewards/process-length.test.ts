import { describe, expect, it } from 'vitest';
import { lengthReward } from './length.js';
import { processReward } from './process.js';

describe('processReward', () => {
  it('is the share of valid steps', () => {
    expect(processReward([1, 0, 1, 1], 4)).toBe(0.75);
  });
  it('is 0 without labels or steps', () => {
    expect(processReward(null, 3)).toBe(0);
    expect(processReward(undefined, 3)).toBe(0);
    expect(processReward([], 0)).toBe(0);
    expect(processReward([1, 1], 0)).toBe(0);
  });
  it('counts missing labels as invalid and ignores extra labels', () => {
    expect(processReward([1, 1], 4)).toBe(0.5);
    expect(processReward([1, 0, 1, 1, 1], 2)).toBe(0.5);
  });
});

describe('lengthReward', () => {
  it('follows −(K_min − K)/K_min below, −(K − K_max)/K_max above, 0 between', () => {
    expect(lengthReward(0)).toBe(-1);
    expect(lengthReward(1)).toBe(-0.75);
    expect(lengthReward(3)).toBe(-0.25);
    expect(lengthReward(4)).toBe(0);
    expect(lengthReward(10)).toBe(0);
    expect(lengthReward(11)).toBeCloseTo(-0.1, 12);
    expect(lengthReward(25)).toBeCloseTo(-1.5, 12);
  });
  it('takes other bounds', () => {
    expect(lengthReward(1, { minSteps: 2, maxSteps: 3 })).toBe(-0.5);
    expect(lengthReward(6, { minSteps: 2, maxSteps: 3 })).toBe(-1);
  });
});
