import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { extractAnswer, parseCompletion, segmentSteps, splitSentences } from './steps.js';

const texts = (text: string, splitter?: 'regex' | 'improved') => segmentSteps(text, { splitter }).map((s) => s.text);

describe('think/answer parsing', () => {
  it('finds <think> and <thinking> blocks, case-insensitive, with whitespace in tags', () => {
    expect(texts('<think>A. B.</think><answer>x</answer>')).toEqual(['A.', 'B.']);
    expect(texts('<thinking>A. B.</thinking><answer>x</answer>')).toEqual(['A.', 'B.']);
    expect(texts('<THINK>A. B.</Think>')).toEqual(['A.', 'B.']);
    expect(texts('< think >A. B.</ think >')).toEqual(['A.', 'B.']);
    expect(texts('<Thinking >A!  B?</thinking>')).toEqual(['A!', 'B?']);
  });

  it('cuts a <thinking> block at an inner answer tag whatever its case and spacing', () => {
    const text = '<thinking>A. B. < ANSWER >x</answer> C.</THINKING ><answer>y</answer>';
    expect(segmentSteps(text).map((s) => [s.start, s.end])).toEqual([[10, 12], [13, 15]]);
    expect(parseCompletion(text).think).toBe('A. B. ');
  });

  it('requires the closing tag to match the opening one and to exist', () => {
    expect(texts('<think>A. B.</thinking>')).toEqual([]);
    expect(texts('<think>A. B. cut at the token limit')).toEqual([]);
  });

  it('has no steps without a think block', () => {
    expect(segmentSteps('The answer is lung. Really.')).toEqual([]);
    expect(parseCompletion('no tags here').hasThink).toBe(false);
  });

  it('collects steps from every think block', () => {
    expect(texts('<think>A. B.</think> middle <think>C.</think>')).toEqual(['A.', 'B.', 'C.']);
  });

  it('ends the step text at an <answer> tag inside the think block', () => {
    expect(texts('<think>A. B. <answer>lung</answer> C.</think>')).toEqual(['A.', 'B.']);
  });

  it('extracts the first answer, stripped, else the whole completion stripped', () => {
    expect(extractAnswer('<think>x.</think><answer>  left lung \n</answer>')).toBe('left lung');
    expect(extractAnswer('<ANSWER>a</answer><answer>b</answer>')).toBe('a');
    expect(extractAnswer('  just text  ')).toBe('just text');
    expect(extractAnswer('<think>x.</think><answer></answer>')).toBe('');
    const p = parseCompletion('<think>a.</think><answer> b </answer>');
    expect(p.answer).toBe('b');
    expect(p.answerSpan).toEqual({ start: 25, end: 28 });
    expect(p.think).toBe('a.');
  });
});

