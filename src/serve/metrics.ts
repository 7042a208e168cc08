/**
 * Prometheus metrics of `mrpo serve` (text exposition format 0.0.4, through
 * prom-client with a registry per server — no global state):
 *
 * - `mrpo_serve_requests_total{route,status}` — finished requests;
 * - `mrpo_serve_request_duration_seconds{route}` — latency histogram;
 * - `mrpo_serve_in_flight`, `mrpo_serve_queued` — requests holding / awaiting a slot;
 * - `mrpo_serve_completions_total{route}` — completions shaped or scored;
 * - `mrpo_serve_step_judgements_total{outcome}` — `judged`, `unjudged` (the
 *   judge failed after its retries) or `skipped` (no steps, no gold reasoning);
 * - `mrpo_judge_verdicts_total`, `mrpo_judge_cache_hits_total`,
 *   `mrpo_judge_requests_total`, `mrpo_judge_retries_total`, token counters and
 *   `mrpo_judge_unjudged_total{reason}` — read from the step judge's meter
 *   (src/judges/meter.ts) when the composition root provides it.
 *
 * `route` is one of the known routes or `other`, so unknown paths cannot
 * blow up the label cardinality.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { JudgeStats } from '../judges/judge.js';


export type { JudgeStats };

export type JudgementOutcome = 'judged' | 'unjudged' | 'skipped';

export interface ServeMetrics {
  readonly contentType: string;
  observeRequest(route: string, status: number, seconds: number): void;
  countCompletions(route: string, n: number): void;
  countJudgements(outcome: JudgementOutcome, n: number): void;
  /** The exposition text. */
  render(): Promise<string>;
}

export interface ServeMetricsSources {
  readonly running: () => number;
  readonly waiting: () => number;
  /** The step judge's meter, read at scrape time. */
  readonly judgeStats?: () => JudgeStats;
}

const DURATION_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export function createServeMetrics(sources: ServeMetricsSources): ServeMetrics {
  const registry = new Registry();
  const registers = [registry];
  const requests = new Counter({ name: 'mrpo_serve_requests_total', help: 'Finished HTTP requests by route and status.', labelNames: ['route', 'status'] as const, registers });
  const duration = new Histogram({
    name: 'mrpo_serve_request_duration_seconds',
    help: 'Request latency from arrival to the last byte of the response, by route.',
    labelNames: ['route'] as const,
    buckets: DURATION_BUCKETS_S,
    registers,
  });
  new Gauge({
    name: 'mrpo_serve_in_flight',
    help: 'Requests holding a concurrency slot.',
    registers,
    collect() {
      this.set(sources.running());
    },
  });
  new Gauge({
    name: 'mrpo_serve_queued',
    help: 'Accepted requests waiting for a concurrency slot.',
    registers,
    collect() {
      this.set(sources.waiting());
    },
  });
  const completions = new Counter({ name: 'mrpo_serve_completions_total', help: 'Completions shaped or scored, by route.', labelNames: ['route'] as const, registers });
  const judgements = new Counter({
    name: 'mrpo_serve_step_judgements_total',
    help: 'Step judgements per completion: judged, unjudged (judge failed after retries) or skipped (no steps or no gold reasoning).',
    labelNames: ['outcome'] as const,
    registers,
  });
  for (const outcome of ['judged', 'unjudged', 'skipped'] as const) judgements.inc({ outcome }, 0);
  const judgeStats = sources.judgeStats;
  if (judgeStats) {
    // Cumulative counters owned by the judge's meter, copied at scrape time.
    const mirror = (name: string, help: string, read: (s: JudgeStats) => number): void => {
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read(judgeStats()));
        },
      });
    };
    mirror('mrpo_judge_verdicts_total', 'Verdicts the judge returned (fresh and cached).', (s) => s.judged);
    mirror('mrpo_judge_cache_hits_total', 'Verdicts served from the judge cache.', (s) => s.cached);
    mirror('mrpo_judge_requests_total', 'HTTP requests sent to the judge endpoint, retries included.', (s) => s.requests);
    mirror('mrpo_judge_retries_total', 'Retries after a failed or unparseable judge reply.', (s) => s.retries);
    mirror('mrpo_judge_prompt_tokens_total', 'Prompt tokens the judge endpoint reported.', (s) => s.promptTokens);
    mirror('mrpo_judge_completion_tokens_total', 'Completion tokens the judge endpoint reported.', (s) => s.completionTokens);
    new Counter({
      name: 'mrpo_judge_unjudged_total',
      help: 'Judgements that failed, by reason category (e.g. "http 500", "timeout", "unparseable").',
      labelNames: ['reason'] as const,
      registers,
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(judgeStats().unjudged)) this.inc({ reason }, n);
      },
    });
  }
  return {
    contentType: registry.contentType,
    observeRequest(route, status, seconds) {
      requests.inc({ route, status: String(status) });
      duration.observe({ route }, seconds);
    },
    countCompletions(route, n) {
      completions.inc({ route }, n);
    },
    countJudgements(outcome, n) {
      judgements.inc({ outcome }, n);
    },
    render: () => registry.metrics(),
  };
}
