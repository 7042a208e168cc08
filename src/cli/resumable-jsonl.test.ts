import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openResumableJsonl } from './resumable-jsonl.js';

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

  it('lines appended together, during a write or between writes keep their order, and each is in the file when its append resolves', async () => {
    const path = join(dir, 'out.jsonl');
    const out = await openResumableJsonl(path, key);
    const first = Array.from({ length: 300 }, (_, i) => out.append({ id: `a${i}` })); // one turn
    await first[0];
    expect(readFileSync(path, 'utf8').split('\n').filter(Boolean)).toHaveLength(300);
    const second = out.append({ id: 'b0' });
    const third = out.append({ id: 'b1' });
    await second;
    expect(readFileSync(path, 'utf8').endsWith('{"id":"b0"}\n{"id":"b1"}\n')).toBe(true);
    await third;
    for (let i = 0; i < 50; i++) {
      const p = out.append({ id: `c${i}` });
      if (i % 7 === 0) await p;
      if (i % 7 === 0) expect(readFileSync(path, 'utf8').endsWith(`{"id":"c${i}"}\n`)).toBe(true);
    }
    await out.close();
    const ids = readFileSync(path, 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as { id: string }).id);
    const expected = [...Array.from({ length: 300 }, (_, i) => `a${i}`), 'b0', 'b1', ...Array.from({ length: 50 }, (_, i) => `c${i}`)];
    expect(ids).toEqual(expected);
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
    await expect(openResumableJsonl(path, key)).rejects.toThrow(/out\.jsonl line 2: not valid JSON \(.*\); this is the existing output: fix or remove the file to resume/);
  });
});
