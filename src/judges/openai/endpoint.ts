/**
 * One OpenAI-compatible chat-completions endpoint used as a judge (hosted
 * OpenAI, vLLM, SGLang, Ollama, llama.cpp server), over node:http keep-alive
 * (utils/chat-client.ts), with the reliability the judges need:
 *
 * - bounded concurrency (p-limit; cache hits take no slot; identical calls
 *   in flight at the same time share one request);
 * - retries: exponential backoff with jitter,
 *   `Retry-After` honoured, a per-request timeout, every retry counted;
 * - structured output: `json_schema` first; on an HTTP 400/422 that names the
 *   response format the endpoint falls back to `json_object`, then to no
 *   response format, and remembers that for every later call; replies are
 *   always parsed tolerantly;
 * - a persistent verdict cache keyed by (model, prompt version, SHA-256 of
 *   the inputs and the image as sent), storing successes only; a hit costs
 *   the key and one lookup (the prompt is built only for a request, and the
 *   digest of an image as sent is remembered per source);
 * - token usage and cost in a shared meter;
 * - every failure an `Unjudged` value with its reason, never a thrown error,
 *   and never with the API key in it (server messages are redacted).
 */
import { hash } from 'node:crypto';
import pLimit from 'p-limit';
import { createImageUrlCache } from '../../data/image-url-cache.js';
import { DEFAULT_MAX_PIXELS, imageSourceDigest, imageToDataUrl, inlineImageDigest, isDataUrl } from '../../data/images.js';
import type { ImageSource } from '../../types.js';
import { createRng } from '../../utils/rng.js';
import { AGAIN, DEFAULT_BACKOFF, failureDetail, retryLoop, sleep as realSleep, type BackoffOptions, type RemoteFailure } from '../../utils/retry.js';
import { redactSecrets } from '../../utils/redact.js';
import type { JudgeUsage, Unjudged } from '../judge.js';
import { hashInputs, type VerdictCache } from '../cache.js';
import { createJudgeMeter, defaultPrices, type JudgeMeter, type Prices } from '../meter.js';
import type { JsonSchemaSpec, PromptText } from '../prompts.js';
import { createChatClient } from '../../utils/chat-client.js';

export const DEFAULT_JUDGE_MODEL = 'gpt-5-mini';
export const DEFAULT_JUDGE_BASE_URL = 'https://api.openai.com/v1';

/** The judge's API key from the environment: `MRPO_JUDGE_API_KEY`, else `OPENAI_API_KEY`; undefined for key-less local servers. */
export function judgeApiKeyFromEnv(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const key = env.MRPO_JUDGE_API_KEY?.trim() || env.OPENAI_API_KEY?.trim();
  return key ? key : undefined;
}

export interface JudgeEndpointOptions {
  /** The pixel budget of the default image preparation (`imageToDataUrl` of src/data/images.ts: a `data:` URL within this many pixels; default 802,816). */
  readonly maxPixels?: number;
  /** Turns an item's image into the URL sent (replaces the default preparation; `maxPixels` is then ignored). */
  readonly imageUrl?: (image: ImageSource) => Promise<string>;
  /**
   * With `imageUrl`: a stable name for what it does to an image (e.g.
   * `data-url maxPixels=1024`). Given (or with the default preparation), a
   * rerun finds its cached verdicts without preparing the images again (the
   * cache remembers which prepared image each source gave); omitted, every
   * call prepares its image first.
   */
  readonly imagePreparation?: string;
  readonly baseUrl?: string;
  readonly model?: string;
  /** Never logged or stored. Omit for a local server that needs none. */
  readonly apiKey?: string;
  /** Requests in flight at once (default 8). */
  readonly concurrency?: number;
  /** Per-request timeout in ms (default 120,000). */
  readonly timeoutMs?: number;
  /** Retries after a retryable failure (HTTP 429/5xx, timeout, connection error); default 4. */
  readonly maxRetries?: number;
  /** Extra attempts when the reply cannot be parsed (default 1). */
  readonly parseRetries?: number;
  readonly backoff?: Partial<BackoffOptions>;
  /** Seed of the jitter (default 0). */
  readonly seed?: number;
  /** $/1M tokens; default: the assumed gpt-5-mini prices for gpt-5-mini, unknown otherwise. `null` = unknown. */
  readonly prices?: Prices | null;
  readonly cache?: VerdictCache | null;
  /** Shared counters (a new meter when omitted). */
  readonly meter?: JudgeMeter;
  /** `max_completion_tokens` for each call (unset by default: reasoning models need room). */
  readonly maxCompletionTokens?: number;
  /** `temperature` (unset by default: gpt-5 models accept only their default). */
  readonly temperature?: number;
  /**
   * `seed` sent with each request (unset by default). Part of the cache key, so
   * a second run with another seed is judged afresh (test–retest, docs/judge-audit.md).
   */
  readonly requestSeed?: number;
  /** `reasoning_effort` for reasoning models (`minimal`, `low`, `medium`, `high`); unset by default. */
  readonly reasoningEffort?: string;
  /** Injected for tests: how to wait between retries. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Injected for tests: the clock used to read Retry-After dates. */
  readonly now?: () => number;
}

