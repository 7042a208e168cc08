import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../errors.js';
import { BOS, EOS, PAD, UNK, WordTokenizer, splitPieces } from './tokenizer.js';

const corpus = [
  'What abnormality is seen in the left lung? Think step by step.',
  '<think> The image is a CT scan. The region is the chest (thorax). A nodule is in the left-sided upper lobe. </think><answer> nodule </answer>',
  'There are 2 lesions, 2.5 cm each; the patient\'s liver is normal!',
];

describe('splitPieces', () => {
  it('splits tags, words and punctuation with their spans (hand-checked)', () => {
    expect(splitPieces('<think> A left-sided mass, 2.5 cm.</think>')).toEqual([
      { piece: '<think>', start: 0, end: 7 },
      { piece: 'A', start: 8, end: 9 },
      { piece: 'left-sided', start: 10, end: 20 },
      { piece: 'mass', start: 21, end: 25 },
      { piece: ',', start: 25, end: 26 },
      { piece: '2.5', start: 27, end: 30 },
      { piece: 'cm', start: 31, end: 33 },
      { piece: '.', start: 33, end: 34 },
      { piece: '</think>', start: 34, end: 42 },
    ]);
  });
});

describe('WordTokenizer', () => {
  const tok = WordTokenizer.fromCorpus(corpus);

  it('puts the special tokens and tags first', () => {
    expect(tok.vocab.slice(0, 10)).toEqual(['<pad>', '<unk>', '<bos>', '<eos>', '<think>', '</think>', '<answer>', '</answer>', '<thinking>', '</thinking>']);
    expect([PAD, UNK, BOS, EOS]).toEqual([0, 1, 2, 3]);
    // Then by count: "is" 5×; "." and "the" 4× each (tie: code-unit order); "The" only 2×.
    expect(tok.vocab.slice(10, 13)).toEqual(['is', '.', 'the']);
  });

  it('encodes with offsets into the input and maps unknown words to <unk>', () => {
    const text = 'The  liver\tis zebra.';
    const { ids, offsets } = tok.encode(text);
    expect(ids).toEqual([tok.idOf('The'), tok.idOf('liver'), tok.idOf('is'), UNK, tok.idOf('.')]);
    expect(offsets).toEqual([
      [0, 3],
      [5, 10],
      [11, 13],
      [14, 19],
      [19, 20],
    ]);
  });

  it('decodes by the documented spacing rule (hand-checked)', () => {
    const ids = [BOS, ...tok.encode('<think> The region is the chest ( thorax ) . </think> <answer> nodule </answer>').ids, EOS];
    const { text, offsets } = tok.decode(ids);
    expect(text).toBe('<think>The region is the chest (thorax).</think> <answer>nodule</answer>');
    expect(offsets[0]).toEqual([0, 0]); // <bos>: empty span
    expect(offsets[1]).toEqual([0, 7]);
    expect(offsets[2]).toEqual([7, 10]);
    expect(offsets.at(-1)).toEqual([text.length, text.length]); // <eos>
    expect(tok.decode([tok.idOf('a'), UNK, tok.idOf('.')]).text).toBe('a <unk>.');
  });

  it('gives spans whose slice is each token surface, and re-encodes to the same ids (property)', () => {
    const ids = fc.array(fc.integer({ min: 0, max: tok.size - 1 }), { maxLength: 40 });
    fc.assert(
      fc.property(ids, (seq) => {
        const { text, offsets } = tok.decode(seq);
        expect(offsets).toHaveLength(seq.length);
        seq.forEach((id, i) => {
          const [s, e] = offsets[i];
          const surface = id === PAD || id === BOS || id === EOS ? '' : tok.vocab[id];
          expect(text.slice(s, e)).toBe(surface);
          if (i > 0) expect(s).toBeGreaterThanOrEqual(offsets[i - 1][1]);
        });
        const visible = seq.filter((id) => id !== PAD && id !== BOS && id !== EOS);
        expect(tok.encode(text).ids).toEqual(visible);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips corpus text to its canonical form', () => {
    const once = tok.decode(tok.encode(corpus[1]).ids).text;
    expect(tok.decode(tok.encode(once).ids).text).toBe(once);
    expect(once).toBe('<think>The image is a CT scan. The region is the chest (thorax). A nodule is in the left-sided upper lobe.</think> <answer>nodule</answer>');
  });

  it('respects minCount and maxVocab', () => {
    const small = WordTokenizer.fromCorpus(['a a b', 'a c'], { minCount: 2 });
    expect(small.vocab.slice(10)).toEqual(['a']);
    expect(WordTokenizer.fromCorpus(['a a b b c'], { maxVocab: 11 }).size).toBe(11);
  });

  it('rejects a vocabulary without the special tokens first, or with duplicates', () => {
    expect(() => new WordTokenizer(['<unk>', '<pad>', '<bos>', '<eos>'])).toThrow(InputError);
    expect(() => new WordTokenizer(['<pad>', '<unk>', '<bos>', '<eos>', 'a', 'a'])).toThrow(/duplicate/);
  });
});
