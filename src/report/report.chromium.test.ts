/**
 * The report renders in a real headless Chromium (Debian's `chromium`, installed
 * by .ci/run): every chart is a visible SVG with the expected number of marks,
 * and opening the page makes no request besides the page itself.
 * In CI (CI=true) a missing browser is a failure, not a skip.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarizeFailures } from '../algo/failure.js';
import { lineChartSvg } from './charts.js';
import { accuracyBySource, parseJudgedJsonl } from './judged.js';
import { renderReport, type ReportRun } from './report.js';
import { BASE_LINES, MRPO_LINES, toJsonl } from './test-support/fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
const inCi = process.env.CI === 'true' || process.env.CI === '1';

function runOf(label: string, lines: readonly object[]): ReportRun {
  const file = parseJudgedJsonl(toJsonl(lines), `${label}.jsonl`);
  return { label, summary: summarizeFailures(file.complete), accuracyBySource: accuracyBySource(file.traces) };
}

it('has Chromium when running in CI', () => {
  if (inCi) expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: .ci/run must install Debian's chromium`).toBe(true);
  else if (!available) console.warn(`${CHROMIUM} not found: the headless-browser report test is skipped on this machine`);
});

describe.skipIf(!available)('report in headless Chromium', () => {
  let browser: Browser;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mrpo-report-'));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('shows every chart with its marks and loads nothing', async () => {
    const curve = await lineChartSvg({ rows: [{ step: 1, r: 0.2 }, { step: 2, r: 0.4 }, { step: 3, r: 0.3 }], x: 'step', y: 'r', title: 'Reward' });
    const html = await renderReport({
      title: 'Comparison',
      runs: [runOf('base', BASE_LINES), runOf('mrpo', MRPO_LINES)],
      extraSections: [{ title: 'Training', charts: [curve] }],
    });
    const file = join(dir, 'report.html');
    await writeFile(file, html);
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const requests: string[] = [];
    const problems: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    const url = pathToFileURL(file).href;
    await page.goto(url, { waitUntil: 'load' });
    const charts = await page.$$eval('figure.chart', (figs) =>
      figs.map((fig) => {
        const svg = fig.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        const visible = (sel: string) =>
          Array.from(fig.querySelectorAll(sel)).filter((el) => {
            const b = (el as unknown as { getBBox(): { width: number; height: number } }).getBBox();
            return b.width > 0 && b.height > 0;
          }).length;
        return {
          caption: fig.querySelector('figcaption')?.textContent ?? '',
          width: box?.width ?? 0,
          height: box?.height ?? 0,
          rects: fig.querySelectorAll('g.mark-rect.role-mark > path').length,
          labels: visible('g.mark-text.role-mark > text'),
          tallRects: visible('g.mark-rect.role-mark > path'),
          lines: visible('g.mark-line.role-mark > path'),
          points: visible('g.mark-symbol.role-mark > path'),
        };
      }),
    );
    await page.close();
    expect(charts.map((c) => c.caption)).toEqual([
      'Share of failed traces per FFP stage',
      'Failure accumulation rate (FAR) per FFP bin, correct vs incorrect answers',
      'Incorrect-answer rate per FFP bin',
      'Accuracy per benchmark',
      'Reward',
    ]);
    for (const c of charts) {
      expect(c.width, c.caption).toBeGreaterThan(200);
      expect(c.height, c.caption).toBeGreaterThan(150);
    }
    // Hand-counted from test-support/fixtures.ts: stages 3×2; FAR 3 + 2; incorrect rate 3 + 2; accuracy 2 + 3 + 2.
    expect(charts.map((c) => c.rects)).toEqual([6, 5, 5, 7, 0]);
    // A value of 0 is a flat bar (no area): FAR base bin0 incorrect = 0 and mrpo bin1 correct = 0 → 2 flat of 5;
    // incorrect rate mrpo bin4 = 0 → 1 flat of 5; accuracy base vqa-rad = 0 → 1 flat of 7.
    expect(charts.map((c) => c.tallRects)).toEqual([6, 3, 4, 6, 0]);
    expect(charts.map((c) => c.labels)).toEqual([6, 5, 5, 7, 0]); // every bar, flat ones too, has its value written
    expect(charts[4]).toMatchObject({ lines: 1, points: 3 });
    expect(requests).toEqual([url]);
    expect(problems).toEqual([]);
  });
});
