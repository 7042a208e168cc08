/**
 * The `mrpo serve` configuration: one zod schema for the config file
 * (`--config FILE`, YAML or JSON) and the flags, with types, validation and
 * defaults in one place (style.md rule 10). Secrets are not configuration:
 * the bearer token comes only from `MRPO_SERVE_TOKEN` and the judge's API key
 * only from `MRPO_JUDGE_API_KEY` / `OPENAI_API_KEY`, so a `token` or `apiKey`
 * key in the file is refused.
 */
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { semanticConfigSchema } from '../rewards/semantic-config.js';
import { formatIssues, jsonPath } from '../shape/index.js';
import { DEFAULT_BODY_TIMEOUT_MS, DEFAULT_CLOSE_GRACE_MS, DEFAULT_CONCURRENCY, DEFAULT_DRAIN_TIMEOUT_MS, DEFAULT_MAX_BODY_BYTES, DEFAULT_QUEUE } from './server.js';

export const DEFAULT_PORT = 8321;
export const JUDGE_KINDS = ['auto', 'openai', 'offline', 'none'] as const;
export type JudgeKind = (typeof JUDGE_KINDS)[number];

const positiveInt = () => z.number().int().positive();

export const serveConfigSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(DEFAULT_PORT),
    /** Largest request body accepted, in bytes (413 beyond). */
    maxBodyBytes: positiveInt().default(DEFAULT_MAX_BODY_BYTES),
    /** POST requests processed at once. */
    concurrency: positiveInt().default(DEFAULT_CONCURRENCY),
    /** Accepted requests that may wait for a slot; more get 429. */
    queue: z.number().int().min(0).default(DEFAULT_QUEUE),
    retryAfterSeconds: positiveInt().default(1),
    /** Time allowed to receive a request body (408 beyond); read before a concurrency slot is taken. */
    bodyTimeoutMs: positiveInt().default(DEFAULT_BODY_TIMEOUT_MS),
    /** On SIGINT/SIGTERM, how long in-flight requests may take before connections are cut. */
    drainTimeoutMs: positiveInt().default(DEFAULT_DRAIN_TIMEOUT_MS),
    /** On SIGINT/SIGTERM, how long idle keep-alive connections stay open so that requests already sent on them are answered (503), not reset. */
    closeGraceMs: z.number().int().min(0).default(DEFAULT_CLOSE_GRACE_MS),
    /** /v1/score: directory image file paths are resolved in and confined to; null refuses file paths. */
    imageRoot: z.string().min(1).nullable().default(null),
    /** /v1/score: an unjudged completion keeps no labels (R_proc = 0) or fails the request with 502. */
    onUnjudged: z.enum(['no-labels', 'fail']).default('no-labels'),
    judge: z
      .object({
        /** `auto`: openai when an API key is in the environment or a base URL is set, else none. */
        kind: z.enum(JUDGE_KINDS).default('auto'),
        baseUrl: z.url().optional(),
        model: z.string().min(1).default('gpt-5-mini'),
        concurrency: positiveInt().default(8),
        timeoutMs: positiveInt().default(120_000),
        maxRetries: z.number().int().min(0).default(4),
        /** SQLite verdict cache; null disables it. */
        cache: z.string().min(1).nullable().default('.cache/judge-verdicts.sqlite'),
        /** Images are downscaled to this many pixels before they are sent. */
        maxPixels: positiveInt().default(802_816),
      })
      .strict()
      .prefault({}),
    /** The answer reward's semantic component (a local BERTScore model); absent = none, said at start. */
    semantic: semanticConfigSchema.optional(),
  })
  .strict();

export type ServeConfig = z.infer<typeof serveConfigSchema>;

const SECRET_KEYS = /^(token|apiKey|api_key|key|password|secret)$/i;

/** Validates a config document (the merged file and flags); `source` names it in errors. */
export function parseServeConfig(json: unknown, source: string): ServeConfig {
  const findSecret = (value: unknown, path: Array<string | number>): string | null => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
    for (const [key, inner] of Object.entries(value)) {
      if (SECRET_KEYS.test(key)) return jsonPath([...path, key]);
      const found = findSecret(inner, [...path, key]);
      if (found !== null) return found;
    }
    return null;
  };
  const secret = findSecret(json, []);
  if (secret !== null)
    throw new ConfigError(source, `${secret}: secrets are not read from config files; set MRPO_SERVE_TOKEN (bearer token) or MRPO_JUDGE_API_KEY (judge) in the environment`, {
      jsonPath: secret,
    });
  const result = serveConfigSchema.safeParse(json);
  if (result.success) return result.data;
  const first = result.error.issues[0];
  throw new ConfigError(source, formatIssues(result.error).join('; '), { jsonPath: first === undefined ? '$' : jsonPath(first.path) });
}
