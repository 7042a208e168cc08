import { describe, expect, it } from 'vitest';
import { lineChartSvg } from './charts.js';
import { accuracyBySource, parseJudgedJsonl } from './judged.js';
import { renderReport, type ReportRun } from './report.js';
import { BASE_LINES, countMarks, MRPO_LINES, toJsonl } from './test-support/fixtures.js';
import { summarizeFailures } from '../algo/failure.js';

function runOf(label: string, lines: readonly object[]): ReportRun {
  const file = parseJudgedJsonl(toJsonl(lines), `${label}.jsonl`);
  return { label, summary: summarizeFailures(file.complete), accuracyBySource: accuracyBySource(file.traces), unjudged: { answers: file.unjudgedAnswers, steps: file.unjudgedSteps } };
}

/** The SVG of each <figure class="chart">, in page order. */
function figures(html: string): Array<{ caption: string; svg: string }> {
  return [...html.matchAll(/<figure class="chart"><figcaption>(.*?)<\/figcaption>(<svg.*?<\/svg>)<\/figure>/gs)].map((m) => ({ caption: m[1], svg: m[2] }));
}

describe('renderReport', () => {
  it('draws the four figures with one mark per defined value, for one run', async () => {
    const html = await renderReport({ title: 'T', runs: [runOf('base', BASE_LINES)] });
    const figs = figures(html);
    expect(figs.map((f) => f.caption)).toEqual([
      'Share of failed traces per FFP stage',
      'Failure accumulation rate (FAR) per FFP bin, correct vs incorrect answers',
      'Incorrect-answer rate per FFP bin',
      'Accuracy per benchmark',
    ]);
    // stages: 3 bars; FAR: correct bin0, incorrect bin0 and bin2 = 3; incorrect rate: bins 0, 2, 4 = 3;
    // accuracy: overall + 3 sources = 4 (see test-support/fixtures.ts)
    expect(figs.map((f) => countMarks(f.svg).rect)).toEqual([3, 3, 3, 4]);
    expect(figs.map((f) => countMarks(f.svg).text)).toEqual([3, 3, 3, 4]); // one value label per bar
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(http/i);
    expect(html).toContain('<td>base</td><td class="num">5</td>'); // summary row: 5 complete traces
  });

  it('puts several runs side by side', async () => {
    const html = await renderReport({ title: 'T', runs: [runOf('base', BASE_LINES), runOf('mrpo', MRPO_LINES)] });
    // stages 3×2; FAR base 3 + mrpo 2 (bin1 correct and incorrect); incorrect rate base 3 + mrpo 2 (bins 1, 4);
    // accuracy: 2 overall + 3 + 2 sources
    expect(figures(html).map((f) => countMarks(f.svg).rect)).toEqual([6, 5, 5, 7]);
    expect(figures(html).map((f) => countMarks(f.svg).text)).toEqual([6, 5, 5, 7]);
    expect(html).toContain('<td>mrpo</td><td>(0.2, 0.4]</td><td class="num">2</td><td class="num">50.0%</td><td class="num">16.7%</td><td class="num">0.0%</td><td class="num">33.3%</td>');
  });

  it('a run with no failed trace has no stage shares to draw (a gap, as in the summary table), not 0% bars', async () => {
    const clean = [
      { id: 'c1', correct: true, stepLabels: [1, 1] },
      { id: 'c2', correct: false, stepLabels: [1, 1, 1] },
    ];
    const html = await renderReport({ title: 'T', runs: [runOf('clean', clean), runOf('base', BASE_LINES)] });
    // stages: base's 3 bars only; the summary row of "clean" shows – for early/mid/late
    expect(countMarks(figures(html)[0].svg)).toMatchObject({ rect: 3, text: 3 });
    expect(html).toContain('<td>clean</td><td class="num">2</td>');
  });

  it('escapes every label and title', async () => {
    const evil = '<script>alert("x")</script>';
    const html = await renderReport({
      title: evil,
      subtitle: evil,
      runs: [{ ...runOf('a', BASE_LINES), label: evil, notes: [evil] }],
      extraSections: [{ title: evil, paragraphs: [evil], tables: [{ columns: [{ title: evil }], rows: [[evil]] }] }],
    });
    expect(html).not.toContain('<script');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
  });

  it('accepts extra sections before or after the analysis, and none of the failure figures without runs', async () => {
    const curve = await lineChartSvg({ rows: [{ step: 1, r: 0.2 }, { step: 2, r: 0.4 }], x: 'step', y: 'r', title: 'Reward' });
    const html = await renderReport({
      title: 'Run',
      runs: [],
      extraSections: [
        { title: 'After', paragraphs: ['p2'] },
        { title: 'Training', placement: 'before', charts: [curve] },
      ],
    });
    expect(html.indexOf('<h2>Training</h2>')).toBeLessThan(html.indexOf('<h2>After</h2>'));
    expect(html).not.toContain('Where reasoning breaks');
    expect(figures(html).map((f) => f.caption)).toEqual(['Reward']);
  });

  it('rejects duplicate labels and charts not made by the chart helpers', async () => {
    const run = runOf('a', BASE_LINES);
    await expect(renderReport({ title: 'T', runs: [run, run] })).rejects.toThrow('run label "a" is used twice');
    const fake = { title: 'x', svg: '<script>alert(1)</script>' } as unknown as Awaited<ReturnType<typeof lineChartSvg>>;
    await expect(renderReport({ title: 'T', runs: [], extraSections: [{ title: 's', charts: [fake] }] })).rejects.toThrow('charts must come from');
  });
});
