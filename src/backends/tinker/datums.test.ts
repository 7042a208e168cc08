import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { advantageScale_B_T, inputLength, rlDatum, sftDatum } from './datums.js';
import type { InputChunk } from './render/chat.js';

const jpeg = new Uint8Array([1, 2, 3]);
// prompt: [10, 11] <image: 2 positions> [12]  → P = 5 positions
const prompt: InputChunk[] = [
  { kind: 'tokens', tokens: [10, 11] },
  { kind: 'image', jpeg, expectedTokens: 2 },
  { kind: 'tokens', tokens: [12] },
];

describe('rlDatum', () => {
  it('shifts targets by one and puts logprobs/advantages on completion positions only', () => {
    const d = rlDatum(prompt, [20, 21, 22], [-0.1, -0.2, -0.3], [1.5, -2, 0.5]);
    // model input = 10 11 [img img] 12 20 21  (N = 5 + 3 − 1 = 7)
    expect(d.modelInput).toEqual([
      { kind: 'tokens', tokens: [10, 11] },
      { kind: 'image', jpeg, expectedTokens: 2 },
      { kind: 'tokens', tokens: [12, 20, 21] },
    ]);
    expect(d.lossFnInputs.target_tokens).toEqual({ dtype: 'int64', data: [11, 0, 0, 12, 20, 21, 22] });
    expect(d.lossFnInputs.logprobs).toEqual({ dtype: 'float32', data: [0, 0, 0, 0, -0.1, -0.2, -0.3] });
    expect(d.lossFnInputs.advantages).toEqual({ dtype: 'float32', data: [0, 0, 0, 0, 1.5, -2, 0.5] });
    expect(inputLength(prompt, 3)).toBe(7);
  });

  it('refuses an empty completion and mismatched lengths', () => {
    expect(() => rlDatum(prompt, [], [], [])).toThrow(/empty/);
    expect(() => rlDatum(prompt, [1, 2], [0], [0, 0])).toThrow(/2 tokens but 1 logprobs/);
  });
});

describe('sftDatum', () => {
  it('puts the weights on the target positions of the completion tokens', () => {
    const d = sftDatum([{ kind: 'tokens', tokens: [5, 6] }], [7, 8], [0.25, 0.25]);
    expect(d.lossFnInputs.target_tokens.data).toEqual([6, 7, 8]);
    expect(d.lossFnInputs.weights.data).toEqual([0, 0.25, 0.25]);
  });
});

describe('advantageScale_B_T', () => {
  const lengths = [2, 4];
  it('seq-mean-token-mean: 1/(T_b·B)', () => {
    const s = advantageScale_B_T(lengths, 'seq-mean-token-mean', undefined, 'sum', [9, 9]);
    expect([...s[0]]).toEqual([1 / 4, 1 / 4]);
    expect([...s[1]]).toEqual([1 / 8, 1 / 8, 1 / 8, 1 / 8]);
  });
  it('token-mean: 1/ΣT', () => {
    const s = advantageScale_B_T(lengths, 'token-mean', undefined, 'sum', [9, 9]);
    expect([...s[0], ...s[1]]).toEqual(new Array(6).fill(1 / 6));
  });
  it('seq-sum-const: 1/(B·C)', () => {
    const s = advantageScale_B_T(lengths, 'seq-sum-const', 10, 'sum', [9, 9]);
    expect([...s[0], ...s[1]]).toEqual(new Array(6).fill(1 / 20));
  });
  it('sequence-mean servers: multiplied by B·N_b to undo the server mean', () => {
    const s = advantageScale_B_T(lengths, 'token-mean', undefined, 'sequence-mean', [5, 7]);
    expect([...s[0]]).toEqual([(1 / 6) * 2 * 5, (1 / 6) * 2 * 5]);
    expect(s[1][0]).toBeCloseTo((1 / 6) * 2 * 7, 12);
  });

  it('the service sum of −r·A′ equals the aggregated loss (property, r random)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.tuple(fc.double({ min: -3, max: 3, noNaN: true }), fc.double({ min: 0.5, max: 1.5, noNaN: true })), { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 5 }),
        (rows) => {
          const lengths_B = rows.map((r) => r.length);
          const scale = advantageScale_B_T(lengths_B, 'seq-mean-token-mean', undefined, 'sum', lengths_B);
          let service = 0;
          rows.forEach((row, b) => row.forEach(([a, r], t) => (service += -r * a * scale[b][t])));
          // reference: mean over sequences of the mean over tokens of −r·A, written out
          const reference = rows.reduce((s, row) => s + row.reduce((q, [a, r]) => q - r * a, 0) / row.length, 0) / rows.length;
          expect(service).toBeCloseTo(reference, 9);
        },
      ),
    );
  });
});
