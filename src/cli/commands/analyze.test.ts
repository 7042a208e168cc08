import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodeFor, InputError, UsageError } from '../../errors.js';
import { BASE_LINES, MRPO_LINES, toJsonl } from '../../report/test-support/fixtures.js';
import type { CliIo } from '../command.js';
import { main } from '../main.js';
import { analyzeCommand } from './analyze.js';

function memoryIo(stdinText = ''): { io: CliIo; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  return { io: { stdin: Readable.from([stdinText]), stdout, stderr, env: {}, cwd: process.cwd() }, out: () => out, err: () => err };
}

async function failure(args: string[], stdin = ''): Promise<Error> {
  try {
    await analyzeCommand.run(args, memoryIo(stdin).io);
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the command to fail');
}

let dir: string;
let basePath: string;
let mrpoPath: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mrpo-analyze-'));
  basePath = join(dir, 'base.jsonl');
  mrpoPath = join(dir, 'mrpo.jsonl');
  await writeFile(basePath, toJsonl(BASE_LINES));
  await writeFile(mrpoPath, toJsonl(MRPO_LINES));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('mrpo analyze', () => {
  it('prints the hand-computed summary of one file as JSON on stdout and warns about unjudged records', async () => {
    const m = memoryIo();
    expect(await analyzeCommand.run(['--in', basePath], m.io)).toBe(0);
    const s = JSON.parse(m.out());
    // Worked out in src/report/test-support/fixtures.ts.
    expect(s.traces).toBe(5);
    expect(s.withFailure).toBe(4);
    expect(s.stageShare).toEqual({ early: 0.5, mid: 0.25, late: 0.25 });
    expect(s.bins.map((b: { lo: number; hi: number }) => [b.lo, b.hi])).toEqual([[0, 0.2], [0.2, 0.4], [0.4, 0.6], [0.6, 0.8], [0.8, 1]]);
    expect(s.bins.map((b: { count: number }) => b.count)).toEqual([2, 0, 1, 0, 1]);
    expect(s.bins.map((b: { incorrectRate: number | null }) => b.incorrectRate)).toEqual([0.5, null, 1, null, 1]);
    expect(s.bins[0].far.all).toBeCloseTo(1 / 18, 12);
    expect(s.bins[0].far.correct).toBeCloseTo(1 / 9, 12);
    expect(s.bins[0].far.incorrect).toBe(0);
    expect(s.bins[1].far).toEqual({ all: null, correct: null, incorrect: null });
    expect(s.bins[2].far).toEqual({ all: 1, correct: null, incorrect: 1 });
    expect(s.bins[4].far).toEqual({ all: null, correct: null, incorrect: null });
    expect(s.accuracy).toBe(0.5); // 3 of 6 answered records (b7 has no step labels but counts)
    expect(s.unjudged).toEqual({ answers: 1, steps: 1 });
    expect(s.accuracyBySource.map((a: { source: string; accuracy: number }) => [a.source, a.accuracy])).toEqual([
      ['vqa-rad', 0],
      ['slake', 1],
      ['pathvqa', 0.5],
    ]);
    expect(m.err()).toContain('1 record(s) with an unjudged answer and 1 with unjudged steps');
    expect(m.err()).toContain('base: 5 traces, accuracy 50.0%, 4 with a failure (early 50.0%, mid 25.0%, late 25.0%)');
  });

  it('reads stdin when no --in is given', async () => {
    const m = memoryIo(toJsonl(MRPO_LINES));
    expect(await analyzeCommand.run([], m.io)).toBe(0);
    const s = JSON.parse(m.out());
    expect(s.traces).toBe(4);
    expect(s.stageShare.early).toBeCloseTo(1 / 3, 12);
    expect(s.bins[1].far.all).toBeCloseTo(1 / 6, 12);
    expect(s.accuracy).toBe(0.75);
    const h = memoryIo(toJsonl(MRPO_LINES));
    expect(await analyzeCommand.run(['--html', '-'], h.io)).toBe(0);
    expect(h.out()).toContain('Inputs: stdin<'); // not "stdin = stdin"
  });

  it('writes one object per label and the HTML report for several inputs', async () => {
    const m = memoryIo();
    const json = join(dir, 'out.json');
    const html = join(dir, 'out', 'report.html');
    const code = await analyzeCommand.run(['--in', basePath, '--label', 'base', '--in', mrpoPath, '--label', 'MRPO', '--json', json, '--html', html, '--title', 'Cmp'], m.io);
    expect(code).toBe(0);
    expect(m.out()).toBe('');
    const s = JSON.parse(await readFile(json, 'utf8'));
    expect(Object.keys(s)).toEqual(['base', 'MRPO']);
    expect(s.base.withFailure).toBe(4);
    expect(s.MRPO.withFailure).toBe(3);
    const page = await readFile(html, 'utf8');
    expect(page).toContain('<title>Cmp</title>');
    expect((page.match(/<svg/g) ?? []).length).toBe(4);
    expect(page).toContain('<td>MRPO</td>');
    expect(m.err()).toContain(`report written to ${html}`);
  });

  it('resolves relative --in, --json and --html against the working directory it is given', async () => {
    const m = memoryIo();
    const code = await analyzeCommand.run(['--in', 'base.jsonl', '--json', 'out/summary.json', '--html', 'out/report.html'], { ...m.io, cwd: dir });
    expect(code).toBe(0);
    expect(JSON.parse(await readFile(join(dir, 'out/summary.json'), 'utf8'))).toMatchObject({ traces: 5, withFailure: 4 }); // worked out in fixtures.ts
    expect(await readFile(join(dir, 'out/report.html'), 'utf8')).toMatch(/^<!DOCTYPE html>/i);
    expect(m.err()).toContain('report written to out/report.html');
  });

  it('labels runs by file name by default', async () => {
    const m = memoryIo();
    await analyzeCommand.run(['--in', basePath, '--in', mrpoPath], m.io);
    expect(Object.keys(JSON.parse(m.out()))).toEqual(['base', 'mrpo']);
  });

  it('rejects bad input with the file, line and field (exit 2)', async () => {
    const bad = join(dir, 'judged.jsonl');
    await writeFile(bad, toJsonl([...MRPO_LINES.slice(0, 6), { id: 'x', correct: true, stepLabels: 'abc' }]));
    const error = await failure(['--in', bad]);
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toBe(`${bad} line 5: field "stepLabels" must be an array of 0/1 (or null when unjudged), got "abc"`);
    expect(exitCodeFor(error)).toBe(2);
    const missing = await failure(['--in', join(dir, 'nope.jsonl')]);
    expect(missing.message).toBe(`${join(dir, 'nope.jsonl')}: file not found`);
    expect(exitCodeFor(missing)).toBe(2);
  });

  it('exits 2 with one readable line and no stack through the CLI root', async () => {
    const m = memoryIo('{"id":"a","correct":true,"stepLabels":[1]}\n{"id":"b","correct":true,"stepLabels":[0,"x"]}\n');
    expect(await main(['analyze'], m.io)).toBe(2);
    expect(m.err()).toBe('mrpo analyze: <stdin> line 2: field "stepLabels" must be an array of 0/1 (or null when unjudged), got [0,"x"]\n');
    expect(m.out()).toBe('');
  });

  it('rejects inconsistent flags (exit 2)', async () => {
    for (const [args, message] of [
      [['--in', basePath, '--in', mrpoPath, '--label', 'a'], 'got 2 --in and 1 --label'],
      [['--in', basePath, '--label', 'a', '--in', mrpoPath, '--label', 'a'], 'label "a" is used for two inputs'],
      [['--in', basePath, '--bogus'], "Unknown option '--bogus'"],
      [['--in', '-', '--in', '-'], 'stdin) can be given only once'],
    ] as const) {
      const error = await failure([...args]);
      expect(error).toBeInstanceOf(UsageError);
      expect(error.message).toContain(message);
      expect(exitCodeFor(error)).toBe(2);
    }
  });
});
