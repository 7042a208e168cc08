/**
 * The job of `mrpo infer`: read the items (ids unique), resume from the
 * output, sample with bounded concurrency and write each sample as it comes,
 * then the summary on stderr. A failed sample is not written (a rerun tries it
 * again); an auth failure (401/403/404, or a 400 naming a model the server
 * does not serve) stops the run; Ctrl-C stops it with 130.
 */
import { dirname, resolve } from 'node:path';
import pLimit from 'p-limit';
import { createOpenAISampler } from '../../../backends/openai/sampler.js';
import { policyPromptText } from '../../../backends/openai/prompt.js';
import { imageToDataUrl } from '../../../data/images.js';
import { readItems } from '../../../data/items-jsonl.js';
import { InputError, RemoteError } from '../../../errors.js';
import type { Item } from '../../../types.js';
import { redactSecrets } from '../../../utils/redact.js';
import { endpointRefusal, reasonCategory } from '../../../utils/retry.js';
import type { CliIo } from '../../command.js';
import { startJobProgress, withInterrupt } from '../../job-progress.js';
import { openResumableJsonl, type ResumableJsonl } from '../../resumable-jsonl.js';
import type { InferOptions } from './options.js';
import { completionRecord, sampleKey } from './record.js';

/** The first `limit` items of the file; output lines, resume and the judges are keyed by (id, sample), so an id must be unique. */
async function readUniqueItems(input: string, inPath: string, limit: number): Promise<Item[]> {
  const items: Item[] = [];
  const firstRecord = new Map<string, number>();
  for await (const item of readItems(inPath)) {
    if (items.length >= limit) break;
    const earlier = firstRecord.get(item.id);
    if (earlier !== undefined) throw new InputError(input, `record ${items.length + 1}: id "${item.id}" is already used by record ${earlier} (ids must be unique)`);
    firstRecord.set(item.id, items.length + 1);
    items.push(item);
  }
  // The same rule as judge and analyze: an empty input is an error (exit 2), checked before --out is opened.
  if (items.length === 0 && limit > 0) throw new InputError(input, 'no records (expected JSONL lines of items with an "id")');
  return items;
}

/** Failures by category, with the first one's item and full reason (the category alone says too little). */
type Failures = Record<string, { count: number; example: string }>;

/** The summary on stderr, and the exit code (or the error) the run ends with. */
function finish(
  o: InferOptions,
  io: CliIo,
  end: { written: number; skipped: number; interrupted: number; failures: Failures; authFailure: string | null; aborted: boolean; stats: { requests: number; retries: number; promptTokens: number; completionTokens: number } },
): number {
  const { written, skipped, interrupted, failures, authFailure, stats } = end;
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
      `the endpoint ${redactSecrets(o.baseUrl, [o.apiKey])} refused the request (${authFailure}): check MRPO_INFER_API_KEY / OPENAI_API_KEY, --model and --base-url; rerun to resume`,
    );
  if (failed > 0) throw new RemoteError(`${failed} samples failed (${reasons}); rerun the same command to retry them`);
  if (end.aborted) {
    io.stderr.write(`mrpo infer: interrupted: ${interrupted} samples not done; rerun the same command to resume\n`);
    return 130;
  }
  return 0;
}

export async function runInfer(o: InferOptions, io: CliIo): Promise<number> {
  const inPath = resolve(io.cwd, o.input);
  const items = await readUniqueItems(o.input, inPath, o.limit);
  const outPath = o.out === undefined || o.out === '-' ? null : resolve(io.cwd, o.out);
  let sink: ResumableJsonl | null = null;
  if (outPath !== null) {
    sink = await openResumableJsonl(outPath, (r) => (r.id === undefined ? null : sampleKey(r.id, r.sample)));
    if (sink.repaired) io.stderr.write(`mrpo infer: removed a cut-off last line from ${o.out} (interrupted run)\n`);
  }
  const todo: Array<{ item: Item; sample: number }> = [];
  for (const item of items) for (let s = 0; s < o.n; s++) if (!sink?.done.has(sampleKey(item.id, s))) todo.push({ item, sample: s });
  const skipped = items.length * o.n - todo.length;
  if (skipped > 0) io.stderr.write(`mrpo infer: resuming: ${skipped} of ${items.length * o.n} samples already in ${o.out}, ${todo.length} to go\n`);

  const sampler = createOpenAISampler({
    imageUrl: (image) => imageToDataUrl(image, o.maxPixels === undefined ? {} : { maxPixels: o.maxPixels }),
    baseUrl: o.baseUrl,
    model: o.model,
    apiKey: o.apiKey,
    concurrency: o.concurrency,
    timeoutMs: o.timeoutSec * 1000,
    maxRetries: o.maxRetries,
    seed: o.seed,
  });
  const outDir = outPath === null ? null : dirname(outPath);
  const failures: Failures = {};
  let interrupted = 0;
  let written = 0;
  const controller = new AbortController();
  let authFailure: string | null = null;
  const progress = startJobProgress(io, 'infer', todo.length);
  const sampleOne = async ({ item, sample }: { item: Item; sample: number }): Promise<void> => {
    const result = await sampler.sample(
      { image: item.image, text: policyPromptText(item.question, o.family), temperature: o.temperature, maxTokens: o.maxTokens, seed: o.seed + sample },
      controller.signal,
    );
    progress.increment();
    if (result.kind === 'failed') {
      const category = reasonCategory(result.reason);
      if (category === 'aborted') {
        interrupted += 1; // not done, not failed: a rerun does it
        return;
      }
      // Failures every later call would repeat (wrong key, model or route): the run stops at the first.
      const refusal = endpointRefusal(result.reason);
      if (refusal !== null) {
        authFailure ??= refusal;
        controller.abort(new Error('authentication failed')); // every later call would fail too
      }
      const seen = failures[category];
      if (seen) seen.count += 1;
      else failures[category] = { count: 1, example: `${String(item.id)} (sample ${sample}): ${result.reason}` };
      return;
    }
    const record = completionRecord(item, sample, result.text, result.finishReason, o.splitter, outDir);
    if (sink) await sink.append(record);
    else io.stdout.write(`${JSON.stringify(record)}\n`);
    written += 1;
  };
  const pool = pLimit(o.concurrency * 2);
  try {
    await withInterrupt(controller, () => Promise.all(todo.map((t) => pool(() => sampleOne(t)))));
  } finally {
    progress.stop();
    await sink?.close();
  }
  return finish(o, io, { written, skipped, interrupted, failures, authFailure, aborted: controller.signal.aborted, stats: sampler.stats() });
}