export type ResponseFormatMode = 'json_schema' | 'json_object' | 'none';

export interface JudgeCall<T> {
  readonly promptVersion: string;
  /** Everything the verdict depends on except the image (hashed into the cache key). */
  readonly inputs: Readonly<Record<string, unknown>>;
  readonly image: ImageSource;
  /** The prompt and response schema; called only when a request is made (not on a cache hit). */
  readonly build: () => { readonly prompt: PromptText; readonly schema: JsonSchemaSpec };
  /** Parses a reply; null = unparseable. */
  readonly parse: (content: string) => T | null;
  /** Checks a value read back from the cache; null = unusable (the call is made again). */
  readonly revive: (cached: unknown) => T | null;
}

/** `usage`: the tokens this call paid for, summed over its attempts (0 with `cached`). */
export type JudgeCallResult<T> = { readonly kind: 'ok'; readonly value: T; readonly cached: boolean; readonly usage: JudgeUsage } | Unjudged;

const NO_USAGE: JudgeUsage = { promptTokens: 0, completionTokens: 0, cached: true };

export interface JudgeEndpoint {
  readonly model: string;
  readonly baseUrl: string;
  readonly meter: JudgeMeter;
  /** The response format the endpoint currently uses (after any fallback). */
  responseFormat(): ResponseFormatMode;
  call<T>(request: JudgeCall<T>, signal?: AbortSignal): Promise<JudgeCallResult<T>>;
}

/** An unjudged value; `detail` goes in brackets so that the reason's category stays countable. */
export function unjudged(category: string, detail?: string): Unjudged {
  return { kind: 'unjudged', reason: detail ? `${category} (${detail})` : category };
}

/** An image as sent, with the SHA-256 of that URL (the image's bytes, for data URLs) for the cache key. */
interface EncodedForCall {
  readonly url: string;
  readonly digest: string;
}

/**
 * The inputs with the sent image's digest and the verdict settings added as `image` and `settings` (replacing
 * any of those names): the value hashed for the cache key. Built by insertion in key order, not by a spread
 * that the hash would then sort into a second copy (3 µs of a 15 µs cache hit); inputs given in key order
 * (as the judges give them) come out in key order, others are sorted by `hashInputs` as before.
 */
function withKeyFields(inputs: Readonly<Record<string, unknown>>, image: string, settings: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let imagePlaced = false;
  let settingsPlaced = false;
  for (const k of Object.keys(inputs)) {
    if (k === 'image' || k === 'settings') continue;
    if (!imagePlaced && k > 'image') {
      out.image = image;
      imagePlaced = true;
    }
    if (!settingsPlaced && k > 'settings') {
      out.settings = settings;
      settingsPlaced = true;
    }
    out[k] = inputs[k];
  }
  if (!imagePlaced) out.image = image;
  if (!settingsPlaced) out.settings = settings;
  return out;
}

