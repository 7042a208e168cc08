import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hashInputs, openVerdictCache } from './cache.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('verdict cache', () => {
  it('persists verdicts across reopening the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mrpo-cache-'));
    dirs.push(dir);
    const path = join(dir, 'sub', 'judge.sqlite');
    const a = openVerdictCache(path);
    a.set('gpt-5-mini', 'step-v1', 'h1', { verdicts: [{ alignment: 1, contribution: 0 }], missing: 0, extra: 0 });
    a.set('gpt-5-mini', 'answer-v1', 'h1', { correct: true });
    a.close();
    const b = openVerdictCache(path);
    expect(b.get('gpt-5-mini', 'step-v1', 'h1')).toEqual({ verdicts: [{ alignment: 1, contribution: 0 }], missing: 0, extra: 0 });
    expect(b.get('gpt-5-mini', 'answer-v1', 'h1')).toEqual({ correct: true });
    expect(b.get('other-model', 'step-v1', 'h1')).toBeUndefined();
    expect(b.get('gpt-5-mini', 'step-v2', 'h1')).toBeUndefined();
    expect(b.size()).toBe(2);
    b.close();
  });

  it('a file that is not SQLite is an error naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mrpo-cache-'));
    dirs.push(dir);
    const path = join(dir, 'judge.sqlite');
    writeFileSync(path, 'this is not a database, just some text that is long enough to have a header');
    expect(() => openVerdictCache(path)).toThrow(/judge\.sqlite: not a usable verdict cache/);
  });

  it('hashInputs ignores key order but not values', () => {
    expect(hashInputs({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(hashInputs({ b: { d: 'x', c: [1, 2] }, a: 1 }));
    expect(hashInputs({ a: 1, b: { c: [1, 2] } })).not.toBe(hashInputs({ a: 1, b: { c: [2, 1] } }));
    expect(hashInputs({ a: 'x' })).toMatch(/^[0-9a-f]{64}$/);
  });
});
