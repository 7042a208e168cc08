/**
 * Bad paths and URLs given to the CLI: exit 2 with one line naming the flag and path, and nothing left behind
 * (no empty --out, no `.tmp-*` file, no run directory).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { memoryIo } from '../test-support/memory-io.js';

const root = new URL('../../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'mrpo-cli-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; err: string; out: string }> {
  const io = memoryIo('', env, dir);
  const code = await main(args, io);
  return { code, err: io.err(), out: io.out() };
}

function oneLine(err: string): string {
  const lines = err.trim().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0];
}

describe('CLI path and URL errors', () => {
  it('judge steps: a directory as --in exits 2 naming it, and leaves no --out', async () => {
    mkdirSync(join(dir, 'in-dir'), { recursive: true });
    const r = await run(['judge', 'steps', '--judge', 'offline', '--in', 'in-dir', '--out', 'judged.jsonl']);
    expect(r.code).toBe(2);
    expect(oneLine(r.err)).toMatch(/--in in-dir.*is a directory/);
    expect(existsSync(join(dir, 'judged.jsonl'))).toBe(false);
  });

  it('shape: a directory as --out exits 2 naming it, and leaves no .tmp-* file', async () => {
    mkdirSync(join(dir, 'out-dir'), { recursive: true });
    const r = await run(['shape', '--in', join(root, 'example.json'), '--out', 'out-dir']);
    expect(r.code).toBe(2);
    expect(oneLine(r.err)).toMatch(/--out out-dir.*is a directory/);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    expect(readdirSync(join(dir, 'out-dir'))).toEqual([]);
  });

  it('train: a file as --out exits 2 naming it', async () => {
    writeFileSync(join(dir, 'a-file'), 'x');
    const r = await run(['train', '--steps', '1', '--out', 'a-file']);
    expect(r.code).toBe(2);
    expect(oneLine(r.err)).toMatch(/--out a-file.*is a file; expected a directory/);
  });

  it('judge: a --base-url that is not a URL, or carries credentials, exits 2 (not retried as a connection error)', async () => {
    writeFileSync(join(dir, 'answers.jsonl'), '{"id":"a","text":"x"}\n');
    const bad = await run(['judge', 'steps', '--in', 'answers.jsonl', '--base-url', 'not a url', '--no-cache']);
    expect(bad.code).toBe(2);
    expect(oneLine(bad.err)).toMatch(/--base-url.*not a URL/);
    const creds = await run(['judge', 'steps', '--in', 'answers.jsonl', '--base-url', 'http://user:SECRETPW@127.0.0.1:9/v1', '--no-cache', '--max-retries', '0']);
    expect(creds.code).toBe(2);
    expect(oneLine(creds.err)).toMatch(/--base-url.*credentials/);
    expect(creds.err).not.toContain('SECRETPW');
  });

  it('judge --config with bad YAML exits 2 with one line naming the file', async () => {
    writeFileSync(join(dir, 'bad.yaml'), 'model: [unclosed\n  concurrency: 3\n');
    const r = await run(['judge', 'steps', '--judge', 'offline', '--config', 'bad.yaml', '--in', 'answers.jsonl']);
    expect(r.code).toBe(2);
    expect(oneLine(r.err)).toMatch(/bad\.yaml.*not valid YAML/);
  });

  it('train: a dataset the policy cannot use, or an openai judge without a key, exits 2 before the run directory exists', async () => {
    writeFileSync(join(dir, 'items.jsonl'), '{"id":"a","image":"data:image/png;base64,AAAA","question":"q","answer":"a"}\n');
    const items = ['--dataset.name', 'items', '--dataset.train', 'items.jsonl', '--dataset.test', 'items.jsonl', '--steps', '1'];
    const encoded = await run(['train', ...items, '--judge', 'offline', '--out', 'run-encoded']);
    expect(encoded.code).toBe(2);
    expect(encoded.err.trim().split('\n').at(-1)).toMatch(/item a field "image".*raw pixels/);
    expect(existsSync(join(dir, 'run-encoded'))).toBe(false);
    const keyless = await run(['train', '--judge', 'openai', '--steps', '1', '--out', 'run-keyless']);
    expect(keyless.code).toBe(2);
    expect(keyless.err.trim().split('\n').at(-1)).toMatch(/judge.*MRPO_JUDGE_API_KEY/);
    expect(existsSync(join(dir, 'run-keyless'))).toBe(false);
  });

  it('train --no-gold refuse: items without a gold rationale exit 2 naming noGold, before the run directory exists', async () => {
    writeFileSync(join(dir, 'no-gold.jsonl'), '{"id":"g1","image":"data:image/png;base64,AAAA","question":"q","answer":"a"}\n');
    const items = ['--dataset.name', 'items', '--dataset.train', 'no-gold.jsonl', '--dataset.test', 'no-gold.jsonl', '--steps', '1'];
    const r = await run(['train', ...items, '--judge', 'offline', '--no-gold', 'refuse', '--out', 'run-no-gold']);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n').at(-1)).toMatch(/noGold.*1 of 1 training items have no gold rationale \(first: g1\)/);
    expect(existsSync(join(dir, 'run-no-gold'))).toBe(false);
  });

  it('demo: an --out that already holds a demo run exits 2 without suggesting --resume (the demo has none)', async () => {
    mkdirSync(join(dir, 'demo-out', 'mrpo'), { recursive: true });
    writeFileSync(join(dir, 'demo-out', 'mrpo', 'config.json'), '{}');
    const r = await run(['demo', '--steps', '1', '--out', 'demo-out']);
    expect(r.code).toBe(2);
    expect(oneLine(r.err)).toMatch(/--out .*demo-out.*already holds a demo run/);
    expect(r.err).not.toContain('--resume');
  });

  it('an empty input is the same error in judge, infer and analyze: exit 2, one line naming it, no --out left', async () => {
    writeFileSync(join(dir, 'empty.jsonl'), '\n');
    const judged = await run(['judge', 'steps', '--judge', 'offline', '--in', 'empty.jsonl', '--out', 'empty-judged.jsonl']);
    const inferred = await run(['infer', '--in', 'empty.jsonl', '--out', 'empty-inferred.jsonl', '--base-url', 'http://127.0.0.1:9/v1', '--model', 'm', '--family', 'qwen3-vl']);
    const analyzed = await run(['analyze', '--in', 'empty.jsonl']);
    for (const r of [judged, inferred, analyzed]) {
      expect(r.code).toBe(2);
      expect(oneLine(r.err)).toMatch(/empty\.jsonl: no records/);
    }
    expect(existsSync(join(dir, 'empty-judged.jsonl'))).toBe(false);
    expect(existsSync(join(dir, 'empty-inferred.jsonl'))).toBe(false);
  });

  it('analyze refuses a repeated (id, sample) like judge does', async () => {
    writeFileSync(join(dir, 'dup.jsonl'), '{"id":"a","correct":true,"stepLabels":[1]}\n{"id":"a","correct":false,"stepLabels":[0]}\n');
    const r = await run(['analyze', '--in', 'dup.jsonl']);
    expect(r.code).toBe(2);
    expect(oneLine(r.err)).toMatch(/dup\.jsonl line 2.*"a".*already on line 1/);
  });

  it('infer: a --base-url with credentials exits 2 like judge', async () => {
    writeFileSync(join(dir, 'one.jsonl'), '{"id":"a","image":"data:image/png;base64,AAAA","question":"q","answer":"a"}\n');
    const r = await run(['infer', '--in', 'one.jsonl', '--base-url', 'http://u:SECRETPW@127.0.0.1:9/v1', '--model', 'm', '--family', 'qwen3-vl']);
    expect(r.code).toBe(2);
    expect(oneLine(r.err)).toMatch(/--base-url.*credentials/);
    expect(r.err).not.toContain('SECRETPW');
  });
});
