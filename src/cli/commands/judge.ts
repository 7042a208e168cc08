/**
 * `mrpo judge answers` and `mrpo judge steps` (issue 3; docs/method.md §3, §9):
 * LLM-as-judge over completions JSONL (the output of `mrpo infer`), through
 * any OpenAI-compatible endpoint, or the deterministic offline judges.
 * Resumable (appends, skips lines already judged), cached (a SQLite verdict
 * cache shared across runs), bounded concurrency, progress on stderr and a
 * summary line: judged, cached, unjudged by reason, retries, tokens, cost.
 *
 * `judge answers` adds `correct` (true/false, null when unjudged) and
 * `answerJudge`; `judge steps` adds `stepVerdicts`, `stepLabels` (null when
 * unjudged) and `unjudged` (the reason) — the fields `mrpo analyze` reads.
 */
import { dirname, resolve } from 'node:path';
import { rm } from 'node:fs/promises';
import { pathExists } from '../../utils/fs.js';
import pLimit from 'p-limit';
import { readConfigFile } from '../../utils/config-file.js';
import { z } from 'zod';
import { extractAnswer, segmentSteps, SPLITTERS, type SplitterName } from '../../algo/steps.js';
import { imageToDataUrl } from '../../data/images.js';
import { ConfigError, InputError, RemoteError, UsageError } from '../../errors.js';
import { openVerdictCache, type VerdictCache } from '../../judges/cache.js';
import { stepLabelsOf, type AnswerJudge, type AnswerJudgement, type StepJudge } from '../../judges/judge.js';
import { createJudgeMeter, defaultPrices, formatJudgeStats, type JudgeMeter } from '../../judges/meter.js';
import { createOfflineAnswerJudge } from '../../judges/offline/answer-judge.js';
import { createOfflineStepJudge } from '../../judges/offline/step-judge.js';
import { createOpenAIAnswerJudge } from '../../judges/openai/answer-judge.js';
import { createJudgeEndpoint, DEFAULT_JUDGE_BASE_URL, DEFAULT_JUDGE_MODEL, judgeApiKeyFromEnv } from '../../judges/openai/endpoint.js';
import { createOpenAIStepJudge } from '../../judges/openai/step-judge.js';
import type { Item } from '../../types.js';
import { redactSecrets } from '../../utils/redact.js';
import { boolFlag, numberFlag, parseFlags, stringFlag, type ParsedArgs } from '../args.js';
import type { CliIo, Command } from '../command.js';
import { startJobProgress, withInterrupt } from '../job-progress.js';
import { checkEndpointUrl, checkPathKind } from '../io.js';
import { openResumableJsonl, readJsonlRecords, type JsonRecord, type ResumableJsonl } from '../resumable-jsonl.js';
import { sampleKey } from './infer.js';
import { AUDIT_HELP, runJudgeAudit } from './judge-audit.js';

