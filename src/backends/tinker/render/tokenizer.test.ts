import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeTinyTokenizer, type TinyTokenizerInfo } from '../test-support/tiny-tokenizer.js';
import { loadTokenizer, type TextTokenizer } from './tokenizer.js';

let tok: TextTokenizer;
let info: TinyTokenizerInfo;
beforeAll(async () => {
  info = await writeTinyTokenizer(await mkdtemp(join(tmpdir(), 'mrpo-tok-')));
  tok = await loadTokenizer(info.dir);
});

describe('loadTokenizer', () => {
  it('loads a local Hugging Face tokenizer directory and knows its special tokens', () => {
    expect(tok.tokenId('<|im_end|>')).toBe(info.special['<|im_end|>']);
    expect(tok.isSpecial(info.special['<|im_end|>'])).toBe(true);
    expect(tok.tokenId('<|no_such_token|>')).toBeUndefined();
    // special-token strings in text become their ids; nothing is added around the text
    const ids = tok.encode('<|im_start|>a');
    expect(ids).toEqual([info.special['<|im_start|>'], 97]); // the fixture numbers byte tokens by byte value: 'a' = 97
  });

  it('fails with a ConfigError naming the missing file', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'mrpo-tok-empty-'));
    await expect(loadTokenizer(empty)).rejects.toThrow(/tokenizer\.json.*cannot read the tokenizer file/);
  });
});

describe('decodeWithOffsets', () => {
  it('gives each token its characters, multi-byte characters to every token that carries a byte of them', () => {
    // 'ö' is two bytes, both single-byte tokens in this vocabulary; ' the' is one merged token
    const ids = tok.encode('ö the');
    const { text, offsets_T } = tok.decodeWithOffsets(ids);
    expect(text).toBe('ö the');
    expect(ids.length).toBe(3);
    expect(offsets_T).toEqual([
      [0, 1],
      [0, 1],
      [1, 5],
    ]);
  });

  it('gives special tokens an empty span and leaves them out of the text', () => {
    const ids = [...tok.encode('ab'), info.special['<|im_end|>']];
    const { text, offsets_T } = tok.decodeWithOffsets(ids);
    expect(text).toBe('ab');
    expect(offsets_T[offsets_T.length - 1]).toEqual([2, 2]);
  });

  it('reconstructs any text, with ordered spans that cover it exactly (property)', () => {
    const alphabet = ['a', 'e', 'h', 't', ' ', '.', '\n', 'ö', 'ß', '€', '🫁', '<', '>', 'l', 'n', '日'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...alphabet), { maxLength: 40 }), (chars) => {
        const s = chars.join('');
        const ids = tok.encode(s);
        const { text, offsets_T } = tok.decodeWithOffsets(ids);
        expect(text).toBe(s);
        expect(offsets_T.length).toBe(ids.length);
        let covered = '';
        let lastEnd = 0;
        for (const [start, end] of offsets_T) {
          expect(start).toBeLessThanOrEqual(end);
          expect(end).toBeLessThanOrEqual(text.length);
          if (start >= lastEnd) {
            expect(start).toBe(lastEnd); // no gaps
            covered += text.slice(start, end);
            lastEnd = end;
          }
        }
        expect(covered).toBe(text);
      }),
      { numRuns: 150 },
    );
  });
});
