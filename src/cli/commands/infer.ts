/**
 * `mrpo infer`: runs a model served behind an OpenAI-compatible endpoint over
 * an item file (issue 3, docs/method.md §1), with the prompt of the backbone family,
 * greedy or n samples per item, bounded concurrency, a progress bar, and
 * resumable JSONL output with think/answer parsed and steps segmented
 * (docs/method.md §2). A sample that fails after retries is not written: the
 * summary counts it and a rerun (which skips what is done) tries it again.
 * The pieces: infer/options.ts (flags), infer/record.ts (output lines),
 * infer/run.ts (the job).
 */
import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { parseFlags } from '../args.js';
import type { CliIo, Command } from '../command.js';
import { checkEndpointUrl } from '../io.js';
import { INFER_FLAGS, inferOptions } from './infer/options.js';
import { runInfer } from './infer/run.js';

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
  per reason; a 401/403/404 (wrong key, model or URL), or a 400 naming another model
  (transformers serve), stops the run at once.
Exit: 0 done; 1 samples failed or the endpoint refused (rerun to retry); 2 bad usage or
  input; 130 interrupted by Ctrl-C (finished samples are kept: rerun to resume).

Example (needs a model served behind an OpenAI-compatible endpoint, here vLLM on this
machine; examples/eval/items.jsonl is a 4-item file to try, \`mrpo data build\` makes the
real test set; examples/eval/completions.jsonl is what this writes):
  npm run -s mrpo -- infer --in examples/eval/items.jsonl --out runs/eval/completions.jsonl \\
    --base-url http://127.0.0.1:8000/v1 --model Qwen/Qwen2.5-VL-7B-Instruct --family qwen2.5-vl
`;

export const inferCommand: Command = {
  name: 'infer',
  help: HELP,
  async run(args, io: CliIo) {
    const options = inferOptions(parseFlags('infer', args, INFER_FLAGS), io);
    checkEndpointUrl(options.baseUrl, '--base-url', 'MRPO_INFER_API_KEY (or OPENAI_API_KEY)');
    if (options.out !== undefined && options.out !== '-' && resolve(io.cwd, options.out) === resolve(io.cwd, options.input)) throw new UsageError('--in and --out must be different files');
    return runInfer(options, io);
  },
};