const HELP = `mrpo judge — LLM-as-judge over completions (docs/method.md §3, §9)

Usage: mrpo judge answers --in completions.jsonl --out answers.jsonl [flags]
       mrpo judge steps   --in answers.jsonl     --out judged.jsonl  [flags]
       mrpo judge audit   JUDGED.jsonl JUDGED.jsonl [--labels FILE]  (mrpo judge audit --help)

Input: JSONL lines from \`mrpo infer\` ({id, question, answer, goldReasoning?, image,
  sample?, completion, prediction?, steps?, answers?}). judge answers adds {correct: true|false|null,
  answerJudge}; judge steps adds {stepVerdicts: [{alignment, contribution}],
  stepLabels: [0|1, ...] | null, unjudged?: reason, stepJudge}. Run answers, then steps,
  and \`mrpo analyze\` reads the result.
Resumable: with --out FILE, lines already judged are skipped (said on stderr); verdicts
  are also cached in SQLite, so a rerun or an interrupted run never pays twice.

Flags:
  --in FILE              input JSONL ('-' or omitted: stdin)
  --out FILE             output JSONL (default: stdout, not resumable)
  --judge NAME           openai (default) or offline (deterministic lexical approximation)
  --config FILE          YAML/JSON with any of: baseUrl, model, concurrency, timeoutSec,
                         maxRetries, cache, priceIn, priceOut, maxPixels, reasoningEffort,
                         rougeThreshold, alignThreshold (flags override the file)
  --base-url URL         endpoint (default $MRPO_JUDGE_BASE_URL or ${DEFAULT_JUDGE_BASE_URL})
  --model NAME           judge model (default $MRPO_JUDGE_MODEL or ${DEFAULT_JUDGE_MODEL})
  --cache FILE           verdict cache (default .cache/judge.sqlite); --no-cache to disable
  --concurrency N        requests in flight (default 8)
  --timeout SEC          per-request timeout (default 120)
  --max-retries N        retries on 429/5xx/timeouts (default 4)
  --price-in USD         $ per 1M prompt tokens (default for gpt-5-mini: 0.25, an assumption)
  --price-out USD        $ per 1M completion tokens (default for gpt-5-mini: 2.00, an assumption)
  --reasoning-effort E   reasoning_effort for reasoning models (minimal, low, medium, high)
  --max-pixels N         downscale images above this many pixels (default 802816)
  --retry-unjudged       judge again the lines of --out that are unjudged after a failure
  --splitter NAME        for lines without "steps": regex (default) or improved
  --rouge-threshold X    offline answer judge: ROUGE-1 F1 needed (default 0.6)
  --align-threshold X    offline step judge: share of step terms in the gold rationale (default 0.5)
  --dry-run              print the resolved configuration and exit
Environment: MRPO_JUDGE_API_KEY (else OPENAI_API_KEY); a local server may need none.
Failures: a line the judge could not judge is written unjudged with its reason (counted on
  stderr, one example per reason); a 401/403/404 (wrong key, model or URL) stops the run.
Exit: 0 done (unjudged lines included); 1 the endpoint refused; 2 bad usage or input;
  130 interrupted by Ctrl-C (rerun to resume).

Example (from a fresh clone, offline judges, no network; examples/eval/completions.jsonl is
\`mrpo infer\` output for examples/eval/items.jsonl):
  npm run -s mrpo -- judge answers --judge offline --in examples/eval/completions.jsonl --out /tmp/mrpo-eval/answers.jsonl
  npm run -s mrpo -- judge steps --judge offline --in /tmp/mrpo-eval/answers.jsonl --out /tmp/mrpo-eval/judged.jsonl
  npm run -s mrpo -- analyze --in /tmp/mrpo-eval/judged.jsonl --html /tmp/mrpo-eval/report.html
With an LLM judge (any OpenAI-compatible endpoint; default OpenAI gpt-5-mini):
  MRPO_JUDGE_API_KEY=... npm run -s mrpo -- judge steps --in answers.jsonl --out judged.jsonl
  npm run -s mrpo -- judge steps --in answers.jsonl --out judged.jsonl --base-url http://127.0.0.1:8000/v1 --model Qwen/Qwen2.5-VL-72B-Instruct
`;

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
    rougeThreshold: z.number().min(0).max(1),
    alignThreshold: z.number().min(0).max(1),
  })
  .partial()
  .strict();
type JudgeConfig = z.infer<typeof configSchema>;

async function loadConfig(path: string | undefined, cwd: string): Promise<JudgeConfig> {
  if (path === undefined) return {};
  const raw = await readConfigFile(path, cwd);
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ConfigError(path, `$.${issue.path.join('.')}: ${issue.message}`);
  }
  return result.data;
}

function flagsOverConfig(parsed: ParsedArgs, config: JudgeConfig, env: CliIo['env']): Required<Omit<JudgeConfig, 'priceIn' | 'priceOut' | 'maxPixels' | 'reasoningEffort'>> & JudgeConfig {
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
    rougeThreshold: num('rouge-threshold', { min: 0, max: 1 }) ?? config.rougeThreshold ?? 0.6,
    alignThreshold: num('align-threshold', { min: 0, max: 1 }) ?? config.alignThreshold ?? 0.5,
  };
}

