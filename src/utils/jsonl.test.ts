/**
 * The one JSONL reader: the same rules for text and streams (BOM, CRLF, blank
 * lines, line numbers), errors that name the file and line, objects-only mode,
 * and the torn-last-line rule (dropped only when asked, only when the last line
 * has no newline and does not parse).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InputError } from '../errors.js';
import { parseJsonl, readJsonl, type JsonlOptions } from './jsonl.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mrpo-jsonl-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function collect(source: string | NodeJS.ReadableStream, options: JsonlOptions) {
  const out = [];
  for await (const l of readJsonl(source, options)) out.push(l);
  return out;
}

describe('parseJsonl and readJsonl', () => {
  const text = '\uFEFF{"a":1}\r\n\n  \n{"a":2}\n[3]\n';
  const expected = [
    { value: { a: 1 }, line: 1, text: '\uFEFF{"a":1}' },
    { value: { a: 2 }, line: 4, text: '{"a":2}' },
    { value: [3], line: 5, text: '[3]' },
  ];

  it('skip the BOM, CRLF endings and blank lines, and number lines from 1 counting blanks — text and stream alike', async () => {
    expect(parseJsonl(text, { name: 'x' }).map(({ value, line }) => ({ value, line }))).toEqual(expected.map(({ value, line }) => ({ value, line })));
    expect((await collect(Readable.from([text]), { name: 'x' })).map(({ value, line }) => ({ value, line }))).toEqual(expected.map(({ value, line }) => ({ value, line })));
    writeFileSync(join(dir, 'f.jsonl'), text);
    expect((await collect(join(dir, 'f.jsonl'), { name: 'f.jsonl' })).map((l) => l.line)).toEqual([1, 4, 5]);
  });

  it('name the file and line of a line that is not JSON, with the hint', async () => {
    const bad = '{"a":1}\n{"a":\n{"a":3}\n';
    expect(() => parseJsonl(bad, { name: 'in.jsonl' })).toThrow(/^in\.jsonl line 2: not valid JSON \(/);
    expect(() => parseJsonl(bad, { name: 'in.jsonl', hint: 'fix it' })).toThrow(/; fix it$/);
    await expect(collect(Readable.from([bad]), { name: 'in.jsonl' })).rejects.toThrow(/^in\.jsonl line 2: not valid JSON \(/);
    expect(() => parseJsonl(bad, { name: 'in.jsonl' })).toThrow(InputError);
  });

  it('with objects, refuse a line that is not a JSON object', async () => {
    expect(() => parseJsonl('{"a":1}\n[1]\n', { name: 'in.jsonl', objects: true })).toThrow('in.jsonl line 2: expected a JSON object, got [1]');
    await expect(collect(Readable.from(['{"a":1}\n"s"\n']), { name: 'in.jsonl', objects: true })).rejects.toThrow('in.jsonl line 2: expected a JSON object, got "s"');
  });

  it('drop a torn last line only with torn: drop, only without a newline after it, and only when it does not parse', () => {
    expect(() => parseJsonl('{"a":1}\n{"a":', { name: 'log' })).toThrow(/log line 2: not valid JSON/);
    expect(parseJsonl('{"a":1}\n{"a":', { name: 'log', torn: 'drop' }).map((l) => l.value)).toEqual([{ a: 1 }]);
    expect(() => parseJsonl('{"a":1}\n{"a":\n', { name: 'log', torn: 'drop' })).toThrow(/log line 2: not valid JSON/); // newline-terminated: whole, so bad
    expect(() => parseJsonl('{"a":\n{"a":1}', { name: 'log', torn: 'drop' })).toThrow(/log line 1: not valid JSON/); // only the last line
    expect(parseJsonl('{"a":1}\n{"a":2}', { name: 'log', torn: 'drop' }).map((l) => l.value)).toEqual([{ a: 1 }, { a: 2 }]); // a whole last line is kept
  });

  it('call a missing file "file not found"', async () => {
    await expect(collect(join(dir, 'nope.jsonl'), { name: 'nope.jsonl' })).rejects.toThrow('nope.jsonl: file not found');
  });
});
