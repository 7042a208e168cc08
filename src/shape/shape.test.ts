import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseShapeRequest, shape } from './index.js';
import { InputError } from '../errors.js';

const think = (...sentences: string[]) => `<think>${sentences.join(' ')}</think>`;

/**
 * Two completions of one group: the first with steps [7,11) and [12,16), labels [1, 0], all rewards 0 and the
 * given token offsets; the second with answer and process rewards 1.
 */
function twoStepExample(tokenOffsets: Array<[number, number]> | Int32Array) {
  const text = '<think>A b. C d.</think><answer>x</answer>';
  return shape(
    parseShapeRequest({
      estimator: 'mrpo',
      groups: [{ completions: [{ text, rewards: { answer: 0, process: 0, length: 0 }, stepLabels: [1, 0], tokenOffsets }, { text, rewards: { answer: 1, process: 1, length: 0 } }] }],
    }),
  );
}

describe('shape: rewards given', () => {
  it('uses given rewards as is and computes GRPO advantages (hand-computed)', () => {
    const res = shape(
      parseShapeRequest({
        estimator: 'grpo',
        groups: [{ completions: [{ text: 'a', rewards: { answer: 1, process: 0.5, length: 0 } }, { text: 'b', rewards: { answer: 0, process: 0, length: -0.5 } }] }],
      }),
    );
    const [c0, c1] = res.groups[0].completions;
    expect(c0.rewards).toEqual({ answer: 1, process: 0.5, length: 0, total: 1.5 });
    expect(c1.rewards).toEqual({ answer: 0, process: 0, length: -0.5, total: -0.5 });
    // totals 1.5, −0.5: mean 0.5, sample std √2
    expect(c0.advantage).toBeCloseTo(1 / (Math.SQRT2 + 1e-4), 12);
    expect(c1.advantage).toBeCloseTo(-1 / (Math.SQRT2 + 1e-4), 12);
    expect(c0.steps).toEqual([]);
    expect(c0.tokenAdvantages).toBeUndefined();
  });

  it('computes absent process and length rewards from labels and steps', () => {
    const text = think('A.', 'B.', 'C.') + '<answer>x</answer>';
    const res = shape(
      parseShapeRequest({
        estimator: 'mrpo',
        groups: [{ completions: [{ text, rewards: { answer: 0 }, stepLabels: [1, 0] }, { text: 'no think', rewards: { answer: 1 } }] }],
      }),
    );
    const [c0, c1] = res.groups[0].completions;
    expect(c0.rewards.process).toBeCloseTo(1 / 3, 12); // 1 valid of K = 3 (missing label invalid)
    expect(c0.rewards.length).toBe(-0.25); // K = 3 < 4
    expect(c1.rewards).toEqual({ answer: 1, process: 0, length: -1, total: 0 });
    expect(c0.steps.map((s) => s.valid)).toEqual([true, false, false]);
    // c0 is incorrect (answer 0 ≤ τ) with labels: reshaped. w for K = 3: 2.72, 1.65, 1.
    expect(c0.steps.map((s) => s.weight)).toEqual([undefined, 1.65, 1]);
    const a = Math.abs(c0.advantage);
    expect(c0.steps[1].advantage).toBeCloseTo(-1.65 * a, 12);
    expect(res.metrics['labels/shorter_than_steps']).toBe(1);
    expect(res.metrics['shape/reshaped']).toBe(1);
  });

  it('returns per-token advantages and the unmapped-step count when offsets are given', () => {
    const res = twoStepExample([[0, 7], [7, 11], [11, 16], [16, 42]]);
    const c = res.groups[0].completions[0];
    const a = c.advantage; // negative: lower total
    expect(a).toBeLessThan(0);
    // w for K = 2: e → 2.72, 1
    expect(c.tokenAdvantages).toHaveLength(4);
    expect(c.tokenAdvantages![0]).toBeCloseTo(a, 12);
    expect(c.tokenAdvantages![1]).toBeCloseTo(Math.abs(a), 12);
    expect(c.tokenAdvantages![2]).toBeCloseTo(-1 * Math.abs(a), 12);
    expect(c.tokenAdvantages![3]).toBeCloseTo(a, 12);
    expect(c.unmappedSteps).toBe(0);
  });
});

