/** The settings of `mrpo infer`: its flags, checked and resolved against the environment and the defaults. */
import { MODEL_FAMILIES, type ModelFamily } from '../../../backends/openai/prompt.js';
import { SPLITTERS, type SplitterName } from '../../../algo/steps.js';
import { UsageError } from '../../../errors.js';
import { redactSecrets } from '../../../utils/redact.js';
import { numberFlag, stringFlag, type FlagSpec, type ParsedArgs } from '../../args.js';
import type { CliIo } from '../../command.js';

export const INFER_FLAGS = {
  in: { type: 'string' },
  out: { type: 'string' },
  'base-url': { type: 'string' },
  model: { type: 'string' },
  family: { type: 'string' },
  n: { type: 'string' },
  temperature: { type: 'string' },
  'max-tokens': { type: 'string' },
  seed: { type: 'string' },
  concurrency: { type: 'string' },
  timeout: { type: 'string' },
  'max-retries': { type: 'string' },
  'max-pixels': { type: 'string' },
  splitter: { type: 'string' },
  limit: { type: 'string' },
} as const satisfies FlagSpec;

export interface InferOptions {
  readonly input: string;
  /** undefined or '-': stdout (not resumable). */
  readonly out: string | undefined;
  readonly model: string;
  readonly family: ModelFamily;
  readonly splitter: SplitterName;
  /** Samples per item. */
  readonly n: number;
  readonly temperature: number;
  readonly maxTokens: number;
  /** Sample i of an item is sent with seed + i. */
  readonly seed: number;
  readonly concurrency: number;
  readonly timeoutSec: number;
  readonly maxRetries: number;
  readonly maxPixels: number | undefined;
  /** Only the first `limit` items (Infinity: all). */
  readonly limit: number;
  readonly baseUrl: string;
  /** Never logged. */
  readonly apiKey: string | undefined;
}

export function guessFamily(model: string): ModelFamily | undefined {
  const m = model.toLowerCase();
  if (m.includes('qwen3')) return 'qwen3-vl';
  if (m.includes('qwen2.5') || m.includes('qwen2_5') || m.includes('qwen2-vl')) return 'qwen2.5-vl';
  if (m.includes('internvl')) return 'internvl3';
  return undefined;
}

export function inferOptions(parsed: ParsedArgs, io: CliIo): InferOptions {
  const input = stringFlag(parsed, 'in');
  if (input === undefined) throw new UsageError('--in FILE is required (see `mrpo infer --help`)');
  const model = stringFlag(parsed, 'model') ?? io.env.MRPO_INFER_MODEL;
  if (!model) throw new UsageError('--model NAME is required (or set MRPO_INFER_MODEL)');
  const familyFlag = stringFlag(parsed, 'family');
  if (familyFlag !== undefined && !(MODEL_FAMILIES as readonly string[]).includes(familyFlag))
    throw new UsageError(`--family must be one of ${MODEL_FAMILIES.join(', ')}, got "${familyFlag}"`);
  const family = (familyFlag as ModelFamily | undefined) ?? guessFamily(model);
  if (family === undefined) throw new UsageError(`cannot tell the prompt family from model "${model}"; give --family (${MODEL_FAMILIES.join(', ')})`);
  const splitter = stringFlag(parsed, 'splitter') ?? 'regex';
  if (!(SPLITTERS as readonly string[]).includes(splitter)) throw new UsageError(`--splitter must be one of ${SPLITTERS.join(', ')}, got "${splitter}"`);
  const n = numberFlag(parsed, 'n', { integer: true, min: 1 }) ?? 1;
  const baseUrl = stringFlag(parsed, 'base-url') ?? io.env.MRPO_INFER_BASE_URL ?? 'http://127.0.0.1:8000/v1';
  const apiKey = io.env.MRPO_INFER_API_KEY?.trim() || io.env.OPENAI_API_KEY?.trim() || undefined;
  const options: InferOptions = {
    input,
    out: stringFlag(parsed, 'out'),
    model,
    family,
    splitter: splitter as SplitterName,
    n,
    temperature: numberFlag(parsed, 'temperature', { min: 0 }) ?? (n === 1 ? 0 : 1),
    maxTokens: numberFlag(parsed, 'max-tokens', { integer: true, min: 1 }) ?? 512,
    seed: numberFlag(parsed, 'seed', { integer: true }) ?? 0,
    concurrency: numberFlag(parsed, 'concurrency', { integer: true, min: 1 }) ?? 8,
    timeoutSec: numberFlag(parsed, 'timeout', { min: 0.001 }) ?? 300,
    maxRetries: numberFlag(parsed, 'max-retries', { integer: true, min: 0 }) ?? 4,
    maxPixels: numberFlag(parsed, 'max-pixels', { integer: true, min: 1 }),
    limit: numberFlag(parsed, 'limit', { integer: true, min: 0 }) ?? Number.POSITIVE_INFINITY,
    baseUrl,
    apiKey,
  };
  if (apiKey === undefined && /^https:\/\/api\.openai\.com\b/i.test(baseUrl))
    throw new UsageError(`the endpoint ${redactSecrets(baseUrl, [])} needs a key: set MRPO_INFER_API_KEY (or OPENAI_API_KEY), or give --base-url of your own server`);
  return options;
}
