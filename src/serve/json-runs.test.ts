/**
 * jsonBytesWithRuns must give exactly the bytes of JSON.stringify: the expected
 * text in every case here is JSON.stringify's own output for the same value.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeRequest } from '../../bench/serve.bench.js';
import { parseShapeRequest, shape } from '../shape/index.js';
import { jsonBytesWithRuns, MIN_LENGTH, numbersJson } from './json-runs.js';
import { exampleShapeRequest, mixedShapeRequest } from './test-support/fixtures.js';

/** The UTF-8 bytes of JSON.stringify's text. */
const same = (value: unknown): void => {
  const text = JSON.stringify(value) as string | undefined; // undefined for undefined, functions, symbols
  if (text === undefined) expect(() => jsonBytesWithRuns(value)).toThrow(TypeError);
  else expect(jsonBytesWithRuns(value).equals(Buffer.from(text, 'utf8'))).toBe(true);
};

/** Numbers JSON.stringify writes in every form: integers, decimals, exponents, −0, the non-finite ones (written `null`). */
const special = [0, -0, 1, -1, 0.1, 1 / 3, -2.5e-7, 1e21, 1e-7, 123456789012345680000, Number.MAX_VALUE, Number.MIN_VALUE, Number.EPSILON, NaN, Infinity, -Infinity];
const anyNumber = fc.oneof(fc.constantFrom(...special), fc.double(), fc.integer(), fc.double({ noNaN: true, min: -10, max: 10 }));

/** Arrays of numbers in runs (the shape of per-token advantages), sometimes with a non-number slipped in. */
const runArray = fc
  .array(fc.tuple(anyNumber, fc.integer({ min: 1, max: 40 })), { minLength: 0, maxLength: 12 })
  .map((runs) => runs.flatMap(([v, n]) => Array.from({ length: n }, () => v)));
const mixedArray = fc.tuple(runArray, fc.nat(60), fc.constantFrom<unknown>(null, 'x', undefined, true, {}, [1])).map(([a, i, x]) => {
  const b: unknown[] = [...a];
  if (b.length > 0) b[i % b.length] = x;
  return b;
});

const leaf = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), anyNumber, fc.boolean(), fc.constant(null), fc.constant(undefined), runArray, mixedArray);
const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('object'), tie('array')),
  object: fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('0', '10', '__proto__', 'toJSON', 'tokenAdvantages')), tie('tree'), { maxKeys: 6 }),
  array: fc.array(tie('tree'), { maxLength: 6 }),
}));

describe('jsonBytesWithRuns', () => {
  it('equals JSON.stringify on random nested values with long runs of numbers', () => {
    fc.assert(fc.property(tree, (v) => {
        same(v);
      }), { numRuns: 2000 });
  });

  it('writes number arrays as JSON.stringify does, runs or not, with −0, NaN and ±Infinity', () => {
    fc.assert(fc.property(runArray, (a) => {
        expect(numbersJson(a)).toBe(JSON.stringify(a));
      }), { numRuns: 2000 });
    for (const a of [[], [NaN], [NaN, NaN, NaN], [-0, 0, -0], [Infinity, -Infinity, Infinity], special]) expect(numbersJson(a)).toBe(JSON.stringify(a));
    // the non-finite numbers are written null, as JSON has no NaN (JSON.parse reads them back as null)
    expect(numbersJson([NaN, Infinity, 1])).toBe('[null,null,1]');
  });

  it('leaves non-plain objects, toJSON, holes, getters and odd keys to JSON.stringify', () => {
    const long = Array.from({ length: MIN_LENGTH * 2 }, (_, i) => (i < MIN_LENGTH ? 0.25 : -1));
    class Box {
      constructor(readonly xs: number[]) {}
    }
    const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, { a: long, b: 'x' });
    const holes: number[] = [...long];
    holes.length = MIN_LENGTH * 3; // trailing holes: written null
    const withToJSON = { xs: long, toJSON: () => ({ replaced: long.slice(0, MIN_LENGTH) }) };
    const arrayToJSON = Object.assign([...long], { toJSON: () => 'array toJSON' });
    const getter = Object.defineProperty({ before: 1 }, 'xs', { enumerable: true, get: () => long });
    const hidden = Object.defineProperty({ shown: long }, 'hidden', { enumerable: false, value: long });
    for (const v of [
      long,
      { a: long, b: [long, long], c: { d: long } },
      { 2: long, 1: 'one', b: long, [Symbol('s')]: long },
      nullProto,
      new Box(long),
      { box: new Box(long), date: new Date(0), map: new Map([[1, long]]), typed: Float64Array.from(long) },
      holes,
      withToJSON,
      { nested: withToJSON, arr: arrayToJSON },
      getter,
      hidden,
      { u: undefined, f: () => 1, xs: long, n: null },
      [undefined, () => 1, long],
      { deep: JSON.parse(`${'['.repeat(80)}${JSON.stringify(long)}${']'.repeat(80)}`) as unknown },
      'a string',
      42,
      null,
    ])
      same(v);
  });

  it('falls back when the data contains its placeholder text, and still gives the same bytes', () => {
    const long = Array.from({ length: MIN_LENGTH }, () => 1);
    // Whatever placeholder the next call picks starts with NUL + "mrpo-runs-": strings that look like it must survive.
    for (const s of ['\u0000mrpo-runs-', '"\u0000mrpo-runs-0-x\u0000"', '\\"\u0000']) same({ s, long, t: [s, long] });
  });

  it('equals JSON.stringify on real shape() responses, small and at training-batch size', () => {
    for (const estimator of ['grpo', 'gdpo', 'mrpo'] as const) same(shape(parseShapeRequest(mixedShapeRequest(estimator))));
    same(shape(parseShapeRequest(exampleShapeRequest())));
    const big = makeRequest(2);
    const response = shape(parseShapeRequest(JSON.parse(big.body)));
    const runs = response.groups.flatMap((g) => g.completions.map((c) => c.tokenAdvantages?.length ?? 0));
    expect(runs.reduce((a, b) => a + b, 0)).toBe(big.tokens); // every token's advantage is in the response
    same(response);
  });
});
