/** parseShapeRequest gives token offsets flat (one Int32Array per completion), whatever form the request used. */
import { describe, expect, it } from 'vitest';
import { parseShapeRequest, shape, type ShapeRequest } from './index.js';
import type { InputError } from '../errors.js';

const text = '<think>A b. C d.</think><answer>x</answer>';
const pairs: Array<[number, number]> = [[0, 7], [7, 9], [9, 11], [11, 14], [14, 16], [16, 24]];
const request = (tokenOffsets: unknown) => ({
  estimator: 'mrpo',
  groups: [{ completions: [{ text, rewards: { answer: 0, process: 0, length: 0 }, stepLabels: [1, 0], tokenOffsets }, { text, rewards: { answer: 1, process: 1, length: 0 } }] }],
});

describe('parseShapeRequest: flat token offsets', () => {
  it('turns [start, end] pairs into one Int32Array start₀, end₀, … with the same numbers', () => {
    const parsed = parseShapeRequest(request(pairs));
    const offsets = parsed.groups[0].completions[0].tokenOffsets;
    expect(offsets).toBeInstanceOf(Int32Array);
    expect(Array.from(offsets as Int32Array)).toEqual([0, 7, 7, 9, 9, 11, 11, 14, 14, 16, 16, 24]);
    expect(parseShapeRequest(request([])).groups[0].completions[0].tokenOffsets).toEqual(new Int32Array(0));
  });

  it('keeps the offsets of each request apart from later ones, small or large', () => {
    const long = 'x'.repeat(40_000);
    const longPairs = Array.from({ length: 20_000 }, (_, i) => [2 * i, 2 * i + 2] as [number, number]); // 40,000 values
    const first = parseShapeRequest(request(pairs)).groups[0].completions[0].tokenOffsets as Int32Array;
    const big = parseShapeRequest({ estimator: 'grpo', groups: [{ completions: [{ text: long, rewards: { answer: 1 }, tokenOffsets: longPairs }] }] });
    // 6,000 × 12 values fill more than one shared block of 65,536
    for (let i = 0; i < 6000; i++) parseShapeRequest(request(pairs.map(([s, e]) => [s, e] as [number, number]).reverse()));
    expect(Array.from(first)).toEqual(pairs.flat());
    const bigOffsets = big.groups[0].completions[0].tokenOffsets as Int32Array;
    expect(bigOffsets.length).toBe(40_000);
    expect([bigOffsets[0], bigOffsets[1], bigOffsets[39_998], bigOffsets[39_999]]).toEqual([0, 2, 39_998, 40_000]);
  });

  it('shapes the flat offsets as the pairs: hand-worked per-token advantages', () => {
    // Steps [7, 11) valid and [12, 16) invalid (K = 2, w₂ = 1); totals 0 and 2 give A = ∓1/(√2 + 1e-4). The first
    // completion is reshaped: tokens of step 1 get |A|, of step 2 −|A|, the others A.
    const a = 1 / (Math.SQRT2 + 1e-4);
    const fromParse = shape(parseShapeRequest(request(pairs)));
    // The same request with pairs, bypassing validation (a library caller building the request itself).
    const fromPairs = shape(request(pairs) as ShapeRequest);
    expect(fromParse).toEqual(fromPairs);
    const got = fromParse.groups[0].completions[0].tokenAdvantages ?? [];
    expect(got.map((x) => x.toFixed(12))).toEqual([-a, a, a, -a, -a, -a].map((x) => x.toFixed(12)));
  });

  it('keeps pairs whose values do not fit an int32, so the end-of-text check names the value given', () => {
    try {
      parseShapeRequest(request([[0, 3_000_000_000]]));
      expect.unreachable();
    } catch (error) {
      expect((error as InputError).message).toMatch(/tokenOffsets\[0\]: token ends at 3000000000, after the end of text \(length 42\)/);
    }
  });
});
