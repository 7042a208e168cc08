/**
 * `mrpo infer`: runs a model served behind an OpenAI-compatible endpoint over
 * an item file (issue 3, docs/method.md §1), with the prompt of the backbone family,
 * greedy or n samples per item, bounded concurrency, a progress bar, and
 * resumable JSONL output with think/answer parsed and steps segmented
 * (docs/method.md §2). A sample that fails after retries is not written: the
 * summary counts it and a rerun (which skips what is done) tries it again.
 */
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import pLimit from 'p-limit';
import { createOpenAISampler } from '../../backends/openai/sampler.js';
import { MODEL_FAMILIES, policyPromptText, type ModelFamily } from '../../backends/openai/prompt.js';
import { parseCompletion, segmentSteps, SPLITTERS, type SplitterName } from '../../algo/steps.js';
import { imageToDataUrl } from '../../data/images.js';
import { readItems } from '../../data/items-jsonl.js';
import { InputError, RemoteError, UsageError } from '../../errors.js';
import type { Item } from '../../types.js';
import { redactSecrets } from '../../utils/redact.js';
import { numberFlag, parseFlags, stringFlag } from '../args.js';
import type { CliIo, Command } from '../command.js';
import { checkEndpointUrl } from '../io.js';
import { startJobProgress, withInterrupt } from '../job-progress.js';
import { openResumableJsonl, type ResumableJsonl } from '../resumable-jsonl.js';

const HELP = `mrpo infer — run a served model over items (docs/method.md §1)

Usage: mrpo infer --in items.jsonl --out completions.jsonl --model NAME [flags]

Input: items JSONL ({id, image, question, answer, goldReasoning?, source}) or the
  reference's {image, problem, solution} JSON/JSONL; image paths relative to the file.
Output: one JSONL line per sample: {id, source, question, answer, goldReasoning?, image,
  sample, completion, think, prediction, steps: [{start, end, text}], finishReason}.
  Resumable: with --out FILE, samples already in the file are skipped (said on stderr).

Flags:
  --in FILE             items (required)
  --out FILE            output JSONL (default: stdout, not resumable)
  --base-url URL        OpenAI-compatible endpoint (default $MRPO_INFER_BASE_URL or http://127.0.0.1:8000/v1)
  --model NAME          served model name (default $MRPO_INFER_MODEL; required)
  --family NAME         prompt family: qwen3-vl (<thinking>), qwen2.5-vl, internvl3 (<think>);
                        default: guessed from --model
  --n N                 samples per item (default 1)
  --temperature T       default 0 (greedy) when --n 1, else 1.0
  --max-tokens N        completion tokens (default 512)
  --seed N              sampler seed sent to the server (sample i uses seed + i; default 0)
  --concurrency N       requests in flight (default 8)
  --timeout SEC         per-request timeout (default 300)
  --max-retries N       retries on 429/5xx/timeouts (default 4)
  --max-pixels N        downscale images above this many pixels (default 802816)
  --splitter NAME       step splitter: regex (faithful default) or improved
  --limit N             only the first N items
Environment: MRPO_INFER_API_KEY (else OPENAI_API_KEY); a local server may need none.
Failures: each failed sample is counted by reason, with one example (item and full reason)
  per reason; a 401/403/404 (wrong key, model or URL) stops the run at once.
Exit: 0 done; 1 samples failed or the endpoint refused (rerun to retry); 2 bad usage or
  input; 130 interrupted by Ctrl-C (finished samples are kept: rerun to resume).

Example (needs a model served behind an OpenAI-compatible endpoint, here vLLM on this
machine; examples/eval/items.jsonl is a 4-item file to try, \`mrpo data build\` makes the
real test set; examples/eval/completions.jsonl is what this writes):
  npm run -s mrpo -- infer --in examples/eval/items.jsonl --out runs/eval/completions.jsonl \\
    --base-url http://127.0.0.1:8000/v1 --model Qwen/Qwen2.5-VL-7B-Instruct --family qwen2.5-vl
`;

function guessFamily(model: string): ModelFamily | undefined {
  const m = model.toLowerCase();
  if (m.includes('qwen3')) return 'qwen3-vl';
  if (m.includes('qwen2.5') || m.includes('qwen2_5') || m.includes('qwen2-vl')) return 'qwen2.5-vl';
  if (m.includes('internvl')) return 'internvl3';
  return undefined;
}

