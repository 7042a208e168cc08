/**
 * `mrpo serve`: the composition root of the HTTP service (issue 6). Resolves
 * the configuration (defaults < `--config FILE` < flags), picks the concrete
 * step judge (OpenAI-compatible with its SQLite cache, the offline lexical
 * one, or none), reads the secrets from the environment, starts the server
 * and shuts it down gracefully on SIGINT/SIGTERM.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { readConfigFile } from '../../utils/config-file.js';
import type { Command } from '../command.js';
import { boolFlag, numberFlag, parseFlags, stringFlag, type ParsedArgs } from '../args.js';
import { ConfigError } from '../../errors.js';
import { openVerdictCache, type VerdictCache } from '../../judges/cache.js';
import type { StepJudge } from '../../judges/judge.js';
import { createJudgeMeter, type JudgeStats } from '../../judges/meter.js';
import { createJudgeEndpoint, DEFAULT_JUDGE_BASE_URL, judgeApiKeyFromEnv } from '../../judges/openai/endpoint.js';
import { createOpenAIStepJudge } from '../../judges/openai/step-judge.js';
import { createOfflineStepJudge } from '../../judges/offline/step-judge.js';
import { JUDGE_KINDS, parseServeConfig, type ServeConfig } from '../../serve/config.js';
import { createJsonLogger } from '../../serve/log.js';
import { createScorer } from '../../serve/score.js';
import { createMrpoServer } from '../../serve/server.js';
import { checkEndpointUrl } from '../io.js';
import { describeAnswerReward } from '../../rewards/answer-components.js';
import { openSemanticScorer } from '../../rewards/semantic-config.js';
import { serveWatchesParent } from '../node-flags.js';

const help = `mrpo serve — MRPO shaping and scoring over HTTP for trainers you already run (TRL, verl, OpenRLHF)

Usage: mrpo serve [--host 127.0.0.1] [--port 8321] [--config FILE] [flags]

Routes:
  POST /v1/shape   the \`mrpo shape\` contract (README "The shape contract"), unchanged
  POST /v1/score   the same with \`item\` per group; the service runs the step judge
  GET  /healthz    liveness (no token needed)
  GET  /metrics    Prometheus text: requests, latency, in-flight, judge cache hits, unjudged

Flags (each also a key of the --config file, YAML or JSON; flags win):
  --host HOST              interface to bind (default 127.0.0.1: this machine only)
  --port N                 port (default 8321; 0 = any free port, printed in the log)
  --config FILE            YAML/JSON config file (keys as in README "mrpo serve")
  --max-body-bytes N       largest request body (default 33554432 = 32 MiB; 413 beyond)
  --concurrency N          POST requests processed at once (default 4)
  --queue N                accepted requests that may wait for a slot (default 32; 429 beyond)
  --retry-after-seconds N  Retry-After of a 429 (default 1)
  --body-timeout-ms N      time allowed to receive a request body (default 30000; 408 beyond)
  --drain-timeout-ms N     on SIGINT/SIGTERM, time allowed for in-flight requests (default 30000);
                           connections still open then are cut, so a slow client cannot hold the exit
  --close-grace-ms N       on SIGINT/SIGTERM, how long idle keep-alive connections stay open so that
                           requests already sent on them get an answer (503), not a reset (default 250)
  --image-root DIR         /v1/score: image file paths are resolved in (and confined to) DIR;
                           without it only http(s) and data: URLs are accepted
  --on-unjudged MODE       no-labels (default: R_proc = 0, A_i on every token) | fail (502)
  --judge KIND             auto (default: openai when a judge API key or --judge-base-url is set,
                           else none) | openai | offline (deterministic lexical approximation) | none
  --judge-base-url URL     OpenAI-compatible endpoint (default ${DEFAULT_JUDGE_BASE_URL})
  --judge-model NAME       judge model (default gpt-5-mini)
  --judge-concurrency N    judge requests in flight (default 8)
  --judge-timeout-ms N     per judge request (default 120000)
  --judge-retries N        retries after HTTP 429/5xx/timeouts (default 4)
  --judge-cache FILE       SQLite verdict cache (default .cache/judge-verdicts.sqlite)
  --judge-max-pixels N     images are downscaled to at most N pixels before they are sent (default 802816)
  --no-judge-cache         no verdict cache
  --semantic-model DIR     local BERTScore model directory (ONNX) for the answer reward's semantic
                           component; without it the semantic weight is renormalised away (logged at start)
  --semantic-layer N       its hidden layer (default 12)
  --dry-run                print the resolved configuration and exit

Environment (secrets are never flags or config keys):
  MRPO_SERVE_TOKEN         when set, every route but /healthz needs "Authorization: Bearer <token>"
  MRPO_JUDGE_API_KEY       the judge's API key (else OPENAI_API_KEY)
  MRPO_SERVE_NODE_OPTIONS  V8 flags of the child process that serves (default --max-semi-space-size=64;
                           empty: serve in this process); a flag already in NODE_OPTIONS wins

Logs: one JSON line per request on stderr (route, status, ms); no bodies, no secrets.

Example (from a fresh clone):
  npm run -s mrpo -- serve --judge offline --port 8321 &
  curl -s localhost:8321/v1/shape -d '{"estimator":"grpo","groups":[{"gold":{"answer":"two"},
    "completions":[{"text":"<think>A. B.</think><answer>2</answer>"},{"text":"<answer>3</answer>"}]}]}'
  python3 python/mrpo_trl/client.py --url http://127.0.0.1:8321 --demo
`;

const FLAGS = {
  host: { type: 'string' },
  port: { type: 'string' },
  config: { type: 'string' },
  'max-body-bytes': { type: 'string' },
  concurrency: { type: 'string' },
  queue: { type: 'string' },
  'retry-after-seconds': { type: 'string' },
  'body-timeout-ms': { type: 'string' },
  'drain-timeout-ms': { type: 'string' },
  'close-grace-ms': { type: 'string' },
  'image-root': { type: 'string' },
  'on-unjudged': { type: 'string' },
  judge: { type: 'string' },
  'judge-base-url': { type: 'string' },
  'judge-model': { type: 'string' },
  'judge-concurrency': { type: 'string' },
  'judge-timeout-ms': { type: 'string' },
  'judge-retries': { type: 'string' },
  'judge-cache': { type: 'string' },
  'judge-max-pixels': { type: 'string' },
  'no-judge-cache': { type: 'boolean' },
  'semantic-model': { type: 'string' },
  'semantic-layer': { type: 'string' },
  'dry-run': { type: 'boolean' },
} as const;

type Json = Record<string, unknown>;

/** Flags as a partial config document (only the flags given), so they override the file key by key. */
function flagsAsConfig(parsed: ParsedArgs): Json {
  const int = (name: string, min = 0) => numberFlag(parsed, name, { integer: true, min });
  const top: Json = {
    host: stringFlag(parsed, 'host'),
    port: numberFlag(parsed, 'port', { integer: true, min: 0, max: 65535 }),
    maxBodyBytes: int('max-body-bytes', 1),
    concurrency: int('concurrency', 1),
    queue: int('queue'),
    retryAfterSeconds: int('retry-after-seconds', 1),
    bodyTimeoutMs: int('body-timeout-ms', 1),
    drainTimeoutMs: int('drain-timeout-ms', 1),
    closeGraceMs: int('close-grace-ms'),
    imageRoot: stringFlag(parsed, 'image-root'),
    onUnjudged: stringFlag(parsed, 'on-unjudged'),
  };
  const judge: Json = {
    kind: stringFlag(parsed, 'judge'),
    baseUrl: stringFlag(parsed, 'judge-base-url'),
    model: stringFlag(parsed, 'judge-model'),
    concurrency: int('judge-concurrency', 1),
    timeoutMs: int('judge-timeout-ms', 1),
    maxRetries: int('judge-retries'),
    cache: boolFlag(parsed, 'no-judge-cache') ? null : stringFlag(parsed, 'judge-cache'),
    maxPixels: int('judge-max-pixels', 1),
  };
  const defined = (o: Json): Json => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const semantic: Json = { model: stringFlag(parsed, 'semantic-model'), layer: int('semantic-layer', 1) };
  return { ...defined(top), judge: defined(judge), semantic: defined(semantic) };
}

