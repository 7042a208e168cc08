/**
 * Renders the eval tables: Markdown (one table per scoring convention and
 * question subset, then the reasoning-failure table) and the HTML report (the
 * same tables, and the failure figures of `mrpo analyze` per model). Scores
 * show ×100 with one decimal, as papers print them: `41.2 [37.0, 45.5] n=451`.
 */
import { renderReport, type ReportRun } from '../../report/report.js';
import type { Table } from '../../report/html.js';
import type { Interval } from './bootstrap.js';
import { CONVENTION_TITLES, type Convention } from './scoring.js';
import { AVERAGES, SUBSETS, type EvalTables, type Subset } from './tables.js';

const AVERAGE_TITLES: Readonly<Record<string, string>> = { 'avg-id': 'ID avg', 'avg-ood': 'OOD avg', 'avg-all': 'Avg' };
const SUBSET_TITLES: Readonly<Record<Subset, string>> = { all: 'all questions', open: 'open questions', closed: 'closed questions' };

/** `41.2 [37.0, 45.5] n=451`, or `–` with no values. */
export function formatInterval(i: Interval): string {
  if (i.value === null) return i.n === 0 ? '–' : `– n=${i.n}`;
  const f = (x: number | null) => (x === null ? '?' : (x * 100).toFixed(1));
  return `${f(i.value)} [${f(i.lo)}, ${f(i.hi)}] n=${i.n}`;
}

function columnsOf(t: EvalTables): Array<{ key: string; title: string }> {
  const ids = t.benchmarks.filter((b) => b.group === 'id');
  const oods = t.benchmarks.filter((b) => b.group === 'ood');
  return [
    ...ids.map((b) => ({ key: b.name, title: `${b.name} (ID)` })),
    ...oods.map((b) => ({ key: b.name, title: `${b.name} (OOD)` })),
    ...AVERAGES.filter((a) => (a === 'avg-id' ? ids.length > 0 : a === 'avg-ood' ? oods.length > 0 : ids.length > 0 && oods.length > 0)).map((a) => ({
      key: a,
      title: AVERAGE_TITLES[a] ?? a,
    })),
  ];
}

/** Every score table as rows of strings (header first), with its title. */
export function scoreTables(t: EvalTables): Array<{ title: string; header: string[]; rows: string[][] }> {
  const cols = columnsOf(t);
  const out: Array<{ title: string; header: string[]; rows: string[][] }> = [];
  for (const c of t.conventions) {
    for (const s of SUBSETS) {
      out.push({
        title: `${c}: ${CONVENTION_TITLES[c as Convention]} (×100), ${SUBSET_TITLES[s]}`,
        header: ['model', ...cols.map((col) => col.title)],
        rows: t.models.map((m) => [m, ...cols.map((col) => formatInterval(t.scores[c]?.[m]?.[col.key]?.[s] ?? { value: null, lo: null, hi: null, n: 0 }))]),
      });
    }
  }
  return out;
}

export function failureTable(t: EvalTables): { title: string; header: string[]; rows: string[][] } {
  const rows: string[][] = [];
  for (const m of t.models)
    for (const key of [...t.benchmarks.map((b) => b.name), 'all']) {
      const f = t.failure[m]?.[key];
      if (f === undefined) continue;
      rows.push([m, key, String(f.traces), String(f.withFailure), formatInterval(f.early), formatInterval(f.mid), formatInterval(f.late), formatInterval(f.far), formatInterval(f.farCorrect), formatInterval(f.farIncorrect)]);
    }
  return {
    title: 'Where reasoning breaks: FFP stage shares (of traces with a failure) and FAR (×100)',
    header: ['model', 'benchmark', 'traces', 'with failure', 'early', 'mid', 'late', 'FAR', 'FAR correct', 'FAR incorrect'],
    rows,
  };
}

function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [`| ${header.map(esc).join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

export function renderMarkdown(t: EvalTables, title: string, notes: readonly string[] = []): string {
  const parts = [`# ${title}`, ''];
  for (const n of notes) parts.push(`${n}  `);
  parts.push(
    '',
    `Each cell: mean ×100 [95% percentile-bootstrap interval, ${t.bootstrap.resamples} resamples, seed ${t.bootstrap.seed}] n = items. ` +
      'Averages are macro averages over the benchmarks (their intervals resample each benchmark on its own). ' +
      'Every score takes the best match over the accepted answers.',
    '',
  );
  for (const table of [...scoreTables(t), failureTable(t)]) parts.push(`## ${table.title}`, '', markdownTable(table.header, table.rows), '');
  return `${parts.join('\n')}\n`;
}

function htmlTable(table: { title: string; header: string[]; rows: string[][] }): Table {
  return { caption: table.title, columns: table.header.map((h) => ({ title: h })), rows: table.rows };
}

export async function renderHtml(t: EvalTables, title: string, runs: readonly ReportRun[], notes: readonly string[]): Promise<string> {
  const byConvention = t.conventions.map((c) => ({
    title: `${c}: ${CONVENTION_TITLES[c as Convention]}`,
    placement: 'before' as const,
    tables: scoreTables(t)
      .filter((s) => s.title.startsWith(`${c}:`))
      .map(htmlTable),
  }));
  return renderReport({
    title,
    subtitle: notes.join(' · '),
    runs,
    extraSections: [
      {
        title: 'How to read the tables',
        placement: 'before',
        paragraphs: [
          `Each cell: mean ×100 [95% percentile-bootstrap interval, ${t.bootstrap.resamples} resamples] n = items. Averages are macro averages over benchmarks. Scores take the best match over accepted answers.`,
        ],
      },
      ...byConvention,
      { title: 'Where reasoning breaks, per benchmark', placement: 'after', tables: [htmlTable(failureTable(t))] },
    ],
  });
}
