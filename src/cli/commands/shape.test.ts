import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { main } from '../main.js';
import { memoryIo } from '../test-support/memory-io.js';

const root = new URL('../../../', import.meta.url).pathname;

describe('mrpo shape', () => {
  it('reads stdin and writes the response to stdout', async () => {
    const io = memoryIo(JSON.stringify({ estimator: 'grpo', groups: [{ completions: [{ text: 'a', rewards: { answer: 1, process: 0, length: 0 } }, { text: 'b', rewards: { answer: 0, process: 0, length: 0 } }] }] }));
    expect(await main(['shape'], io)).toBe(0);
    const res = JSON.parse(io.out());
    expect(res.groups[0].completions.map((c: { advantage: number }) => c.advantage)).toEqual([0.5 / (Math.SQRT1_2 + 1e-4), -0.5 / (Math.SQRT1_2 + 1e-4)]);
  });

  it('writes --out atomically and keeps stdout clean', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mrpo-shape-'));
    const io = memoryIo();
    expect(await main(['shape', '--in', join(root, 'example.json'), '--out', join(dir, 'out.json')], io)).toBe(0);
    expect(io.out()).toBe('');
    expect(JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')).groups[0].completions).toHaveLength(4);
    expect(io.err()).toMatch(/answer reward components: rouge1 \+ bleu1 \(no semantic scorer; weights renormalised over these\)/);
  });

  it('says the semantic component scores 0 (not renormalised) when renormalize is false', async () => {
    const io = memoryIo(JSON.stringify({ estimator: 'grpo', options: { renormalize: false }, groups: [{ gold: { answer: 'lung' }, completions: [{ text: 'lung' }, { text: 'liver' }] }] }));
    expect(await main(['shape'], io)).toBe(0);
    expect(io.err()).toMatch(/answer reward components: rouge1 \+ bleu1 \(no semantic scorer; it scores 0, as in the reference\)/);
  });

  it('exits 2 with the JSON path for invalid input, 2 for bad JSON, a missing file or an unknown flag; never a stack trace', async () => {
    const cases: Array<[string[], string, RegExp]> = [
      [['shape'], '{"estimator":"grpo","groups":[{"completions":[{"text":5}]}]}', /mrpo shape: <stdin>: \$\.groups\[0\]\.completions\[0\]\.text: expected string/],
      [['shape'], '{not json', /mrpo shape: <stdin>: not valid JSON/],
      [['shape', '--in', '/nonexistent/x.json'], '', /\/nonexistent\/x\.json: file not found/],
      [['shape', '--bogus'], '', /Unknown option '--bogus'.*mrpo shape --help/],
    ];
    for (const [args, stdin, pattern] of cases) {
      const io = memoryIo(stdin);
      expect(await main(args, io)).toBe(2);
      expect(io.err()).toMatch(pattern);
      expect(io.err()).not.toMatch(/\n\s+at /);
    }
  });

  it('runs from the command line as the README says (npm run -s mrpo -- shape --in example.json)', async () => {
    const { stdout } = await promisify(execFile)(join(root, 'node_modules/.bin/tsx'), ['src/cli/main.ts', 'shape', '--in', 'example.json'], { cwd: root });
    const res = JSON.parse(stdout);
    expect(res.estimator).toBe('mrpo');
    expect(res.groups[0].completions[0].rewards.answer).toBe(1);
  });

  it('--help shows the contract and an example', async () => {
    const io = memoryIo();
    expect(await main(['shape', '--help'], io)).toBe(0);
    expect(io.out()).toMatch(/npm run -s mrpo -- shape --in/);
  });
});
