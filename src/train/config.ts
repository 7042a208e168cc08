/**
 * The training configuration as one zod schema (style.md rule 10): type,
 * validation and defaults in one place. A config file (YAML or JSON) and
 * command-line flags are both checked against it; the flags are derived from
 * the schema (`groupSize` → `--group-size`, `dataset.trainSize` →
 * `--dataset.train-size`), so no setting lacks a flag.
 *
 * Defaults follow docs/method.md §3–§6 (β = 0.04, ε = 0.2, G = 8, 8 prompts per step,
 * τ = 0.6, K_min = 4, K_max = 10, answer weights 0.25/0.25/0.5, temperature 1,
 * seq-mean-token-mean, grad-norm clip 1, linear schedule) except where a tiny
 * CPU policy needs otherwise: the learning rate (1e-6 is for 7B models) and
 * the completion length (the synthetic task's completions are ≈60 tokens).
 */
import { z } from 'zod';
import { semanticConfigSchema } from '../rewards/semantic-config.js';
import { ConfigError } from '../errors.js';
import { answerWeightRule, checkAnswerWeights, checkStepBounds, clipEpsilonRule, maxStepsRule, minStepsRule, tauRule, temperatureRule } from '../utils/ranges.js';

export const ALGORITHMS = ['sft', 'grpo', 'gdpo', 'mrpo'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

export const TrainConfigSchema = z
  .object({
    /** `sft` trains on target chains; the others are RL with that advantage estimator (docs/method.md §4, §5, §7). */
    algorithm: z.enum(ALGORITHMS).default('mrpo'),
    seed: z.number().int().min(0).default(0),
    /** Optimiser steps. */
    steps: z.number().int().min(0).default(60),
    /** RL: prompts per step (P). */
    promptsPerStep: z.number().int().min(1).default(8),
    /** RL: completions per prompt (G). */
    groupSize: z.number().int().min(2).default(8),
    /** RL sampling temperature (the reference samples at 1.0). */
    temperature: temperatureRule().default(1),
    /** Longest completion, in tokens. */
    maxTokens: z.number().int().min(1).default(72),
    /** KL coefficient β (k3 estimator against the frozen reference). */
    beta: z.number().min(0).default(0.04),
    /** PPO clip range ε_low / ε_high, each in (0, 1). */
    epsLow: clipEpsilonRule().default(0.2),
    epsHigh: clipEpsilonRule().default(0.2),
    lossAggregation: z.enum(['seq-mean-token-mean', 'token-mean', 'seq-sum-const']).default('seq-mean-token-mean'),
    learningRate: z.number().positive().default(1e-3),
    /** `linear`: decay to 0 over `steps` with no warm-up (the reference); `constant`. */
    lrSchedule: z.enum(['linear', 'constant']).default('linear'),
    gradClip: z.number().positive().default(1),
    weightDecay: z.number().min(0).default(0),
    adamBeta1: z.number().min(0).max(1).default(0.9),
    adamBeta2: z.number().min(0).max(1).default(0.999),
    adamEps: z.number().positive().default(1e-8),
    /** SFT: chains per step. */
    sftBatchSize: z.number().int().min(1).default(32),
    /** SFT: `gold` rationales (the SFT baseline) or the task's `warm-start-mix` of gold and early-wrong chains. */
    sftData: z.enum(['gold', 'warm-start-mix']).default('gold'),
    /** Evaluate every N steps (and before the first and after the last); 0 = only before and after. */
    evalInterval: z.number().int().min(0).default(20),
    /** Held-out items per evaluation. */
    evalSize: z.number().int().min(1).default(96),
    /** Evaluation sampling temperature; 0 = greedy. */
    evalTemperature: z.number().min(0).default(0),
    /** Checkpoint every N steps (and after the last). */
    checkpointInterval: z.number().int().min(1).default(10),
    /** Checkpoints to keep (the newest). */
    keepCheckpoints: z.number().int().min(1).default(2),
    /** Rollouts per step written to samples.jsonl. */
    samplesPerStep: z.number().int().min(0).default(4),
    /** Step and answer judge. */
    judge: z.enum(['exact-synthetic', 'offline', 'openai']).default('exact-synthetic'),
    /** Noise on the training step judge (docs/judge-audit.md): each step label flips with `rate` (`early`: 2·rate at the first step falling to 0 at the last); `target: criteria` flips Alignment and Contribution each on its own instead. Evaluation always uses the clean judge. */
    judgeNoise: z
      .object({
        mode: z.enum(['uniform', 'early']).default('uniform'),
        rate: z.number().min(0).max(1).default(0),
        target: z.enum(['label', 'criteria']).default('label'),
      })
      .prefault({}),
    /** OpenAI-compatible judge (`judge: openai`): endpoint and model; the key comes from MRPO_JUDGE_API_KEY or OPENAI_API_KEY. */
    judgeEndpoint: z
      .object({
        baseUrl: z.string().min(1).optional(),
        model: z.string().min(1).optional(),
        concurrency: z.number().int().min(1).default(8),
        /** SQLite verdict cache (relative to the working directory). */
        cache: z.string().min(1).default('.cache/judge.sqlite'),
      })
      .prefault({}),
    dataset: z
      .object({
        name: z.enum(['synthetic', 'items']).default('synthetic'),
        /** `items`: item files (our JSONL or the reference's {image, problem, solution}) for training and held-out evaluation. */
        train: z.string().min(1).optional(),
        test: z.string().min(1).optional(),
        /** Seed of the task generator (independent of the training seed). */
        seed: z.number().int().min(0).default(0),
        trainSize: z.number().int().min(1).default(4096),
        testSize: z.number().int().min(1).default(256),
      })
      .prefault({}),
    backend: z
      .object({
        name: z.enum(['embedded', 'tinker']).default('embedded'),
        /** Model size (embedded backend); unset = the backend's default. */
        dModel: z.number().int().positive().optional(),
        layers: z.number().int().positive().optional(),
        heads: z.number().int().positive().optional(),
        ffDim: z.number().int().positive().optional(),
      })
      // Other keys belong to the named backend and are validated by it (tinker: TinkerBackendConfigSchema).
      .loose()
      .prefault({}),
    /** Checkpoint directory (a run's `checkpoints/step-N`) to start from: the warm start. */
    init: z.string().min(1).optional(),
    /** Sentence splitter of docs/method.md §2 (`regex` is the reference's). */
    splitter: z.enum(['regex', 'improved']).default('regex'),
    thinkTag: z.enum(['think', 'thinking']).default('think'),
    /** MRPO: answer reward above τ counts as correct. */
    tau: tauRule().default(0.6),
    /** Length reward K_min / K_max. */
    minSteps: minStepsRule().default(4),
    maxSteps: maxStepsRule().default(10),
    /** MRPO: round w_k to two decimals (the reference). */
    roundWeights: z.boolean().default(true),
    answerWeights: z
      .object({
        rouge1: answerWeightRule().default(0.25),
        bleu1: answerWeightRule().default(0.25),
        semantic: answerWeightRule().default(0.5),
      })
      .superRefine((w, ctx) => checkAnswerWeights(w, w, ctx))
      .prefault({}),
    /** The answer reward's semantic component: a local BERTScore model (`semantic: { model: DIR, layer? }`); absent = the semantic weight is renormalised away, said at start. */
    semantic: semanticConfigSchema.optional(),
    /** What an unjudged completion does: `no-labels` (R_proc = 0, no shaping; counted) or `skip-group` (its group is not trained on). */
    unjudged: z.enum(['no-labels', 'skip-group']).default('no-labels'),
    /**
     * What a training item without a gold rationale does (the step judge needs one):
     * `answer-only` (R_proc = 0 and no shaping, so MRPO acts as GRPO on it; counted in
     * `judge/no_gold` and reported once at start), `skip-group` (its group is not
     * trained on; counted in `judge/skipped_groups`) or `refuse` (training does not start).
     */
    noGold: z.enum(['answer-only', 'skip-group', 'refuse']).default('answer-only'),
  })
  .strict()
  .superRefine((c, ctx) => checkStepBounds(c, ctx));

export type TrainConfig = z.infer<typeof TrainConfigSchema>;
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;

// ---------------------------------------------------------------------------
// Flags derived from the schema

export interface ConfigFlag {
  /** Flag name without dashes: `group-size`, `dataset.train-size`. */
  readonly flag: string;
  /** Path of the key in the config object. */
  readonly path: readonly string[];
  readonly kind: 'number' | 'integer' | 'string' | 'boolean' | 'enum';
  readonly choices?: readonly string[];
  readonly defaultValue?: unknown;
}

const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function unwrap(schema: z.ZodType): { inner: z.ZodType; defaultValue?: unknown } {
  let s: z.ZodType = schema;
  let defaultValue: unknown;
  for (;;) {
    if (s instanceof z.ZodDefault) {
      defaultValue = (s._zod.def as { defaultValue: unknown }).defaultValue;
      s = s.unwrap() as z.ZodType;
    } else if (s instanceof z.ZodPrefault || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
    else return { inner: s, defaultValue };
  }
}

/** One flag per leaf of an object schema. */
export function flagsOf(schema: z.ZodObject, prefix: readonly string[] = []): ConfigFlag[] {
  const out: ConfigFlag[] = [];
  for (const [key, child] of Object.entries(schema.shape)) {
    const { inner, defaultValue } = unwrap(child as z.ZodType);
    const path = [...prefix, key];
    const flag = path.map(kebab).join('.');
    if (inner instanceof z.ZodObject) out.push(...flagsOf(inner, path));
    else if (inner instanceof z.ZodNumber)
      out.push({ flag, path, kind: inner.format === 'safeint' || inner.isInt ? 'integer' : 'number', defaultValue });
    else if (inner instanceof z.ZodBoolean) out.push({ flag, path, kind: 'boolean', defaultValue });
    else if (inner instanceof z.ZodEnum) out.push({ flag, path, kind: 'enum', choices: inner.options.map(String), defaultValue });
    else if (inner instanceof z.ZodString) out.push({ flag, path, kind: 'string', defaultValue });
    else throw new Error(`config key ${path.join('.')}: no flag type for this schema`);
  }
  return out;
}

export const CONFIG_FLAGS: readonly ConfigFlag[] = flagsOf(TrainConfigSchema);

/** Parses a flag's text into the value its schema expects; the schema validates ranges afterwards. */
export function parseFlagValue(flag: ConfigFlag, raw: string): unknown {
  switch (flag.kind) {
    case 'number':
    case 'integer': {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v)) throw new ConfigError(`--${flag.flag}`, `expected a number, got "${raw}"`);
      return v;
    }
    case 'boolean':
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new ConfigError(`--${flag.flag}`, `expected true or false, got "${raw}"`);
    case 'enum':
      if (!flag.choices?.includes(raw)) throw new ConfigError(`--${flag.flag}`, `expected one of ${flag.choices?.join(', ')}, got "${raw}"`);
      return raw;
    case 'string':
      return raw;
  }
}

