/**
 * Charts of a training run's metrics (docs/architecture.md "Run directory":
 * `metrics.jsonl`, one row per step with namespaced keys such as
 * `reward/answer`, `steps/ffp_early`, `loss/clipfrac`): one line chart per
 * namespace, one line per key, over the step. For `renderReport`'s extraSections.
 */
import { lineChartSvg, type Chart, type ChartRow } from './charts.js';

export interface MetricsChartOptions {
  /** The x field (default "step"). */
  readonly x?: string;
  /** Namespaces to draw, in order (default: every namespace found, in order of first appearance). */
  readonly namespaces?: readonly string[];
  /** Optional title per namespace (default: the namespace). */
  readonly titles?: Readonly<Record<string, string>>;
}

/** Groups numeric keys `ns/name` by `ns`; keys without a slash go under "other". */
export function metricNamespaces(rows: readonly ChartRow[], x = 'step'): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const row of rows)
    for (const [key, value] of Object.entries(row)) {
      if (key === x || typeof value !== 'number') continue;
      const slash = key.indexOf('/');
      const ns = slash > 0 ? key.slice(0, slash) : 'other';
      const keys = groups.get(ns) ?? [];
      if (!keys.includes(key)) keys.push(key);
      groups.set(ns, keys);
    }
  return groups;
}

/** One line chart per metric namespace. */
export async function metricsLineCharts(rows: readonly ChartRow[], options: MetricsChartOptions = {}): Promise<Chart[]> {
  const x = options.x ?? 'step';
  const groups = metricNamespaces(rows, x);
  const order = options.namespaces ?? [...groups.keys()];
  const charts: Chart[] = [];
  for (const ns of order) {
    const keys = groups.get(ns);
    if (keys === undefined) continue;
    charts.push(await lineChartSvg({ rows, x, y: keys, title: options.titles?.[ns] ?? ns, xTitle: x, yTitle: ns, seriesOrder: keys }));
  }
  return charts;
}
