/**
 * The job of `mrpo judge answers|steps`: read and check the input lines,
 * resume from the output, judge with bounded concurrency and write each line
 * as it is judged, then the summary on stderr. An auth failure (401/403/404,
 * or a 400 naming a model the server does not serve) stops the run (every later call would fail too); Ctrl-C stops it with 130.
 */
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import pLimit from 'p-limit';
import type { SplitterName } from '../../../algo/steps.js';
import { InputError, RemoteError } from '../../../errors.js';
import { formatJudgeStats } from '../../../judges/meter.js';
import { redactSecrets } from '../../../utils/redact.js';
import { endpointRefusal, reasonCategory } from '../../../utils/retry.js';
import { pathExists } from '../../../utils/fs.js';
import type { Item } from '../../../types.js';
import type { CliIo } from '../../command.js';
import { startJobProgress, withInterrupt } from '../../job-progress.js';
import { readJsonl, type JsonRecord } from '../../../utils/jsonl.js';
import { openResumableJsonl, type ResumableJsonl } from '../../resumable-jsonl.js';
import { sampleKey } from '../infer/record.js';
import { acceptedAnswersOf, judgeAcceptedAnswers } from './accepted.js';
import { answerLine, itemOfLine, predictionOf, stepsLine, stepsOf } from './lines.js';
import type { Judges } from './setup.js';

export type Mode = 'answers' | 'steps';

/** Unjudged reasons that are facts about the line, not failures: a rerun would give the same. */
const FINAL_REASONS = new Set(['no steps', 'no gold reasoning']);

export interface JudgeJob {
  readonly mode: Mode;
  /** undefined or '-': stdin. */
  readonly input: string | undefined;
  /** undefined or '-': stdout (not resumable). */
  readonly out: string | undefined;
  /** Resolves relative image paths of the input lines. */
  readonly baseDir: string;
  readonly splitter: SplitterName;
  readonly retryUnjudged: boolean;
  readonly concurrency: number;
  /** For error messages (redacted). */
  readonly baseUrl: string;
}

interface Todo {
  readonly record: JsonRecord;
  readonly where: string;
}

/** Opens --out for resuming (null for stdout); `isFailure` lines are judged again with --retry-unjudged. */
async function openSink(job: JudgeJob, io: CliIo): Promise<ResumableJsonl | null> {
  if (job.out === undefined || job.out === '-') return null;
  const isFailure = (record: JsonRecord): boolean =>
    job.mode === 'answers' ? record.correct === null : typeof record.unjudged === 'string' && !FINAL_REASONS.has(record.unjudged);
  const sink = await openResumableJsonl(
    resolve(io.cwd, job.out),
    (r) => (r.id === undefined ? null : sampleKey(r.id, r.sample)),
    (r) => !(job.retryUnjudged && isFailure(r)),
  );
  if (sink.repaired) io.stderr.write(`mrpo judge ${job.mode}: removed a cut-off last line from ${job.out} (interrupted run)\n`);
  if (sink.dropped > 0) io.stderr.write(`mrpo judge ${job.mode}: --retry-unjudged: judging ${sink.dropped} unjudged lines again\n`);
  return sink;
}

/** The input lines not yet in the output; every (id, sample) must be unique. */
async function readTodo(job: JudgeJob, io: CliIo, done: ReadonlySet<string>): Promise<{ todo: Todo[]; total: number }> {
  const inName = job.input === undefined || job.input === '-' ? '<stdin>' : job.input;
  const todo: Todo[] = [];
  let total = 0;
  const firstLine = new Map<string, number>();
  for await (const { value: record, line } of readJsonl(job.input === undefined || job.input === '-' ? io.stdin : resolve(io.cwd, job.input), { name: inName, objects: true })) {
    total += 1;
    const where = `${inName} line ${line}`;
    if (record.id === undefined) throw new InputError(where, 'field "id" is required');
    // Output lines and resume are keyed by (id, sample): a repeated pair would be judged twice and resumed wrongly.
    const key = sampleKey(record.id, record.sample);
    const earlier = firstLine.get(key);
    if (earlier !== undefined)
      throw new InputError(where, `id ${JSON.stringify(record.id)} with sample ${JSON.stringify(record.sample ?? 0)} is already on line ${earlier} (each (id, sample) must be unique)`);
    firstLine.set(key, line);
    if (!done.has(key)) todo.push({ record, where });
  }
  if (total === 0) throw new InputError(inName, 'no records (expected JSONL lines with an "id")');
  return { todo, total };
}

/** Lines written unjudged after a failure, by category, with the first one's id and full reason. */
type Failures = Record<string, { count: number; example: string }>;

function countFailure(failures: Failures, record: JsonRecord, unjudged: string | undefined): void {
  if (unjudged === undefined || FINAL_REASONS.has(unjudged)) return;
  const category = reasonCategory(unjudged);
  const seen = failures[category];
  if (seen) seen.count += 1;
  else failures[category] = { count: 1, example: `${String(record.id)}${record.sample === undefined ? '' : ` (sample ${String(record.sample)})`}: ${unjudged}` };
}

