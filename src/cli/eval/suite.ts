/**
 * The suite file of `mrpo eval` (YAML or JSON): the benchmarks with their
 * local paths and formats, the models (OpenAI-compatible endpoints or the
 * embedded policy, several side by side), the judge, the sample size, the
 * scoring conventions and the bootstrap. Validated in full before anything
 * runs; an error names the file, the line and the field
 * (`suite.yaml line 12: benchmarks[1].format: …`). Relative data paths are
 * resolved against the suite file's folder; the judge cache against the
 * working folder.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isMap, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { z } from 'zod';
import { MODEL_FAMILIES } from '../../backends/openai/prompt.js';
import { FORMAT_NAMES } from '../../data/formats.js';
import { ConfigError } from '../../errors.js';
import { CONVENTIONS } from './scoring.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const name = z.string().regex(NAME, 'must be letters, digits, ".", "_" or "-" (it names output folders)');
/** An http(s) endpoint without credentials in it (keys come from the environment variable named by apiKeyEnv). */
const endpointUrl = z
  .string()
  .url()
  .refine((v) => {
    const u = new URL(v);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.username === '' && u.password === '';
  }, 'must be an http(s) URL without credentials (the key goes in the environment variable named by apiKeyEnv)');

const benchmarkSchema = z
  .object({
    name,
    format: z.enum(['synthetic', ...FORMAT_NAMES] as [string, ...string[]]),
    /** Path of the data (not for `synthetic`). */
    path: z.string().min(1).optional(),
    images: z.string().min(1).optional(),
    questions: z.string().min(1).optional(),
    split: z.string().min(1).optional(),
    choices: z.boolean().optional(),
    /** In distribution (the training benchmarks) or out of distribution. */
    group: z.enum(['id', 'ood']),
    /** Items to evaluate (a seeded sample; default the suite's `sample`, else all). */
    sample: z.number().int().min(1).optional(),
    /** Keep only open or closed questions (default all). */
    questionTypes: z.enum(['all', 'open', 'closed']).default('all'),
    /** `synthetic` only: items and seed of the synthetic task's test split. */
    size: z.number().int().min(1).optional(),
    seed: z.number().int().min(0).optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.format === 'synthetic') {
      if (b.size === undefined) ctx.addIssue({ code: 'custom', path: ['size'], message: 'required for format synthetic (number of items)' });
    } else if (b.path === undefined) ctx.addIssue({ code: 'custom', path: ['path'], message: `required for format ${b.format} (the local copy of the data)` });
  });

const openaiModel = z
  .object({
    name,
    kind: z.literal('openai'),
    baseUrl: endpointUrl,
    model: z.string().min(1),
    family: z.enum(MODEL_FAMILIES as unknown as [string, ...string[]]),
    /** Environment variable holding the API key (never the key itself). */
    apiKeyEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be the NAME of an environment variable').optional(),
    maxTokens: z.number().int().min(1).default(512),
    temperature: z.number().min(0).default(0),
    concurrency: z.number().int().min(1).default(8),
    timeoutSec: z.number().positive().default(300),
    maxRetries: z.number().int().min(0).default(4),
    maxPixels: z.number().int().min(1).optional(),
  })
  .strict();

const embeddedModel = z
  .object({
    name,
    kind: z.literal('embedded'),
    /** Checkpoint folder of the embedded policy (`bundled` = assets/warm-start). */
    checkpoint: z.string().min(1),
    maxTokens: z.number().int().min(1).default(72),
    temperature: z.number().min(0).default(0),
  })
  .strict();

const judgeSchema = z
  .discriminatedUnion('kind', [
    z
      .object({
        kind: z.literal('offline'),
        rougeThreshold: z.number().min(0).max(1).default(0.6),
        alignThreshold: z.number().min(0).max(1).default(0.5),
      })
      .strict(),
    z
      .object({
        kind: z.literal('openai'),
        baseUrl: endpointUrl.default('https://api.openai.com/v1'),
        model: z.string().min(1).default('gpt-5-mini'),
        apiKeyEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be the NAME of an environment variable').optional(),
        concurrency: z.number().int().min(1).default(8),
        timeoutSec: z.number().positive().default(120),
        maxRetries: z.number().int().min(0).default(4),
        cache: z.string().min(1).nullable().default('.cache/judge.sqlite'),
        priceIn: z.number().min(0).optional(),
        priceOut: z.number().min(0).optional(),
        maxPixels: z.number().int().min(1).optional(),
        reasoningEffort: z.string().min(1).optional(),
      })
      .strict(),
  ])
  .default({ kind: 'offline', rougeThreshold: 0.6, alignThreshold: 0.5 });

