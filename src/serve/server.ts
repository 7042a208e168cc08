/**
 * `mrpo serve`: the HTTP service that gives trainers written in other
 * languages (TRL, verl, OpenRLHF) MRPO shaping and scoring (issue 6), on
 * `node:http`.
 *
 * Routes: `POST /v1/shape` (the `mrpo shape` contract, unchanged; with
 * `?encoding=compact`, base64 token offsets in and advantages out: compact.ts),
 * `POST /v1/score` (the same with the service running the step judge, see
 * score.ts), `GET /healthz`, `GET /metrics` (Prometheus text).
 *
 * Operational rules:
 * - every route but `/healthz` needs `Authorization: Bearer <token>` when a
 *   token is configured (401 otherwise; compared in constant time, never logged);
 * - bodies over `maxBodyBytes` get 413 and the connection is closed; a body not
 *   complete within `bodyTimeoutMs` gets 408; the body is read before the request
 *   takes a concurrency slot, so slow uploads cannot starve other requests;
 * - at most `concurrency` POST requests run and `queue` more wait; beyond that
 *   429 with `Retry-After`; a request that got in is always answered;
 * - `close()` stops accepting connections, answers requests that arrive on open
 *   connections with 503 (idle connections are kept `closeGraceMs` so that requests
 *   already on the wire are answered, not reset), finishes every request in flight, then resolves
 *   (connections still open after `drainTimeoutMs` are cut, and `close()` resolves at most 1 s later);
 * - one JSON log line per request (method, route, status, ms) — never bodies,
 *   headers or tokens;
 * - errors are `{ "error": { "message", "path"? } }`, `path` naming the bad field.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer, type AddressInfo } from 'node:net';
import { InputError, RemoteError, UnknownNameError } from '../errors.js';
import { parseShapeRequest, semanticScoresFor, shape } from '../shape/index.js';
import type { SemanticScorer } from '../rewards/semantic.js';
import { createBearerCheck } from './auth.js';
import { compactResponseBytes, decodeCompactRequest } from './compact.js';
import { createGate } from './gate.js';
import { errorBody, HttpError, parseJsonBody, readBody, sendJson, sendJsonBytes, sendText } from './http.js';
import { nullLogger, type Logger } from './log.js';
import { createServeMetrics, type JudgeStats, type ServeMetrics } from './metrics.js';
import type { Scorer } from './score.js';

export const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;
export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_QUEUE = 32;
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
/** After shutdown starts, how long idle keep-alive connections stay open for requests already on the wire. */
export const DEFAULT_CLOSE_GRACE_MS = 250;
/** After the drain timeout cuts connections, the most `close()` waits for the cut requests' handlers to return. */
const CUT_SETTLE_MS = 1_000;
/** Time allowed for a request's headers; a slow client cannot stretch it. */
export const HEADERS_TIMEOUT_MS = 10_000;

export interface ServeOptions {
  /** Bearer token required on every route but /healthz; null/undefined = no authentication. */
  readonly token?: string | null;
  readonly maxBodyBytes?: number;
  /** POST requests processed at once (default 4). */
  readonly concurrency?: number;
  /** Accepted POST requests that may wait for a slot (default 32); more get 429. */
  readonly queue?: number;
  /** Seconds in the Retry-After header of a 429 (default 1). */
  readonly retryAfterSeconds?: number;
  /** Time allowed to receive a request's whole body, before it may take a slot (default 30 s; 408 beyond). */
  readonly bodyTimeoutMs?: number;
  /** How long `close()` waits for in-flight requests before cutting connections (default 30 s). */
  readonly drainTimeoutMs?: number;
  /**
   * After `close()` stops accepting, how long idle keep-alive connections stay open so that requests whose bytes
   * are already on the way are read and answered (503) rather than reset (default 250 ms).
   */
  readonly closeGraceMs?: number;
  /** The answer reward's semantic scorer for /v1/shape (the /v1/score scorer has its own); null = none. */
  readonly semantic?: SemanticScorer | null;
  /** Serves /v1/score; without it the route answers 503 saying no step judge is configured. */
  readonly scorer?: Scorer | null;
  /** The step judge's counters (cache hits, unjudged reasons) for /metrics. */
  readonly judgeStats?: () => JudgeStats;
  readonly logger?: Logger;
  /** Monotonic clock in ms, for latencies (default performance.now). */
  readonly now?: () => number;
}

