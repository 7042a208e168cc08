/**
 * The models and judges of a suite, built from its entries: an
 * OpenAI-compatible endpoint (the sampler of `mrpo infer`, the prompt of the
 * backbone family) or the embedded CPU policy (a checkpoint folder; encoded
 * images are decoded to raw pixels with sharp, as it reads pixels only), and
 * the offline or OpenAI-compatible judges of `mrpo judge`. API keys are read
 * from the environment variables the suite names, never from the suite.
 */
import pLimit from 'p-limit';
import sharp from 'sharp';
import { createOpenAISampler, type OpenAISampler, type SampleResult, type SamplerStats } from '../../backends/openai/sampler.js';
import { policyPromptText, type ModelFamily } from '../../backends/openai/prompt.js';
import { imageToDataUrl, loadImageBytes } from '../../data/images.js';
import { renderPrompt } from '../../data/prompt.js';
import { UsageError } from '../../errors.js';
import { openVerdictCache, type VerdictCache } from '../../judges/cache.js';
import type { AnswerJudge, StepJudge } from '../../judges/judge.js';
import { createJudgeMeter, judgePrices, type JudgeMeter, type Prices } from '../../judges/meter.js';
import { createOfflineAnswerJudge } from '../../judges/offline/answer-judge.js';
import { createOfflineStepJudge } from '../../judges/offline/step-judge.js';
import { createOpenAIAnswerJudge } from '../../judges/openai/answer-judge.js';
import { createJudgeEndpoint } from '../../judges/openai/endpoint.js';
import { createOpenAIStepJudge } from '../../judges/openai/step-judge.js';
import type { Item } from '../../types.js';
import type { SuiteJudge, SuiteModel } from './suite.js';

export interface EvalModel {
  readonly name: string;
  readonly concurrency: number;
  complete(item: Item, signal: AbortSignal): Promise<SampleResult>;
  stats(): SamplerStats;
  close(): Promise<void>;
}

type Env = Readonly<Record<string, string | undefined>>;

function keyFrom(env: Env, name: string | undefined, fallbacks: readonly string[]): string | undefined {
  for (const n of name !== undefined ? [name] : fallbacks) {
    const v = env[n]?.trim();
    if (v) return v;
  }
  return undefined;
}

/** Raw pixels of any image source, for the embedded policy. */
async function toPixels(item: Item): Promise<Item> {
  const image = item.image;
  if (typeof image !== 'string' && 'pixels' in image) return item;
  const encoded = await loadImageBytes(image, { where: `item "${item.id}" field "image"` });
  const { data, info } = await sharp(encoded.bytes).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const channels = info.channels === 1 ? 1 : 3;
  return { ...item, image: { pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels } };
}

export function createEvalModel(entry: SuiteModel, env: Env, options: { bundledCheckpoint: string; seed: number }): EvalModel {
  if (entry.kind === 'openai') {
    const apiKey = keyFrom(env, entry.apiKeyEnv, ['MRPO_INFER_API_KEY', 'OPENAI_API_KEY']);
    if (apiKey === undefined && /^https:\/\/api\.openai\.com\b/i.test(entry.baseUrl))
      throw new UsageError(`model "${entry.name}": ${entry.baseUrl} needs a key: set ${entry.apiKeyEnv ?? 'MRPO_INFER_API_KEY'}`);
    const sampler: OpenAISampler = createOpenAISampler({
      imageUrl: (image) => imageToDataUrl(image, entry.maxPixels === undefined ? {} : { maxPixels: entry.maxPixels }),
      baseUrl: entry.baseUrl,
      model: entry.model,
      apiKey,
      concurrency: entry.concurrency,
      timeoutMs: entry.timeoutSec * 1000,
      maxRetries: entry.maxRetries,
      seed: options.seed,
    });
    return {
      name: entry.name,
      concurrency: entry.concurrency,
      complete: (item, signal) =>
        sampler.sample({ image: item.image, text: policyPromptText(item.question, entry.family as ModelFamily), temperature: entry.temperature, maxTokens: entry.maxTokens, seed: options.seed }, signal),
      stats: () => sampler.stats(),
      close: async () => undefined,
    };
  }
  const dir = entry.checkpoint === 'bundled' ? options.bundledCheckpoint : entry.checkpoint;
  // The embedded policy runs one item at a time on the CPU: one backend, calls in series.
  const serial = pLimit(1);
  let backend: Promise<import('../../backends/embedded/index.js').EmbeddedBackend> | null = null;
  let requests = 0;
  let completionTokens = 0;
  const load = () => {
    backend ??= import('../../backends/embedded/index.js').then((m) => m.loadEmbeddedBackend(dir));
    return backend;
  };
  return {
    name: entry.name,
    concurrency: 1,
    complete: (item, signal) =>
      serial(async (): Promise<SampleResult> => {
        if (signal.aborted) return { kind: 'failed', reason: 'aborted' };
        const policy = await load();
        let pixelItem: Item;
        try {
          pixelItem = await toPixels(item);
        } catch (error) {
          return { kind: 'failed', reason: `bad image (${(error as Error).message})` };
        }
        requests += 1;
        const out = await policy.sample([{ item: pixelItem, text: renderPrompt(item.question) }], 1, { temperature: entry.temperature, maxTokens: entry.maxTokens, seed: options.seed });
        const c = out[0]?.[0];
        if (c === undefined) return { kind: 'failed', reason: 'the embedded policy returned no completion' };
        completionTokens += c.tokenIds.length;
        return { kind: 'ok', text: c.text, finishReason: c.finishReason };
      }),
    stats: () => ({ requests, retries: 0, promptTokens: 0, completionTokens }),
    close: async () => {
      if (backend !== null) await (await backend).close();
    },
  };
}