/** A local image path as written in output: relative to the output file's folder (POSIX separators). */
export function imageForOutput(image: Item['image'], outDir: string | null): string | null {
  if (typeof image !== 'string') return null;
  if (outDir === null || image.startsWith('data:') || /^https?:\/\//i.test(image) || !isAbsolute(image)) return image;
  return relative(outDir, image).split(sep).join('/');
}

/** Failures every later call would repeat (wrong key, no such model or route): the run stops at the first. */
const STOP_FAILURE = /^http (401|403|404)$/;

export const sampleKey = (id: unknown, sample: unknown): string => `${String(id)}\u0000${typeof sample === 'number' ? sample : 0}`;

export const inferCommand: Command = {
  name: 'infer',
  summary: 'run a model behind an OpenAI-compatible endpoint over items → completions JSONL',
  help: HELP,
  async run(args, io: CliIo) {
    const parsed = parseFlags('infer', args, {
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
    });
    const input = stringFlag(parsed, 'in');
    if (input === undefined) throw new UsageError('--in FILE is required (see `mrpo infer --help`)');
    const out = stringFlag(parsed, 'out');
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
    const temperature = numberFlag(parsed, 'temperature', { min: 0 }) ?? (n === 1 ? 0 : 1);
    const maxTokens = numberFlag(parsed, 'max-tokens', { integer: true, min: 1 }) ?? 512;
    const seed = numberFlag(parsed, 'seed', { integer: true }) ?? 0;
    const concurrency = numberFlag(parsed, 'concurrency', { integer: true, min: 1 }) ?? 8;
    const timeoutSec = numberFlag(parsed, 'timeout', { min: 0.001 }) ?? 300;
    const maxRetries = numberFlag(parsed, 'max-retries', { integer: true, min: 0 }) ?? 4;
    const maxPixels = numberFlag(parsed, 'max-pixels', { integer: true, min: 1 });
    const limit = numberFlag(parsed, 'limit', { integer: true, min: 0 }) ?? Number.POSITIVE_INFINITY;
    const baseUrl = stringFlag(parsed, 'base-url') ?? io.env.MRPO_INFER_BASE_URL ?? 'http://127.0.0.1:8000/v1';
    const apiKey = io.env.MRPO_INFER_API_KEY?.trim() || io.env.OPENAI_API_KEY?.trim() || undefined;
    if (apiKey === undefined && /^https:\/\/api\.openai\.com\b/i.test(baseUrl))
      throw new UsageError(`the endpoint ${redactSecrets(baseUrl, [])} needs a key: set MRPO_INFER_API_KEY (or OPENAI_API_KEY), or give --base-url of your own server`);

    checkEndpointUrl(baseUrl, '--base-url', 'MRPO_INFER_API_KEY (or OPENAI_API_KEY)');
    const inPath = resolve(io.cwd, input);
    if (out !== undefined && out !== '-' && resolve(io.cwd, out) === inPath) throw new UsageError('--in and --out must be different files');
    const items: Item[] = [];
    const firstRecord = new Map<string, number>();
    for await (const item of readItems(inPath)) {
      if (items.length >= limit) break;
      // Output lines, resume and the judges are keyed by (id, sample): an id must be unique.
      const earlier = firstRecord.get(item.id);
      if (earlier !== undefined) throw new InputError(input, `record ${items.length + 1}: id "${item.id}" is already used by record ${earlier} (ids must be unique)`);
      firstRecord.set(item.id, items.length + 1);
      items.push(item);
    }

    // The same rule as judge and analyze: an empty input is an error (exit 2), checked before --out is opened.
    if (items.length === 0 && limit > 0) throw new InputError(input, 'no records (expected JSONL lines of items with an "id")');
    const outPath = out === undefined || out === '-' ? null : resolve(io.cwd, out);
    let sink: ResumableJsonl | null = null;
    if (outPath !== null) {
      sink = await openResumableJsonl(outPath, (r) => (r.id === undefined ? null : sampleKey(r.id, r.sample)));
      if (sink.repaired) io.stderr.write(`mrpo infer: removed a cut-off last line from ${out} (interrupted run)\n`);
    }
    const todo: Array<{ item: Item; sample: number }> = [];
    for (const item of items) for (let s = 0; s < n; s++) if (!sink?.done.has(sampleKey(item.id, s))) todo.push({ item, sample: s });
    const skipped = items.length * n - todo.length;
    if (skipped > 0) io.stderr.write(`mrpo infer: resuming: ${skipped} of ${items.length * n} samples already in ${out}, ${todo.length} to go\n`);

    const sampler = createOpenAISampler({
      imageUrl: (image) => imageToDataUrl(image, maxPixels === undefined ? {} : { maxPixels }),
      baseUrl,
      model,
      apiKey,
      concurrency,
      timeoutMs: timeoutSec * 1000,
      maxRetries,
      seed,
    });
    const outDir = outPath === null ? null : dirname(outPath);
    /** Failures by category, with the first one's item and full reason (the category alone says too little). */
    const failures: Record<string, { count: number; example: string }> = {};
    let interrupted = 0;
    let written = 0;
    const controller = new AbortController();
    let authFailure: string | null = null;
    const progress = startJobProgress(io, 'infer', todo.length);
    const pool = pLimit(concurrency * 2);
    try {
      await withInterrupt(controller, () =>
        Promise.all(
          todo.map(({ item, sample }) =>
            pool(async () => {
              const result = await sampler.sample(
                { image: item.image, text: policyPromptText(item.question, family), temperature, maxTokens, seed: seed + sample },
                controller.signal,
              );
              progress.increment();
              if (result.kind === 'failed') {
                const category = result.reason.replace(/\s*\(.*$/s, '');
                if (category === 'aborted') {
                  interrupted += 1; // not done, not failed: a rerun does it
                  return;
                }
                if (STOP_FAILURE.test(category)) {
                  authFailure ??= category;
                  controller.abort(new Error('authentication failed')); // every later call would fail too
                }
                const seen = failures[category];
                if (seen) seen.count += 1;
                else failures[category] = { count: 1, example: `${String(item.id)} (sample ${sample}): ${result.reason}` };
                return;
              }
              const parsedCompletion = parseCompletion(result.text);
              const record = {
                id: item.id,
                source: item.source,
                question: item.question,
                answer: item.answer,
                ...(item.answers !== undefined ? { answers: item.answers } : {}),
                ...(item.answerType !== undefined ? { answerType: item.answerType } : {}),
                ...(item.goldReasoning !== undefined ? { goldReasoning: item.goldReasoning } : {}),
                image: imageForOutput(item.image, outDir),
                sample,
                completion: result.text,
                think: parsedCompletion.think,
                prediction: parsedCompletion.answer,
                steps: segmentSteps(result.text, { splitter: splitter as SplitterName }),
                finishReason: result.finishReason,
              };
              if (sink) await sink.append(record);
              else io.stdout.write(`${JSON.stringify(record)}\n`);
              written += 1;
            }),
          ),
        ),
      );
    } finally {
      progress.stop();
      await sink?.close();
    }
    const stats = sampler.stats();
    const failed = Object.values(failures).reduce((a, b) => a + b.count, 0);
    const reasons = Object.entries(failures)
      .map(([r, c]) => `${r}: ${c.count}`)
      .join(', ');
    io.stderr.write(
      `mrpo infer: wrote ${written} samples (${skipped} already done), failed ${failed}${reasons ? ` (${reasons})` : ''}, ` +
        `${interrupted > 0 ? `not done ${interrupted} (${authFailure !== null ? 'stopped' : 'interrupted'}), ` : ''}` +
        `requests ${stats.requests}, retries ${stats.retries}, tokens ${stats.promptTokens} in / ${stats.completionTokens} out\n`,
    );
    for (const [category, { example }] of Object.entries(failures)) io.stderr.write(`mrpo infer: ${category}: e.g. ${example}\n`);
    if (authFailure !== null)
      throw new RemoteError(
        `the endpoint ${redactSecrets(baseUrl, [apiKey])} refused the request (${authFailure}): check MRPO_INFER_API_KEY / OPENAI_API_KEY, --model and --base-url; rerun to resume`,
      );
    if (failed > 0) throw new RemoteError(`${failed} samples failed (${reasons}); rerun the same command to retry them`);
    if (controller.signal.aborted) {
      io.stderr.write(`mrpo infer: interrupted: ${interrupted} samples not done; rerun the same command to resume\n`);
      return 130;
    }
    return 0;
  },
};