function describe(value: unknown): string {
  return value === undefined ? 'nothing' : value === null ? 'null' : Array.isArray(value) ? 'an array' : `${typeof value} ${JSON.stringify(value).slice(0, 40)}`;
}

/** The item a completion line is about; `baseDir` resolves relative image paths. */
export function itemOfLine(record: JsonRecord, where: string, baseDir: string): Item {
  const text = (field: string, optional = false): string | undefined => {
    const v = record[field];
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
    if (optional && (v === undefined || v === null)) return undefined;
    throw new InputError(where, `field "${field}" must be a string, got ${describe(v)}`);
  };
  const image = record.image;
  if (image !== undefined && image !== null && typeof image !== 'string') throw new InputError(where, `field "image" must be a path or data URL, got ${describe(image)}`);
  const resolved =
    typeof image !== 'string' || image.startsWith('data:') || /^https?:\/\//i.test(image) ? (image ?? '') : resolve(baseDir, image);
  const goldReasoning = text('goldReasoning', true);
  return {
    id: text('id') as string,
    image: resolved,
    question: text('question') as string,
    answer: text('answer') as string,
    ...(goldReasoning !== undefined ? { goldReasoning } : {}),
    source: text('source', true) ?? 'unknown',
  };
}

function predictionOf(record: JsonRecord, where: string): string {
  if (typeof record.prediction === 'string') return record.prediction;
  if (typeof record.completion === 'string') return extractAnswer(record.completion);
  throw new InputError(where, `field "prediction" (or "completion") must be a string, got ${describe(record.prediction ?? record.completion)}`);
}

function stepsOf(record: JsonRecord, where: string, splitter: SplitterName): string[] {
  const steps = record.steps;
  if (Array.isArray(steps))
    return steps.map((s, i) => {
      if (typeof s === 'string') return s;
      if (s !== null && typeof s === 'object' && typeof (s as { text?: unknown }).text === 'string') return (s as { text: string }).text;
      throw new InputError(where, `field "steps[${i}]" must be {start, end, text} or a string, got ${describe(s)}`);
    });
  if (typeof record.completion === 'string') return segmentSteps(record.completion, { splitter }).map((s) => s.text);
  throw new InputError(where, `field "steps" (or "completion") is required, got ${describe(steps)}`);
}

/** The accepted answers of a line: its `answers` array (items with several, e.g. VQA-Med 2021), else `[answer]`. */
function acceptedAnswersOf(record: JsonRecord, item: Item): string[] {
  const list = Array.isArray(record.answers) ? record.answers.filter((a): a is string => typeof a === 'string' && a.trim() !== '') : [];
  return list.length > 0 ? list : [item.answer];
}

/** Correct when the judge accepts any of the accepted answers (asked in turn, stopping at the first yes); unjudged only if none was accepted and one call failed. */
export async function judgeAcceptedAnswers(judge: AnswerJudge, item: Item, answers: readonly string[], prediction: string, signal: AbortSignal): Promise<AnswerJudgement> {
  let failure: AnswerJudgement | undefined;
  for (const gold of answers) {
    const result = await judge.judgeAnswer({ item: { ...item, answer: gold }, answer: prediction }, signal);
    if (result.kind === 'judged' && result.correct) return result;
    if (result.kind === 'unjudged') {
      if (result.reason === 'aborted') return result;
      failure ??= result;
    }
  }
  return failure ?? { kind: 'judged', correct: false };
}

/** Unjudged reasons that are facts about the line, not failures: a rerun would give the same. */
const FINAL_REASONS = new Set(['no steps', 'no gold reasoning']);
/** Failures that every later call would repeat (wrong key, no such model or route): the run stops instead of marking every line unjudged. */
const AUTH_FAILURE = /^http (401|403|404)\b/;

type Mode = 'answers' | 'steps';

