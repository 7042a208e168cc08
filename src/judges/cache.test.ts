import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
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

  it('values read back are frozen, and rows holding the same text share one value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mrpo-cache-'));
    dirs.push(dir);
    const path = join(dir, 'judge.sqlite');
    const a = openVerdictCache(path);
    a.set('m', 'step-v1', 'h1', { verdicts: [{ alignment: 1, contribution: 1 }], missing: 0, extra: 0 });
    a.set('m', 'step-v1', 'h2', { verdicts: [{ alignment: 1, contribution: 1 }], missing: 0, extra: 0 });
    a.set('m', 'step-v1', 'h3', { verdicts: [{ alignment: 0, contribution: 1 }], missing: 1, extra: 0 });
    a.close();
    const b = openVerdictCache(path);
    const one = b.get('m', 'step-v1', 'h1') as { verdicts: Array<{ alignment: number }> };
    expect(b.get('m', 'step-v1', 'h2')).toBe(one);
    expect(b.get('m', 'step-v1', 'h3')).toEqual({ verdicts: [{ alignment: 0, contribution: 1 }], missing: 1, extra: 0 });
    expect(() => {
      one.verdicts[0].alignment = 0;
    }).toThrow(TypeError);
    expect(() => one.verdicts.push({ alignment: 0 })).toThrow(TypeError);
    expect(b.get('m', 'step-v1', 'h1')).toEqual({ verdicts: [{ alignment: 1, contribution: 1 }], missing: 0, extra: 0 });
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

  it('hashInputs is the SHA-256 of the sorted-key JSON text (pinned: existing caches keep their keys)', () => {
    // Expected values: `printf '%s' '<text>' | sha256sum` of the JSON written out by hand.
    // {"goldAnswer":"A","goldReasoning":"R","image":"d","kind":"steps","question":"Q?","settings":{"reasoningEffort":null,"temperature":null},"steps":["s1","s2"]}
    const step = { kind: 'steps', question: 'Q?', goldAnswer: 'A', goldReasoning: 'R', steps: ['s1', 's2'], image: 'd', settings: { temperature: null, reasoningEffort: null } };
    expect(hashInputs(step)).toBe('21338622b0ab00bb6b9634837ec58757c24162328b0a3e3a80b06fed8c836c69');
    // {"a":[1,null,"x",{"b":2,"c":null}],"n":null,"s":"é\"q","z":{"x":true,"y":[]}}: undefined members left out, an undefined element is null.
    const odd = { z: { y: [], x: true }, s: 'é"q', a: [1, undefined, 'x', { c: null, b: 2, d: undefined }], n: null, u: undefined };
    expect(hashInputs(odd)).toBe('acd5fb0b33a9d06b3af1d4fe226a4f986b0df3c6766604201a960839948b913a');
    // Already in order (no re-sorting needed) or not: the same text, so the same hash.
    expect(hashInputs({ a: [1, null, 'x', { b: 2, c: null }], n: null, s: 'é"q', z: { x: true, y: [] } })).toBe('acd5fb0b33a9d06b3af1d4fe226a4f986b0df3c6766604201a960839948b913a');
  });

  it('tables larger than the in-memory limit are looked up row by row, before and after reopening', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mrpo-cache-'));
    dirs.push(dir);
    const path = join(dir, 'judge.sqlite');
    const limits = { memoryVerdicts: 3, memoryImages: 2 };
    const a = openVerdictCache(path, limits);
    for (let i = 0; i < 5; i++) a.set('m', 'v1', `h${i}`, { n: i }); // the map is dropped at the 4th row
    for (let i = 0; i < 4; i++) a.setImageDigest(`s${i}`, 'p', `d${i}`);
    a.set('m', 'v2', 'h0', { other: true }); // another prompt version has a map of its own
    expect([0, 1, 2, 3, 4].map((i) => a.get('m', 'v1', `h${i}`))).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
    expect([0, 1, 2, 3].map((i) => a.imageDigest(`s${i}`, 'p'))).toEqual(['d0', 'd1', 'd2', 'd3']);
    expect(a.get('m', 'v1', 'h5')).toBeUndefined();
    a.close();
    const b = openVerdictCache(path, limits); // 5 rows > 3: never read into memory
    expect([4, 0].map((i) => b.get('m', 'v1', `h${i}`))).toEqual([{ n: 4 }, { n: 0 }]);
    expect(b.get('m', 'v2', 'h0')).toEqual({ other: true });
    expect(b.imageDigest('s3', 'p')).toBe('d3');
    expect(b.imageDigest('s9', 'p')).toBeUndefined();
    expect(b.size()).toBe(6);
    b.close();
  });

  it('pending writes are read back at once and committed together; a kill after the turn keeps them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mrpo-cache-'));
    dirs.push(dir);
    const path = join(dir, 'judge.sqlite');
    const cache = openVerdictCache(path);
    cache.set('m', 'v1', 'h1', { correct: true });
    cache.setImageDigest('src1', 'prep', 'sent1');
    expect(cache.get('m', 'v1', 'h1')).toEqual({ correct: true });
    expect(cache.imageDigest('src1', 'prep')).toBe('sent1');
    const other = new Database(path, { readonly: true });
    expect(other.prepare('SELECT COUNT(*) AS n FROM verdicts').get()).toEqual({ n: 0 }); // not yet committed
    cache.flush();
    expect(other.prepare('SELECT COUNT(*) AS n FROM verdicts').get()).toEqual({ n: 1 });
    other.close();
    cache.close();

    // A process that stores 300 verdicts, lets one event-loop turn pass, and is then killed (SIGKILL, no close()).
    const script = [
      `import { openVerdictCache } from ${JSON.stringify(new URL('./cache.ts', import.meta.url).pathname)};`,
      `const c = openVerdictCache(${JSON.stringify(path)});`,
      `for (let i = 0; i < 300; i++) c.set('m', 'v1', 'k' + i, { correct: i % 2 === 0 });`,
      `setImmediate(() => setImmediate(() => process.kill(process.pid, 'SIGKILL')));`,
    ].join('\n');
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.signal).toBe('SIGKILL');
    const reopened = openVerdictCache(path);
    expect(reopened.size()).toBe(301);
    expect(reopened.get('m', 'v1', 'k299')).toEqual({ correct: false });
    reopened.close();
  });
});
