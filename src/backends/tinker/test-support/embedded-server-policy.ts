/**
 * TEST SUPPORT ONLY. The project's embedded CPU policy (src/backends/embedded)
 * behind the local Tinker test server, so a training run goes over real HTTP
 * against a real (small) vision-language model.
 *
 * Token ids are shared: `writeEmbeddedHfTokenizer` writes a Hugging Face
 * `tokenizer.json` (WordLevel over the embedded vocabulary, split like the
 * embedded tokenizer) with the Qwen chat tokens appended after it, so the
 * client's ids < vocabulary size are the embedded model's ids.
 *
 * The server re-renders what the client sends into the embedded model's own
 * prompt layout (as a real server applies its model's template): the question
 * text between `<|vision_end|>` and `<|im_end|>`, the first image decoded to
 * pixels; the completion starts after `<|im_start|> assistant`. `<|im_end|>`
 * in a completion is the embedded `<eos>`. Gradients accumulate across
 * `forward_backward` calls and are applied at `optim_step` as one embedded
 * `train` call whose aggregation weights are all 1 (`seq-sum-const` with
 * constant 1/B), i.e. the summed loss of hosted Tinker.
 */
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { createEmbeddedBackend, loadEmbeddedBackend, type EmbeddedBackend, type ModelConfigInput } from '../../embedded/index.js';
import { EOS } from '../../embedded/tokenizer.js';
import type { Prompt, TrainExample } from '../../backend.js';
import type { Item } from '../../../types.js';
import type { AdamWire } from './bigram-policy.js';
import type { ServerDatum, ServerInput, ServerPolicy, ServerPolicyFactory, ServerSampler } from './server-policy.js';

const CHAT_SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|vision_start|>', '<|vision_end|>', '<|image_pad|>'] as const;
const CHAT_WORDS = ['user', 'assistant', 'system'] as const;
/** The embedded tokenizer's piece pattern (src/backends/embedded/tokenizer.ts). */
const PIECE_PATTERN = "<\\/?[A-Za-z][A-Za-z0-9_-]*>|[A-Za-z0-9]+(?:[-'.][A-Za-z0-9]+)*|\\S";

export interface EmbeddedTokenIds {
  readonly vocabSize: number;
  readonly imStart: number;
  readonly imEnd: number;
  readonly visionEnd: number;
  readonly assistant: number;
}

/** Writes tokenizer.json + tokenizer_config.json for the embedded vocabulary plus the Qwen chat tokens. */
export async function writeEmbeddedHfTokenizer(dir: string, vocab: readonly string[]): Promise<EmbeddedTokenIds> {
  await mkdir(dir, { recursive: true });
  const ids: Record<string, number> = {};
  vocab.forEach((piece, id) => (ids[piece] = id));
  let next = vocab.length;
  for (const w of CHAT_WORDS) if (!(w in ids)) ids[w] = next++;
  const added = [
    ...['<pad>', '<unk>', '<bos>', '<eos>'].map((content) => ({ id: ids[content], content })),
    ...CHAT_SPECIALS.map((content) => {
      ids[content] = next;
      return { id: next++, content };
    }),
  ].map((t) => ({ ...t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [{ type: 'WhitespaceSplit' }, { type: 'Split', pattern: { Regex: PIECE_PATTERN }, behavior: 'Isolated', invert: false }],
    },
    post_processor: null,
    decoder: null,
    model: { type: 'WordLevel', vocab: ids, unk_token: '<unk>' },
  };
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(json));
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'PreTrainedTokenizer', eos_token: '<|im_end|>', unk_token: '<unk>', clean_up_tokenization_spaces: false }));
  return { vocabSize: next, imStart: ids['<|im_start|>'], imEnd: ids['<|im_end|>'], visionEnd: ids['<|vision_end|>'], assistant: ids.assistant };
}

export interface EmbeddedFactoryOptions {
  readonly vocab: readonly string[];
  readonly ids: EmbeddedTokenIds;
  readonly seed: number;
  readonly model?: ModelConfigInput;
}

interface Pending {
  readonly example: TrainExample;
  readonly epsLow: number;
  readonly epsHigh: number;
}