/** A 400/422 whose message is about the response format (other 400s, e.g. a bad image, are plain failures). */
const FORMAT_COMPLAINT = /response_format|json_schema|json_object|schema|structured output|guided|grammar/i;

const NEXT_FORMAT: Record<ResponseFormatMode, ResponseFormatMode | null> = { json_schema: 'json_object', json_object: 'none', none: null };

/** How many characters of data URLs an endpoint remembers the sent digests of (64 Mi). */
const KNOWN_DIGEST_CHARS = 64 * 2 ** 20;

export function createJudgeEndpoint(options: JudgeEndpointOptions): JudgeEndpoint {
  const model = options.model ?? DEFAULT_JUDGE_MODEL;
  const baseUrl = (options.baseUrl ?? DEFAULT_JUDGE_BASE_URL).replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 120_000;
  const maxRetries = options.maxRetries ?? 4;
  const parseRetries = options.parseRetries ?? 1;
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...options.backoff };
  const rng = createRng(options.seed ?? 0);
  const wait = options.sleep ?? realSleep;
  const now = options.now ?? Date.now;
  const meter = options.meter ?? createJudgeMeter(options.prices === undefined ? defaultPrices(model) : options.prices);
  const cache = options.cache ?? null;
  const limit = pLimit(Math.max(1, options.concurrency ?? 8));
  const secrets = [options.apiKey];
  // Request settings that change verdicts are part of the cache key (the model and prompt version are key columns).
  // (The seed enters the key only when set, so caches from before it existed stay valid.)
  // (Written in key order, so that hashing the key does not copy it every call.)
  const verdictSettings = {
    reasoningEffort: options.reasoningEffort ?? null,
    ...(options.requestSeed !== undefined ? { seed: options.requestSeed } : {}),
    temperature: options.temperature ?? null,
  };
  let format: ResponseFormatMode = 'json_schema';
  // The default preparation reads an image's header, not all its pixels: an image within the budget is sent as
  // it is, and a truncated one is the judge server's to refuse (http 400). (A full decode cost 0.6–0.8 ms of CPU
  // per 64×64 PNG, more than the rest of a judge call; `mrpo data build` decodes every image once.)
  const toUrl =
    options.imageUrl ?? ((image: ImageSource) => imageToDataUrl(image, { validate: false, ...(options.maxPixels === undefined ? {} : { maxPixels: options.maxPixels }) }));
  const preparation = options.imageUrl === undefined ? `data-url maxPixels=${options.maxPixels ?? DEFAULT_MAX_PIXELS}` : options.imagePreparation;

  const inFlight = new Map<string, Promise<unknown>>();

  // The same image is often judged several times in a row (steps, then the answer; n samples of one item):
  // the last 64 prepared are kept (a file by its path, size and modification time, so an edited file is
  // prepared again).
  const recentImages = createImageUrlCache({ prepare: toUrl, maxEntries: 64 });
  const encodeImage = async (image: ImageSource): Promise<EncodedForCall> => {
    const url = await recentImages.dataUrl(image);
    return { url, digest: hash('sha256', url, 'hex') };
  };

  const client = createChatClient({
    baseUrl,
    ...(options.apiKey !== undefined ? { apiKey: options.apiKey } : {}),
    maxSockets: Math.max(1, options.concurrency ?? 8),
    timeoutMs,
  });

  // Per data URL, the digest of the image as sent: a second call with the same image (the answer after the
  // steps, n samples of one item) skips hashing it and the cache's image lookup. Bounded by the URLs' total
  // length; only used with a cache and a named preparation. (A file is read and hashed on every call: it may
  // have changed.)
  const knownDigests = new Map<string, string>();
  let knownChars = 0;
  const rememberDigest = (image: ImageSource, digest: string): void => {
    if (typeof image !== 'string' || !isDataUrl(image) || knownDigests.has(image)) return;
    knownDigests.set(image, digest);
    knownChars += image.length;
    if (knownChars > KNOWN_DIGEST_CHARS)
      for (const [old] of knownDigests) {
        if (knownChars <= KNOWN_DIGEST_CHARS) break;
        knownDigests.delete(old);
        knownChars -= old.length;
      }
  };
  const prepare = async (source: ImageSource): Promise<EncodedForCall | Unjudged> => {
    try {
      return await encodeImage(source);
    } catch (error) {
      return unjudged('bad image', redactSecrets((error as Error).message ?? String(error), secrets, 300));
    }
  };

  function responseFormatParam(mode: ResponseFormatMode, schema: JsonSchemaSpec): Record<string, unknown> {
    if (mode === 'json_schema') return { response_format: { type: 'json_schema', json_schema: { name: schema.name, schema: schema.schema, strict: true } } };
    if (mode === 'json_object') return { response_format: { type: 'json_object' } };
    return {};
  }

  async function attemptLoop<T>(request: JudgeCall<T>, imageUrl: string, signal: AbortSignal | undefined): Promise<{ kind: 'ok'; value: T; usage: JudgeUsage } | Unjudged> {
    let promptTokens = 0;
    let completionTokens = 0;
    const used = (): { usage?: JudgeUsage } => (promptTokens + completionTokens > 0 ? { usage: { promptTokens, completionTokens, cached: false } } : {});
    const failed = (category: string, detail?: string): Unjudged => ({ ...unjudged(category, detail), ...used() });
    let parseFailures = 0;
    let mode: ResponseFormatMode = format; // the response format of the attempt under way
    // A 400/422 about the response format: step down once per endpoint, then try again at once.
    const formatRefused = (failure: RemoteFailure): boolean => {
      const next = NEXT_FORMAT[mode];
      if (!((failure.status === 400 || failure.status === 422) && next !== null && FORMAT_COMPLAINT.test(failure.message))) return false;
      if (format === mode) {
        format = next;
        meter.formatFallback();
      }
      return true;
    };
    const { prompt, schema } = request.build();
    const outcome = await retryLoop(
      async (attempts): Promise<{ kind: 'ok'; value: T; usage: JudgeUsage } | Unjudged | typeof AGAIN> => {
        mode = format;
        const body = {
          model,
          messages: [
            { role: 'system', content: prompt.system },
            {
              role: 'user',
              content: [
                { type: 'text', text: prompt.user },
                { type: 'image_url', image_url: { url: imageUrl } },
              ],
            },
          ],
          ...responseFormatParam(mode, schema),
          ...(options.maxCompletionTokens !== undefined ? { max_completion_tokens: options.maxCompletionTokens } : {}),
          ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
          ...(options.requestSeed !== undefined ? { seed: options.requestSeed } : {}),
          ...(options.reasoningEffort !== undefined ? { reasoning_effort: options.reasoningEffort } : {}),
        };
        meter.request();
        const response = await client.complete(body, signal);
        const p = response.usage?.prompt_tokens ?? 0;
        const c = response.usage?.completion_tokens ?? 0;
        meter.usage(p, c);
        promptTokens += p;
        completionTokens += c;
        const value = request.parse(response.choices?.[0]?.message?.content ?? '');
        if (value !== null) return { kind: 'ok', value, usage: { promptTokens, completionTokens, cached: false } };
        // An unparseable reply is asked for again at once, up to parseRetries times.
        parseFailures += 1;
        if (parseFailures > parseRetries) return failed('unparseable output', `after ${attempts} attempt${attempts === 1 ? '' : 's'}`);
        meter.retry();
        return AGAIN;
      },
      { maxRetries, backoff, rng, sleep: wait, now, signal, retryAtOnce: formatRefused, onRetry: () => meter.retry() },
    );
    if (outcome.kind === 'ok') return outcome.value.kind === 'ok' ? outcome.value : { ...outcome.value, ...used() };
    if (outcome.kind === 'aborted') return failed('aborted');
    return failed(outcome.failure.category, failureDetail(outcome.failure, outcome.attempts, secrets));
  }

  /** The cache key of a call whose sent image has this digest. */
  const keyOf = (request: JudgeCall<unknown>, digest: string): string => hashInputs(withKeyFields(request.inputs, digest, verdictSettings));
  /** A verdict from the cache, or null. */
  const cachedValue = <T>(request: JudgeCall<T>, key: string): JudgeCallResult<T> | null => {
    const stored = cache?.get(model, request.promptVersion, key);
    const value = stored === undefined ? null : request.revive(stored);
    return value === null ? null : { kind: 'ok', value, cached: true, usage: NO_USAGE };
  };
  const keyed = cache !== null && preparation !== undefined;

  async function callSlow<T>(request: JudgeCall<T>, signal: AbortSignal | undefined, known: { digest?: string; key?: string; source?: string }): Promise<JudgeCallResult<T>> {
    // With a cache, the digest of the image as sent may be known without preparing it: from this endpoint's
    // memory, or (a rerun) from the cache's record of what this source gave under this preparation.
    let digest = known.digest;
    let source = known.source;
    if (keyed && digest === undefined && source === undefined) {
      source = typeof request.image === 'string' && !isDataUrl(request.image) ? await imageSourceDigest(request.image) : inlineImageDigest(request.image);
      digest = source === undefined ? undefined : cache.imageDigest(source, preparation);
    }
    let image: EncodedForCall | undefined;
    if (digest === undefined) {
      const prepared = await prepare(request.image);
      if ('kind' in prepared) return prepared;
      image = prepared;
      digest = prepared.digest;
      if (source !== undefined) cache?.setImageDigest(source, preparation as string, digest);
    }
    if (keyed) rememberDigest(request.image, digest);
    let key = known.key;
    if (key === undefined) {
      key = keyOf(request, digest);
      const hit = cachedValue(request, key);
      if (hit !== null) return hit;
    }
    // Identical calls in flight at once (e.g. n samples with the same answer) share one request.
    const flightKey = `${request.promptVersion}\u0000${key}`;
    const shared = inFlight.get(flightKey) as Promise<{ kind: 'ok'; value: T } | Unjudged> | undefined;
    if (shared !== undefined) {
      // The tokens were paid (and are recorded) by the caller that made the request.
      const result = await shared;
      return result.kind === 'unjudged' ? { kind: 'unjudged', reason: result.reason } : { kind: 'ok', value: result.value, cached: true, usage: NO_USAGE };
    }
    if (image === undefined) {
      const prepared = await prepare(request.image);
      if ('kind' in prepared) return prepared;
      image = prepared;
    }
    const url = image.url;
    const pending = limit(() => attemptLoop(request, url, signal));
    inFlight.set(flightKey, pending);
    let result: { kind: 'ok'; value: T; usage: JudgeUsage } | Unjudged;
    try {
      result = await pending;
    } finally {
      inFlight.delete(flightKey);
    }
    if (result.kind === 'unjudged') return result;
    cache?.set(model, request.promptVersion, key, result.value);
    return { kind: 'ok', value: result.value, cached: false, usage: result.usage };
  }

  return {
    model,
    baseUrl,
    meter,
    responseFormat: () => format,
    call<T>(request: JudgeCall<T>, signal?: AbortSignal): Promise<JudgeCallResult<T>> {
      // A cache hit on an image seen before (a data URL this endpoint has met, or one the cache knows from its
      // own digest) is answered without an await; anything else takes the asynchronous path.
      if (!keyed) return callSlow(request, signal, {});
      let digest = typeof request.image === 'string' ? knownDigests.get(request.image) : undefined;
      if (digest === undefined && (typeof request.image !== 'string' || isDataUrl(request.image))) {
        const source = inlineImageDigest(request.image);
        digest = source === undefined ? undefined : cache.imageDigest(source, preparation);
        if (digest === undefined) return callSlow(request, signal, source === undefined ? {} : { source });
        rememberDigest(request.image, digest);
      }
      if (digest === undefined) return callSlow(request, signal, {});
      const key = keyOf(request, digest);
      const hit = cachedValue(request, key);
      return hit !== null ? Promise.resolve(hit) : callSlow(request, signal, { digest, key });
    },
  };
}
