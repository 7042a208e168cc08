/**
 * The settings of `mrpo judge answers|steps`: the config-file schema, the
 * flags, and flags over the file over the environment over the defaults.
 */
import { z } from 'zod';
import { ConfigError } from '../../../errors.js';
import { DEFAULT_JUDGE_BASE_URL, DEFAULT_JUDGE_MODEL } from '../../../judges/openai/endpoint.js';
import { readConfigFile } from '../../../utils/config-file.js';
import { boolFlag, numberFlag, stringFlag, type FlagSpec, type ParsedArgs } from '../../args.js';
import type { CliIo } from '../../command.js';

export const JUDGE_FLAGS = {
  in: { type: 'string' },
  out: { type: 'string' },
  judge: { type: 'string' },
  config: { type: 'string' },
  'base-url': { type: 'string' },
  model: { type: 'string' },
  cache: { type: 'string' },
  'no-cache': { type: 'boolean' },
  concurrency: { type: 'string' },
  timeout: { type: 'string' },
  'max-retries': { type: 'string' },
  'price-in': { type: 'string' },
  'price-out': { type: 'string' },
  'reasoning-effort': { type: 'string' },
  temperature: { type: 'string' },
  seed: { type: 'string' },
  'max-pixels': { type: 'string' },
  'retry-unjudged': { type: 'boolean' },
  splitter: { type: 'string' },
  'rouge-threshold': { type: 'string' },
  'align-threshold': { type: 'string' },
  'dry-run': { type: 'boolean' },
} as const satisfies FlagSpec;

const configSchema = z
  .object({
    baseUrl: z.string().url(),
    model: z.string().min(1),
    concurrency: z.number().int().min(1),
    timeoutSec: z.number().positive(),
    maxRetries: z.number().int().min(0),
    cache: z.string().min(1).nullable(),
    priceIn: z.number().min(0),
    priceOut: z.number().min(0),
    maxPixels: z.number().int().min(1),
    reasoningEffort: z.string().min(1),
    temperature: z.number().min(0),
    seed: z.number().int(),
    rougeThreshold: z.number().min(0).max(1),
    alignThreshold: z.number().min(0).max(1),
  })
  .partial()
  .strict();
type JudgeConfigFile = z.infer<typeof configSchema>;

/** The resolved settings: every key with a default is set. */
export type JudgeConfig = Required<Omit<JudgeConfigFile, 'priceIn' | 'priceOut' | 'maxPixels' | 'reasoningEffort' | 'temperature' | 'seed'>> & JudgeConfigFile;

export async function loadJudgeConfigFile(path: string | undefined, cwd: string): Promise<JudgeConfigFile> {
  if (path === undefined) return {};
  const raw = await readConfigFile(path, cwd);
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ConfigError(path, `$.${issue.path.join('.')}: ${issue.message}`);
  }
  return result.data;
}

export function flagsOverConfig(parsed: ParsedArgs, config: JudgeConfigFile, env: CliIo['env']): JudgeConfig {
  const num = (name: string, options: Parameters<typeof numberFlag>[2] = {}) => numberFlag(parsed, name, options);
  return {
    baseUrl: stringFlag(parsed, 'base-url') ?? config.baseUrl ?? env.MRPO_JUDGE_BASE_URL ?? DEFAULT_JUDGE_BASE_URL,
    model: stringFlag(parsed, 'model') ?? config.model ?? env.MRPO_JUDGE_MODEL ?? DEFAULT_JUDGE_MODEL,
    concurrency: num('concurrency', { integer: true, min: 1 }) ?? config.concurrency ?? 8,
    timeoutSec: num('timeout', { min: 0.001 }) ?? config.timeoutSec ?? 120,
    maxRetries: num('max-retries', { integer: true, min: 0 }) ?? config.maxRetries ?? 4,
    cache: boolFlag(parsed, 'no-cache') ? null : (stringFlag(parsed, 'cache') ?? (config.cache === undefined ? '.cache/judge.sqlite' : config.cache)),
    priceIn: num('price-in', { min: 0 }) ?? config.priceIn,
    priceOut: num('price-out', { min: 0 }) ?? config.priceOut,
    maxPixels: num('max-pixels', { integer: true, min: 1 }) ?? config.maxPixels,
    reasoningEffort: stringFlag(parsed, 'reasoning-effort') ?? config.reasoningEffort,
    temperature: num('temperature', { min: 0 }) ?? config.temperature,
    seed: num('seed', { integer: true }) ?? config.seed,
    rougeThreshold: num('rouge-threshold', { min: 0, max: 1 }) ?? config.rougeThreshold ?? 0.6,
    alignThreshold: num('align-threshold', { min: 0, max: 1 }) ?? config.alignThreshold ?? 0.5,
  };
}