export function embeddedFactory(options: EmbeddedFactoryOptions): ServerPolicyFactory {
  const { ids } = options;
  const dirs: string[] = [];
  const tempDir = async (): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), 'mrpo-tinker-embedded-'));
    dirs.push(d);
    return d;
  };

  /** The embedded model's prompt for what the client rendered. */
  const toPrompt = async (input: ServerInput, tok: EmbeddedBackend['tokenizer']): Promise<{ prompt: Prompt; completionStart: number }> => {
    const t = input.tokens_N;
    // After <|vision_end|>; a text-only turn (images: omit) starts after `<|im_start|> user`.
    const textOnly = !t.includes(ids.visionEnd);
    const start = textOnly ? t.indexOf(ids.imStart) + 2 : t.lastIndexOf(ids.visionEnd) + 1;
    const end = t.indexOf(ids.imEnd, start);
    const lastImStart = t.lastIndexOf(ids.imStart);
    if (start <= 1 || end < 0 || lastImStart < end || t[lastImStart + 1] !== ids.assistant) throw new Error('prompt is not a Qwen-VL user turn');
    const text = tok.decode(t.slice(start, end).filter((id) => id < options.vocab.length)).text;
    const image = input.images[0];
    if (image === undefined && !textOnly) throw new Error('the embedded policy needs an image');
    // The embedded model always takes an image: a text-only prompt gets a blank one.
    const { data, info } =
      image === undefined
        ? { data: Buffer.alloc(16 * 16), info: { width: 16, height: 16, channels: 1 } }
        : await sharp(image.jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const item: Item = {
      id: `prompt-${text.length}-${data.length}`,
      image: { pixels: new Uint8Array(data), width: info.width, height: info.height, channels: info.channels === 1 ? 1 : 3 },
      question: text,
      answer: '',
      source: 'tinker-test-server',
    };
    return { prompt: { item, text }, completionStart: lastImStart + 2 };
  };
  const toEmbedded = (id: number): number => (id === ids.imEnd ? EOS : id);
  const fromEmbedded = (id: number): number => (id === EOS ? ids.imEnd : id);

  const samplerOf = (backend: EmbeddedBackend, owned: boolean): ServerSampler & { close(): Promise<void> } => ({
    sample: async (input, n, params) => {
      const { prompt } = await toPrompt(input, backend.tokenizer);
      const [group] = await backend.sample([prompt], n, { temperature: params.temperature, maxTokens: params.max_tokens, seed: params.seed });
      return group.map((c) => ({ tokens: c.tokenIds.map(fromEmbedded), logprobs: [...c.logprobs], stop_reason: c.finishReason }));
    },
    promptLogprobs: async () => {
      throw new Error('prompt log-probs are not supported by the embedded test server');
    },
    close: async () => {
      if (owned) await backend.close();
    },
  });

  return {
    vocabSize: ids.vocabSize,
    close: async () => {
      for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
    },
    baseSampler: async () => samplerOf(await createEmbeddedBackend({ seed: options.seed, vocab: options.vocab, model: options.model }), true),
    create: async () => {
      const backend = await createEmbeddedBackend({ seed: options.seed, vocab: options.vocab, model: options.model });
      let pending: Pending[] = [];
      const samplers: Array<{ close(): Promise<void> }> = [];
      const policy: ServerPolicy = {
        forwardBackward: async (data: readonly ServerDatum[], lossFn, config) => {
          if (lossFn !== 'ppo' && lossFn !== 'importance_sampling') throw new Error(`loss ${lossFn} is not supported by the embedded test server`);
          const epsLow = lossFn === 'ppo' ? 1 - (config.clip_low_threshold ?? 0.8) : Infinity;
          const epsHigh = lossFn === 'ppo' ? (config.clip_high_threshold ?? 1.2) - 1 : Infinity;
          const logprobs_B: number[][] = [];
          let loss = 0;
          for (const d of data) {
            const { prompt, completionStart: P } = await toPrompt(d.input, backend.tokenizer);
            const N = d.input.tokens_N.length;
            const completion = d.inputs.target_tokens.slice(P - 1).map(toEmbedded);
            const old_T = d.inputs.logprobs.slice(P - 1);
            const adv_T = d.inputs.advantages.slice(P - 1);
            const [learner_T] = await backend.score([{ prompt, tokenIds: completion }]);
            const out = new Array<number>(N).fill(0);
            learner_T.forEach((lp, t) => {
              out[P - 1 + t] = lp;
              const r = Math.exp(lp - old_T[t]);
              const rc = Math.min(Math.max(r, 1 - epsLow), 1 + epsHigh);
              loss += -Math.min(r * adv_T[t], rc * adv_T[t]);
            });
            logprobs_B.push(out);
            const text = backend.tokenizer.decode(completion).text;
            pending.push({
              example: { prompt, completion: { text, tokenIds: completion, logprobs: old_T, tokenOffsets: completion.map(() => [0, 0] as const), finishReason: 'stop' }, advantages_T: adv_T },
              epsLow,
              epsHigh,
            });
          }
          return { logprobs_B, loss };
        },
        optimStep: async (adam: AdamWire) => {
          if (pending.length === 0) return {};
          const batch = pending;
          pending = [];
          const metrics = await backend.train(
            batch.map((p) => p.example),
            { kind: 'policy-gradient', beta: 0, epsLow: batch[0].epsLow, epsHigh: batch[0].epsHigh, aggregation: 'seq-sum-const', constant: 1 / batch.length },
            {
              learningRate: adam.learning_rate,
              gradClip: adam.grad_clip_norm && adam.grad_clip_norm > 0 ? adam.grad_clip_norm : Number.MAX_VALUE,
              beta1: adam.beta1,
              beta2: adam.beta2,
              eps: adam.eps,
              weightDecay: adam.weight_decay,
            },
          );
          return Object.fromEntries(Object.entries(metrics).map(([k, v]) => [`${k}:mean`, v]));
        },
        sampler: async () => {
          const dir = await tempDir();
          await backend.save(dir);
          const s = samplerOf(await loadEmbeddedBackend(dir), true);
          samplers.push(s);
          if (samplers.length > 3) await samplers.shift()?.close(); // sessions older than that are not used again
          return s;
        },
        saveState: async () => {
          const dir = await tempDir();
          await backend.save(dir);
          return dir;
        },
        loadState: async (state) => {
          await backend.load(state as string);
          pending = [];
        },
        close: async () => {
          for (const s of samplers.splice(0)) await s.close();
          await backend.close();
        },
      };
      return policy;
    },
  };
}