describe('shape: answer reward computed from gold', () => {
  it('gives 1.0 to an equivalent answer ("two" = "2") and a lexical score otherwise', () => {
    const res = shape(
      parseShapeRequest({
        estimator: 'grpo',
        groups: [
          {
            gold: { answer: '2' },
            completions: [
              { text: `${think('Count.')}<answer>two</answer>` },
              { text: `${think('Count.')}<answer>Three</answer>` },
              { text: `${think('Count.')}<answer></answer>` },
            ],
          },
        ],
      }),
    );
    const [c0, c1, c2] = res.groups[0].completions;
    expect(c0.rewards.answer).toBe(1);
    expect(c0.answerMatch?.equivalent).toBe(true);
    expect(c1.rewards.answer).toBe(0);
    expect(c1.answer).toBe('Three');
    expect(c2.rewards.answer).toBe(0); // an empty answer scores 0
    expect(res.answerComponents).toEqual(['rouge1', 'bleu1']);
  });

  it('mixes ROUGE-1 and BLEU-1, renormalised over the active components by default', () => {
    // pred "the left lung", gold "left lung": ROUGE-1 F = 0.8, BLEU-1 = 2/3 (reference-facts §5)
    const req = (renormalize: boolean) =>
      parseShapeRequest({
        estimator: 'grpo',
        options: { renormalize },
        groups: [{ gold: { answer: 'left lung' }, completions: [{ text: '<answer>the left lung</answer>' }, { text: '<answer>left lung</answer>' }] }],
      });
    expect(shape(req(true)).groups[0].completions[0].rewards.answer).toBeCloseTo((0.25 * 0.8 + 0.25 * (2 / 3)) / 0.5, 9);
    expect(shape(req(false)).groups[0].completions[0].rewards.answer).toBeCloseTo(0.25 * 0.8 + 0.25 * (2 / 3), 9);
  });
});

describe('parseShapeRequest errors name the JSON path', () => {
  const bad = (json: unknown) => {
    try {
      parseShapeRequest(json, 'req.json');
    } catch (error) {
      expect(error).toBeInstanceOf(InputError);
      return (error as Error).message;
    }
    throw new Error('expected an InputError');
  };
  it('wrong types, unknown estimators and keys', () => {
    expect(bad({ estimator: 'grpo', groups: [{ completions: [{ text: 1, rewards: { answer: 1 } }] }] })).toMatch(
      /^req\.json: \$\.groups\[0\]\.completions\[0\]\.text: expected string, received number/,
    );
    expect(bad({ estimator: 'ppo', groups: [] })).toMatch(/\$\.estimator: expected one of "grpo"\|"gdpo"\|"mrpo"/);
    expect(bad({ estimator: 'grpo', groups: [], option: {} })).toMatch(/\$: Unrecognized key: "option"/);
    expect(bad([])).toMatch(/\$: expected object, received array/);
  });
  it('bad labels, offsets and a missing gold', () => {
    expect(bad({ estimator: 'mrpo', groups: [{ completions: [{ text: 'x', rewards: { answer: 1 }, stepLabels: [1, 2] }] }] })).toMatch(/\$\.groups\[0\]\.completions\[0\]\.stepLabels\[1\]/);
    expect(bad({ estimator: 'mrpo', groups: [{ completions: [{ text: 'abc', rewards: { answer: 1 }, tokenOffsets: [[0, 1], [2, 1]] }] }] })).toMatch(
      /\$\.groups\[0\]\.completions\[0\]\.tokenOffsets\[1\]: expected a pair/,
    );
    expect(bad({ estimator: 'mrpo', groups: [{ completions: [{ text: 'abc', rewards: { answer: 1 }, tokenOffsets: [[0, 9]] }] }] })).toMatch(/tokenOffsets\[0\]: token ends at 9, after the end of text \(length 3\)/);
    expect(bad({ estimator: 'mrpo', groups: [{ completions: [{ text: 'abc' }] }] })).toMatch(/\$\.groups\[0\]\.completions\[0\]\.rewards\.answer: required when the group has no gold\.answer/);
    expect(bad({ estimator: 'mrpo', groups: [{ completions: [] }] })).toMatch(/\$\.groups\[0\]\.completions: expected at least one completion/);
    expect(bad({ estimator: 'mrpo', options: { minSteps: 5, maxSteps: 2 }, groups: [] })).toMatch(/\$\.options\.maxSteps: minSteps must not exceed maxSteps/);
    // K_max = 0 would divide by zero in R_len (−Infinity, then NaN advantages serialised as null).
    expect(bad({ estimator: 'mrpo', options: { maxSteps: 0 }, groups: [] })).toMatch(/\$\.options\.maxSteps: must be an integer ≥ 1, got 0$/);
  });
});

