/**
 * Counting what judging did and cost: verdicts given, cache hits, failures by
 * reason, retries, token usage and the dollar cost at configurable per-token
 * prices. One meter per run; judges and CLI commands share it.
 *
 * Default prices (an assumption, not a quote; check your provider): OpenAI's
 * list prices for `gpt-5-mini` as of late 2025, $0.25 per 1M input tokens and
 * $2.00 per 1M output tokens. Other models have no default: their cost is
 * reported as unknown unless prices are given.
 */

import type { JudgeStats } from './judge.js';

export interface Prices {
  /** US dollars per 1M prompt (input) tokens. */
  readonly inputPerMillion: number;
  /** US dollars per 1M completion (output) tokens. */
  readonly outputPerMillion: number;
}

export const GPT5_MINI_PRICES: Prices = { inputPerMillion: 0.25, outputPerMillion: 2.0 };

/** Assumed default prices for a model, or null when none is known. */
export function defaultPrices(model: string): Prices | null {
  return /^gpt-5-mini(\b|-|$)/.test(model) ? GPT5_MINI_PRICES : null;
}

/** The prices a judge config names (`priceIn` and `priceOut`, $ per 1M tokens), else the assumed ones for its model. */
export function judgePrices(config: { readonly model: string; readonly priceIn?: number; readonly priceOut?: number }): Prices | null {
  return config.priceIn !== undefined && config.priceOut !== undefined ? { inputPerMillion: config.priceIn, outputPerMillion: config.priceOut } : defaultPrices(config.model);
}

/** The short category of an unjudged reason: `"http 500 (after 5 attempts)"` → `"http 500"`. */
export function reasonCategory(reason: string): string {
  return reason.replace(/\s*\(.*$/s, '').replace(/:.*$/s, '').trim();
}

export type { JudgeStats };

/** Dollars for a token count at `prices`; null when the prices are unknown. */
export function costOf(prices: Prices | null, promptTokens: number, completionTokens: number): number | null {
  return prices === null ? null : (promptTokens * prices.inputPerMillion + completionTokens * prices.outputPerMillion) / 1e6;
}

export interface JudgeMeter {
  judged(options?: { cached?: boolean }): void;
  unjudged(reason: string): void;
  request(): void;
  retry(): void;
  formatFallback(): void;
  steps(missing: number, extra: number): void;
  usage(promptTokens: number, completionTokens: number): void;
  snapshot(): JudgeStats;
}

export function createJudgeMeter(prices: Prices | null): JudgeMeter {
  let judged = 0;
  let cached = 0;
  let requests = 0;
  let retries = 0;
  let formatFallbacks = 0;
  let missingSteps = 0;
  let extraVerdicts = 0;
  let promptTokens = 0;
  let completionTokens = 0;
  const unjudged: Record<string, number> = {};
  return {
    judged(options) {
      judged += 1;
      if (options?.cached) cached += 1;
    },
    unjudged(reason) {
      const key = reasonCategory(reason);
      unjudged[key] = (unjudged[key] ?? 0) + 1;
    },
    request: () => void (requests += 1),
    retry: () => void (retries += 1),
    formatFallback: () => void (formatFallbacks += 1),
    steps(missing, extra) {
      missingSteps += missing;
      extraVerdicts += extra;
    },
    usage(p, c) {
      promptTokens += p;
      completionTokens += c;
    },
    snapshot: () => ({
      judged,
      cached,
      unjudged: { ...unjudged },
      requests,
      retries,
      formatFallbacks,
      missingSteps,
      extraVerdicts,
      promptTokens,
      completionTokens,
      costUsd: costOf(prices, promptTokens, completionTokens),
    }),
  };
}

/** One human-readable summary line (for stderr). */
export function formatJudgeStats(stats: JudgeStats): string {
  const unjudgedTotal = Object.values(stats.unjudged).reduce((a, b) => a + b, 0);
  const reasons = Object.entries(stats.unjudged)
    .sort((a, b) => b[1] - a[1])
    .map(([r, n]) => `${r}: ${n}`)
    .join(', ');
  const parts = [
    `judged ${stats.judged} (cached ${stats.cached})`,
    `unjudged ${unjudgedTotal}${reasons ? ` (${reasons})` : ''}`,
    `requests ${stats.requests}`,
    `retries ${stats.retries}`,
  ];
  if (stats.formatFallbacks > 0) parts.push(`format fallbacks ${stats.formatFallbacks}`);
  if (stats.missingSteps > 0 || stats.extraVerdicts > 0) parts.push(`missing step verdicts ${stats.missingSteps}, extra ${stats.extraVerdicts}`);
  parts.push(`tokens ${stats.promptTokens} in / ${stats.completionTokens} out`);
  parts.push(stats.costUsd === null ? 'cost unknown (no prices for this model)' : `cost $${stats.costUsd.toFixed(4)}`);
  return parts.join(', ');
}
