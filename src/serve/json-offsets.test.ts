/**
 * parseWithFlatOffsets: the fast parse of /v1/shape bodies gives JSON.parse's
 * value with each completion's pairs as one flat Int32Array, and gives up
 * (undefined: the caller parses the ordinary way) on anything but the plain form.
 * Expected values are written out by hand or come from JSON.parse itself.
 */
import { describe, expect, it } from 'vitest';
import { createRng } from '../utils/rng.js';
import { parseWithFlatOffsets } from './json-offsets.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

/** The value with every Int32Array turned back into [start, end] pairs (what JSON.parse gives). */
function asPairs(value: unknown): unknown {
  if (value instanceof Int32Array) return Array.from({ length: value.length / 2 }, (_, i) => [value[2 * i], value[2 * i + 1]]);
  if (Array.isArray(value)) return value.map(asPairs);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asPairs(v)]));
  return value;
}

const body = (completion: string, extra = ''): string => `{"estimator":"mrpo"${extra},"groups":[{"completions":[${completion}]}]}`;

describe('parseWithFlatOffsets', () => {
  it('reads the pairs into one flat Int32Array, the rest as JSON.parse does', () => {
    const parsed = parseWithFlatOffsets(bytes(body('{"text":"abcd","tokenOffsets":[[0,1],[1,4]],"stepLabels":[1]}'))) as {
      groups: Array<{ completions: Array<Record<string, unknown>> }>;
    };
    const c = parsed.groups[0].completions[0];
    expect(c.tokenOffsets).toBeInstanceOf(Int32Array);
    expect(Array.from(c.tokenOffsets as Int32Array)).toEqual([0, 1, 1, 4]);
    expect(c.text).toBe('abcd');
    expect(c.stepLabels).toEqual([1]);
  });

  it('accepts whitespace anywhere JSON does, an empty list and the largest int32', () => {
    const text = body('{ "text" : "ab" , "tokenOffsets" :\n [ [ 0 ,\t1 ] ,\r\n[1,2147483647]\n] }, {"text":"","tokenOffsets":[ ]}');
    const parsed = parseWithFlatOffsets(bytes(text)) as { groups: Array<{ completions: Array<{ tokenOffsets: Int32Array }> }> };
    expect(Array.from(parsed.groups[0].completions[0].tokenOffsets)).toEqual([0, 1, 1, 2147483647]);
    expect(parsed.groups[0].completions[1].tokenOffsets).toEqual(new Int32Array(0));
    expect(asPairs(parsed)).toEqual(JSON.parse(text));
  });

  it('keeps strings that look like the key, escaped quotes and backslashes, and UTF-8 text intact', () => {
    const texts = [
      'he wrote \\"tokenOffsets\\":[[0,1]] in the text',
      'ends with a backslash \\\\',
      '"tokenOffsets":[[9,9]]'.replace(/"/g, '\\"'),
      'émoji 🫁 and ünïcode',
    ];
    for (const t of texts) {
      const text = body(`{"text":"${t}","tokenOffsets":[[0,2]]},{"text":"tokenOffsets","tokenOffsets":[[1,2]]}`);
      const parsed = parseWithFlatOffsets(bytes(text));
      expect(parsed, t).not.toBeUndefined();
      expect(asPairs(parsed)).toEqual(JSON.parse(text));
    }
  });

  it('leaves a body without pair-form offsets to the ordinary parse, and base64 offsets alone', () => {
    expect(parseWithFlatOffsets(bytes(body('{"text":"ab"}')))).toBeUndefined();
    expect(parseWithFlatOffsets(bytes(body('{"text":"ab","tokenOffsets":"AAAAAAEAAAA="}')))).toBeUndefined();
    // one base64 completion beside a pair-form one: the string stays a string
    const mixed = body('{"text":"ab","tokenOffsets":"AAAAAAEAAAA="},{"text":"ab","tokenOffsets":[[0,1]]}');
    expect(asPairs(parseWithFlatOffsets(bytes(mixed)))).toEqual(JSON.parse(mixed));
  });

  it('gives up on every other number form, other nesting, misplaced or duplicate keys and bad JSON', () => {
    const cases = [
      '[[0,-1]]',
      '[[-0,1]]',
      '[[0,1.0]]',
      '[[0,1e2]]',
      '[[0,01]]',
      '[[00,1]]',
      '[[0,12345678901]]',
      '[[0,2147483648]]',
      '[[0,1,2]]',
      '[[0]]',
      '[0,1]',
      '[[0,1],]',
      '[[0,1]',
      '[[0,"1"]]',
      '[[0,1] [1,2]]',
    ];
    for (const offsets of cases) expect(parseWithFlatOffsets(bytes(body(`{"text":"ab","tokenOffsets":${offsets}}`))), offsets).toBeUndefined();
    expect(parseWithFlatOffsets(bytes(body('{"text":"ab","tokenOffsets":[[0,1]],"tokenOffsets":[[0,2]]}')))).toBeUndefined();
    expect(parseWithFlatOffsets(bytes(body('{"text":"ab","tokenOffsets":[[0,1]]}', ',"options":{"tokenOffsets":[[0,1]]}')))).toBeUndefined();
    expect(parseWithFlatOffsets(bytes(`${body('{"text":"ab","tokenOffsets":[[0,1]]}')},`))).toBeUndefined();
    expect(parseWithFlatOffsets(bytes('{"groups":[{"completions":[{"text":"ab","tokenOffsets":[[0,1]]}]}'))).toBeUndefined();
    expect(parseWithFlatOffsets(bytes('{"text":"unterminated, "tokenOffsets":[[0,1]]'))).toBeUndefined();
  });

  it('equals JSON.parse on random requests, compact and indented', () => {
    const rng = createRng(7);
    for (let trial = 0; trial < 40; trial++) {
      const groups = Array.from({ length: 1 + rng.int(3) }, () => ({
        completions: Array.from({ length: 1 + rng.int(4) }, () => {
          const n = rng.int(40);
          const offsets: number[][] = [];
          for (let t = 0, s = 0; t < n; t++, s += rng.int(5)) offsets.push([s, s + rng.int(4)]);
          const text = Array.from({ length: rng.int(30) }, () => ['a', '"', '\\', 'é', '🫁', ' ', '\n', 'tokenOffsets'][rng.int(8)]).join('');
          return rng.next() < 0.2 ? { text } : { text, tokenOffsets: offsets, stepLabels: [1, 0] };
        }),
      }));
      const request = { estimator: 'mrpo', groups };
      for (const text of [JSON.stringify(request), JSON.stringify(request, null, 2)]) {
        const parsed = parseWithFlatOffsets(bytes(text));
        const hasOffsets = groups.some((g) => g.completions.some((c) => 'tokenOffsets' in c));
        if (!hasOffsets) expect(parsed).toBeUndefined();
        else expect(asPairs(parsed)).toEqual(JSON.parse(text));
      }
    }
  });
});