export interface MrpoServer {
  /** Binds and starts accepting; resolves to the base URL (`http://127.0.0.1:PORT`). */
  listen(port: number, host?: string): Promise<string>;
  /** Graceful shutdown: stop accepting, finish in-flight requests, then resolve. Idempotent. */
  close(): Promise<void>;
  /** Requests received and not yet answered. */
  readonly inFlight: number;
  readonly metrics: ServeMetrics;
  /** The underlying node:http server (for tests and embedding). */
  readonly server: Server;
}

type RouteName = '/v1/shape' | '/v1/score' | '/healthz' | '/metrics';
const ROUTES: Readonly<Record<RouteName, 'GET' | 'POST'>> = { '/v1/shape': 'POST', '/v1/score': 'POST', '/healthz': 'GET', '/metrics': 'GET' };

function routeOf(url: string | undefined): RouteName | 'other' {
  const path = (url ?? '/').replace(/\?.*$/s, '');
  return Object.hasOwn(ROUTES, path) ? (path as RouteName) : 'other';
}

/** Whether a request asks for the compact encoding (`?encoding=compact`, /v1/shape only; compact.ts). */
function encodingOf(url: string | undefined, route: RouteName): boolean {
  const query = (url ?? '').indexOf('?');
  if (query < 0) return false;
  const encoding = new URLSearchParams((url ?? '').slice(query + 1)).get('encoding');
  if (encoding === null || encoding === 'json') return false;
  if (encoding !== 'compact') throw new HttpError(400, `unknown encoding "${encoding}"; use json (the default) or compact`, { path: 'encoding' });
  if (route !== '/v1/shape') throw new HttpError(400, `encoding=compact is supported on /v1/shape only`, { path: 'encoding' });
  return true;
}