describe('example.json', () => {
  it('is a valid request whose wrong completions get reshaped and whose steps all map to tokens', () => {
    const res = shape(parseShapeRequest(JSON.parse(readFileSync(new URL('../../example.json', import.meta.url), 'utf8'))));
    const cs = res.groups[0].completions;
    expect(cs[0].rewards.answer).toBe(1);
    expect(cs[0].steps.every((s) => s.advantage === undefined)).toBe(true);
    expect(cs[1].steps.some((s) => s.weight !== undefined)).toBe(true);
    expect(res.metrics['shape/unmapped_steps']).toBe(0);
    for (const c of cs) expect(c.tokenAdvantages!.length).toBeGreaterThan(0);
  });
});

describe('the README worked example', () => {
  it('gives the values derived by hand in README.md', () => {
    const text = '<think>An abdominal CT. The liver is large. A lesion is seen. So the liver.</think><answer>the liver</answer>';
    const offsets = [[0, 7], [7, 9], [9, 19], [19, 22], [22, 23], [23, 27], [27, 33], [33, 36], [36, 42], [42, 43], [43, 45], [45, 52], [52, 55], [55, 60], [60, 61], [61, 64], [64, 68], [68, 74], [74, 75], [75, 83], [83, 91], [91, 94], [94, 100], [100, 109]];
    const res = shape(
      parseShapeRequest({
        estimator: 'mrpo',
        groups: [
          {
            gold: { answer: 'left lung' },
            completions: [
              { text: '<think>A chest X-ray. Opacity on the left. It is in the lung. So the left lung.</think><answer>left lung</answer>', stepLabels: [1, 1, 1, 1] },
              { text, stepLabels: [0, 0, 1, 0], tokenOffsets: offsets },
            ],
          },
        ],
      }),
    );
    const A = 0.875 / (1.75 / Math.SQRT2 + 1e-4);
    const [ok, wrong] = res.groups[0].completions;
    expect(ok.rewards).toEqual({ answer: 1, process: 1, length: 0, total: 2 });
    expect(wrong.rewards).toEqual({ answer: 0, process: 0.25, length: 0, total: 0.25 });
    expect(ok.advantage).toBeCloseTo(A, 12);
    expect(wrong.steps.map((s) => [s.start, s.end, s.weight])).toEqual([[7, 23, 2.72], [24, 43, 1.95], [44, 61, undefined], [62, 75, 1]]);
    const expected = [-A, ...Array(4).fill(-2.72 * A), ...Array(5).fill(-1.95 * A), ...Array(5).fill(A), ...Array(4).fill(-A), ...Array(5).fill(-A)];
    wrong.tokenAdvantages!.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 12));
  });
});

