/**
 * The public API of mrpo, re-exported by topic. Algorithms are pure and
 * synchronous; I/O lives in judges, data, backends, serve and cli.
 */

// Shared shapes and errors
export type { Item, ImageSource, Step, StepLabel, StepVerdict, TokenOffset, Rewards } from './types.js';
export { MrpoError, UsageError, InputError, ConfigError, UnknownNameError, RemoteError } from './errors.js';
export { createRng, type Rng } from './utils/rng.js';

// Steps (mrpo.md §1–2)
export { segmentSteps, parseCompletion, extractAnswer, splitSentences, SPLITTERS, type SplitterName, type ParsedCompletion } from './algo/steps.js';

// Answer matching (§3; reference-facts.md §5)
export { porterStem } from './algo/porter-stemmer.js';
export { rouge1, rouge1F, rougeTokenize, normalizeForRouge, type RougeScore } from './algo/rouge.js';
export { sentenceBleu, bleu1, type BleuSmoothing } from './algo/bleu.js';
export { pythonSplit } from './algo/python-text.js';
export { numberToWords, wordsToNumber, spellNumbers } from './algo/number-words.js';
export { answersEquivalent, normalizeAnswerText, canonicalAnswerTokens } from './algo/answer-match.js';

// Rewards (§3)
export { answerReward, activeAnswerComponents, DEFAULT_ANSWER_WEIGHTS, type AnswerRewardResult, type AnswerWeights } from './rewards/answer.js';
export { processReward } from './rewards/process.js';
export { lengthReward } from './rewards/length.js';
export type { SemanticScorer, SemanticPair } from './rewards/semantic.js';

// Advantages (§4, §5, §7)
export {
  estimators,
  computeAdvantages,
  getEstimator,
  ESTIMATOR_NAMES,
  stepWeight,
  mapTokensToSteps,
  tokenAdvantagesFor,
  type EstimatorName,
  type AdvantageInput,
  type AdvantageResult,
  type AdvantageEstimator,
} from './algo/advantages/index.js';

// Losses (§6)
export { tokenLosses, aggregateLosses, lossMetrics, LOSS_AGGREGATIONS, type LossAggregation } from './algo/losses.js';

// Failure metrics (§8)
export { failurePoint, ffpStage, ffpBin, summarizeFailures, type FailureSummary, type FailureTrace } from './algo/failure.js';

// The shape contract
export { shape, parseShapeRequest, type ShapeRequest, type ShapeResponse } from './shape/index.js';

// Seams
export type { StepJudge, AnswerJudge, StepJudgement, AnswerJudgement, Unjudged } from './judges/judge.js';
export type { Dataset } from './data/dataset.js';
export type { PolicyBackend, SampledCompletion, Prompt, TrainExample, LossSpec } from './backends/backend.js';
