import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { flatImageKey, IdAllocator, isYesNo, normDedup, normMatch, pythonStr, stableId } from './normalize.js';

describe('the reference string rules (hand-derived from Python)', () => {
  it('pythonStr follows str() for JSON values', () => {
    expect(pythonStr('Left')).toBe('Left');
    expect(pythonStr(3)).toBe('3');
    expect(pythonStr(2.5)).toBe('2.5');
    expect(pythonStr(true)).toBe('True');
    expect(pythonStr(false)).toBe('False');
    expect(pythonStr(null)).toBe('None');
  });

  it('normDedup collapses whitespace and lower-cases; normMatch also removes spaces before ?.,!;:', () => {
    expect(normDedup('  What   organ\tis shown ?\n')).toBe('what organ is shown ?');
    expect(normMatch('  What   organ\tis shown ?\n')).toBe('what organ is shown?');
    expect(normMatch('left , right ; top : a . b !')).toBe('left, right; top: a. b!');
    expect(normMatch('H&E')).toBe('h&e');
    expect(normMatch(2)).toBe('2');
  });

  it('normMatch is idempotent and never leaves a space before the punctuation set (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'B', ' ', '\t', '?', '.', ',', '!', ';', ':', 'x') }), (s) => {
        const m = normMatch(s);
        expect(normMatch(m)).toBe(m);
        expect(/\s[?.,!;:]/.test(m)).toBe(false);
        expect(m).toBe(m.toLowerCase());
      }),
    );
  });

  it('flatImageKey: xmlab paths keep their folder, others their base name', () => {
    expect(flatImageKey('xmlab12/source.jpg')).toBe('xmlab12_source.jpg');
    expect(flatImageKey('/data/slake/images/xmlab12/source.jpg')).toBe('xmlab12_source.jpg');
    expect(flatImageKey('xmlab12_source.jpg')).toBe('xmlab12_source.jpg');
    expect(flatImageKey('images\\synpic100.jpg')).toBe('synpic100.jpg');
    expect(flatImageKey('images/train_0.jpg')).toBe('train_0.jpg');
    expect(flatImageKey('')).toBe('');
  });

  it('isYesNo decides by the trimmed, lower-cased answer string', () => {
    expect(['yes', ' No ', 'YES', 'no'].map(isYesNo)).toEqual([true, true, true, true]);
    expect(['yes, left', 'none', 'not', '', 'y'].map(isYesNo)).toEqual([false, false, false, false, false]);
  });

  it('stable ids: same parts, same id; duplicates get #2, #3', () => {
    const a = stableId('slake', ['xmlab1_source.jpg', 'q', 'a']);
    expect(a).toMatch(/^slake-[0-9a-f]{16}$/);
    expect(stableId('slake', ['xmlab1_source.jpg', 'q', 'a'])).toBe(a);
    expect(stableId('slake', ['xmlab1_source.jpg', 'qa', ''])).not.toBe(a); // parts are separated, not concatenated
    const ids = new IdAllocator();
    expect([ids.take('x'), ids.take('y'), ids.take('x'), ids.take('x')]).toEqual(['x', 'y', 'x#2', 'x#3']);
  });
});
