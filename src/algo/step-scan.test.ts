/**
 * The hand-written scanner (step-scan.ts) behind segmentSteps, thinkSpans and extractAnswer: hand-written expected
 * splits for tricky inputs, and a randomized comparison with the regular-expression implementation it replaced,
 * kept below as the independent reference.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { extractAnswer, parseCompletion, segmentSteps, thinkSpans } from './steps.js';

// ---- The regular-expression implementation the scanner replaced (the rules as patterns) ----
const PY_WS = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const REF_THINK = /<\s*(think|thinking)\s*>([\s\S]*?)<\s*\/\s*\1\s*>/gi;
const REF_ANSWER = /<\s*answer\s*>([\s\S]*?)<\s*\/\s*answer\s*>/i;
const REF_ANSWER_OPEN = /<\s*answer\s*>/i;
const REF_CUT = new RegExp(`(?<=[.!?])[${PY_WS}]+(?=[^${PY_WS}])`, 'g');
const REF_STRIP = new RegExp(`^[${PY_WS}]+|[${PY_WS}]+$`, 'g');
const REF_NUMBER = /^\p{Nd}+\.$/u;

function refThinkSpans(text: string): Array<{ start: number; end: number }> {
  const out: Array<{ start: number; end: number }> = [];
  for (const m of text.matchAll(REF_THINK)) {
    const start = (m.index ?? 0) + m[0].indexOf('>') + 1;
    const cut = m[2].search(REF_ANSWER_OPEN);
    out.push({ start, end: start + (cut >= 0 ? cut : m[2].length) });
  }
  return out;
}

function refSteps(text: string): Array<[number, number]> {
  const steps: Array<[number, number]> = [];
  for (const block of refThinkSpans(text)) {
    const region = text.slice(block.start, block.end);
    const pieces: Array<[number, number]> = [];
    let from = 0;
    const ends = [...region.matchAll(REF_CUT)].map((m) => [m.index ?? 0, (m.index ?? 0) + m[0].length]);
    for (const [cutStart, cutEnd] of [...ends, [region.length, region.length]]) {
      const raw = region.slice(from, cutStart);
      const lead = raw.length - raw.replace(/^/, '').replace(new RegExp(`^[${PY_WS}]+`), '').length;
      const body = raw.replace(REF_STRIP, '');
      if (body.length > 0) pieces.push([block.start + from + lead, block.start + from + lead + body.length]);
      from = cutEnd;
    }
    for (let i = 0; i < pieces.length; i++) {
      const [s, e] = pieces[i];
      if (i + 1 < pieces.length && REF_NUMBER.test(text.slice(s, e))) {
        steps.push([s, pieces[i + 1][1]]);
        i++;
      } else steps.push([s, e]);
    }
  }
  return steps;
}

function refAnswer(text: string): string {
  const m = REF_ANSWER.exec(text);
  return (m === null ? text : m[1]).replace(REF_STRIP, '');
}

// ---- Hand-written expectations ----
const texts = (text: string) => segmentSteps(text).map((s) => s.text);

describe('scanner: sentence cuts (the reference splitter)', () => {
  it('cuts after . ! ? and whitespace before a non-space only', () => {
    expect(texts('<think>Dr. Smith came. He left!Then? No...  Yes</think>')).toEqual(['Dr.', 'Smith came.', 'He left!Then?', 'No...', 'Yes']);
    expect(texts('<think>A 2.5 cm mass, i.e. small.\tB</think>')).toEqual(['A 2.5 cm mass, i.e.', 'small.', 'B']);
    expect(texts('<think>What?! Really.</think>')).toEqual(['What?!', 'Really.']);
  });

  it('does not cut where the whitespace runs to the end of the block, and strips pieces', () => {
    expect(texts('<think>  A.  B.   </think>')).toEqual(['A.', 'B.']);
    expect(texts('<think>A.\n</think>')).toEqual(['A.']);
    expect(texts('<think>\n\n1. Lungs clear.\n2. Heart normal.\n</think>')).toEqual(['1. Lungs clear.', '2. Heart normal.']);
  });

  it('uses Python whitespace for cuts: NBSP, em space, U+001C and U+0085 cut; U+FEFF and U+200B do not', () => {
    expect(texts('<think>A.\u00a0B.\u2003C.\u001cD.\u0085E.</think>')).toEqual(['A.', 'B.', 'C.', 'D.', 'E.']);
    expect(texts('<think>A.\ufeffB.\u200bC.</think>')).toEqual(['A.\ufeffB.\u200bC.']);
  });

  it('has no steps for empty or blank blocks', () => {
    expect(texts('<think></think>')).toEqual([]);
    expect(texts('<think> \n\t </think><answer>x</answer>')).toEqual([]);
  });

  it('merges list numbers (any decimal digits) with the next piece, but not a number at the end of a block', () => {
    expect(texts('<think>1. A. 22. B. \u0663. C.</think>')).toEqual(['1. A.', '22. B.', '\u0663. C.']);
    expect(texts('<think>A. 1.</think>')).toEqual(['A.', '1.']);
    expect(texts('<think>\ud835\udfcf. A.</think>')).toEqual(['\ud835\udfcf. A.']); // MATHEMATICAL BOLD DIGIT ONE is Nd
    expect(texts('<think>1a. A. .5. B.</think>')).toEqual(['1a.', 'A.', '.5.', 'B.']);
  });

  it('keeps every span exact in texts with surrogate pairs and CRLF', () => {
    const text = '<think>\ud83e\udec1 lungs.\r\nHeart \u00e9t\u00e9. Done</think>';
    const steps = segmentSteps(text);
    expect(steps.map((s) => s.text)).toEqual(['\ud83e\udec1 lungs.', 'Heart \u00e9t\u00e9.', 'Done']);
    for (const s of steps) expect(text.slice(s.start, s.end)).toBe(s.text);
  });
});

describe('scanner: tags', () => {
  it('accepts JavaScript whitespace inside tags (U+FEFF too) and ASCII case only', () => {
    expect(texts('<\ufeffTHINK\u00a0>A. B.</ think\n>')).toEqual(['A.', 'B.']);
    expect(texts('<think\u001c>A. B.</think>')).toEqual([]); // U+001C is not JavaScript whitespace
    expect(texts('<th\u0131nk>A.</think>')).toEqual([]); // dotless i does not fold to i
  });

  it('pairs <think> with </think> and <thinking> with </thinking>, skipping an unclosed opening tag', () => {
    expect(texts('<thinking>A.</think>')).toEqual([]);
    expect(texts('<think>A. <thinking>B. C.</thinking>')).toEqual(['B.', 'C.']);
    expect(texts('<think>A.<think>B.</think>')).toEqual(['A.<think>B.']); // the first opening tag wins, lazily
    expect(texts('<think>A.</think><think>B.</think >tail<thinking>C.')).toEqual(['A.', 'B.']);
  });

  it('cuts a block at its first <answer> opening tag, tolerant of spacing and case', () => {
    expect(thinkSpans('<think>A. < Answer >x</answer> B.</think>')).toEqual([{ start: 7, end: 10 }]);
    expect(texts('<think>A. </answer> B.</think>')).toEqual(['A.', '</answer> B.']);
  });

  it('extracts the first answer that has a closing tag, stripped; else the whole text, stripped', () => {
    expect(extractAnswer('<answer> a </answer><answer>b</answer>')).toBe('a');
    expect(extractAnswer('<answer>a <ANSWER>b</ answer >')).toBe('a <ANSWER>b');
    expect(extractAnswer(' no closing <answer>a ')).toBe('no closing <answer>a');
    expect(extractAnswer('\u00a0\u0085 lung \u3000')).toBe('lung');
    expect(extractAnswer('\ufefflung')).toBe('\ufefflung'); // Python's strip keeps U+FEFF
    expect(parseCompletion('<think>x</think><answer> y </answer>').answerSpan).toEqual({ start: 24, end: 27 });
  });
});

// ---- Randomized comparison with the reference ----
const pieces = fc.constantFrom(
  'A', 'b', 'Dr', '2.5', '1', '12', '\u0663', '.', '!', '?', '...', ' ', '  ', '\n', '\t', '\r\n', '\u00a0', '\u2003', '\u001c', '\u0085',
  '\ufeff', '\u200b', '\ud83e\udec1', '<', '>', '/', '<think>', '</think>', '<thinking>', '</thinking>', '< Think >', '</ THINK>',
  '<answer>', '</answer>', '< answer\n>', '</Answer >', '<think\ufeff>', '<think\u001c>',
);
const completion = fc.array(pieces, { maxLength: 60 }).map((parts) => parts.join(''));

describe('scanner against the regular expressions it replaced (property)', () => {
  it('gives the same steps, think spans and answers on random tag soup', () => {
    fc.assert(
      fc.property(completion, (text) => {
        expect(segmentSteps(text).map((s) => [s.start, s.end])).toEqual(refSteps(text));
        expect(thinkSpans(text)).toEqual(refThinkSpans(text));
        expect(extractAnswer(text)).toBe(refAnswer(text));
      }),
      { numRuns: 3000 },
    );
  });

  it('gives the same steps on long sentence-like text in one block', () => {
    const words = fc.array(fc.oneof(pieces, fc.constantFrom('The lesion', 'is 2.5 cm', 'e.g.', '1.', 'Next')), { maxLength: 200 });
    fc.assert(
      fc.property(words, (parts) => {
        const text = `<think>${parts.join(' ')}</think><answer>x</answer>`;
        expect(segmentSteps(text).map((s) => [s.start, s.end])).toEqual(refSteps(text));
      }),
      { numRuns: 500 },
    );
  });
});
