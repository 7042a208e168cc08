/**
 * The tokenizer of the remote model, loaded on this machine (the Tinker API
 * does not serve one: docs/tinker-protocol.md §9 item 12) through transformers.js,
 * plus character offsets of generated tokens for the token ↔ step mapping of
 * docs/method.md §5.
 *
 * Offsets come from incremental decoding (the detokenizer of vLLM/TGI): keep a
 * short window of already-emitted tokens as context, decode the window with and
 * without the next token, and give the token the new characters. A token that
 * ends inside a multi-byte UTF-8 character (the decoded window ends in U+FFFD)
 * emits nothing yet; the token that completes the character gets the piece,
 * and every token of that group gets the piece's span (spans of such tokens
 * overlap; they are never lost). Special tokens (`<|im_end|>`) decode to
 * nothing and get an empty span at their position. The concatenated pieces are
 * checked against a one-shot decode; on mismatch (a tokenizer whose decoder
 * depends on the whole sequence) the slow exact method — decode every prefix —
 * is used instead.
 */
import { readFile } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../../errors.js';
import type { TokenOffset } from '../../../types.js';

/** The part of a transformers.js `PreTrainedTokenizer` this module uses. */
export interface HfTokenizerLike {
  encode(text: string, options?: { add_special_tokens?: boolean }): number[];
  decode(ids: number[], options?: { skip_special_tokens?: boolean; clean_up_tokenization_spaces?: boolean }): string;
  convert_tokens_to_ids(token: string): number;
  readonly all_special_ids: number[];
}

export interface DecodedTokens {
  readonly text: string;
  /** Half-open character span of each token in `text`. */
  readonly offsets_T: TokenOffset[];
}

export interface TextTokenizer {
  /** Where the tokenizer came from (directory or hub name). */
  readonly source: string;
  /** Token ids of `text`; special-token strings in it (`<|im_start|>`) become their ids; nothing is added. */
  encode(text: string): number[];
  /** The id of a single token string (e.g. `<|im_end|>`), or undefined when the vocabulary lacks it. */
  tokenId(token: string): number | undefined;
  isSpecial(id: number): boolean;
  /** Text of `ids` with special tokens removed. */
  decode(ids: readonly number[]): string;
  decodeWithOffsets(ids: readonly number[]): DecodedTokens;
}

const REPLACEMENT = '\uFFFD';
/** Tokens of already-emitted context kept in the decode window (vLLM uses 5). */
const CONTEXT_TOKENS = 5;