export const suiteSchema = z
  .object({
    name: name.default('eval'),
    /** Items per benchmark (seeded sample); default: every item. */
    sample: z.number().int().min(1).optional(),
    seed: z.number().int().min(0).default(0),
    conventions: z.array(z.enum(CONVENTIONS)).min(1).default([...CONVENTIONS]),
    bootstrap: z.object({ resamples: z.number().int().min(10).default(1000), seed: z.number().int().min(0).default(0) }).strict().default({ resamples: 1000, seed: 0 }),
    splitter: z.enum(['regex', 'improved']).default('regex'),
    benchmarks: z.array(benchmarkSchema).min(1),
    models: z.array(z.discriminatedUnion('kind', [openaiModel, embeddedModel])).min(1),
    judge: judgeSchema,
  })
  .strict()
  .superRefine((s, ctx) => {
    for (const [list, key] of [
      [s.benchmarks, 'benchmarks'],
      [s.models, 'models'],
    ] as const) {
      const seen = new Map<string, number>();
      list.forEach((entry, i) => {
        const first = seen.get(entry.name);
        if (first !== undefined) ctx.addIssue({ code: 'custom', path: [key, i, 'name'], message: `"${entry.name}" is already used by ${key}[${first}]` });
        else seen.set(entry.name, i);
      });
    }
  });

export type Suite = z.infer<typeof suiteSchema>;
export type SuiteBenchmark = Suite['benchmarks'][number];
export type SuiteModel = Suite['models'][number];
export type SuiteJudge = Suite['judge'];

/** The node at `path`, or the deepest existing node on the way (for a missing field, its parent). */
function nodeAt(root: Node | null, path: readonly PropertyKey[]): Node | null {
  let node: Node | null = root;
  for (const key of path) {
    let next: unknown;
    if (isMap(node)) next = node.get(String(key), true);
    else if (isSeq(node)) next = node.get(Number(key), true);
    else break;
    if (next === undefined || next === null || typeof next !== 'object') break;
    node = next as Node;
  }
  return node;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join('') || '(top level)';
}

/** Parses and validates suite text; `label` names the file in errors. Paths stay as written. */
export function parseSuite(text: string, label: string): Suite {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0]?.line ?? lineCounter.linePos(e.pos[0]).line;
    throw new ConfigError(`${label} line ${line}`, `not valid YAML (${e.message.split('\n')[0]})`);
  }
  const value: unknown = doc.toJS();
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(label, 'expected a mapping with benchmarks, models and judge at the top level');
  const result = suiteSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const node = nodeAt(doc.contents as Node | null, issue.path);
    const line = node?.range ? lineCounter.linePos(node.range[0]).line : 1;
    throw new ConfigError(`${label} line ${line}`, `${formatPath(issue.path)}: ${issue.message}`, { jsonPath: `$.${issue.path.join('.')}` });
  }
  return result.data;
}

/** Reads a suite file; relative paths in it are resolved against its folder. */
export async function readSuite(path: string, cwd: string): Promise<Suite> {
  const full = resolve(cwd, path);
  let text: string;
  try {
    text = await readFile(full, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(path, code === 'ENOENT' ? 'suite file not found' : `cannot read suite file (${code ?? String(error)})`);
  }
  return resolveSuitePaths(parseSuite(text, path), dirname(full), cwd);
}

/**
 * The suite with every data, image and checkpoint path made absolute against
 * `baseDir`, and the judge cache against `cwd` (as `mrpo judge --cache`), so
 * every suite run from one folder shares one verdict cache.
 */
export function resolveSuitePaths(suite: Suite, baseDir: string, cwd: string): Suite {
  const abs = (p: string | undefined): string | undefined => (p === undefined ? undefined : isAbsolute(p) ? p : resolve(baseDir, p));
  return {
    ...suite,
    benchmarks: suite.benchmarks.map((b) => ({
      ...b,
      ...(b.path !== undefined ? { path: abs(b.path) } : {}),
      ...(b.images !== undefined ? { images: abs(b.images) } : {}),
      ...(b.questions !== undefined ? { questions: abs(b.questions) } : {}),
    })),
    models: suite.models.map((m) => (m.kind === 'embedded' && m.checkpoint !== 'bundled' ? { ...m, checkpoint: abs(m.checkpoint) as string } : m)),
    judge: suite.judge.kind === 'openai' && suite.judge.cache !== null ? { ...suite.judge, cache: resolve(cwd, suite.judge.cache) } : suite.judge,
  };
}