export interface EvalJudges {
  readonly name: string;
  readonly answer: AnswerJudge;
  readonly steps: StepJudge;
  readonly meter: JudgeMeter;
  readonly prices: Prices | null;
  readonly offline: boolean;
  close(): void;
}

/** Checks a judge entry without opening anything (the key is there where needed, prices come in pairs); returns the key. */
export function checkJudgeConfig(entry: SuiteJudge, env: Env): string | undefined {
  if (entry.kind === 'offline') return undefined;
  const apiKey = keyFrom(env, entry.apiKeyEnv, ['MRPO_JUDGE_API_KEY', 'OPENAI_API_KEY']);
  if (apiKey === undefined && /^https:\/\/api\.openai\.com\b/i.test(entry.baseUrl))
    throw new UsageError(`judge: ${entry.baseUrl} needs a key: set ${entry.apiKeyEnv ?? 'MRPO_JUDGE_API_KEY'} (or use judge: {kind: offline})`);
  if ((entry.priceIn === undefined) !== (entry.priceOut === undefined)) throw new UsageError('judge: give both priceIn and priceOut (or neither)');
  return apiKey;
}

export function createEvalJudges(entry: SuiteJudge, env: Env): EvalJudges {
  if (entry.kind === 'offline') {
    const meter = createJudgeMeter({ inputPerMillion: 0, outputPerMillion: 0 });
    return {
      name: 'offline',
      answer: createOfflineAnswerJudge({ rougeThreshold: entry.rougeThreshold, meter }),
      steps: createOfflineStepJudge({ alignThreshold: entry.alignThreshold, meter }),
      meter,
      prices: { inputPerMillion: 0, outputPerMillion: 0 },
      offline: true,
      close: () => undefined,
    };
  }
  const apiKey = checkJudgeConfig(entry, env);
  const prices = judgePrices(entry);
  const meter = createJudgeMeter(prices);
  const cache: VerdictCache | null = entry.cache === null ? null : openVerdictCache(entry.cache);
  const endpoint = createJudgeEndpoint({
    maxPixels: entry.maxPixels,
    baseUrl: entry.baseUrl,
    model: entry.model,
    apiKey,
    concurrency: entry.concurrency,
    timeoutMs: entry.timeoutSec * 1000,
    maxRetries: entry.maxRetries,
    cache,
    meter,
    prices,
    ...(entry.reasoningEffort !== undefined ? { reasoningEffort: entry.reasoningEffort } : {}),
  });
  return {
    name: `openai:${entry.model}`,
    answer: createOpenAIAnswerJudge(endpoint),
    steps: createOpenAIStepJudge(endpoint),
    meter,
    prices,
    offline: false,
    close: () => cache?.close(),
  };
}
