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
 * unjudged) and `unjudged` (the reason) — the fields `mrpo analyze` reads —
 * and `stepJudge`; both judge fields carry the line's tokens and cost.
 * The pieces: judge/config.ts (settings), judge/setup.ts (the judges),
 * judge/lines.ts (reading and writing lines), judge/run.ts (the job).
 */
import { dirname, resolve } from 'node:path';
import { SPLITTERS, type SplitterName } from '../../algo/steps.js';
import { UsageError } from '../../errors.js';
import { DEFAULT_JUDGE_BASE_URL, DEFAULT_JUDGE_MODEL } from '../../judges/openai/endpoint.js';
import { redactSecrets } from '../../utils/redact.js';
import { boolFlag, parseFlags, stringFlag } from '../args.js';
import type { Command } from '../command.js';
import { checkEndpointUrl, checkPathKind } from '../io.js';
import { flagsOverConfig, JUDGE_FLAGS, loadJudgeConfigFile } from './judge/config.js';
import { runJudgeJob, type Mode } from './judge/run.js';
import { RETEST_HELP, runJudgeRetest } from './judge/retest.js';
import { createJudges } from './judge/setup.js';
import { AUDIT_HELP, runJudgeAudit } from './judge-audit.js';

const HELP = `mrpo judge — LLM-as-judge over completions (docs/method.md §3, §9)

Usage: mrpo judge answers --in completions.jsonl --out answers.jsonl [flags]
       mrpo judge steps   --in answers.jsonl     --out judged.jsonl  [flags]
       mrpo judge audit   JUDGED.jsonl JUDGED.jsonl [--labels FILE]  (mrpo judge audit --help)
       mrpo judge retest  --in answers.jsonl --out-dir DIR [flags]  (one judge twice: test–retest κ)

Input: JSONL lines from \`mrpo infer\` ({id, question, answer, goldReasoning?, image,
  sample?, completion, prediction?, steps?, answers?}). judge answers adds {correct: true|false|null,
  answerJudge}; judge steps adds {stepVerdicts: [{alignment, contribution}],
  stepLabels: [0|1, ...] | null, unjudged?: reason, stepJudge}. Run answers, then steps,
  and \`mrpo analyze\` reads the result. answerJudge and stepJudge record the cost of each
  line: {promptTokens, completionTokens, cached, costUsd} (0 for cache hits and the offline
  judges; costUsd null when the model has no known prices: give --price-in/--price-out).
Resumable: with --out FILE, lines already judged are skipped (said on stderr); verdicts
  are also cached in SQLite, so a rerun or an interrupted run never pays twice.

Flags:
  --in FILE              input JSONL ('-' or omitted: stdin)
  --out FILE             output JSONL (default: stdout, not resumable)
  --judge NAME           openai (default) or offline (deterministic lexical approximation)
  --config FILE          YAML/JSON with any of: baseUrl, model, concurrency, timeoutSec,
                         maxRetries, cache, priceIn, priceOut, maxPixels, reasoningEffort,
                         temperature, seed, rougeThreshold, alignThreshold (flags override the file)
  --base-url URL         endpoint (default $MRPO_JUDGE_BASE_URL or ${DEFAULT_JUDGE_BASE_URL})
  --model NAME           judge model (default $MRPO_JUDGE_MODEL or ${DEFAULT_JUDGE_MODEL})
  --cache FILE           verdict cache (default .cache/judge.sqlite); --no-cache to disable
  --concurrency N        requests in flight (default 8)
  --timeout SEC          per-request timeout (default 120)
  --max-retries N        retries on 429/5xx/timeouts (default 4)
  --price-in USD         $ per 1M prompt tokens (default for gpt-5-mini: 0.25, an assumption)
  --price-out USD        $ per 1M completion tokens (default for gpt-5-mini: 2.00, an assumption)
  --reasoning-effort E   reasoning_effort for reasoning models (minimal, low, medium, high)
  --temperature T        sampling temperature sent to the judge (default: the endpoint's own)
  --seed N               seed sent with each request (default none); both are part of the cache
                         key, so a second run with another seed is judged afresh (test–retest)
  --max-pixels N         downscale images above this many pixels (default 802816)
  --retry-unjudged       judge again the lines of --out that are unjudged after a failure
  --splitter NAME        for lines without "steps": regex (default) or improved
  --rouge-threshold X    offline answer judge: ROUGE-1 F1 needed (default 0.6)
  --align-threshold X    offline step judge: share of step terms in the gold rationale (default 0.5)
  --dry-run              print the resolved configuration and exit
Environment: MRPO_JUDGE_API_KEY (else OPENAI_API_KEY); a local server may need none.
Failures: a line the judge could not judge is written unjudged with its reason (counted on
  stderr, one example per reason); a 401/403/404 (wrong key, model or URL), or a 400 naming
  another model (transformers serve), stops the run.
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

export const judgeCommand: Command = {
  name: 'judge',
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
    if (modeArg === 'retest') {
      if (rest.includes('--help') || rest.includes('-h')) {
        io.stdout.write(RETEST_HELP);
        return 0;
      }
      return runJudgeRetest(rest, io, (a, io2) => judgeCommand.run(a, io2));
    }
    if (modeArg !== 'answers' && modeArg !== 'steps')
      throw new UsageError(`expected \`mrpo judge answers\`, \`mrpo judge steps\`, \`mrpo judge audit\` or \`mrpo judge retest\`, got ${modeArg === undefined ? 'nothing' : `"${modeArg}"`}`);
    const mode: Mode = modeArg;
    const parsed = parseFlags(`judge ${mode}`, rest, JUDGE_FLAGS);
    const judgeKind = stringFlag(parsed, 'judge') ?? 'openai';
    if (judgeKind !== 'openai' && judgeKind !== 'offline') throw new UsageError(`--judge must be openai or offline, got "${judgeKind}"`);
    const splitter = stringFlag(parsed, 'splitter') ?? 'regex';
    if (!(SPLITTERS as readonly string[]).includes(splitter)) throw new UsageError(`--splitter must be one of ${SPLITTERS.join(', ')}, got "${splitter}"`);
    const config = flagsOverConfig(parsed, await loadJudgeConfigFile(stringFlag(parsed, 'config'), io.cwd), io.env);
    if ((config.priceIn === undefined) !== (config.priceOut === undefined)) throw new UsageError('give both --price-in and --price-out (or neither)');
    if (boolFlag(parsed, 'dry-run')) {
      io.stdout.write(`${JSON.stringify({ mode, judge: judgeKind, ...config, baseUrl: redactSecrets(config.baseUrl, [], 1000) }, null, 2)}\n`);
      return 0;
    }
    const input = stringFlag(parsed, 'in');
    const out = stringFlag(parsed, 'out');
    if (input !== undefined && out !== undefined && input !== '-' && resolve(io.cwd, input) === resolve(io.cwd, out))
      throw new UsageError('--in and --out must be different files (the output is appended to while the input is read)');
    await checkPathKind(input, '--in', 'file', io, { mustExist: true });
    await checkPathKind(out, '--out', 'file', io);
    if (judgeKind === 'openai') checkEndpointUrl(config.baseUrl, '--base-url', 'MRPO_JUDGE_API_KEY (or OPENAI_API_KEY)');
    const judges = createJudges(judgeKind, config, io);
    return runJudgeJob(
      {
        mode,
        input,
        out,
        baseDir: input === undefined || input === '-' ? io.cwd : dirname(resolve(io.cwd, input)),
        splitter: splitter as SplitterName,
        retryUnjudged: boolFlag(parsed, 'retry-unjudged'),
        concurrency: config.concurrency,
        baseUrl: config.baseUrl,
      },
      judges,
      io,
    );
  },
};