export function createTextTokenizer(hf: HfTokenizerLike, source: string): TextTokenizer {
  const special = new Set(hf.all_special_ids);
  const decodeOpts = { skip_special_tokens: true, clean_up_tokenization_spaces: false };
  const decode = (ids: readonly number[]): string => (ids.length === 0 ? '' : hf.decode([...ids], decodeOpts));

  const incremental = (ids: readonly number[]): DecodedTokens | null => {
    const offsets_T: TokenOffset[] = [];
    let text = '';
    let prefixOffset = 0;
    let readOffset = 0;
    let cached = { from: -1, to: -1, text: '' }; // the window's prefix text changes only when the window moves
    const prefixOf = (from: number, to: number): string => {
      if (cached.from !== from || cached.to !== to) cached = { from, to, text: decode(ids.slice(from, to)) };
      return cached.text;
    };
    for (let i = 0; i < ids.length; i++) {
      const prefixText = prefixOf(prefixOffset, readOffset);
      const newText = decode(ids.slice(prefixOffset, i + 1));
      if (newText.length > prefixText.length && !newText.endsWith(REPLACEMENT)) {
        if (!newText.startsWith(prefixText)) return null; // context-dependent decoder
        const piece = newText.slice(prefixText.length);
        const span: TokenOffset = [text.length, text.length + piece.length];
        for (let j = readOffset; j <= i; j++) offsets_T.push(span);
        text += piece;
        prefixOffset = Math.max(readOffset, i + 1 - CONTEXT_TOKENS);
        readOffset = i + 1;
      } else if (newText.length === prefixText.length && readOffset === i) {
        offsets_T.push([text.length, text.length]); // special or empty token: nothing to emit
        readOffset = i + 1;
      }
    }
    // Trailing tokens of an unfinished character: the final decode shows what they render as.
    if (readOffset < ids.length) {
      const prefixText = prefixOf(prefixOffset, readOffset);
      const newText = decode(ids.slice(prefixOffset));
      const piece = newText.startsWith(prefixText) ? newText.slice(prefixText.length) : '';
      const span: TokenOffset = [text.length, text.length + piece.length];
      for (let j = readOffset; j < ids.length; j++) offsets_T.push(span);
      text += piece;
    }
    return text === decode(ids) ? { text, offsets_T } : null;
  };

  const exact = (ids: readonly number[]): DecodedTokens => {
    const offsets_T: TokenOffset[] = [];
    let prev = '';
    for (let i = 0; i < ids.length; i++) {
      const cur = decode(ids.slice(0, i + 1));
      const stable = cur.endsWith(REPLACEMENT) ? prev.length : cur.length;
      offsets_T.push([Math.min(prev.length, stable), stable]);
      if (!cur.endsWith(REPLACEMENT)) prev = cur;
    }
    return { text: decode(ids), offsets_T };
  };

  return {
    source,
    encode: (text) => hf.encode(text, { add_special_tokens: false }),
    tokenId: (token) => {
      const id = hf.convert_tokens_to_ids(token);
      return typeof id === 'number' && Number.isInteger(id) && id >= 0 ? id : undefined;
    },
    isSpecial: (id) => special.has(id),
    decode,
    decodeWithOffsets: (ids) => incremental(ids) ?? exact(ids),
  };
}

/**
 * Loads a tokenizer from a local directory holding `tokenizer.json` and
 * `tokenizer_config.json` (the Hugging Face layout), or — where the hub is
 * reachable — from a hub name such as `Qwen/Qwen3-VL-30B-A3B-Instruct`.
 */
export async function loadTokenizer(source: string): Promise<TextTokenizer> {
  const transformers = await import('@huggingface/transformers');
  if (existsSync(source) && statSync(source).isDirectory()) {
    const readJson = async (name: string): Promise<Record<string, unknown>> => {
      const path = join(source, name);
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (error) {
        throw new ConfigError(path, `cannot read the tokenizer file (${(error as Error).message}); a tokenizer directory needs tokenizer.json and tokenizer_config.json`);
      }
      try {
        return JSON.parse(text) as Record<string, unknown>;
      } catch (error) {
        throw new ConfigError(path, `not valid JSON: ${(error as Error).message}`);
      }
    };
    // one after the other, so a directory missing both always reports tokenizer.json (Promise.all rejected with whichever read failed first)
    const json = await readJson('tokenizer.json');
    const config = await readJson('tokenizer_config.json');
    const className = typeof config.tokenizer_class === 'string' ? config.tokenizer_class.replace(/Fast$/, '') : '';
    const classes = transformers as unknown as Record<string, unknown>;
    const Cls = (typeof classes[className] === 'function' ? classes[className] : transformers.PreTrainedTokenizer) as new (
      j: unknown,
      c: unknown,
    ) => HfTokenizerLike;
    return createTextTokenizer(new Cls(json, config), source);
  }
  try {
    const hf = await transformers.AutoTokenizer.from_pretrained(source);
    return createTextTokenizer(hf as unknown as HfTokenizerLike, source);
  } catch (error) {
    throw new ConfigError(
      'tokenizer',
      `"${source}" is not a local tokenizer directory and could not be loaded from the Hugging Face hub (${(error as Error).message}); download the model's tokenizer files and give their directory`,
    );
  }
}
