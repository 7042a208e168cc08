/**
 * Charts for the report, drawn with vega-lite → vega → SVG on the server side
 * (a headless vega View with `renderer: 'none'`), so the page needs neither
 * JavaScript nor network to show them.
 *
 * `barChartSvg` / `lineChartSvg` take plain rows (e.g. one row per training step
 * from metrics.jsonl) and return a `Chart` whose SVG is inlined by
 * `renderReport`. Every text in a chart (labels, titles, category names) is data
 * to vega and is escaped by its SVG writer; element ids are prefixed per chart so
 * that several inlined SVGs never share a clip-path id.
 */
import type { TopLevelSpec } from 'vega-lite';
import { escapeHtml } from './html.js';

const chartBrand: unique symbol = Symbol('mrpo.chart');

/** A rendered chart: standalone SVG markup produced by this module (trusted by `renderReport`). */
export interface Chart {
  readonly [chartBrand]: true;
  readonly title: string;
  /** The SVG element, ready to inline. */
  readonly svg: string;
}

export function isChart(value: unknown): value is Chart {
  return typeof value === 'object' && value !== null && (value as { [chartBrand]?: unknown })[chartBrand] === true;
}

/** One input row: field name → value; null/undefined/non-finite numbers are gaps (not drawn). */
export type ChartRow = Readonly<Record<string, string | number | boolean | null | undefined>>;

export interface SeriesChartOptions {
  readonly rows: readonly ChartRow[];
  /** Field holding the x value. */
  readonly x: string;
  /** A field holding y values, or a list of fields: each becomes a series named after the field. */
  readonly y: string | readonly string[];
  /** Field that splits rows into series (colour), when `y` is a single field. */
  readonly series?: string;
  readonly title?: string;
  readonly xTitle?: string;
  readonly yTitle?: string;
  /** 'percent' formats the y axis as %, 'number' (default) as plain numbers. */
  readonly yFormat?: 'percent' | 'number';
  /** Fixed y range, e.g. [0, 1] for shares. */
  readonly yDomain?: readonly [number, number];
  /** Series order (fixes colours across charts); unknown series follow in order of appearance. */
  readonly seriesOrder?: readonly string[];
  readonly width?: number;
  readonly height?: number;
}

export interface BarChartOptions extends SeriesChartOptions {
  /** Category order on the x axis; by default the order of first appearance. */
  readonly xOrder?: readonly string[];
  /** Write each value above its bar (default: when there are at most 24 bars). */
  readonly valueLabels?: boolean;
}

export interface LineChartOptions extends SeriesChartOptions {
  /** Draw a point at each value (default: when no series has more than 60 points). */
  readonly points?: boolean;
}

/** A long-format datum: what every chart spec here draws. */
interface Datum {
  x: string | number;
  y: number;
  series: string;
}

const BASE_CONFIG = {
  font: 'sans-serif',
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', orient: 'bottom' },
  header: { labelFontSize: 12, titleFontSize: 12 },
  view: { stroke: '#d0d0d0' },
} as const;

/** Compiles a vega-lite spec and renders it to an SVG string headless. */
export async function renderVegaLite(spec: TopLevelSpec, idPrefix = 'c'): Promise<string> {
  const [{ compile }, vega] = await Promise.all([import('vega-lite'), import('vega')]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return prefixSvgIds(await view.toSVG(), idPrefix);
  } finally {
    view.finalize();
  }
}

/**
 * Rewrites `id="…"` and its references (`url(#…)`, `href="#…"`) with a prefix:
 * vega numbers clip paths from 1 in every render, and duplicate ids in one HTML
 * page would make a chart use another chart's clip region.
 */
export function prefixSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, (_, id: string) => `id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id: string) => `url(#${prefix}-${id})`)
    .replace(/href="#([^"]+)"/g, (_, id: string) => `href="#${prefix}-${id}"`);
}

/** A short stable id prefix from a string (FNV-1a), so equal charts share ids harmlessly and different ones differ. */
export function idPrefixFor(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `c${h.toString(36)}`;
}

function toLongFormat(options: SeriesChartOptions, xKind: 'category' | 'number'): Datum[] {
  const yFields = typeof options.y === 'string' ? [options.y] : [...options.y];
  const several = typeof options.y !== 'string'; // a list of fields (even of one) names its series by field
  const data: Datum[] = [];
  for (const row of options.rows) {
    const rawX = row[options.x];
    let x: string | number;
    if (xKind === 'number') {
      if (typeof rawX !== 'number' || !Number.isFinite(rawX)) continue;
      x = rawX;
    } else {
      if (rawX === null || rawX === undefined) continue;
      x = String(rawX);
    }
    for (const field of yFields) {
      const y = row[field];
      if (typeof y !== 'number' || !Number.isFinite(y)) continue;
      const rawSeries = several ? field : options.series === undefined ? undefined : row[options.series];
      data.push({ x, y, series: rawSeries === undefined || rawSeries === null ? '' : String(rawSeries) });
    }
  }
  return data;
}