describe('shape: flat Int32Array token offsets (what mrpo serve decodes bodies to)', () => {
  const flat = (pairs: ReadonlyArray<readonly [number, number]>) => Int32Array.from(pairs.flat());

  it('gives the hand-computed per-token advantages of the pairs example', () => {
    const res = twoStepExample(flat([[0, 7], [7, 11], [11, 16], [16, 42]]));
    const c = res.groups[0].completions[0];
    // totals 0 and 2: mean 1, sample std √2, so A = −1/(√2 + 1e-4); step 1 valid (+|A|), step 2 invalid (−w₂·|A|, w₂ = 1)
    const a = -1 / (Math.SQRT2 + 1e-4);
    expect(c.advantage).toBeCloseTo(a, 12);
    expect(c.tokenAdvantages).toHaveLength(4);
    const expected = [a, -a, a, a];
    c.tokenAdvantages!.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 12));
    expect(c.unmappedSteps).toBe(0);
  });

  it('equals shape() with the same offsets as pairs on random requests (out-of-order and empty tokens too)', () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const sentences = ['The lesion is hypodense.', 'No effusion is seen.', 'So it is benign.', 'The heart is large.', 'Both lungs are clear.'];
    for (let trial = 0; trial < 30; trial++) {
      const groups = Array.from({ length: 1 + rand(3) }, () => ({
        gold: { answer: 'benign' },
        completions: Array.from({ length: 2 + rand(3) }, () => {
          const k = 1 + rand(5);
          const text = `<think>${Array.from({ length: k }, () => sentences[rand(sentences.length)]).join(' ')}</think><answer>${rand(2) === 0 ? 'benign' : 'malignant'}</answer>`;
          const pairs: Array<[number, number]> = [];
          for (let s = 0; s < text.length; ) {
            const e = Math.min(text.length, s + rand(6));
            pairs.push([s, e]);
            s = e === s ? s + 1 : e;
          }
          if (rand(4) === 0) pairs.reverse(); // out of order: the binary-search path
          return { text, stepLabels: Array.from({ length: k }, () => rand(2) as 0 | 1), pairs };
        }),
      }));
      const request = (form: 'pairs' | 'flat') => ({
        estimator: ['grpo', 'gdpo', 'mrpo'][trial % 3],
        groups: groups.map((g) => ({ gold: g.gold, completions: g.completions.map(({ pairs, ...c }) => ({ ...c, tokenOffsets: form === 'pairs' ? pairs : flat(pairs) })) })),
      });
      const fromPairs = shape(parseShapeRequest(request('pairs')));
      expect(shape(parseShapeRequest(request('flat')))).toEqual(fromPairs);
      expect(fromPairs.groups.flatMap((g) => g.completions).every((c) => c.tokenAdvantages !== undefined && c.tokenAdvantages.length > 0)).toBe(true);
    }
  });

  it('rejects flat offsets by the pairs rules, with the same paths and messages', () => {
    const bad = (tokenOffsets: Int32Array) => {
      try {
        parseShapeRequest({ estimator: 'mrpo', groups: [{ completions: [{ text: 'abc', rewards: { answer: 1 }, tokenOffsets }] }] });
        return 'accepted';
      } catch (error) {
        return (error as InputError).message;
      }
    };
    expect(bad(Int32Array.from([0, 1, 2, 1]))).toMatch(/\$\.groups\[0\]\.completions\[0\]\.tokenOffsets\[1\]: expected a pair \[start, end\] of integers with 0 ≤ start ≤ end, received \[2,1\]/);
    expect(bad(Int32Array.from([-1, 1]))).toMatch(/tokenOffsets\[0\]: expected a pair .* received \[-1,1\]/);
    expect(bad(Int32Array.from([0, 1, 1, 9]))).toMatch(/tokenOffsets\[1\]: token ends at 9, after the end of text \(length 3\)/);
    expect(bad(Int32Array.from([0, 1, 2]))).toMatch(/tokenOffsets: expected start, end values in pairs, received 3 values/);
  });
});
