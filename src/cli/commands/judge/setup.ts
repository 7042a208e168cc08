/**
 * Building the judges of `mrpo judge answers|steps` from the resolved
 * settings: the offline lexical judges, or the OpenAI-compatible ones over one
 * endpoint with the verdict cache; one meter counts both, at the prices that
 * are also written per line.
 */
import { resolve } from 'node:path';
import { UsageError } from '../../../errors.js';
import { openVerdictCache, type VerdictCache } from '../../../judges/cache.js';
import type { AnswerJudge, StepJudge } from '../../../judges/judge.js';
import { createJudgeMeter, judgePrices, type JudgeMeter, type Prices } from '../../../judges/meter.js';
import { createOfflineAnswerJudge } from '../../../judges/offline/answer-judge.js';
import { createOfflineStepJudge } from '../../../judges/offline/step-judge.js';
import { createOpenAIAnswerJudge } from '../../../judges/openai/answer-judge.js';
import { createJudgeEndpoint, judgeApiKeyFromEnv } from '../../../judges/openai/endpoint.js';
import { createOpenAIStepJudge } from '../../../judges/openai/step-judge.js';
import { redactSecrets } from '../../../utils/redact.js';
import type { CliIo } from '../../command.js';
import type { JudgeConfig } from './config.js';

export type JudgeKind = 'openai' | 'offline';

export interface Judges {
  readonly stepJudge: StepJudge;
  readonly answerJudge: AnswerJudge;
  readonly meter: JudgeMeter;
  /** $/1M tokens the cost is computed at: 0 for the offline judges, null when the model has none known. */
  readonly prices: Prices | null;
  /** The verdict cache, to close at the end (null: offline or --no-cache). */
  readonly cache: VerdictCache | null;
}

const FREE: Prices = { inputPerMillion: 0, outputPerMillion: 0 };

export function createJudges(kind: JudgeKind, config: JudgeConfig, io: CliIo): Judges {
  if (kind === 'offline') {
    const meter = createJudgeMeter(FREE);
    return {
      stepJudge: createOfflineStepJudge({ alignThreshold: config.alignThreshold, meter }),
      answerJudge: createOfflineAnswerJudge({ rougeThreshold: config.rougeThreshold, meter }),
      meter,
      prices: FREE,
      cache: null,
    };
  }
  const prices = judgePrices(config);
  const meter = createJudgeMeter(prices);
  const apiKey = judgeApiKeyFromEnv(io.env);
  if (apiKey === undefined && /^https:\/\/api\.openai\.com\b/.test(config.baseUrl))
    throw new UsageError(`the judge endpoint ${redactSecrets(config.baseUrl, [])} needs a key: set MRPO_JUDGE_API_KEY (or OPENAI_API_KEY), or give --base-url of a local server, or --judge offline`);
  const cache = config.cache === null ? null : openVerdictCache(resolve(io.cwd, config.cache));
  const endpoint = createJudgeEndpoint({
    maxPixels: config.maxPixels,
    baseUrl: config.baseUrl,
    model: config.model,
    apiKey,
    concurrency: config.concurrency,
    timeoutMs: config.timeoutSec * 1000,
    maxRetries: config.maxRetries,
    cache,
    meter,
    ...(config.reasoningEffort !== undefined ? { reasoningEffort: config.reasoningEffort } : {}),
    ...(config.temperature !== undefined ? { temperature: config.temperature } : {}),
    ...(config.seed !== undefined ? { requestSeed: config.seed } : {}),
  });
  return { stepJudge: createOpenAIStepJudge(endpoint), answerJudge: createOpenAIAnswerJudge(endpoint), meter, prices, cache };
}