/** The file's settings with the flags over them; the nested sections (`judge`, `semantic`) merge key by key. */
function merge(file: Json, flags: Json): Json {
  const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
  const merged: Json = { ...file, ...flags };
  for (const section of ['judge', 'semantic']) {
    const fromFlags = flags[section] as Json;
    const fromFile = file[section];
    // A malformed file section is left for the schema to report, unless flags replace it.
    const value = Object.keys(fromFlags).length === 0 ? fromFile : { ...(isObject(fromFile) ? fromFile : {}), ...fromFlags };
    if (value === undefined) delete merged[section];
    else merged[section] = value;
  }
  return merged;
}

interface JudgeSetup {
  readonly stepJudge: StepJudge | null;
  readonly stats: (() => JudgeStats) | undefined;
  readonly cache: VerdictCache | null;
  readonly description: string;
}

function setUpJudge(config: ServeConfig, env: Readonly<Record<string, string | undefined>>, cwd: string): JudgeSetup {
  const apiKey = judgeApiKeyFromEnv(env);
  const judge = config.judge;
  const kind = judge.kind === 'auto' ? (apiKey !== undefined || judge.baseUrl !== undefined ? 'openai' : 'none') : judge.kind;
  if (kind === 'none') return { stepJudge: null, stats: undefined, cache: null, description: 'none (/v1/score answers 503)' };
  if (kind === 'offline') {
    const meter = createJudgeMeter(null);
    const stepJudge = createOfflineStepJudge({ meter });
    return { stepJudge, stats: () => meter.snapshot(), cache: null, description: stepJudge.name };
  }
  if (apiKey === undefined && judge.baseUrl === undefined)
    throw new ConfigError('--judge openai', `needs MRPO_JUDGE_API_KEY or OPENAI_API_KEY in the environment for ${DEFAULT_JUDGE_BASE_URL}, or --judge-base-url for a local server`);
  const cache = judge.cache === null ? null : openVerdictCache(resolve(cwd, judge.cache));
  const endpoint = createJudgeEndpoint({
    maxPixels: judge.maxPixels,
    baseUrl: judge.baseUrl,
    model: judge.model,
    apiKey,
    concurrency: judge.concurrency,
    timeoutMs: judge.timeoutMs,
    maxRetries: judge.maxRetries,
    cache,
  });
  const stepJudge = createOpenAIStepJudge(endpoint);
  return { stepJudge, stats: () => endpoint.meter.snapshot(), cache, description: `${stepJudge.name} at ${withoutCredentials(endpoint.baseUrl)}` };
}

