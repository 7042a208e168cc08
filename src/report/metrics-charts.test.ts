import { describe, expect, it } from 'vitest';
import { metricNamespaces, metricsLineCharts } from './metrics-charts.js';
import { countMarks } from './test-support/fixtures.js';

const rows = [
  { step: 0, 'reward/answer': 0.1, 'reward/process': 0.4, 'loss/pg': 1.2, lr: 1e-5, note: 'x' },
  { step: 1, 'reward/answer': 0.2, 'reward/process': 0.5, 'loss/pg': 1.1 },
  { step: 2, 'reward/answer': 0.3, 'loss/pg': 0.9, 'steps/ffp_early': 0.4 },
];

describe('metricsLineCharts', () => {
  it('groups numeric keys by namespace', () => {
    expect([...metricNamespaces(rows)]).toEqual([
      ['reward', ['reward/answer', 'reward/process']],
      ['loss', ['loss/pg']],
      ['other', ['lr']],
      ['steps', ['steps/ffp_early']],
    ]);
  });

  it('draws one chart per namespace with one line per key', async () => {
    const charts = await metricsLineCharts(rows, { namespaces: ['reward', 'loss', 'missing'], titles: { reward: 'Rewards' } });
    expect(charts.map((c) => c.title)).toEqual(['Rewards', 'loss']);
    expect(countMarks(charts[0].svg)).toEqual({ rect: 0, line: 2, symbol: 5, text: 0 }); // answer ×3, process ×2
    expect(countMarks(charts[1].svg)).toEqual({ rect: 0, line: 1, symbol: 3, text: 0 });
    // One key: its line has the first palette colour and the legend names it (no empty series).
    expect(charts[1].svg).toContain('stroke="#4c78a8"');
    expect(charts[1].svg).not.toContain('#f58518');
    expect(charts[1].svg).toContain('>loss/pg<');
  });
});
