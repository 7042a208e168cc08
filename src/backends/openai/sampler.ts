/**
 * A sampling-only client for a policy served behind an OpenAI-compatible
 * chat-completions endpoint (vLLM, SGLang, Ollama, llama.cpp server, hosted
 * APIs), for evaluation (docs/architecture.md: `backends/openai/`). It cannot train, so
 * it is not a `PolicyBackend`: it turns one prompt (image + text) into one
 * completion text, greedily (temperature 0) or sampled with a seed.
 *
 * Reliability as for the judges, over the same chat-completions client
 * (utils/chat-client.ts): bounded concurrency, retries with exponential
 * backoff and jitter (Retry-After honoured), per-request timeout, failures
 * returned as values with a reason that never contains the API key.
 */
import pLimit from 'p-limit';
import { createChatClient } from '../../utils/chat-client.js';
import { imageToDataUrl } from '../../data/images.js';
import type { ImageSource } from '../../types.js';
import { redactSecrets } from '../../utils/redact.js';
import { DEFAULT_BACKOFF, failureDetail, retryLoop, sleep as realSleep, type BackoffOptions } from '../../utils/retry.js';
import { createRng } from '../../utils/rng.js';

export interface OpenAISamplerOptions {
  /** Turns an item's image into the URL sent (default: `imageToDataUrl` of src/data/images.ts, a `data:` URL within 802,816 pixels). */
  readonly imageUrl?: (image: ImageSource) => Promise<string>;
  readonly baseUrl: string;
  readonly model: string;
  /** Never logged or stored. Omit for a local server that needs none. */
  readonly apiKey?: string;
  readonly concurrency?: number;
  readonly timeoutMs?: number;
  readonly maxRetries?: number;
  readonly backoff?: Partial<BackoffOptions>;
  /** Seed of the retry jitter. */
  readonly seed?: number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly now?: () => number;
}

export interface SampleRequest {
  readonly image: ImageSource;
  /** The user text (question + instruction). */
  readonly text: string;
  readonly temperature: number;
  readonly maxTokens: number;
  /** Sampler seed sent to the server (servers that support it make sampling reproducible). */
  readonly seed?: number;
}

export type SampleResult =
  | { readonly kind: 'ok'; readonly text: string; readonly finishReason: string }
  | { readonly kind: 'failed'; readonly reason: string };

export interface SamplerStats {
  readonly requests: number;
  readonly retries: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
}

export interface OpenAISampler {
  sample(request: SampleRequest, signal?: AbortSignal): Promise<SampleResult>;
  stats(): SamplerStats;
}

export function createOpenAISampler(options: OpenAISamplerOptions): OpenAISampler {
  const timeoutMs = options.timeoutMs ?? 300_000;
  const maxRetries = options.maxRetries ?? 4;
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...options.backoff };
  const rng = createRng(options.seed ?? 0);
  const wait = options.sleep ?? realSleep;
  const now = options.now ?? Date.now;
  const limit = pLimit(Math.max(1, options.concurrency ?? 8));
  const secrets = [options.apiKey];
  const client = createChatClient({
    baseUrl: options.baseUrl,
    ...(options.apiKey !== undefined ? { apiKey: options.apiKey } : {}),
    maxSockets: Math.max(1, options.concurrency ?? 8),
    timeoutMs,
  });
  let requests = 0;
  let retries = 0;
  let promptTokens = 0;
  let completionTokens = 0;

  async function attempt(request: SampleRequest, imageUrl: string, signal: AbortSignal | undefined): Promise<SampleResult> {
    const outcome = await retryLoop(
      async (): Promise<SampleResult> => {
        requests += 1;
        const response = await client.complete(
          {
            model: options.model,
            messages: [
              {
                role: 'user',
                content: [
                  { type: 'image_url', image_url: { url: imageUrl } },
                  { type: 'text', text: request.text },
                ],
              },
            ],
            temperature: request.temperature,
            max_tokens: request.maxTokens,
            ...(request.seed !== undefined ? { seed: request.seed } : {}),
          },
          signal,
        );
        promptTokens += response.usage?.prompt_tokens ?? 0;
        completionTokens += response.usage?.completion_tokens ?? 0;
        const choice = response.choices?.[0];
        if (!choice || typeof choice.message?.content !== 'string') return { kind: 'failed', reason: 'malformed response (no message content)' };
        return { kind: 'ok', text: choice.message.content, finishReason: choice.finish_reason ?? 'stop' };
      },
      { maxRetries, backoff, rng, sleep: wait, now, signal, onRetry: () => {
        retries += 1;
      } },
    );
    if (outcome.kind === 'ok') return outcome.value;
    if (outcome.kind === 'aborted') return { kind: 'failed', reason: 'aborted' };
    return { kind: 'failed', reason: `${outcome.failure.category} (${failureDetail(outcome.failure, outcome.attempts, secrets)})` };
  }

  return {
    async sample(request, signal) {
      let imageUrl: string;
      try {
        imageUrl = await (options.imageUrl ?? ((image: ImageSource) => imageToDataUrl(image)))(request.image);
      } catch (error) {
        return { kind: 'failed', reason: `bad image (${redactSecrets((error as Error).message, secrets)})` };
      }
      return limit(() => attempt(request, imageUrl, signal));
    },
    stats: () => ({ requests, retries, promptTokens, completionTokens }),
  };
}
