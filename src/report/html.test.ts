import { describe, expect, it } from 'vitest';
import { escapeHtml, formatCell, tableHtml } from './html.js';

describe('escapeHtml', () => {
  it('escapes the five HTML-special characters', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });
  it('leaves other text alone', () => {
    expect(escapeHtml('FFP ≤ 1/3 — ok')).toBe('FFP ≤ 1/3 — ok');
  });
});

describe('formatCell / tableHtml', () => {
  it('formats percent, fixed3, integer and null', () => {
    expect(formatCell(0.6404, 'percent')).toBe('64.0%');
    expect(formatCell(1 / 3, 'fixed3')).toBe('0.333');
    expect(formatCell(7.4, 'integer')).toBe('7');
    expect(formatCell(null, 'percent')).toBe('–');
    expect(formatCell(Number.NaN, 'percent')).toBe('NaN');
  });
  it('escapes text cells, captions and titles', () => {
    const html = tableHtml({ caption: '<i>c</i>', columns: [{ title: '<t>' }, { title: 'n', format: 'integer' }], rows: [['<script>x</script>', 3]] });
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<i>');
    expect(html).toContain('<caption>&lt;i&gt;c&lt;/i&gt;</caption>');
    expect(html).toContain('<th>&lt;t&gt;</th><th class="num">n</th>');
    expect(html).toContain('<td>&lt;script&gt;x&lt;/script&gt;</td><td class="num">3</td>');
  });
});
