/**
 * Configuration of the Tinker backend: the `backend: { name: 'tinker', … }`
 * block of a training config (one zod schema: types, validation, defaults),
 * and the secrets and endpoint read from the environment — `TINKER_BASE_URL`
 * and `TINKER_API_KEY` (never from a file or a flag, never logged).
 */
import { z } from 'zod';
import { ConfigError } from '../../errors.js';
import { RENDERER_NAMES, type RendererName } from './render/chat.js';

/** Hosted Tinker's default base URL (docs/tinker-protocol.md §1.1). */
export const HOSTED_TINKER_BASE_URL = 'https://tinker.thinkingmachines.dev/services/tinker-prod';

export const TinkerBackendConfigSchema = z
  .object({
    name: z.literal('tinker'),
    /** Base model on the service, e.g. `Qwen/Qwen3-VL-30B-A3B-Instruct`. */
    model: z.string().min(1),
    /** Directory with the model's tokenizer.json/tokenizer_config.json (or a hub name, where the hub is reachable). Defaults to `model`. */
    tokenizer: z.string().min(1).optional(),
    renderer: z.enum(RENDERER_NAMES as [RendererName, ...RendererName[]]).default('qwen3-vl'),
    loraRank: z.number().int().positive().default(32),
    /** Seed of the LoRA initialisation (omitted: the service picks one). */
    loraSeed: z.number().int().nonnegative().optional(),
    /** `ppo` (clipped, docs/method.md §6) or `importance_sampling` (unclipped; identical when each batch is used once). */
    lossFn: z.enum(['ppo', 'importance_sampling']).default('ppo'),
    /**
     * How the service reduces per-token losses: `sum` (hosted Tinker) or
     * `sequence-mean` (SkyRL tx's JAX backend: each sequence's sum ÷ its
     * length, then the mean over sequences). Advantages are scaled so that the
     * configured aggregation is optimised either way.
     */
    serverReduction: z.enum(['sum', 'sequence-mean']).default('sum'),
    /**
     * The k3 KL term of docs/method.md §6 (β > 0) has no counterpart in the service's
     * losses. `reject`: β > 0 is an error. `fold`: reference log-probs are
     * computed on a base-model sampler and β·(exp(logπ_ref − logπ_old) − 1) is
     * added to each token's advantage — the exact gradient of β·KL at r = 1
     * (one update per batch).
     */
    kl: z.enum(['reject', 'fold']).default('reject'),
    /**
     * `send`: each prompt carries its item's image. `omit`: prompts are the
     * text only (the question, no image chunk), for a server that renders no
     * images (SkyRL tx's JAX backend) or a text-only smoke test such as
     * `npm run test:live`; the model then answers without seeing the image.
     */
    images: z.enum(['send', 'omit']).default('send'),
    /**
     * Whether the server renders image chunks. Omitted: decided from the
     * server (server-profile.ts): hosted Tinker does; SkyRL tx reports nothing
     * and its JAX backend drops images, so `images: send` is refused there.
     * `true` for a SkyRL server on its fsdp/megatron backend (vLLM renderer);
     * `false` refuses image prompts on any server.
     */
    serverRendersImages: z.boolean().optional(),
    /** Images above this many pixels are scaled down before upload (the reference's --max_pixels). */
    maxImagePixels: z.number().int().positive().default(802_816),
    systemPrompt: z.string().optional(),
    /** Time to live of checkpoints saved on the service (omitted: kept). */
    checkpointTtlSeconds: z.number().int().positive().optional(),
    /**
     * `protobuf` (the default; every SDK since 0.25.0 sends forward_backward only
     * as protobuf and reads sample/forward_backward results as protobuf) or
     * `json` (SDK ≤ 0.24.1; still served by SkyRL a956457). Omitted: follows
     * `sdkVersion` (< 0.25 → json), else protobuf. A server's
     * `proto_write_fwdbwd: true` switches JSON to protobuf, as a 0.24 SDK does.
     */
    wireFormat: z.enum(['json', 'protobuf']).optional(),
    /** Sample requests in flight at once. */
    sampleConcurrency: z.number().int().positive().default(32),
    /** `TINKER_TAGS`-style session tags. */
    tags: z.array(z.string()).default(['mrpo']),
    projectId: z.string().optional(),
    /**
     * `sdk_version` reported to the server, which picks feature flags by it and
     * may refuse old SDKs (hosted Tinker answers 400 "no longer supported").
     * Omitted: 0.38.0 with protobuf, 0.24.1 (the last JSON SDK) with json.
     */
    sdkVersion: z.string().regex(/^\d+\.\d+\.\d+/, 'must be a version like 0.38.0').optional(),
    /** Client timeout of one retrieve_future long-poll, ms (≥ 60 s against hosted Tinker and SkyRL). */
    pollTimeoutMs: z.number().int().positive().default(75_000),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.wireFormat === undefined || c.sdkVersion === undefined) return;
    const json = sdkSpeaksJson(c.sdkVersion);
    if (c.wireFormat === 'json' && !json)
      ctx.addIssue({ code: 'custom', path: ['sdkVersion'], message: `${c.sdkVersion} is a protobuf-only SDK (≥ 0.25.0); with wireFormat json use ≤ ${JSON_SDK_VERSION} or omit sdkVersion` });
    if (c.wireFormat === 'protobuf' && json)
      ctx.addIssue({ code: 'custom', path: ['sdkVersion'], message: `${c.sdkVersion} predates protobuf forward_backward (0.25.0); with wireFormat protobuf use ≥ 0.25.0 or omit sdkVersion` });
  })
  .transform((c) => {
    const wireFormat = c.wireFormat ?? (c.sdkVersion !== undefined && sdkSpeaksJson(c.sdkVersion) ? 'json' : 'protobuf');
    return { ...c, wireFormat, sdkVersion: c.sdkVersion ?? (wireFormat === 'json' ? JSON_SDK_VERSION : DEFAULT_SDK_VERSION) };
  });