export function createMrpoServer(options: ServeOptions = {}): MrpoServer {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const gate = createGate(options.concurrency ?? DEFAULT_CONCURRENCY, options.queue ?? DEFAULT_QUEUE);
  const retryAfter = String(options.retryAfterSeconds ?? 1);
  const drainTimeoutMs = options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
  const bodyTimeoutMs = options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  const closeGraceMs = options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS;
  const authorized = createBearerCheck(options.token ?? null);
  const scorer = options.scorer ?? null;
  const semantic = options.semantic ?? null;
  const logger = options.logger ?? nullLogger;
  const now = options.now ?? (() => performance.now());
  const judgeStats = options.judgeStats;
  const metrics = createServeMetrics({ running: () => gate.running, waiting: () => gate.waiting, judgeStats });
  let inFlight = 0;
  let closing: Promise<void> | null = null;
  let onIdle: (() => void) | null = null;

  const server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    const started = now();
    const route = routeOf(req.url);
    inFlight++;
    let logged = false;
    const log = (status: number): void => {
      if (logged) return;
      logged = true;
      const ms = now() - started;
      metrics.observeRequest(route, status, ms / 1000);
      logger.log(status >= 500 && status !== 503 ? 'error' : 'info', 'request', { method: req.method, route, status, ms: Math.round(ms * 10) / 10 });
    };
    res.on('finish', () => log(res.statusCode));
    // 'close' without 'finish': the client went away first (499, nginx's "client closed request").
    const responseClosed = new Promise<void>((resolveClosed) => res.on('close', () => (log(res.writableFinished ? res.statusCode : 499), resolveClosed())));
    const handled = handle(req, res, route).catch((error: unknown) => {
      // handle() answers every error itself; this is the last guard against a broken socket.
      logger.log('error', 'response failed', { route, error: error instanceof Error ? error.message : String(error) });
      if (!res.headersSent) sendJson(res, 500, errorBody('internal error'));
      else res.destroy();
    });
    // A request counts until its handler has returned (it may still hold a slot or call the judge) and its response is closed.
    void Promise.all([handled, responseClosed]).then(() => {
      inFlight--;
      if (closing !== null) server.closeIdleConnections();
      if (inFlight === 0) onIdle?.();
    });
  });
  // Node's own backstops (checked every few seconds): headers, then the whole request (headers + body).
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = HEADERS_TIMEOUT_MS + bodyTimeoutMs + 1_000;

  /** Headers every response gets; `connection: close` once shutting down so that keep-alive sockets end. */
  function extraHeaders(headers: Readonly<Record<string, string>> = {}): Record<string, string> {
    return closing !== null ? { ...headers, connection: 'close' } : { ...headers };
  }

  function fail(res: ServerResponse, error: unknown, route: string): void {
    if (error instanceof HttpError) {
      sendJson(res, error.status, errorBody(error.message, error.path), extraHeaders(error.headers));
    } else if (error instanceof InputError) {
      sendJson(res, 400, errorBody(error.message, error.jsonPath ?? '$'), extraHeaders());
    } else if (error instanceof UnknownNameError) {
      sendJson(res, 400, errorBody(error.message), extraHeaders());
    } else if (error instanceof RemoteError) {
      sendJson(res, 502, errorBody(error.message), extraHeaders());
    } else {
      logger.log('error', 'handler failed', { route, error: error instanceof Error ? error.message : String(error) });
      sendJson(res, 500, errorBody('internal error; see the server log'), extraHeaders());
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse, route: RouteName | 'other'): Promise<void> {
    try {
      if (closing !== null) throw new HttpError(503, 'server is shutting down', { headers: { 'retry-after': retryAfter } });
      if (route === '/healthz' && req.method === 'GET') {
        sendJson(res, 200, { status: 'ok' }, extraHeaders());
        return;
      }
      if (!authorized(req.headers.authorization))
        throw new HttpError(401, 'missing or wrong bearer token (send `Authorization: Bearer <token>`)', { headers: { 'www-authenticate': 'Bearer' } });
      if (route === 'other') throw new HttpError(404, `no route ${req.url ?? ''}; routes: ${Object.keys(ROUTES).join(', ')}`);
      const method = ROUTES[route];
      if (req.method !== method) throw new HttpError(405, `${route} accepts ${method} only, got ${req.method ?? '?'}`, { headers: { allow: method } });
      if (route === '/metrics') {
        sendText(res, 200, await metrics.render(), metrics.contentType, extraHeaders());
        return;
      }
      const compact = encodingOf(req.url, route);
      if (route === '/v1/score' && scorer === null) throw new HttpError(503, 'no step judge is configured on this server (start it with --judge offline, or give the LLM judge MRPO_JUDGE_API_KEY or --judge-base-url); /v1/shape is available');
      // The body is read (size limit, deadline) before a slot is taken, so slow uploads cannot hold the slots.
      const parsed = parseJsonBody(await readBody(req, maxBodyBytes, bodyTimeoutMs), route === '/v1/shape' ? { base64: compact } : undefined);
      const json = compact ? decodeCompactRequest(parsed) : parsed;
      const entered = gate.tryEnter();
      if (entered === null) throw new HttpError(429, 'server is busy; retry after the Retry-After delay', { headers: { 'retry-after': retryAfter } });
      const release = await entered;
      try {
        if (route === '/v1/shape') {
          const request = parseShapeRequest(json, 'request body');
          const response = shape(request, semantic == null ? {} : await semanticScoresFor(request, semantic));
          metrics.countCompletions(route, response.groups.reduce((n, g) => n + g.completions.length, 0));
          if (compact) sendJsonBytes(res, 200, compactResponseBytes(response), extraHeaders());
          else sendJson(res, 200, response, extraHeaders());
        } else {
          const result = await scorer!.score(json);
          metrics.countCompletions(route, result.completions);
          for (const [outcome, n] of Object.entries(result.outcomes)) metrics.countJudgements(outcome as keyof typeof result.outcomes, n);
          sendJson(res, 200, result.response, extraHeaders());
        }
      } finally {
        release();
      }
    } catch (error) {
      fail(res, error, route);
    }
  }

  return {
    listen(port, host = '127.0.0.1') {
      return new Promise((resolveListen, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolveListen(`http://${shownHost}:${address.port}`);
        });
      });
    },
    close() {
      if (closing !== null) return closing;
      closing = new Promise<void>((resolveClose) => {
        const cut = setTimeout(() => {
          // Past the drain timeout: cut what is left. The cut requests end (and are logged) at once unless a handler
          // is still awaiting something (a judge call); that is waited for at most CUT_SETTLE_MS more.
          logger.log('warn', 'drain timeout: closing connections with requests still in flight', { inFlight, drainTimeoutMs });
          server.closeAllConnections();
          const settle = setTimeout(resolveClose, CUT_SETTLE_MS);
          settle.unref();
          onIdle = () => {
            clearTimeout(settle);
            resolveClose();
          };
        }, drainTimeoutMs);
        cut.unref();
        let serverClosed = !server.listening;
        const done = (): void => {
          if (serverClosed && inFlight === 0) {
            clearTimeout(cut);
            resolveClose();
          }
        };
        onIdle = done;
        // net.Server's close, not http.Server's: the latter also closes idle connections at once, resetting
        // requests whose bytes are already in their sockets. Those get the grace period, then are closed.
        if (server.listening)
          NetServer.prototype.close.call(server, () => {
            serverClosed = true;
            done();
          });
        const grace = setTimeout(() => server.closeIdleConnections(), closeGraceMs);
        grace.unref();
        done();
      });
      return closing;
    },
    get inFlight() {
      return inFlight;
    },
    metrics,
    server,
  };
}
