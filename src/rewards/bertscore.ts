/**
 * BERTScore F1 as the semantic component of the answer reward (docs/method.md §3,
 * docs/reference-facts.md §3b): the reference's `BERTScorer(model_type=BiomedBERT,
 * num_layers=12, idf=False, rescale_with_baseline=False).score([ans], [gt])`,
 * run through transformers.js (ONNX runtime, CPU) from a **local model
 * directory only** — no hub access (`local_files_only`, `env.allowRemoteModels = false`).
 *
 * Per sentence, as bert_score's `sent_encode`: the text is stripped, tokenised
 * with [CLS]/[SEP], and if longer than the model's maximum length cut to
 * [CLS] + first tokens + [SEP]; the hidden states of layer `layer` (default 12)
 * are the token embeddings; [CLS]/[SEP] get weight 0. The matching itself is
 * the pure `bertScoreFromEmbeddings`. Each pair is encoded on its own (no
 * padding), which is exactly what the reference's one-pair calls compute.
 *
 * Layer L is the model's `last_hidden_state` when L equals the config's
 * `num_hidden_layers` (BiomedBERT-base: 12); another layer needs an ONNX
 * export that exposes it as an output named `hidden_states.L`.
 * Scores are clamped to [0, 1] (the SemanticScorer contract; the reference
 * clamps the whole answer reward at 0).
 */
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { bertScoreFromEmbeddings, type BertScore, type TokenEmbeddings } from './bertscore-match.js';
import type { SemanticPair, SemanticScorer } from './semantic.js';
import { pathExists } from '../utils/fs.js';

export interface BertScoreOptions {
  /** Local model directory: config.json, tokenizer.json, tokenizer_config.json, onnx/<modelFile>.onnx. */
  readonly modelDir: string;
  /** Hidden layer whose states are the embeddings (bert_score num_layers); default 12. */
  readonly layer?: number;
  /** Maximum tokens per sentence incl. [CLS]/[SEP]; default the tokenizer's model_max_length, else 512. */
  readonly maxLength?: number;
  /** ONNX file name under onnx/, without extension (transformers.js `model_file_name`); default "model". */
  readonly modelFile?: string;
}

export interface BertScorer extends SemanticScorer {
  readonly layer: number;
  /** P, R and F1 per pair (unclamped), for diagnostics. */
  scoreDetailed(pairs: readonly SemanticPair[]): Promise<BertScore[]>;
}

const REQUIRED_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];


/** Loads the model and tokenizer from `modelDir` and returns a scorer. Throws ConfigError naming the directory on any problem. */
export async function createBertScorer(options: BertScoreOptions): Promise<BertScorer> {
  const dir = resolve(options.modelDir);
  const where = `BERTScore model directory ${dir}`;
  const layer = options.layer ?? 12;
  if (!Number.isInteger(layer) || layer < 1) throw new ConfigError(where, `layer must be a positive integer, got ${layer}`);
  if (!(await pathExists(dir))) throw new ConfigError(where, 'not found (expected a local Hugging Face model directory exported to ONNX; models are never downloaded)');
  const modelFile = options.modelFile ?? 'model';
  const missing = [...REQUIRED_FILES, `onnx/${modelFile}.onnx`];
  const absent: string[] = [];
  for (const f of missing) if (!(await pathExists(join(dir, f)))) absent.push(f);
  if (absent.length > 0) throw new ConfigError(where, `missing ${absent.join(', ')} (expected config.json, tokenizer.json, tokenizer_config.json and onnx/${modelFile}.onnx)`);

  let config: { num_hidden_layers?: unknown };
  try {
    config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as { num_hidden_layers?: unknown };
  } catch (error) {
    throw new ConfigError(`${where}: config.json`, `not valid JSON (${(error as Error).message})`);
  }
  const layers = typeof config.num_hidden_layers === 'number' ? config.num_hidden_layers : undefined;

  const { AutoModel, AutoTokenizer, Tensor, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false; // local directory only, never the hub
  env.allowLocalModels = true;
  let tokenizer: Awaited<ReturnType<typeof AutoTokenizer.from_pretrained>>;
  let model: Awaited<ReturnType<typeof AutoModel.from_pretrained>>;
  try {
    tokenizer = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
    model = await AutoModel.from_pretrained(dir, { local_files_only: true, dtype: 'fp32', device: 'cpu', model_file_name: modelFile });
  } catch (error) {
    throw new ConfigError(where, `cannot load the model: ${(error as Error).message}`, { cause: error });
  }

  const cls: unknown = tokenizer.config.cls_token; // a string, or an AddedToken object { content }
  const clsToken = typeof cls === 'string' ? cls : typeof (cls as { content?: unknown } | null)?.content === 'string' ? (cls as { content: string }).content : '[CLS]';
  const [clsId] = tokenizer.convert_tokens_to_ids([clsToken]);
  const sepId = tokenizer.sep_token_id;
  if (typeof clsId !== 'number' || typeof sepId !== 'number') throw new ConfigError(where, 'the tokenizer has no [CLS]/[SEP] tokens (expected a BERT-style tokenizer)');
  const maxLength = options.maxLength ?? (Number.isFinite(tokenizer.model_max_length) ? tokenizer.model_max_length : 512);
  const outputName = layers !== undefined && layer === layers ? 'last_hidden_state' : `hidden_states.${layer}`;

  async function embed(text: string): Promise<TokenEmbeddings> {
    const enc = tokenizer(text.trim(), { add_special_tokens: true });
    let ids_T = Array.from(enc.input_ids.data as BigInt64Array, (v) => Number(v));
    if (ids_T.length > maxLength) ids_T = [...ids_T.slice(0, maxLength - 1), sepId]; // HF truncation keeps the final [SEP]
    const T = ids_T.length;
    const feeds = {
      input_ids: new Tensor('int64', BigInt64Array.from(ids_T, (v) => BigInt(v)), [1, T]),
      attention_mask: new Tensor('int64', new BigInt64Array(T).fill(1n), [1, T]),
      token_type_ids: new Tensor('int64', new BigInt64Array(T), [1, T]),
    };
    const out = (await model(feeds)) as Record<string, { dims: number[]; data: Float32Array } | undefined>;
    const hidden = out[outputName];
    if (hidden === undefined)
      throw new ConfigError(
        where,
        `layer ${layer} is not available: the model has ${layers ?? 'an unknown number of'} layers and its ONNX outputs are ${Object.keys(out).join(', ')} ` +
          `(layer = num_hidden_layers uses last_hidden_state; other layers need an output named hidden_states.${layer})`,
      );
    const dim = hidden.dims[2];
    return { data: hidden.data, tokens: T, dim, weights: ids_T.map((id) => (id === clsId || id === sepId ? 0 : 1)) };
  }

  async function scoreDetailed(pairs: readonly SemanticPair[]): Promise<BertScore[]> {
    const cache = new Map<string, TokenEmbeddings>(); // a group's completions share one reference
    const get = async (text: string) => {
      let e = cache.get(text);
      if (e === undefined) cache.set(text, (e = await embed(text)));
      return e;
    };
    const out: BertScore[] = [];
    for (const p of pairs) out.push(bertScoreFromEmbeddings(await get(p.prediction), await get(p.reference)));
    return out;
  }

  // Fail at load time, not at the first reward: the layer must exist.
  await embed('a');

  return {
    name: `bertscore:${basename(dir)}@${layer}`,
    layer,
    scoreDetailed,
    async score(pairs) {
      return (await scoreDetailed(pairs)).map((s) => Math.min(1, Math.max(0, s.f1)));
    },
  };
}
