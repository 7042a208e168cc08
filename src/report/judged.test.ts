import { describe, expect, it } from 'vitest';
import { InputError } from '../errors.js';
import { accuracyBySource, parseJudgedJsonl } from './judged.js';
import { BASE_LINES, toJsonl } from './test-support/fixtures.js';

function errorOf(fn: () => unknown): InputError {
  try {
    fn();
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('expected an InputError');
}

describe('parseJudgedJsonl', () => {
  it('keeps complete records for the summary and counts unjudged ones', () => {
    const file = parseJudgedJsonl(toJsonl(BASE_LINES), 'judged.jsonl');
    expect(file.traces).toHaveLength(7);
    expect(file.unjudgedAnswers).toBe(1); // b6
    expect(file.unjudgedSteps).toBe(1); // b7
    expect(file.complete).toEqual([
      { correct: false, stepLabels: [0, 1, 1, 1, 1] },
      { correct: false, stepLabels: [1, 0, 0, 0] },
      { correct: true, stepLabels: [1, 1, 1] },
      { correct: true, stepLabels: [0, 0, 1, 1, 1, 1, 1, 1, 1, 1] },
      { correct: false, stepLabels: [1, 1, 0] },
    ]);
  });

  it('accepts numeric ids, extra fields and blank lines', () => {
    const file = parseJudgedJsonl('\n{"id": 3, "correct": true, "stepLabels": [], "verdicts": [], "think": "x"}\n\n', 'j');
    expect(file.traces).toEqual([{ id: '3', correct: true, stepLabels: [] }]);
  });

  it('names the file, line and field of a bad record', () => {
    const text = '{"id":"a","correct":true,"stepLabels":[1]}\n{"id":"b","correct":true,"stepLabels":[1]}\n{"id":"c","correct":false,"stepLabels":"abc"}\n';
    expect(errorOf(() => parseJudgedJsonl(text, 'judged.jsonl')).message).toBe(
      'judged.jsonl line 3: field "stepLabels" must be an array of 0/1 (or null when unjudged), got "abc"',
    );
    expect(errorOf(() => parseJudgedJsonl('{"id":"a","correct":true,"stepLabels":[1,2]}', 'j.jsonl')).message).toBe(
      'j.jsonl line 1: field "stepLabels" must be an array of 0/1 (or null when unjudged), got [1,2]',
    );
    expect(errorOf(() => parseJudgedJsonl('{"id":"a","correct":"yes","stepLabels":[1]}', 'j.jsonl')).message).toBe(
      'j.jsonl line 1: field "correct" must be true, false or null (unjudged), got "yes"',
    );
    // A missing verdict field says which command adds it (a newcomer may skip `judge answers`).
    expect(errorOf(() => parseJudgedJsonl('{"id":"a","stepLabels":[1]}', 'j.jsonl')).message).toBe(
      'j.jsonl line 1: field "correct" must be true, false or null (unjudged), got nothing (field missing; `mrpo judge answers` adds it)',
    );
    expect(errorOf(() => parseJudgedJsonl('{"id":"a","correct":true}', 'j.jsonl')).message).toBe(
      'j.jsonl line 1: field "stepLabels" must be an array of 0/1 (or null when unjudged), got nothing (field missing; `mrpo judge steps` adds it)',
    );
    expect(errorOf(() => parseJudgedJsonl('{"correct":true,"stepLabels":[1]}', 'j.jsonl')).message).toBe(
      'j.jsonl line 1: field "id" must be a string, got nothing (field missing)',
    );
    expect(errorOf(() => parseJudgedJsonl('{"id":"a","correct":true,"stepLabels":[1],"source":3}', 'j.jsonl')).message).toBe(
      'j.jsonl line 1: field "source" must be a string when present, got 3',
    );
    expect(errorOf(() => parseJudgedJsonl('[1]', 'j.jsonl')).message).toBe('j.jsonl line 1: expected a JSON object, got [1]');
    expect(errorOf(() => parseJudgedJsonl('{"id":"a"}\n{oops', 'j.jsonl')).message).toMatch(/^j\.jsonl line 1: field "correct"/);
    expect(errorOf(() => parseJudgedJsonl('{oops', 'j.jsonl')).message).toMatch(/^j\.jsonl line 1: not valid JSON \(/);
    expect(errorOf(() => parseJudgedJsonl('\n \n', 'empty.jsonl')).message).toMatch(/^empty\.jsonl: no records/);
  });
});

describe('accuracyBySource', () => {
  it('counts answered records per source in order of appearance', () => {
    const file = parseJudgedJsonl(toJsonl(BASE_LINES), 'j');
    expect(accuracyBySource(file.traces)).toEqual([
      { source: 'vqa-rad', traces: 2, correct: 0, accuracy: 0 },
      { source: 'slake', traces: 2, correct: 2, accuracy: 1 },
      { source: 'pathvqa', traces: 2, correct: 1, accuracy: 0.5 }, // b5 ✗, b7 ✓; b6 unjudged
    ]);
  });
  it('is empty without sources and groups missing sources as "(none)" otherwise', () => {
    expect(accuracyBySource([{ id: 'a', correct: true, stepLabels: [1] }])).toEqual([]);
    expect(
      accuracyBySource([
        { id: 'a', correct: true, stepLabels: [1], source: 's' },
        { id: 'b', correct: false, stepLabels: [1] },
      ]),
    ).toEqual([
      { source: 's', traces: 1, correct: 1, accuracy: 1 },
      { source: '(none)', traces: 1, correct: 0, accuracy: 0 },
    ]);
  });
});