function seriesDomain(data: readonly Datum[], order: readonly string[] | undefined): string[] {
  const seen = new Set<string>(order ?? []);
  const domain = [...(order ?? [])];
  for (const d of data)
    if (!seen.has(d.series)) {
      seen.add(d.series);
      domain.push(d.series);
    }
  return domain;
}

function yEncoding(options: SeriesChartOptions) {
  return {
    field: 'y',
    type: 'quantitative' as const,
    title: options.yTitle ?? (typeof options.y === 'string' ? options.y : 'value'),
    axis: options.yFormat === 'percent' ? { format: '.0%' } : {},
    ...(options.yDomain ? { scale: { domain: [...options.yDomain] } } : {}),
  };
}

function colorEncoding(domain: readonly string[], title: string | null) {
  const legend = domain.length > 1 || (domain.length === 1 && domain[0] !== '') ? { title } : null;
  return { field: 'series', type: 'nominal' as const, scale: { domain: [...domain] }, legend };
}

function makeChart(title: string, svg: string): Chart {
  return { [chartBrand]: true, title, svg };
}

/** A text layer writing each bar's value just above it. */
export function valueLabelLayer(field: string, format: 'percent' | 'number' | undefined) {
  return {
    mark: { type: 'text' as const, dy: -5, fontSize: 9, color: '#333', tooltip: false },
    encoding: { text: { field, type: 'quantitative' as const, format: format === 'percent' ? '.0%' : '.3~g' } },
  };
}

/** Grouped bar chart: categories on x, one bar per series in each category, colour by series. */
export async function barChartSvg(options: BarChartOptions): Promise<Chart> {
  const data = toLongFormat(options, 'category');
  const domain = seriesDomain(data, options.seriesOrder);
  const xOrder = [...(options.xOrder ?? [])];
  for (const d of data) if (!xOrder.includes(String(d.x))) xOrder.push(String(d.x));
  const longest = Math.max(0, ...xOrder.map((x) => x.length));
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: options.width ?? 340,
    height: options.height ?? 200,
    data: { values: data },
    encoding: {
      // An explicit domain keeps categories without data (an empty FFP bin) on the axis.
      x: { field: 'x', type: 'nominal', sort: xOrder, scale: { domain: xOrder }, title: options.xTitle ?? options.x, axis: { labelAngle: longest > 8 ? -30 : 0 } },
      xOffset: { field: 'series', type: 'nominal', scale: { domain: [...domain] } },
      y: yEncoding(options),
    },
    layer: [
      { mark: { type: 'bar', tooltip: false }, encoding: { color: colorEncoding(domain, options.series ?? null) } },
      // Value labels tell a 0 (flat bar, labelled) from a gap (no bar, no label).
      ...((options.valueLabels ?? data.length <= 24) ? [valueLabelLayer('y', options.yFormat)] : []),
    ],
    config: BASE_CONFIG,
  };
  const title = options.title ?? '';
  return makeChart(title, await renderVegaLite(spec, idPrefixFor(JSON.stringify(spec))));
}

/** Line chart over a numeric x (e.g. training step), one line per series, colour by series. */
export async function lineChartSvg(options: LineChartOptions): Promise<Chart> {
  const data = toLongFormat(options, 'number');
  const domain = seriesDomain(data, options.seriesOrder);
  const perSeries = new Map<string, number>();
  for (const d of data) perSeries.set(d.series, (perSeries.get(d.series) ?? 0) + 1);
  const points = options.points ?? Math.max(0, ...perSeries.values()) <= 60;
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: options.width ?? 340,
    height: options.height ?? 200,
    data: { values: data },
    mark: { type: 'line', point: points, tooltip: false },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: options.xTitle ?? options.x, scale: { zero: false } },
      y: yEncoding(options),
      color: colorEncoding(domain, options.series ?? null),
    },
    config: BASE_CONFIG,
  };
  const title = options.title ?? '';
  return makeChart(title, await renderVegaLite(spec, idPrefixFor(JSON.stringify(spec))));
}

/** Wraps a rendered chart in a <figure> with an escaped caption. */
export function figureHtml(chart: Chart, caption?: string): string {
  const text = caption ?? chart.title;
  return `<figure class="chart">${text ? `<figcaption>${escapeHtml(text)}</figcaption>` : ''}${chart.svg}</figure>`;
}

/** Builds a Chart from a vega-lite spec of your own (the escape hatch for figures the helpers do not cover). */
export async function vegaLiteChart(title: string, spec: TopLevelSpec): Promise<Chart> {
  return makeChart(title, await renderVegaLite(spec, idPrefixFor(JSON.stringify(spec))));
}