/** Sets a value at a path in a plain object, creating objects on the way. */
export function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let o = target;
  for (const key of path.slice(0, -1)) {
    const next = o[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) o[key] = {};
    o = o[key] as Record<string, unknown>;
  }
  o[path[path.length - 1]] = value;
}

/** Deep merge of plain objects (b wins). */
export function mergeConfig(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      typeof v === 'object' && v !== null && !Array.isArray(v) && typeof prev === 'object' && prev !== null && !Array.isArray(prev)
        ? mergeConfig(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/** Validates a raw config object; errors name the source and the JSON path of the first problem. */
export function resolveConfig(raw: unknown, source: string): TrainConfig {
  const parsed = TrainConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue.path.length === 0 ? '$' : `$.${issue.path.map(String).join('.')}`;
    const flag = CONFIG_FLAGS.find((f) => f.path.join('.') === issue.path.map(String).join('.'));
    const hint = flag !== undefined ? ` (flag --${flag.flag})` : '';
    throw new ConfigError(`${source} ${path}${hint}`, issue.message);
  }
  return parsed.data;
}

/** Keys that look like secrets are never written to a run directory. */
const SECRET_KEY = /^(?:.*api[-_]?key|.*secret.*|.*password.*|(?:auth|access|bearer|refresh|api)[-_]?token|authorization)$/i;

export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (!SECRET_KEY.test(k)) out[k] = redactSecrets(v);
  return out;
}
