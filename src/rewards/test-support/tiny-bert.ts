/**
 * Test fixture: writes a tiny "BERT" model directory that transformers.js loads
 * exactly like a real one (config.json, tokenizer.json, tokenizer_config.json,
 * onnx/model.onnx), without any network. The ONNX graph is a token-embedding
 * lookup (one Gather per exposed layer), so every hidden state is a fixed vector
 * per token and BERTScore values can be worked out by hand. It checks the real
 * loading, tokenising, special-token weighting, layer selection and matching
 * path — not a transformer's attention (see README "BERTScore" for what is untested).
 *
 * The ONNX file is encoded here with a minimal protobuf writer (ModelProto
 * fields from onnx.proto: ir_version 1, producer_name 2, graph 7, opset_import 8;
 * GraphProto node 1, name 2, initializer 5, input 11, output 12).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

function varint(value: number): number[] {
  const out: number[] = [];
  let v = BigInt(value);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}
const tag = (field: number, wire: 0 | 2) => varint((field << 3) | wire);
const intField = (field: number, value: number) => [...tag(field, 0), ...varint(value)];
const bytesField = (field: number, bytes: ArrayLike<number>) => [...tag(field, 2), ...varint(bytes.length), ...Array.from(bytes)];
const strField = (field: number, s: string) => bytesField(field, new TextEncoder().encode(s));

const FLOAT = 1;
const INT64 = 7;

function valueInfo(name: string, elemType: number, dims: Array<string | number>): number[] {
  const shape = dims.flatMap((d) => bytesField(1, typeof d === 'string' ? strField(2, d) : intField(1, d)));
  const tensorType = [...intField(1, elemType), ...bytesField(2, shape)];
  return [...strField(1, name), ...bytesField(2, bytesField(1, tensorType))];
}

function floatTensor(name: string, rows: readonly (readonly number[])[]): number[] {
  const data = new Float32Array(rows.flat());
  return [...intField(1, rows.length), ...intField(1, rows[0].length), ...intField(2, FLOAT), ...strField(8, name), ...bytesField(9, new Uint8Array(data.buffer))];
}

function gather(table: string, output: string): number[] {
  return [...strField(1, table), ...strField(1, 'input_ids'), ...strField(2, output), ...strField(3, `gather_${output}`), ...strField(4, 'Gather')];
}

/** Encodes the ONNX model: outputs[name] = table[input_ids] for each exposed output. */
export function tinyBertOnnx(outputs: Readonly<Record<string, readonly (readonly number[])[]>>): Uint8Array {
  const names = Object.keys(outputs);
  const dim = outputs[names[0]][0].length;
  const graph = [
    ...names.flatMap((n, i) => bytesField(1, gather(`table_${i}`, n))),
    ...strField(2, 'tiny_bert'),
    ...names.flatMap((n, i) => bytesField(5, floatTensor(`table_${i}`, outputs[n]))),
    ...['input_ids', 'attention_mask', 'token_type_ids'].flatMap((n) => bytesField(11, valueInfo(n, INT64, ['batch', 'sequence']))),
    ...names.flatMap((n) => bytesField(12, valueInfo(n, FLOAT, ['batch', 'sequence', dim]))),
  ];
  const model = [...intField(1, 8), ...strField(2, 'mrpo-test'), ...bytesField(7, graph), ...bytesField(8, [...strField(1, ''), ...intField(2, 13)])];
  return new Uint8Array(model);
}

export const TINY_VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'left', 'right', 'lung', 'kidney', '##s'] as const;

/**
 * Last layer (layer 2), one row per TINY_VOCAB entry:
 * [CLS]=(1,0) [SEP]=(0,1) left=(1,0) right=(0,1) lung=(3,4) kidney=(4,3) ##s=(1,1).
 */
export const TINY_LAST_LAYER = [[0, 0], [1, 1], [1, 0], [0, 1], [1, 0], [0, 1], [3, 4], [4, 3], [1, 1]];
/** Layer 1: every token (1,0) except right=(0,1). */
export const TINY_LAYER_1 = [[1, 0], [1, 0], [1, 0], [1, 0], [1, 0], [0, 1], [1, 0], [1, 0], [1, 0]];

function tokenizerJson(): object {
  const vocab = Object.fromEntries(TINY_VOCAB.map((t, i) => [t, i]));
  const special = (id: number) => ({ id, content: TINY_VOCAB[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [0, 1, 2, 3].map(special),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}

/** Writes the tiny model directory under `dir` and returns `dir`. */
export async function writeTinyBert(dir: string, options: { readonly withLayer1?: boolean } = {}): Promise<string> {
  await mkdir(join(dir, 'onnx'), { recursive: true });
  const config = {
    model_type: 'bert',
    architectures: ['BertModel'],
    hidden_size: 2,
    num_hidden_layers: 2,
    num_attention_heads: 1,
    intermediate_size: 4,
    vocab_size: TINY_VOCAB.length,
    max_position_embeddings: 512,
    type_vocab_size: 2,
  };
  const tokenizerConfig = {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: true,
    model_max_length: 512,
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    unk_token: '[UNK]',
    mask_token: '[UNK]',
  };
  const outputs: Record<string, readonly (readonly number[])[]> = { last_hidden_state: TINY_LAST_LAYER };
  if (options.withLayer1) outputs['hidden_states.1'] = TINY_LAYER_1;
  await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson(), null, 2));
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig, null, 2));
  await writeFile(join(dir, 'onnx', 'model.onnx'), tinyBertOnnx(outputs));
  return dir;
}