describe('regex splitter (faithful: (?<=[.!?])\\s+(?=[^\\s]))', () => {
  it('splits only after . ! ? followed by whitespace and a non-space', () => {
    expect(texts('<think>One. Two! Three? Four</think>')).toEqual(['One.', 'Two!', 'Three?', 'Four']);
    expect(texts('<think>kidney.The liver</think>')).toEqual(['kidney.The liver']);
    expect(texts('<think>2.5 cm mass. Next</think>')).toEqual(['2.5 cm mass.', 'Next']);
  });

  it('splits after abbreviations and does not split after a closing quote (as the reference)', () => {
    expect(texts('<think>Dr. Smith saw vs. before.</think>')).toEqual(['Dr.', 'Smith saw vs.', 'before.']);
    expect(texts('<think>The answer is "liver." This is it.</think>')).toEqual(['The answer is "liver." This is it.']);
  });

  it('uses Python whitespace: U+001F separates, U+FEFF does not', () => {
    expect(texts('<think>A.\u001fB.</think>')).toEqual(['A.', 'B.']);
    expect(texts('<think>A.\ufeffB.</think>')).toEqual(['A.\ufeffB.']);
  });

  it('matches Python re.split with the reference pattern, then strip and drop empties (property)', () => {
    // The reference's own pattern, run by the JS regex engine with Python's `\s` set (str.isspace) spelled out.
    const PY_WS = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
    const reference = new RegExp(`(?<=[.!?])[${PY_WS}]+(?=[^${PY_WS}])`);
    const pyStrip = new RegExp(`^[${PY_WS}]+|[${PY_WS}]+$`, 'g');
    const alphabet = fc.constantFrom('a', 'B', '.', '!', '?', ' ', '  ', '\n', '\t', '\u00a0', '\u2003', '\u001c', '\ufeff', '\u200b', '"', '1', '1.');
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 40 }), (parts) => {
        const think = parts.join('');
        const expected = think
          .split(reference)
          .map((p) => p.replace(pyStrip, ''))
          .filter((p) => p.length > 0);
        const got = splitSentences(think, 0, think.length, 'regex').map((s) => think.slice(s.start, s.end));
        expect(got).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('drops empty pieces and strips whitespace', () => {
    expect(texts('<think>   \n  </think>')).toEqual([]);
    expect(texts('<think>\n  A.   \n\n B.  \n</think>')).toEqual(['A.', 'B.']);
  });
});

describe('numbering merge', () => {
  it('merges a list number with the sentence after it, span from the number to the sentence end', () => {
    const text = '<think>1. The image is a CT. 2. There is a mass.</think>';
    const steps = segmentSteps(text);
    expect(steps.map((s) => s.text)).toEqual(['1. The image is a CT.', '2. There is a mass.']);
    expect(steps[0].start).toBe(7);
    expect(steps[1].end).toBe(text.indexOf('</think>'));
  });

  it('merges any Unicode decimal digits (Python \\d) and numbers of any length', () => {
    expect(texts('<think>\uff11. The image. \u0662. The mass.</think>')).toEqual(['\uff11. The image.', '\u0662. The mass.']);
    expect(texts('<think>1234567890123. The image.</think>')).toEqual(['1234567890123. The image.']);
    expect(texts('<think>A1. The image. (1. The mass.</think>')).toEqual(['A1.', 'The image.', '(1.', 'The mass.']);
  });

  it('pairs consecutive numbers with each other, as the reference does, and never merges across blocks', () => {
    // Pieces "1.", "2.", "The image." → the first number takes the piece after it (itself a number).
    const text = '<think>1. 2. The image.</think>';
    expect(segmentSteps(text).map((s) => [s.start, s.end, s.text])).toEqual([
      [7, 12, '1. 2.'],
      [13, 23, 'The image.'],
    ]);
    expect(texts('<think>A. 1.</think><think>The image.</think>')).toEqual(['A.', '1.', 'The image.']);
  });

  it('keeps a trailing number alone and does not merge "1.5" style text', () => {
    expect(texts('<think>A. 3.</think>')).toEqual(['A.', '3.']);
    expect(texts('<think>Size 1.5 cm. Next.</think>')).toEqual(['Size 1.5 cm.', 'Next.']);
  });
});

describe('spans', () => {
  it('every step is the exact slice of the completion at its span', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constantFrom('A.', 'b!', 'c?', '1.', ' ', '\n', 'word', 'x.y', '"q."', '<answer>', 'Dr.'), fc.string({ maxLength: 4 })), { maxLength: 30 }),
        fc.constantFrom('regex' as const, 'improved' as const),
        (parts, splitter) => {
          const text = `pre <think>${parts.join(' ')}</think> post`;
          for (const s of segmentSteps(text, { splitter })) {
            expect(text.slice(s.start, s.end)).toBe(s.text);
            expect(s.text.trim().length).toBeGreaterThan(0);
          }
        },
      ),
    );
  });

  it('steps are ordered and do not overlap', () => {
    const steps = segmentSteps('<think>A. B. C.</think><think>D.</think>');
    for (let i = 1; i < steps.length; i++) expect(steps[i].start).toBeGreaterThanOrEqual(steps[i - 1].end);
    expect(steps.map((s) => [s.start, s.end])).toEqual([[7, 9], [10, 12], [13, 15], [30, 32]]);
  });
});

describe('improved splitter', () => {
  const improved = (think: string) => texts(`<think>${think}</think>`, 'improved');
  it('does not break titles, vs., e.g., initials or decimals', () => {
    expect(improved('Dr. Smith reviewed the film. It is clear.')).toEqual(['Dr. Smith reviewed the film.', 'It is clear.']);
    expect(improved('A T2 image vs. a T1 image. Done.')).toEqual(['A T2 image vs. a T1 image.', 'Done.']);
    expect(improved('Consider e.g. pneumonia here. Done.')).toEqual(['Consider e.g. pneumonia here.', 'Done.']);
    expect(improved('Vitamin D. Deficiency is likely.')).toEqual(['Vitamin D. Deficiency is likely.']);
    expect(improved('A 2.5 cm mass. Next.')).toEqual(['A 2.5 cm mass.', 'Next.']);
  });

  it('splits after a closing quote or bracket, and before a capitalised sentence starter after an initial', () => {
    expect(improved('The answer is "liver." This is it.')).toEqual(['The answer is "liver."', 'This is it.']);
    expect(improved('A lesion (in the liver.) Then more.')).toEqual(['A lesion (in the liver.)', 'Then more.']);
    expect(improved('It is type B. The margins are smooth.')).toEqual(['It is type B.', 'The margins are smooth.']);
  });

  it('splits at blank lines and keeps the numbering merge', () => {
    expect(improved('First line\n\nSecond line')).toEqual(['First line', 'Second line']);
    expect(improved('1. The image. 2. The mass.')).toEqual(['1. The image.', '2. The mass.']);
  });

  it('agrees with the regex splitter where there is no abbreviation, quote or blank line', () => {
    const think = 'The image is an axial CT! Is the liver enlarged? Yes, it is. The lesion is 2.5 cm.';
    expect(improved(think)).toEqual(splitSentences(think, 0, think.length, 'regex').map((s) => think.slice(s.start, s.end)));
  });
});

describe('improved splitter and units', () => {
  it('splits after a unit at the end of a sentence ("5 mm. Margins …")', () => {
    expect(texts('<think>The nodule measures 5 mm. Margins are smooth.</think>', 'improved')).toEqual(['The nodule measures 5 mm.', 'Margins are smooth.']);
  });
});