/** A line to judge: the record, its item and what is judged (the prediction, or the steps). */
interface Prepared {
  readonly record: JsonRecord;
  readonly item: Item;
  readonly payload: string | string[];
}

/** The lines still to judge, every one validated before the first request, so bad input fails fast and costs nothing. */
async function prepareLines(job: JudgeJob, io: CliIo, sink: ResumableJsonl | null): Promise<Prepared[]> {
  const { todo, total } = await readTodo(job, io, sink?.done ?? new Set());
  if (sink && total > todo.length) io.stderr.write(`mrpo judge ${job.mode}: resuming: ${total - todo.length} of ${total} lines already in ${job.out}, ${todo.length} to go\n`);
  return todo.map(({ record, where }) => ({
    record,
    item: itemOfLine(record, where, job.baseDir),
    payload: job.mode === 'answers' ? predictionOf(record, where) : stepsOf(record, where, job.splitter),
  }));
}

/** The summary on stderr, and the exit code (or the error) the run ends with. */
function finish(job: JudgeJob, judges: Judges, io: CliIo, end: { failures: Failures; resumable: boolean; authFailure: string | null; aborted: boolean }): number {
  const { mode } = job;
  io.stderr.write(`mrpo judge ${mode}: ${formatJudgeStats(judges.meter.snapshot())}\n`);
  for (const [category, { example }] of Object.entries(end.failures)) io.stderr.write(`mrpo judge ${mode}: ${category}: e.g. ${example}\n`);
  // Only lines written unjudged need --retry-unjudged; aborted and refused ones were not written, a plain rerun does them.
  const failed = Object.values(end.failures).reduce((a, f) => a + f.count, 0);
  if (failed > 0 && end.resumable) io.stderr.write(`mrpo judge ${mode}: ${failed} lines unjudged after failures; rerun with --retry-unjudged to try them again\n`);
  if (end.authFailure !== null)
    throw new RemoteError(
      `the judge endpoint ${redactSecrets(job.baseUrl, [])} refused the request (${end.authFailure}): check MRPO_JUDGE_API_KEY / OPENAI_API_KEY, --model and --base-url; nothing was written for the refused lines, rerun to resume`,
    );
  if (end.aborted) {
    io.stderr.write(`mrpo judge ${mode}: interrupted; rerun the same command to resume\n`);
    return 130;
  }
  return 0;
}

export async function runJudgeJob(job: JudgeJob, judges: Judges, io: CliIo): Promise<number> {
  const { mode } = job;
  const outExisted = job.out !== undefined && job.out !== '-' && (await pathExists(resolve(io.cwd, job.out)));
  let sink: ResumableJsonl | null = await openSink(job, io);
  try {
    let prepared: Prepared[];
    try {
      prepared = await prepareLines(job, io, sink);
    } catch (error) {
      // The same rule as infer and analyze: bad or empty input leaves no new empty --out behind.
      if (sink !== null && !outExisted) {
        await sink.close();
        sink = null;
        await rm(resolve(io.cwd, job.out as string), { force: true });
      }
      throw error;
    }

    const controller = new AbortController();
    let authFailure: string | null = null;
    /** True when a result must not be written: aborted, or an auth failure (which stops the run). */
    const skipAndMaybeStop = (reason: string): boolean => {
      if (reason === 'aborted') return true;
      // Failures that every later call would repeat (wrong key, model or route): the run stops instead of marking every line unjudged.
      const refusal = endpointRefusal(reason);
      if (refusal === null) return false;
      authFailure ??= refusal;
      controller.abort(new Error('authentication failed'));
      return true;
    };
    const failures: Failures = {};
    const emit = async (record: JsonRecord, unjudged: string | undefined): Promise<void> => {
      if (sink) await sink.append(record);
      else io.stdout.write(`${JSON.stringify(record)}\n`);
      countFailure(failures, record, unjudged);
    };
    const progress = startJobProgress(io, `judge ${mode}`, prepared.length);
    const judgeOne = async ({ record, item, payload }: Prepared): Promise<void> => {
      if (mode === 'answers') {
        const result = await judgeAcceptedAnswers(judges.answerJudge, item, acceptedAnswersOf(record, item), payload as string, controller.signal);
        progress.increment();
        if (result.kind === 'unjudged' && skipAndMaybeStop(result.reason)) return;
        await emit(answerLine(record, judges.answerJudge.name, result, judges.prices), result.kind === 'unjudged' ? result.reason : undefined);
      } else {
        const result = await judges.stepJudge.judgeSteps({ item, steps: payload as string[] }, controller.signal);
        progress.increment();
        if (result.kind === 'unjudged' && skipAndMaybeStop(result.reason)) return;
        await emit(stepsLine(record, judges.stepJudge.name, result, judges.prices), result.kind === 'unjudged' ? result.reason : undefined);
      }
    };
    const pool = pLimit(job.concurrency * 2);
    try {
      await withInterrupt(controller, () => Promise.all(prepared.map((p) => pool(() => judgeOne(p)))));
    } finally {
      progress.stop();
    }
    return finish(job, judges, io, { failures, resumable: sink !== null, authFailure, aborted: controller.signal.aborted });
  } finally {
    await sink?.close();
    judges.cache?.close();
  }
}
