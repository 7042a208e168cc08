import { describe, expect, it } from 'vitest';
import { barChartSvg, idPrefixFor, isChart, lineChartSvg, prefixSvgIds } from './charts.js';
import { countMarks } from './test-support/fixtures.js';

describe('barChartSvg', () => {
  it('draws one bar per finite value, grouped by series, and skips gaps', async () => {
    const chart = await barChartSvg({
      rows: [
        { bin: 'a', v: 0.5, run: 'base' },
        { bin: 'a', v: 0.25, run: 'mrpo' },
        { bin: 'b', v: null, run: 'base' }, // gap
        { bin: 'b', v: 0, run: 'mrpo' }, // a zero is a bar
        { bin: 'c', v: Number.NaN, run: 'mrpo' }, // gap
      ],
      x: 'bin',
      y: 'v',
      series: 'run',
      xOrder: ['a', 'b', 'c'],
      title: 'T',
      yFormat: 'percent',
      yDomain: [0, 1],
    });
    expect(isChart(chart)).toBe(true);
    expect(chart.svg.startsWith('<svg')).toBe(true);
    expect(countMarks(chart.svg).rect).toBe(3);
    expect(countMarks(chart.svg).text).toBe(3); // a value label per bar, the flat 0 included
    expect(chart.svg).toContain('>0%<');
    expect(chart.svg).toContain('>25%<');
    expect(chart.svg).toContain('>base<'); // legend entries
    expect(chart.svg).toContain('>mrpo<');
    expect(chart.svg).toContain('>c<'); // empty category kept on the axis
    expect(chart.svg).toContain('>100%<');
  });

  it('turns several y fields into series named after the fields', async () => {
    const chart = await barChartSvg({ rows: [{ k: 'x', p: 1, q: 2 }, { k: 'y', p: 3, q: null }], x: 'k', y: ['p', 'q'], valueLabels: false });
    expect(countMarks(chart.svg).rect).toBe(3);
    expect(countMarks(chart.svg).text).toBe(0);
    expect(chart.svg).toContain('>p<');
    expect(chart.svg).toContain('>q<');
  });

  it('escapes category and series names inside the SVG', async () => {
    const chart = await barChartSvg({ rows: [{ k: '<script>alert(1)</script>', v: 1, s: '<img src=x onerror=alert(1)>' }], x: 'k', y: 'v', series: 's' });
    expect(chart.svg).not.toContain('<script');
    expect(chart.svg).not.toContain('<img');
    expect(chart.svg).toContain('&lt;script&gt;');
  });
});

describe('lineChartSvg', () => {
  it('draws one line per series and a point per value', async () => {
    const rows = [
      { step: 1, 'reward/answer': 0.1, 'reward/process': 0.5 },
      { step: 2, 'reward/answer': 0.2, 'reward/process': null },
      { step: 3, 'reward/answer': 0.4, 'reward/process': 0.7 },
      { step: null, 'reward/answer': 9 }, // no x: dropped
    ];
    const chart = await lineChartSvg({ rows, x: 'step', y: ['reward/answer', 'reward/process'], title: 'Rewards' });
    expect(countMarks(chart.svg)).toEqual({ rect: 0, line: 2, symbol: 5, text: 0 });
    expect(chart.svg).toContain('>reward/answer<');
  });

  it('splits by a series field and can omit points', async () => {
    const rows = [
      { step: 0, v: 1, run: 'a' },
      { step: 1, v: 2, run: 'a' },
      { step: 0, v: 1, run: 'b' },
    ];
    expect(countMarks((await lineChartSvg({ rows, x: 'step', y: 'v', series: 'run', points: false })).svg)).toEqual({ rect: 0, line: 2, symbol: 0, text: 0 });
  });
});

describe('prefixSvgIds', () => {
  it('prefixes ids and every reference to them', () => {
    const svg = '<svg><defs><clipPath id="clip1"><rect/></clipPath></defs><g clip-path="url(#clip1)"><use href="#clip1"/></g></svg>';
    expect(prefixSvgIds(svg, 'p')).toBe(
      '<svg><defs><clipPath id="p-clip1"><rect/></clipPath></defs><g clip-path="url(#p-clip1)"><use href="#p-clip1"/></g></svg>',
    );
  });
  it('gives different texts different prefixes', () => {
    expect(idPrefixFor('a')).not.toBe(idPrefixFor('b'));
    expect(idPrefixFor('a')).toMatch(/^c[0-9a-z]+$/);
  });
});