/** A current SDK version, reported with the protobuf wire (the tinker changelog's 0.38.0). */
export const DEFAULT_SDK_VERSION = '0.38.0';
/** The last SDK whose forward_backward wire was JSON (0.25.0 made it protobuf-only); reported with the JSON wire. */
export const JSON_SDK_VERSION = '0.24.1';

/** Whether an SDK version predates 0.25.0, i.e. sent forward_backward as JSON. */
export function sdkSpeaksJson(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map((x) => Number.parseInt(x, 10));
  return major === 0 && minor < 25;
}

export type TinkerBackendConfig = z.output<typeof TinkerBackendConfigSchema>;
export type TinkerBackendConfigInput = z.input<typeof TinkerBackendConfigSchema>;

export interface TinkerEndpoint {
  readonly baseUrl: string;
  readonly apiKey: string;
}

/** Reads `TINKER_BASE_URL` (default: hosted Tinker) and `TINKER_API_KEY` (required) from `env`. */
export function tinkerEndpointFromEnv(env: Readonly<Record<string, string | undefined>>): TinkerEndpoint {
  const apiKey = env.TINKER_API_KEY ?? '';
  if (apiKey.trim().length === 0)
    throw new ConfigError('TINKER_API_KEY', 'is not set; export the API key of the Tinker service (for a self-hosted SkyRL tx server any value works, e.g. tml-dummy)');
  const baseUrl = env.TINKER_BASE_URL?.trim() || HOSTED_TINKER_BASE_URL;
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new ConfigError('TINKER_BASE_URL', `must be an http(s) URL, got "${baseUrl}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError('TINKER_BASE_URL', `must be an http(s) URL, got "${baseUrl}"`);
  return { baseUrl, apiKey: apiKey.trim() };
}

/** Validates a training config's `backend` block, naming the offending key (`backend.loraRank: …`). */
export function parseTinkerBackendConfig(block: unknown, where = 'backend'): TinkerBackendConfig {
  const parsed = TinkerBackendConfigSchema.safeParse(block);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue === undefined ? '' : issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  throw new ConfigError(`${where}${path}`, issue?.message ?? 'invalid');
}
