/**
 * Word-level tokenizer of the embedded policy, with exact character offsets
 * (docs/method.md §5 "Token ↔ step mapping" maps steps to tokens by these offsets).
 *
 * Pieces, in order of precedence (case is kept):
 * - a tag `<name>` or `</name>` (`<think>`, `</answer>`, …) is one token; the
 *   special tokens `<pad> <unk> <bos> <eos>` are spelled this way too;
 * - a word: letters and digits, with inner `-`, `'` or `.` joining alphanumeric
 *   runs (`left-sided`, `patient's`, `2.5`);
 * - any other non-space character is a token of its own (punctuation).
 * Whitespace is not a token. A piece not in the vocabulary encodes as `<unk>`.
 *
 * Decoding rule (the text is rebuilt from tokens, so whitespace is canonical):
 * consecutive tokens are joined by one space, except no space before
 * `. , ; : ! ? ) ] } %` or a closing tag, and none after `( [ {` or an opening
 * tag. `<pad>`, `<bos>` and `<eos>` decode to the empty string (a zero-width
 * span) and do not affect spacing; `<unk>` decodes to the text `<unk>`.
 * Each token's offset is the half-open span [start, end) of its surface in the
 * decoded text, so `text.slice(start, end)` is the token's surface.
 *
 * Vocabulary: ids 0–3 are `<pad> <unk> <bos> <eos>`; then the tags
 * `<think> </think> <answer> </answer> <thinking> </thinking>` and any other
 * tag of the corpus; then the corpus pieces by descending count (ties in
 * code-unit order), keeping those seen at least `minCount` times, at most
 * `maxVocab` ids in all.
 */
import { InputError } from '../../errors.js';
import type { TokenOffset } from '../../types.js';

export const PAD = 0;
export const UNK = 1;
export const BOS = 2;
export const EOS = 3;
const SPECIALS = ['<pad>', '<unk>', '<bos>', '<eos>'] as const;
const FIXED_TAGS = ['<think>', '</think>', '<answer>', '</answer>', '<thinking>', '</thinking>'];

const PIECE = /<\/?[A-Za-z][A-Za-z0-9_-]*>|[A-Za-z0-9]+(?:[-'.][A-Za-z0-9]+)*|\S/gu;
const TAG = /^<\/?[A-Za-z][A-Za-z0-9_-]*>$/;
const NO_SPACE_BEFORE = new Set(['.', ',', ';', ':', '!', '?', ')', ']', '}', '%']);
const NO_SPACE_AFTER = new Set(['(', '[', '{']);

export interface Encoded {
  readonly ids: number[];
  /** Span of each token in the encoded text. */
  readonly offsets: TokenOffset[];
}

export interface Decoded {
  readonly text: string;
  /** Span of each token in `text`. */
  readonly offsets: TokenOffset[];
}

export interface TokenizerOptions {
  readonly minCount?: number;
  readonly maxVocab?: number;
}

/** Splits text into pieces with their spans (no vocabulary involved). */
export function splitPieces(text: string): Array<{ piece: string; start: number; end: number }> {
  const out: Array<{ piece: string; start: number; end: number }> = [];
  for (const m of text.matchAll(PIECE)) {
    const start = m.index;
    out.push({ piece: m[0], start, end: start + m[0].length });
  }
  return out;
}

function isClosingTag(piece: string): boolean {
  return piece.startsWith('</') && TAG.test(piece);
}

function isOpeningTag(piece: string): boolean {
  return !piece.startsWith('</') && TAG.test(piece) && !(SPECIALS as readonly string[]).includes(piece);
}

export class WordTokenizer {
  readonly vocab: readonly string[];
  private readonly index: Map<string, number>;

  constructor(vocab: readonly string[]) {
    for (let i = 0; i < SPECIALS.length; i++)
      if (vocab[i] !== SPECIALS[i]) throw new InputError('tokenizer vocabulary', `id ${i} must be "${SPECIALS[i]}", got ${JSON.stringify(vocab[i])}`);
    this.index = new Map();
    vocab.forEach((piece, id) => {
      if (this.index.has(piece)) throw new InputError('tokenizer vocabulary', `duplicate entry ${JSON.stringify(piece)} at id ${id}`);
      this.index.set(piece, id);
    });
    this.vocab = [...vocab];
  }

  /** Builds the vocabulary from a corpus (see the module comment for the order). */
  static fromCorpus(texts: Iterable<string>, options: TokenizerOptions = {}): WordTokenizer {
    const minCount = options.minCount ?? 1;
    const maxVocab = options.maxVocab ?? Number.POSITIVE_INFINITY;
    const counts = new Map<string, number>();
    const tags = new Set<string>();
    for (const text of texts)
      for (const { piece } of splitPieces(text)) {
        if ((SPECIALS as readonly string[]).includes(piece) || FIXED_TAGS.includes(piece)) continue;
        if (TAG.test(piece)) tags.add(piece);
        else counts.set(piece, (counts.get(piece) ?? 0) + 1);
      }
    const vocab: string[] = [...SPECIALS, ...FIXED_TAGS, ...[...tags].sort()];
    const words = [...counts.entries()]
      .filter(([, c]) => c >= minCount)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [w] of words) {
      if (vocab.length >= maxVocab) break;
      vocab.push(w);
    }
    return new WordTokenizer(vocab);
  }

  get size(): number {
    return this.vocab.length;
  }

  idOf(piece: string): number {
    return this.index.get(piece) ?? UNK;
  }

  encode(text: string): Encoded {
    const ids: number[] = [];
    const offsets: TokenOffset[] = [];
    for (const { piece, start, end } of splitPieces(text)) {
      ids.push(this.idOf(piece));
      offsets.push([start, end]);
    }
    return { ids, offsets };
  }

  decode(ids: readonly number[]): Decoded {
    let text = '';
    const offsets: TokenOffset[] = [];
    let prev: string | null = null; // surface of the last non-empty token
    for (const id of ids) {
      const piece = this.vocab[id];
      if (piece === undefined) throw new RangeError(`token id ${id} is outside the vocabulary (size ${this.vocab.length})`);
      if (id === PAD || id === BOS || id === EOS) {
        offsets.push([text.length, text.length]);
        continue;
      }
      if (prev !== null && !NO_SPACE_BEFORE.has(piece) && !isClosingTag(piece) && !NO_SPACE_AFTER.has(prev) && !isOpeningTag(prev))
        text += ' ';
      offsets.push([text.length, text.length + piece.length]);
      text += piece;
      prev = piece;
    }
    return { text, offsets };
  }

  toJSON(): { vocab: string[] } {
    return { vocab: [...this.vocab] };
  }
}
