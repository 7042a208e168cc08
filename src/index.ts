/**
 * The public API of mrpo, re-exported by topic. Algorithms are pure and
 * synchronous; I/O lives in judges, data, backends, serve and cli.
 */

// Shared shapes and errors
export type { Item, ImageSource, Step, StepLabel, StepVerdict, TokenOffset, TokenOffsets, Rewards } from './types.js';
export { MrpoError, UsageError, InputError, ConfigError, UnknownNameError, RemoteError } from './errors.js';
export { createRng, type Rng } from './utils/rng.js';

// Steps (docs/method.md §1–2)
export { segmentSteps, parseCompletion, extractAnswer, splitSentences, SPLITTERS, type SplitterName, type ParsedCompletion } from './algo/steps.js';

// Answer matching (§3; docs/reference-facts.md §5)
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

// Judges (docs/method.md §3, §9)
export { stepLabelsOf, type JudgeStats } from './judges/judge.js';
export { createJudgeEndpoint, judgeApiKeyFromEnv, DEFAULT_JUDGE_MODEL, DEFAULT_JUDGE_BASE_URL, type JudgeEndpoint, type JudgeEndpointOptions } from './judges/openai/endpoint.js';
export { createOpenAIStepJudge } from './judges/openai/step-judge.js';
export { createOpenAIAnswerJudge } from './judges/openai/answer-judge.js';
export { createOfflineStepJudge, lexicalStepVerdicts } from './judges/offline/step-judge.js';
export { createOfflineAnswerJudge, offlineAnswerCorrect } from './judges/offline/answer-judge.js';
export { openVerdictCache, hashInputs, type VerdictCache } from './judges/cache.js';
export { createJudgeMeter, formatJudgeStats, defaultPrices, GPT5_MINI_PRICES, type JudgeMeter, type Prices } from './judges/meter.js';
export { STEP_PROMPT_VERSION, ANSWER_PROMPT_VERSION, stepPrompt, answerPrompt } from './judges/prompts.js';
export { parseStepVerdicts, parseAnswerVerdict } from './judges/parse-verdicts.js';

// Data
export { readItems, itemsDataset, writeItemsJsonl, stripPromptSuffix, stripAnswerTags } from './data/items-jsonl.js';
export { imageToDataUrl, prepareImage, validateImage, loadImageBytes, fitToPixelBudget, DEFAULT_MAX_PIXELS } from './data/images.js';
export { createImageUrlCache } from './data/image-url-cache.js';
export { hfParquetDataset, readHfParquetRows, findParquetSplits } from './data/hf-parquet.js';
export { slakeDataset, readSlakeJson } from './data/slake.js';
export { vqaRadOsfDataset, readVqaRadOsfJson } from './data/vqa-rad-osf.js';
export { medthinkDataset, readMedThinkFile } from './data/medthink.js';
export { pmcVqaDataset, readPmcVqaCsv } from './data/pmc-vqa.js';
export { vqaMed2019Dataset, vqaMed2021Dataset, readVqaMed2019, readVqaMed2021Answers, readVqaMed2021Questions } from './data/vqa-med.js';
export { quiltVqaDataset } from './data/quilt-vqa.js';
export { mimicCxrVqaDataset, readMimicCxrVqa } from './data/mimic-cxr-vqa.js';
export { FORMATS, openFormat, type FormatInfo, type FormatOptions } from './data/formats.js';
export { buildDatasets, formatBuildSummary, type BuildOptions, type BuildReport } from './data/build.js';

// Sampling-only client for evaluation
export { createOpenAISampler, type OpenAISampler, type SampleRequest, type SampleResult } from './backends/openai/sampler.js';
export { policyPromptText, MODEL_FAMILIES, type ModelFamily } from './backends/openai/prompt.js';

// Report
export { renderReport, type ReportInput, type ReportRun, type ReportSection } from './report/report.js';
export { barChartSvg, lineChartSvg, vegaLiteChart } from './report/charts.js';
export { parseJudgedJsonl, accuracyBySource, type JudgedTrace } from './report/judged.js';

// Semantic answer component
export { createBertScorer, type BertScoreOptions } from './rewards/bertscore.js';
export { bertScoreFromEmbeddings } from './rewards/bertscore-match.js';
export { describeAnswerReward } from './rewards/answer-components.js';

// Serve
export { createMrpoServer, type MrpoServer, type ServeOptions } from './serve/server.js';
export { createScorer, parseScoreRequest, type Scorer, type ScoreResponse } from './serve/score.js';

// Backends
export { createEmbeddedBackend, loadEmbeddedBackend, type EmbeddedBackend, type EmbeddedBackendOptions, WordTokenizer } from './backends/embedded/index.js';
export { createTinkerBackend, createTinkerBackendFromConfig, TinkerBackendConfigSchema, tinkerEndpointFromEnv, type TinkerBackendConfig } from './backends/tinker/index.js';

// Training (the loop is backend-agnostic; the synthetic task brings its own exact judge)
export { createSyntheticDataset, generateItems, syntheticCorpus, warmStartChain, DEFAULT_WARM_START_MIX, type SyntheticItem, type SyntheticFacts } from './data/synthetic/index.js';
export { renderPrompt, goldCompletion, thinkInstruction } from './data/prompt.js';
export { createSyntheticJudge } from './judges/synthetic/exact-judge.js';
export { TrainConfigSchema, resolveConfig, CONFIG_FLAGS, type TrainConfig } from './train/config.js';
export { loadTrainConfig } from './train/config-file.js';
export { runTraining, type TrainObserver } from './train/loop.js';
export { rlStep } from './train/rl-step.js';
export { evaluate } from './train/evaluate.js';
export { judgeCompletion, type TrainTask } from './train/rollout.js';
export { RunDir, readLog } from './train/run-dir.js';
