/**
 * Small HTML building blocks for the report (src/report): text escaping and
 * tables. Every piece of user-controlled text (run labels, source names, titles,
 * cell values) goes through `escapeHtml`, so a report built from untrusted JSONL
 * cannot inject markup or script.
 */

/** Escapes text for use in HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** A table cell: text is escaped; numbers are formatted by the column's format; null shows as "–". */
export type Cell = string | number | null;

export type CellFormat = 'text' | 'percent' | 'fixed3' | 'integer';

export interface TableColumn {
  readonly title: string;
  readonly format?: CellFormat;
}

export interface Table {
  readonly columns: readonly TableColumn[];
  readonly rows: readonly (readonly Cell[])[];
  /** Optional caption shown above the table (escaped). */
  readonly caption?: string;
}

/** Formats one cell as escaped text. */
export function formatCell(value: Cell, format: CellFormat = 'text'): string {
  if (value === null) return '–';
  if (typeof value === 'string') return escapeHtml(value);
  if (!Number.isFinite(value)) return escapeHtml(String(value));
  switch (format) {
    case 'percent':
      return `${(value * 100).toFixed(1)}%`;
    case 'fixed3':
      return value.toFixed(3);
    case 'integer':
      return String(Math.round(value));
    default:
      return escapeHtml(String(value));
  }
}

/** Renders a table as HTML; numeric columns are right-aligned. */
export function tableHtml(table: Table): string {
  const numeric = table.columns.map((c) => c.format !== undefined && c.format !== 'text');
  const head = table.columns.map((c, i) => `<th${numeric[i] ? ' class="num"' : ''}>${escapeHtml(c.title)}</th>`).join('');
  const body = table.rows
    .map(
      (row) =>
        `<tr>${table.columns
          .map((c, i) => `<td${numeric[i] ? ' class="num"' : ''}>${formatCell(row[i] ?? null, c.format)}</td>`)
          .join('')}</tr>`,
    )
    .join('\n');
  const caption = table.caption === undefined ? '' : `<caption>${escapeHtml(table.caption)}</caption>`;
  return `<table>${caption}<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}
