/**
 * The examples of `mrpo eval --help` and `mrpo data convert --help` run from a
 * fresh clone: examples/eval/suite.yaml (the committed embedded policy on the
 * synthetic test split and the four example items, offline judges) writes
 * the three result files with every convention and the failure table, and a
 * rerun resumes without sampling again and gives the same tables.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dataCommand } from '../commands/data.js';
import { evalCommand } from '../commands/eval.js';
import { main } from '../main.js';
import { memoryIo } from '../test-support/memory-io.js';

const root = new URL('../../../', import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), 'mrpo-eval-example-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function example(help: string): string[] {
  const line = help.slice(help.indexOf('Example (from a fresh clone')).split('\n')[1] ?? '';
  const m = /^\s+npm run -s mrpo -- (.*)$/.exec(line);
  if (m === null) throw new Error(`no example line in help: ${line}`);
  return (m[1] ?? '').trim().split(/\s+/).map((a) => a.replace(/^\/tmp\//, `${out}/`));
}

describe('eval and data convert help examples', () => {
  it('data convert: the example items file', async () => {
    const args = example(dataCommand.help.slice(dataCommand.help.indexOf('mrpo data convert —')));
    const io = memoryIo('', {}, root);
    expect(await main(args, io), io.err()).toBe(0);
    expect(io.err()).toContain('4 items (4 open, 0 closed)');
  });

  it('eval: examples/eval/suite.yaml offline, then a resume that samples nothing', async () => {
    const args = example(evalCommand.help);
    expect(args.slice(0, 3)).toEqual(['eval', '--suite', 'examples/eval/suite.yaml']);
    const io = memoryIo('', {}, root);
    expect(await main(args, io), io.err()).toBe(0);
    const dir = args[args.indexOf('--out') + 1] as string;
    for (const f of ['results.json', 'results.md', 'report.html']) expect(existsSync(join(dir, f))).toBe(true);
    const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as { complete: boolean; conventions: string[]; scores: Record<string, Record<string, Record<string, { all: { n: number } }>>> };
    expect(results.complete).toBe(true);
    expect(results.conventions).toEqual(['exact', 'f1', 'bleu1', 'rouge1', 'reward', 'judge']);
    expect(results.scores.exact?.['warm-start']?.synthetic?.all.n).toBe(24);
    expect(results.scores.exact?.['warm-start']?.examples?.all.n).toBe(4);
    const firstTables = readFileSync(join(dir, 'results.md'), 'utf8');
    const again = memoryIo('', {}, root);
    expect(await main(args, again)).toBe(0);
    expect(again.err()).toContain('0 of 28 (model, item) pairs to run');
    expect(again.err()).toContain('model warm-start: requests 0');
    // Seeded bootstrap over the same judged lines: the rerun's tables are identical.
    expect(readFileSync(join(dir, 'results.md'), 'utf8')).toBe(firstTables);
  }, 60_000);
});
