/**
 * Chat rendering for the vision-language models mrpo trains through the
 * Tinker API: a prompt (image + question with the docs/method.md §1 instruction)
 * becomes the model-input chunks of one user turn followed by the assistant
 * generation prefix, exactly as the model's chat template lays it out.
 *
 * Qwen3-VL-Instruct (no default system prompt):
 *   <|im_start|>user\n<|vision_start|>[image]<|vision_end|>{question}<|im_end|>\n<|im_start|>assistant\n
 * Qwen2.5-VL-Instruct: the same with the default system turn
 *   <|im_start|>system\nYou are a helpful assistant.<|im_end|>\n
 * The image is a separate chunk between the vision tags (docs/tinker-protocol.md §7);
 * the client never sends `<|image_pad|>` tokens, the server expands the image.
 * Generation stops at `<|im_end|>`; a supervised target ends with it.
 */
import { ConfigError, UnknownNameError } from '../../../errors.js';
import type { TextTokenizer } from './tokenizer.js';
import { QWEN2_VL_RESIZE, QWEN3_VL_RESIZE, type JpegImage, type VisionResizeRule } from './image.js';

/** One piece of a model input, independent of the wire format. */
export type InputChunk =
  | { readonly kind: 'tokens'; readonly tokens: readonly number[] }
  | { readonly kind: 'image'; readonly jpeg: Uint8Array; readonly expectedTokens: number };

/** Sequence positions a list of chunks occupies (an image counts its expected tokens). */
export function chunkLength(chunks: readonly InputChunk[]): number {
  let n = 0;
  for (const c of chunks) n += c.kind === 'tokens' ? c.tokens.length : c.expectedTokens;
  return n;
}

export interface RenderInput {
  readonly text: string;
  readonly image?: JpegImage;
}

export interface ChatRenderer {
  readonly name: RendererName;
  readonly resizeRule: VisionResizeRule;
  /** The think tag the model is prompted with (docs/method.md §1). */
  readonly thinkTag: 'think' | 'thinking';
  /** Chunks of the prompt, ending with the assistant generation prefix. */
  renderPrompt(input: RenderInput, imageTokens: (image: JpegImage) => number): InputChunk[];
  /** Token ids that end generation. */
  readonly stopTokens: readonly number[];
  /** Tokens that close the assistant turn in a supervised target. */
  readonly endOfTurn: readonly number[];
}

export type RendererName = 'qwen3-vl' | 'qwen2.5-vl';
export const RENDERER_NAMES: readonly RendererName[] = ['qwen3-vl', 'qwen2.5-vl'];

function requireToken(tokenizer: TextTokenizer, token: string, renderer: string): number {
  const id = tokenizer.tokenId(token);
  if (id === undefined)
    throw new ConfigError(`tokenizer ${tokenizer.source}`, `has no token ${token}, which the ${renderer} chat format needs; is it the tokenizer of that model?`);
  return id;
}

function qwenRenderer(name: RendererName, tokenizer: TextTokenizer, systemPrompt: string | undefined): ChatRenderer {
  const imEnd = requireToken(tokenizer, '<|im_end|>', name);
  requireToken(tokenizer, '<|im_start|>', name);
  requireToken(tokenizer, '<|vision_start|>', name);
  requireToken(tokenizer, '<|vision_end|>', name);
  const endOfText = tokenizer.tokenId('<|endoftext|>');
  const system = systemPrompt ?? (name === 'qwen2.5-vl' ? 'You are a helpful assistant.' : undefined);
  const systemTurn = system === undefined ? '' : `<|im_start|>system\n${system}<|im_end|>\n`;
  return {
    name,
    resizeRule: name === 'qwen3-vl' ? QWEN3_VL_RESIZE : QWEN2_VL_RESIZE,
    thinkTag: name === 'qwen3-vl' ? 'thinking' : 'think',
    stopTokens: endOfText === undefined ? [imEnd] : [imEnd, endOfText],
    endOfTurn: [imEnd],
    renderPrompt(input, imageTokens) {
      const tail = `${input.text}<|im_end|>\n<|im_start|>assistant\n`;
      if (input.image === undefined) return [{ kind: 'tokens', tokens: tokenizer.encode(`${systemTurn}<|im_start|>user\n${tail}`) }];
      return [
        { kind: 'tokens', tokens: tokenizer.encode(`${systemTurn}<|im_start|>user\n<|vision_start|>`) },
        { kind: 'image', jpeg: input.image.jpeg, expectedTokens: imageTokens(input.image) },
        { kind: 'tokens', tokens: tokenizer.encode(`<|vision_end|>${tail}`) },
      ];
    },
  };
}

export function createRenderer(name: string, tokenizer: TextTokenizer, options: { systemPrompt?: string } = {}): ChatRenderer {
  if (name === 'qwen3-vl' || name === 'qwen2.5-vl') return qwenRenderer(name, tokenizer, options.systemPrompt);
  throw new UnknownNameError('chat renderer', name, RENDERER_NAMES);
}
