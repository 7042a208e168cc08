import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { jsonCandidates, parseAnswerVerdict, parseStepVerdicts, readBit } from './parse-verdicts.js';

const v = (alignment: 0 | 1, contribution: 0 | 1) => ({ alignment, contribution });

describe('parseStepVerdicts', () => {
  it('reads step1…stepK keys', () => {
    const r = parseStepVerdicts('{"step1":{"alignment":1,"contribution":0},"step2":{"alignment":0,"contribution":1}}', 2);
    expect(r).toEqual({ verdicts: [v(1, 0), v(0, 1)], missing: 0, extra: 0 });
  });

  it('accepts other key spellings and bit spellings', () => {
    const text = '{"Step 1": {"Alignment": "1", "Contribution": "no"}, "step_2": {"alignment": true, "contribution": "YES"}, "STEP-3": {"alignment": false, "contribution": 0}}';
    expect(parseStepVerdicts(text, 3)?.verdicts).toEqual([v(1, 0), v(1, 1), v(0, 0)]);
  });

  it('reads arrays by position or by an explicit step field, and nested objects', () => {
    expect(parseStepVerdicts('[{"alignment":1,"contribution":1},{"alignment":0,"contribution":0}]', 2)?.verdicts).toEqual([v(1, 1), v(0, 0)]);
    expect(parseStepVerdicts('{"steps":[{"step":2,"alignment":1,"contribution":0},{"step":1,"alignment":0,"contribution":1}]}', 2)?.verdicts).toEqual([
      v(0, 1),
      v(1, 0),
    ]);
    expect(parseStepVerdicts('{"result":{"step1":[1,0]}}', 1)?.verdicts).toEqual([v(1, 0)]);
  });

  it('finds JSON in a fenced block or with text around it', () => {
    const fenced = 'Here you go:\n```json\n{"step1": {"alignment": 0, "contribution": 1}}\n```\nDone.';
    expect(parseStepVerdicts(fenced, 1)?.verdicts).toEqual([v(0, 1)]);
    const around = 'Sure. {"step1": {"alignment": 1, "contribution": 1}} Hope that helps {not json}';
    expect(parseStepVerdicts(around, 1)?.verdicts).toEqual([v(1, 1)]);
  });

  it('aligns by step number: fewer verdicts are missing, more are extra', () => {
    const fewer = parseStepVerdicts('{"step1":{"alignment":1,"contribution":1},"step3":{"alignment":1,"contribution":0}}', 4);
    expect(fewer).toEqual({ verdicts: [v(1, 1), null, v(1, 0), null], missing: 2, extra: 0 });
    const more = parseStepVerdicts('{"step1":{"alignment":1,"contribution":1},"step2":{"alignment":0,"contribution":0},"step3":{"alignment":1,"contribution":1}}', 2);
    expect(more).toEqual({ verdicts: [v(1, 1), v(0, 0)], missing: 0, extra: 1 });
  });

  it('an unreadable verdict for one step is missing, not invalid-by-accident', () => {
    const r = parseStepVerdicts('{"step1":{"alignment":"maybe","contribution":1},"step2":{"alignment":1,"contribution":0}}', 2);
    expect(r).toEqual({ verdicts: [null, v(1, 0)], missing: 1, extra: 0 });
  });

  it('returns null when no verdict can be read', () => {
    for (const text of ['', 'I cannot grade this.', '{"step1": "good"}', '{}', '{"step1": {"alignment": 1', '[1, 2, 3]'])
      expect(parseStepVerdicts(text, 2)).toBeNull();
  });

  it('round-trips any verdict list in any key spelling (property)', () => {
    const verdict = fc.record({ alignment: fc.constantFrom<0 | 1>(0, 1), contribution: fc.constantFrom<0 | 1>(0, 1) });
    const spelling = fc.constantFrom((n: number) => `step${n}`, (n: number) => `Step ${n}`, (n: number) => `step_${n}`);
    fc.assert(
      fc.property(fc.array(verdict, { minLength: 1, maxLength: 15 }), spelling, fc.boolean(), (verdicts, key, fence) => {
        const obj = Object.fromEntries(verdicts.map((x, i) => [key(i + 1), x]));
        const text = fence ? `Result:\n\`\`\`json\n${JSON.stringify(obj, null, 2)}\n\`\`\`` : JSON.stringify(obj);
        expect(parseStepVerdicts(text, verdicts.length)).toEqual({ verdicts, missing: 0, extra: 0 });
      }),
    );
  });
});

describe('parseAnswerVerdict', () => {
  it('reads O/X, booleans and words', () => {
    expect(parseAnswerVerdict('{"verdict": "O"}')).toBe(true);
    expect(parseAnswerVerdict('{"verdict": "X"}')).toBe(false);
    expect(parseAnswerVerdict('{"correct": true}')).toBe(true);
    expect(parseAnswerVerdict('{"is_correct": "no"}')).toBe(false);
    expect(parseAnswerVerdict('```json\n{"Verdict": "x"}\n```')).toBe(false);
    expect(parseAnswerVerdict('X')).toBe(false);
    expect(parseAnswerVerdict('Incorrect.')).toBe(false);
    expect(parseAnswerVerdict('correct')).toBe(true);
  });
  it('returns null for anything else', () => {
    expect(parseAnswerVerdict('{"verdict": "maybe"}')).toBeNull();
    expect(parseAnswerVerdict('The answer seems partially right')).toBeNull();
    expect(parseAnswerVerdict('')).toBeNull();
  });
});

describe('helpers', () => {
  it('readBit', () => {
    expect([1, 0, true, false, '1', ' yes ', 'No', 'TRUE', 2, 'x', null].map(readBit)).toEqual([1, 0, 1, 0, 1, 1, 0, 1, null, null, null]);
  });
  it('jsonCandidates skips brackets inside strings', () => {
    expect(jsonCandidates('note: {"a": "}{", "b": [1]} end')).toEqual([{ a: '}{', b: [1] }]);
  });
});