export const judgeCommand: Command = {
  name: 'judge',
  summary: 'LLM-as-judge over completions: `judge answers` (correct?), `judge steps` (step labels), `judge audit` (agreement, κ)',
  help: HELP,
  async run(args, io) {
    const [modeArg, ...rest] = args;
    if (modeArg === 'audit') {
      if (rest.includes('--help') || rest.includes('-h')) {
        io.stdout.write(AUDIT_HELP);
        return 0;
      }
      return runJudgeAudit(rest, io);
    }
    if (modeArg !== 'answers' && modeArg !== 'steps')
      throw new UsageError(`expected \`mrpo judge answers\`, \`mrpo judge steps\` or \`mrpo judge audit\`, got ${modeArg === undefined ? 'nothing' : `"${modeArg}"`}`);
    const mode: Mode = modeArg;
    const parsed = parseFlags(`judge ${mode}`, rest, {
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
      'max-pixels': { type: 'string' },
      'retry-unjudged': { type: 'boolean' },
      splitter: { type: 'string' },
      'rouge-threshold': { type: 'string' },
      'align-threshold': { type: 'string' },
      'dry-run': { type: 'boolean' },
    });
    const judgeKind = stringFlag(parsed, 'judge') ?? 'openai';
    if (judgeKind !== 'openai' && judgeKind !== 'offline') throw new UsageError(`--judge must be openai or offline, got "${judgeKind}"`);
    const splitter = stringFlag(parsed, 'splitter') ?? 'regex';
    if (!(SPLITTERS as readonly string[]).includes(splitter)) throw new UsageError(`--splitter must be one of ${SPLITTERS.join(', ')}, got "${splitter}"`);
    const config = flagsOverConfig(parsed, await loadConfig(stringFlag(parsed, 'config'), io.cwd), io.env);
    if ((config.priceIn === undefined) !== (config.priceOut === undefined)) throw new UsageError('give both --price-in and --price-out (or neither)');
    if (boolFlag(parsed, 'dry-run')) {
      io.stdout.write(`${JSON.stringify({ mode, judge: judgeKind, ...config, baseUrl: redactSecrets(config.baseUrl, [], 1000) }, null, 2)}\n`);
      return 0;
    }
    const input = stringFlag(parsed, 'in');
    const out = stringFlag(parsed, 'out');
    const inName = input === undefined || input === '-' ? '<stdin>' : input;
    const baseDir = input === undefined || input === '-' ? io.cwd : dirname(resolve(io.cwd, input));
    if (input !== undefined && out !== undefined && input !== '-' && resolve(io.cwd, input) === resolve(io.cwd, out))
      throw new UsageError('--in and --out must be different files (the output is appended to while the input is read)');

    await checkPathKind(input, '--in', 'file', io, { mustExist: true });
    await checkPathKind(out, '--out', 'file', io);
    if (judgeKind === 'openai') checkEndpointUrl(config.baseUrl, '--base-url', 'MRPO_JUDGE_API_KEY (or OPENAI_API_KEY)');

    const prices = config.priceIn !== undefined && config.priceOut !== undefined ? { inputPerMillion: config.priceIn, outputPerMillion: config.priceOut } : defaultPrices(config.model);
    const meter: JudgeMeter = createJudgeMeter(judgeKind === 'offline' ? { inputPerMillion: 0, outputPerMillion: 0 } : prices);
    let cache: VerdictCache | null = null;
    let stepJudge: StepJudge;
    let answerJudge: AnswerJudge;
    if (judgeKind === 'offline') {
      stepJudge = createOfflineStepJudge({ alignThreshold: config.alignThreshold, meter });
      answerJudge = createOfflineAnswerJudge({ rougeThreshold: config.rougeThreshold, meter });
    } else {
      const apiKey = judgeApiKeyFromEnv(io.env);
      if (apiKey === undefined && /^https:\/\/api\.openai\.com\b/.test(config.baseUrl))
        throw new UsageError(`the judge endpoint ${redactSecrets(config.baseUrl, [])} needs a key: set MRPO_JUDGE_API_KEY (or OPENAI_API_KEY), or give --base-url of a local server, or --judge offline`);
      if (config.cache !== null) cache = openVerdictCache(resolve(io.cwd, config.cache));
      const endpoint = createJudgeEndpoint({
        imageUrl: (image) => imageToDataUrl(image, config.maxPixels === undefined ? {} : { maxPixels: config.maxPixels }),
        baseUrl: config.baseUrl,
        model: config.model,
        apiKey,
        concurrency: config.concurrency,
        timeoutMs: config.timeoutSec * 1000,
        maxRetries: config.maxRetries,
        cache,
        meter,
        ...(config.reasoningEffort !== undefined ? { reasoningEffort: config.reasoningEffort } : {}),
      });
      stepJudge = createOpenAIStepJudge(endpoint);
      answerJudge = createOpenAIAnswerJudge(endpoint);
    }

    const isFailure = (record: JsonRecord): boolean =>
      mode === 'answers' ? record.correct === null : typeof record.unjudged === 'string' && !FINAL_REASONS.has(record.unjudged);
    let sink: ResumableJsonl | null = null;
    let outExisted = false;
    const retryUnjudged = boolFlag(parsed, 'retry-unjudged');
    try {
      if (out !== undefined && out !== '-') {
        outExisted = await pathExists(resolve(io.cwd, out));
        sink = await openResumableJsonl(
          resolve(io.cwd, out),
          (r) => (r.id === undefined ? null : sampleKey(r.id, r.sample)),
          (r) => !(retryUnjudged && isFailure(r)),
        );
        if (sink.repaired) io.stderr.write(`mrpo judge ${mode}: removed a cut-off last line from ${out} (interrupted run)\n`);
        if (sink.dropped > 0) io.stderr.write(`mrpo judge ${mode}: --retry-unjudged: judging ${sink.dropped} unjudged lines again\n`);
      }
      const todo: Array<{ record: JsonRecord; where: string }> = [];
      let total = 0;
      const firstLine = new Map<string, number>();
      for await (const { record, line } of readJsonlRecords(input === undefined || input === '-' ? io.stdin : resolve(io.cwd, input), inName)) {
        total += 1;
        const where = `${inName} line ${line}`;
        if (record.id === undefined) throw new InputError(where, 'field "id" is required');
        // Output lines and resume are keyed by (id, sample): a repeated pair would be judged twice and resumed wrongly.
        const key = sampleKey(record.id, record.sample);
        const earlier = firstLine.get(key);
        if (earlier !== undefined)
          throw new InputError(where, `id ${JSON.stringify(record.id)} with sample ${JSON.stringify(record.sample ?? 0)} is already on line ${earlier} (each (id, sample) must be unique)`);
        firstLine.set(key, line);
        if (sink?.done.has(key)) continue;
        todo.push({ record, where });
      }
      if (total === 0) {
        // The same rule as infer and analyze: an empty input is an error, and leaves no empty --out behind.
        if (sink !== null && !outExisted) {
          await sink.close();
          await rm(resolve(io.cwd, out!), { force: true });
          sink = null;
        }
        throw new InputError(inName, 'no records (expected JSONL lines with an "id")');
      }
      if (sink && total > todo.length) io.stderr.write(`mrpo judge ${mode}: resuming: ${total - todo.length} of ${total} lines already in ${out}, ${todo.length} to go\n`);

      const controller = new AbortController();
      let authFailure: string | null = null;
      /** True when a result must not be written: aborted, or an auth failure (which stops the run: every call would fail). */
      const skipAndMaybeStop = (reason: string): boolean => {
        if (reason === 'aborted') return true;
        if (!AUTH_FAILURE.test(reason)) return false;
        authFailure ??= reason.replace(/\s*\(.*$/s, '');
        controller.abort(new Error('authentication failed'));
        return true;
      };
      const progress = startJobProgress(io, `judge ${mode}`, todo.length);
      const pool = pLimit(config.concurrency * 2);
      /** Lines written unjudged after a failure, by category, with the first one's id and full reason. */
      const writtenFailures: Record<string, { count: number; example: string }> = {};
      const emit = async (record: JsonRecord, unjudged?: string): Promise<void> => {
        if (sink) await sink.append(record);
        else io.stdout.write(`${JSON.stringify(record)}\n`);
        if (unjudged === undefined || FINAL_REASONS.has(unjudged)) return;
        const category = unjudged.replace(/\s*\(.*$/s, '');
        const seen = writtenFailures[category];
        if (seen) seen.count += 1;
        else writtenFailures[category] = { count: 1, example: `${String(record.id)}${record.sample === undefined ? '' : ` (sample ${String(record.sample)})`}: ${unjudged}` };
      };
      // Validate every line before the first request, so bad input fails fast and costs nothing.
      const prepared = todo.map(({ record, where }) => ({
        record,
        item: itemOfLine(record, where, baseDir),
        payload: mode === 'answers' ? predictionOf(record, where) : stepsOf(record, where, splitter as SplitterName),
      }));
      try {
        await withInterrupt(controller, () =>
          Promise.all(
            prepared.map(({ record, item, payload }) =>
              pool(async () => {
                if (mode === 'answers') {
                  const result = await judgeAcceptedAnswers(answerJudge, item, acceptedAnswersOf(record, item), payload as string, controller.signal);
                  progress.increment();
                  if (result.kind === 'unjudged' && skipAndMaybeStop(result.reason)) return;
                  await emit(
                    {
                      ...record,
                      correct: result.kind === 'judged' ? result.correct : null,
                      answerJudge: result.kind === 'judged' ? { name: answerJudge.name } : { name: answerJudge.name, unjudged: result.reason },
                    },
                    result.kind === 'unjudged' ? result.reason : undefined,
                  );
                } else {
                  const result = await stepJudge.judgeSteps({ item, steps: payload as string[] }, controller.signal);
                  progress.increment();
                  if (result.kind === 'unjudged' && skipAndMaybeStop(result.reason)) return;
                  const { unjudged: _previous, ...rest } = record;
                  await emit(
                    result.kind === 'judged'
                      ? {
                          ...rest,
                          stepVerdicts: result.verdicts,
                          stepLabels: stepLabelsOf(result.verdicts),
                          stepJudge: { name: stepJudge.name, missing: result.missing, extra: result.extra },
                        }
                      : { ...rest, stepVerdicts: [], stepLabels: null, unjudged: result.reason, stepJudge: { name: stepJudge.name } },
                    result.kind === 'unjudged' ? result.reason : undefined,
                  );
                }
              }),
            ),
          ),
        );
      } finally {
        progress.stop();
      }
      const stats = meter.snapshot();
      io.stderr.write(`mrpo judge ${mode}: ${formatJudgeStats(stats)}\n`);
      for (const [category, { example }] of Object.entries(writtenFailures)) io.stderr.write(`mrpo judge ${mode}: ${category}: e.g. ${example}\n`);
      // Only lines written unjudged need --retry-unjudged; aborted and refused ones were not written, a plain rerun does them.
      const failures = Object.values(writtenFailures).reduce((a, f) => a + f.count, 0);
      if (failures > 0 && sink) io.stderr.write(`mrpo judge ${mode}: ${failures} lines unjudged after failures; rerun with --retry-unjudged to try them again\n`);
      if (authFailure !== null)
        throw new RemoteError(
          `the judge endpoint ${redactSecrets(config.baseUrl, [])} refused the request (${authFailure}): check MRPO_JUDGE_API_KEY / OPENAI_API_KEY, --model and --base-url; nothing was written for the refused lines, rerun to resume`,
        );
      if (controller.signal.aborted) {
        io.stderr.write(`mrpo judge ${mode}: interrupted; rerun the same command to resume\n`);
        return 130;
      }
      return 0;
    } finally {
      await sink?.close();
      cache?.close();
    }
  },
};
