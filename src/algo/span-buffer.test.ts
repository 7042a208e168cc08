import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SpanBuffer } from './span-buffer.js';
import { segmentSpans, segmentSpansInto, segmentSteps } from './steps.js';

describe('SpanBuffer', () => {
  it('keeps pushed spans through growth, views share its memory, truncate drops the tail', () => {
    const b = new SpanBuffer(1);
    for (let i = 0; i < 5; i++) b.push(10 * i, 10 * i + 3);
    expect(b.count).toBe(5);
    expect([b.start(4), b.end(4)]).toEqual([40, 43]);
    const v = b.view(1, 2);
    expect(Array.from(v)).toEqual([10, 13, 20, 23]);
    b.data[2] = 11; // span 1's start, seen through the view
    expect(v[0]).toBe(11);
    const before = b.data;
    for (let i = 5; i < 40; i++) b.push(i, i + 1); // grows: the old view keeps the old memory and its values
    expect(b.data).not.toBe(before);
    expect(Array.from(v)).toEqual([11, 13, 20, 23]);
    b.truncate(3);
    b.push(7, 8);
    expect(Array.from(b.view(0, 4))).toEqual([0, 3, 11, 13, 20, 23, 7, 8]);
  });
});

describe('segmentSpansInto', () => {
  it('appends the spans segmentSteps gives after what the buffer holds, and returns their number (hand-worked)', () => {
    const text = '<think>1. The lesion is small. It is benign!  Done</think><answer>x</answer>';
    const b = new SpanBuffer(1);
    b.push(-1, -1);
    // "1." merges with the next sentence: [7, 30); "It is benign!" [31, 44); "Done" [46, 50).
    expect(segmentSpansInto(text, {}, b)).toBe(3);
    expect(Array.from(b.view(0, 4))).toEqual([-1, -1, 7, 30, 31, 44, 46, 50]);
    expect(segmentSteps(text).map((s) => s.text)).toEqual(['1. The lesion is small.', 'It is benign!', 'Done']);
  });

  it('appends the spans of each text after the ones before, as segmenting it alone gives them (property)', () => {
    const piece = fc.constantFrom('1.', '12.', 'Dr.', 'Smith', 'vs.', 'e.g.', 'It', 'is', 'small.', 'Why?', 'No!', '2.5', '\n\n', '<think>', '</think>', '<answer>');
    const textArb = fc.array(fc.tuple(piece, fc.constantFrom(' ', '  ', '\n', '')), { maxLength: 40 }).map((xs) => xs.map(([p, s]) => p + s).join(''));
    const splitterArb = fc.constantFrom('regex', 'improved') as fc.Arbitrary<'regex' | 'improved'>;
    fc.assert(
      fc.property(fc.array(textArb, { minLength: 1, maxLength: 4 }), splitterArb, (texts, splitter) => {
        const b = new SpanBuffer(1);
        b.push(3, 4); // a number piece's neighbour from before must not merge with what follows
        const views = texts.map((text) => {
          const first = b.count;
          return b.view(first, segmentSpansInto(text, { splitter }, b));
        });
        expect(b.start(0)).toBe(3);
        texts.forEach((text, i) => expect(Array.from(views[i])).toEqual(segmentSpans(text, { splitter }).flatMap((s) => [s.start, s.end])));
      }),
      { numRuns: 300 },
    );
  });
});