/** A URL for logs: user, password and query string removed, in case the base URL carries a key. */
function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === '' && parsed.password === '' && parsed.search === '') return url;
    parsed.username = '';
    parsed.password = '';
    parsed.search = '';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/**
 * The first SIGINT or SIGTERM, and a way to stop listening for them. Later signals go to `onRepeat` (logged):
 * they do not kill the process mid-drain, which `drainTimeoutMs` bounds anyway.
 */
function watchSignals(onRepeat: (signal: NodeJS.Signals) => void): { received: Promise<NodeJS.Signals>; dispose: () => void } {
  let on: (signal: NodeJS.Signals) => void = () => {};
  let first = true;
  const dispose = (): void => {
    process.off('SIGINT', on);
    process.off('SIGTERM', on);
  };
  const received = new Promise<NodeJS.Signals>((resolveSignal) => {
    on = (signal) => {
      if (first) {
        first = false;
        resolveSignal(signal);
      } else onRepeat(signal);
    };
  });
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return { received, dispose };
}

export const serveCommand: Command = {
  name: 'serve',
  help,
  async run(args, io) {
    const parsed = parseFlags('serve', args, FLAGS);
    const configPath = stringFlag(parsed, 'config');
    const judgeKind = stringFlag(parsed, 'judge');
    if (judgeKind !== undefined && !(JUDGE_KINDS as readonly string[]).includes(judgeKind))
      throw new ConfigError('--judge', `expected one of ${JUDGE_KINDS.join(', ')}, got "${judgeKind}"`);
    const file = configPath === undefined ? {} : await readConfigFile(configPath, io.cwd);
    const config = parseServeConfig(merge(file, flagsAsConfig(parsed)), configPath === undefined ? 'flags' : `${configPath} (with flags)`);
    // The judge's key comes from the environment only: a base URL with credentials (or not http(s)) is exit 2, never echoed.
    if (config.judge.baseUrl !== undefined)
      checkEndpointUrl(config.judge.baseUrl, stringFlag(parsed, 'judge-base-url') !== undefined ? '--judge-base-url' : `${configPath} $.judge.baseUrl`, 'MRPO_JUDGE_API_KEY (or OPENAI_API_KEY)');
    if (boolFlag(parsed, 'dry-run')) {
      io.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
      return 0;
    }

    serveWatchesParent();
    const imageRoot = config.imageRoot === null ? null : resolve(io.cwd, config.imageRoot);
    if (imageRoot !== null && !(await stat(imageRoot).then((st) => st.isDirectory(), () => false)))
      throw new ConfigError('--image-root', `"${config.imageRoot}" is not a directory`);
    const token = io.env.MRPO_SERVE_TOKEN?.trim() || null;
    const logger = createJsonLogger(io.stderr, undefined, [token ?? undefined, judgeApiKeyFromEnv(io.env)]);
    const semantic = await openSemanticScorer(config.semantic, io.cwd);
    const judge = setUpJudge(config, io.env, io.cwd);
    const scorer =
      judge.stepJudge === null
        ? null
        : createScorer({ stepJudge: judge.stepJudge, imageRoot, onUnjudged: config.onUnjudged, ...(semantic === null ? {} : { semantic }) });
    const server = createMrpoServer({
      token,
      maxBodyBytes: config.maxBodyBytes,
      concurrency: config.concurrency,
      queue: config.queue,
      retryAfterSeconds: config.retryAfterSeconds,
      bodyTimeoutMs: config.bodyTimeoutMs,
      drainTimeoutMs: config.drainTimeoutMs,
      closeGraceMs: config.closeGraceMs,
      scorer,
      semantic,
      judgeStats: judge.stats,
      logger,
    });
    // Before binding, so that an early signal is not lost.
    const signals = watchSignals((signal) =>
      logger.log('warn', 'signal received again; still draining', { signal, inFlight: server.inFlight, drainTimeoutMs: config.drainTimeoutMs }),
    );
    try {
      const url = await server.listen(config.port, config.host);
      logger.log('info', 'listening', { url, pid: process.pid, judge: judge.description, auth: token === null ? 'none' : 'bearer', concurrency: config.concurrency, queue: config.queue });
      // Said once: a request's default semantic weight (0.5) has no scorer unless --semantic-model is given.
      logger.log(semantic === null ? 'warn' : 'info', 'answer reward (default weights; a request may set its own)', {
        answerReward: describeAnswerReward({ semantic }),
      });
      if (token === null && !isLoopback(config.host))
        logger.log('warn', 'listening beyond this machine without a token; set MRPO_SERVE_TOKEN', { host: config.host });
      const received = await signals.received;
      // Stop accepting first (close() does that at once), then say so: whoever reads "shutting down" can rely on
      // new connections being refused.
      const inFlight = server.inFlight;
      const closed = server.close();
      logger.log('info', 'shutting down', { signal: received, inFlight });
      await closed;
      logger.log('info', 'stopped', {});
      return 0;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL')
        throw new ConfigError(`--host ${config.host} --port ${config.port}`, `cannot listen (${code})`);
      throw error;
    } finally {
      signals.dispose();
      judge.cache?.close();
    }
  },
};
