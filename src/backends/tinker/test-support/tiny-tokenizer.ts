/**
 * Writes a tiny tokenizer in the real Hugging Face `tokenizer.json` format —
 * byte-level BPE like Qwen's (GPT-2 byte alphabet, a handful of merges, Qwen's
 * chat and vision special tokens) — so tests load it through the same
 * transformers.js path as a real Qwen3-VL tokenizer, without hub access.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The GPT-2 byte ↔ printable-character table used by byte-level BPE. */
export function byteAlphabet(): string[] {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const table: string[] = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = printable.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  }
  return table;
}

export const TINY_SPECIAL_TOKENS = [
  '<|endoftext|>',
  '<|im_start|>',
  '<|im_end|>',
  '<|vision_start|>',
  '<|vision_end|>',
  '<|image_pad|>',
] as const;

/** Merges (in byte-level characters; `Ġ` is a space) chosen so common words become multi-byte tokens. */
const MERGES: ReadonlyArray<readonly [string, string]> = [
  ['Ġ', 't'],
  ['h', 'e'],
  ['Ġt', 'he'],
  ['i', 'n'],
  ['Ġ', 'a'],
  ['e', 'r'],
  ['o', 'n'],
  ['s', 't'],
  ['Ġ', 's'],
  ['t', 'h'],
  ['Ġ', 'l'],
];

export interface TinyTokenizerInfo {
  readonly dir: string;
  readonly vocabSize: number;
  /** Id of each special token. */
  readonly special: Readonly<Record<(typeof TINY_SPECIAL_TOKENS)[number], number>>;
}

/** Writes tokenizer.json + tokenizer_config.json (+ a Qwen3-VL preprocessor_config.json) into `dir`. */
export async function writeTinyTokenizer(dir: string): Promise<TinyTokenizerInfo> {
  await mkdir(dir, { recursive: true });
  const vocab: Record<string, number> = {};
  const alphabet = byteAlphabet();
  alphabet.forEach((ch, i) => (vocab[ch] = i));
  let next = 256;
  for (const [a, b] of MERGES) vocab[a + b] = next++;
  const special = {} as Record<(typeof TINY_SPECIAL_TOKENS)[number], number>;
  const added_tokens = TINY_SPECIAL_TOKENS.map((content) => {
    special[content] = next;
    return { id: next++, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
  });
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens,
    normalizer: { type: 'NFC' },
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: MERGES.map(([a, b]) => `${a} ${b}`),
    },
  };
  const tokenizerConfig = {
    tokenizer_class: 'Qwen2Tokenizer',
    eos_token: '<|im_end|>',
    pad_token: '<|endoftext|>',
    bos_token: null,
    unk_token: null,
    clean_up_tokenization_spaces: false,
    model_max_length: 4096,
  };
  // Qwen3-VL's published image-processor settings (see render/image.ts).
  const preprocessorConfig = {
    image_processor_type: 'Qwen2VLImageProcessorFast',
    size: { shortest_edge: 65536, longest_edge: 16777216 },
    patch_size: 16,
    merge_size: 2,
    temporal_patch_size: 2,
  };
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson));
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
  await writeFile(join(dir, 'preprocessor_config.json'), JSON.stringify(preprocessorConfig));
  return { dir, vocabSize: next, special };
}
