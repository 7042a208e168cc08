import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InputError } from '../errors.js';
import { openResumableJsonl, readJsonlRecords } from './resumable-jsonl.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mrpo-jsonl-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const key = (r: Record<string, unknown>) => String(r.id);

describe('resumable JSONL output', () => {
  it('starts empty, appends whole lines, and on reopen knows what is done', async () => {
    const path = join(dir, 'sub', 'out.jsonl');
    const a = await openResumableJsonl(path, key);
    expect(a.done.size).toBe(0);
    await Promise.all([a.append({ id: 'x', v: 1 }), a.append({ id: 'y', v: 2 })]);
    await a.close();
    const b = await openResumableJsonl(path, key);
    expect([...b.done].sort()).toEqual(['x', 'y']);
    expect(b.existing).toBe(2);
    expect(b.repaired).toBe(false);
    await b.append({ id: 'z' });
    await b.close();
    expect(readFileSync(path, 'utf8')).toBe('{"id":"x","v":1}\n{"id":"y","v":2}\n{"id":"z"}\n');
  });

  it('removes a cut-off last line', async () => {
    const path = join(dir, 'out.jsonl');
    writeFileSync(path, '{"id":"x"}\n{"id":"y","v"');
    const r = await openResumableJsonl(path, key);
    expect(r.repaired).toBe(true);
    expect([...r.done]).toEqual(['x']);
    await r.close();
    expect(readFileSync(path, 'utf8')).toBe('{"id":"x"}\n');
  });

  it('drops records that `keep` rejects, so they are done again', async () => {
    const path = join(dir, 'out.jsonl');
    writeFileSync(path, '{"id":"x","ok":true}\n{"id":"y","ok":false}\n{"id":"z","ok":true}\n');
    const r = await openResumableJsonl(path, key, (rec) => rec.ok === true);
    expect(r.dropped).toBe(1);
    expect([...r.done].sort()).toEqual(['x', 'z']);
    await r.close();
    expect(readFileSync(path, 'utf8')).toBe('{"id":"x","ok":true}\n{"id":"z","ok":true}\n');
  });

  it('a broken line in the middle is an error naming it', async () => {
    const path = join(dir, 'out.jsonl');
    writeFileSync(path, '{"id":"x"}\nnot json\n{"id":"z"}\n');
    await expect(openResumableJsonl(path, key)).rejects.toThrow(/out\.jsonl line 2: existing output is not valid JSON/);
  });
});

describe('readJsonlRecords', () => {
  it('yields objects with line numbers, skipping blank lines', async () => {
    const got = [];
    for await (const r of readJsonlRecords(Readable.from(['{"a":1}\n\n{"a":2}\n']), 'in')) got.push(r);
    expect(got).toEqual([
      { record: { a: 1 }, line: 1 },
      { record: { a: 2 }, line: 3 },
    ]);
  });
  it('names the file and line of a bad record, and a missing file', async () => {
    const bad = async (text: string) => {
      for await (const _ of readJsonlRecords(Readable.from([text]), 'in.jsonl')) void _;
    };
    await expect(bad('{"a":1}\n[1]\n')).rejects.toThrow('in.jsonl line 2: expected a JSON object');
    await expect(bad('{"a":')).rejects.toThrow(/in\.jsonl line 1: not valid JSON/);
    const missing = async () => {
      for await (const _ of readJsonlRecords(join(dir, 'nope.jsonl'), 'nope.jsonl')) void _;
    };
    await expect(missing()).rejects.toBeInstanceOf(InputError);
  });
});
