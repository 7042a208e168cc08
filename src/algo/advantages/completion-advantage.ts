/**
 * The estimators' CompletionAdvantage objects, one constructor per key set (plain objects that V8 does not
 * pretenure: src/utils/plain-object.ts). Key order: advantage, stepAdvantages, stepWeights, tokenAdvantages,
 * unmappedSteps.
 */
import { plainObjectMaker } from '../../utils/plain-object.js';
import type { CompletionAdvantage } from './types.js';

type W = { -readonly [K in keyof CompletionAdvantage]: CompletionAdvantage[K] };

export const AdvantageOnly = plainObjectMaker(function (this: W, advantage: number) {
  this.advantage = advantage;
});

export const AdvantageTokens = plainObjectMaker(function (this: W, advantage: number, tokenAdvantages: number[], unmappedSteps: number) {
  this.advantage = advantage;
  this.tokenAdvantages = tokenAdvantages;
  this.unmappedSteps = unmappedSteps;
});

export const AdvantageSteps = plainObjectMaker(function (this: W, advantage: number, stepAdvantages: number[], stepWeights: (number | null)[]) {
  this.advantage = advantage;
  this.stepAdvantages = stepAdvantages;
  this.stepWeights = stepWeights;
});

export const AdvantageStepsTokens = plainObjectMaker(function (
  this: W,
  advantage: number,
  stepAdvantages: number[],
  stepWeights: (number | null)[],
  tokenAdvantages: number[],
  unmappedSteps: number,
) {
  this.advantage = advantage;
  this.stepAdvantages = stepAdvantages;
  this.stepWeights = stepWeights;
  this.tokenAdvantages = tokenAdvantages;
  this.unmappedSteps = unmappedSteps;
});

/** The estimators' output groups `{ completions }`, made the same way. */
export const AdvantageGroup = plainObjectMaker(function (this: { completions: readonly CompletionAdvantage[] }, completions: readonly CompletionAdvantage[]) {
  this.completions = completions;
});
