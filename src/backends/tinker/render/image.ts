/**
 * Images for a Qwen-VL model on the Tinker API (docs/tinker-protocol.md §7): the
 * image goes as a JPEG chunk, and the client must know how many sequence
 * positions it occupies (`expected_tokens`) to size the loss tensors.
 *
 * The count follows the Qwen2-VL/Qwen3-VL image processor ("smart resize"):
 *   factor = patch_size × merge_size
 *   h̄ = round(h/factor)·factor, w̄ = round(w/factor)·factor   (round half to even, as Python)
 *   if h̄·w̄ > max_pixels: β = √(h·w/max_pixels); h̄ = max(factor, ⌊h/β/factor⌋·factor), same for w̄
 *   if h̄·w̄ < min_pixels: β = √(min_pixels/(h·w)); h̄ = ⌈h·β/factor⌉·factor, same for w̄
 *   tokens = (h̄/patch)·(w̄/patch) / merge²  = (h̄/factor)·(w̄/factor)
 * Numbers used for Qwen3-VL (its published `preprocessor_config.json`, read
 * in several public copies; verify against the model you train): patch_size 16,
 * merge_size 2 (factor 32), size.shortest_edge = min_pixels = 65 536 (256²),
 * size.longest_edge = max_pixels = 16 777 216 (4096²). Qwen2-VL/2.5-VL use
 * patch 14 (factor 28), min_pixels 3 136, max_pixels 12 845 056. When the
 * tokenizer directory holds a `preprocessor_config.json`, its values win.
 *
 * Before encoding, an image larger than `maxPixels` (default 802 816, the
 * reference MRPO trainer's `--max_pixels`) is scaled down on this machine, so
 * the request stays small; the server then resizes the JPEG it receives, and
 * the count is computed from the JPEG's own dimensions, so both sides agree.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import sharp, { type Sharp, type Metadata } from 'sharp';
import { ConfigError, InputError } from '../../../errors.js';
import type { ImageSource } from '../../../types.js';

export interface VisionResizeRule {
  readonly patchSize: number;
  readonly mergeSize: number;
  readonly minPixels: number;
  readonly maxPixels: number;
}

export const QWEN3_VL_RESIZE: VisionResizeRule = { patchSize: 16, mergeSize: 2, minPixels: 65_536, maxPixels: 16_777_216 };
export const QWEN2_VL_RESIZE: VisionResizeRule = { patchSize: 14, mergeSize: 2, minPixels: 3_136, maxPixels: 12_845_056 };

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** The resized height and width the model's processor will use. */
export function smartResize(height: number, width: number, rule: VisionResizeRule): { height: number; width: number } {
  const factor = rule.patchSize * rule.mergeSize;
  if (!(height > 0 && width > 0)) throw new RangeError(`smartResize: image size must be positive, got ${width}×${height}`);
  if (Math.max(height, width) / Math.min(height, width) > 200)
    throw new RangeError(`smartResize: aspect ratio of ${width}×${height} exceeds 200, which the Qwen-VL processor rejects`);
  let h = roundHalfEven(height / factor) * factor;
  let w = roundHalfEven(width / factor) * factor;
  if (h * w > rule.maxPixels) {
    const beta = Math.sqrt((height * width) / rule.maxPixels);
    h = Math.max(factor, Math.floor(height / beta / factor) * factor);
    w = Math.max(factor, Math.floor(width / beta / factor) * factor);
  } else if (h * w < rule.minPixels) {
    const beta = Math.sqrt(rule.minPixels / (height * width));
    h = Math.ceil((height * beta) / factor) * factor;
    w = Math.ceil((width * beta) / factor) * factor;
  }
  return { height: h, width: w };
}

/** Number of placeholder tokens the model gives an image of this size. */
export function imageTokenCount(height: number, width: number, rule: VisionResizeRule): number {
  const r = smartResize(height, width, rule);
  const factor = rule.patchSize * rule.mergeSize;
  return (r.height / factor) * (r.width / factor);
}

/** Reads the resize rule from a Hugging Face `preprocessor_config.json` in `dir`, or returns `fallback`. */
export async function readResizeRule(dir: string | undefined, fallback: VisionResizeRule): Promise<VisionResizeRule> {
  if (dir === undefined) return fallback;
  const path = join(dir, 'preprocessor_config.json');
  if (!existsSync(path)) return fallback;
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(path, `not valid JSON: ${(error as Error).message}`);
  }
  const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined);
  const size = (raw.size ?? {}) as Record<string, unknown>;
  return {
    patchSize: num(raw.patch_size) ?? fallback.patchSize,
    mergeSize: num(raw.merge_size) ?? fallback.mergeSize,
    minPixels: num(raw.min_pixels) ?? num(size.shortest_edge) ?? fallback.minPixels,
    maxPixels: num(raw.max_pixels) ?? num(size.longest_edge) ?? fallback.maxPixels,
  };
}

export interface JpegImage {
  readonly jpeg: Uint8Array;
  readonly width: number;
  readonly height: number;
}

async function sourceToSharp(image: ImageSource, where: string): Promise<Sharp> {
  if (typeof image === 'string') {
    if (image.startsWith('data:')) {
      const comma = image.indexOf(',');
      if (comma < 0 || !image.slice(0, comma).endsWith(';base64')) throw new InputError(where, 'a data: URL image must be base64-encoded');
      return sharp(Buffer.from(image.slice(comma + 1), 'base64'));
    }
    if (/^https?:\/\//.test(image)) {
      const response = await fetch(image);
      if (!response.ok) throw new InputError(where, `could not download the image ${image}: HTTP ${response.status}`);
      return sharp(Buffer.from(await response.arrayBuffer()));
    }
    try {
      return sharp(await readFile(image));
    } catch (error) {
      throw new InputError(where, `cannot read the image file ${image}: ${(error as Error).message}`);
    }
  }
  if ('bytes' in image) return sharp(Buffer.from(image.bytes));
  return sharp(Buffer.from(image.pixels), { raw: { width: image.width, height: image.height, channels: image.channels } });
}

/**
 * Decodes any supported image, flattens alpha onto white, converts to RGB,
 * scales it down to at most `maxPixels` (aspect kept) and encodes it as JPEG.
 */
export async function toJpeg(image: ImageSource, options: { maxPixels: number; quality?: number; where?: string }): Promise<JpegImage> {
  const where = options.where ?? 'image';
  let pipeline = await sourceToSharp(image, where);
  let meta: Metadata;
  try {
    meta = await pipeline.metadata();
  } catch (error) {
    throw new InputError(where, `not a decodable image: ${(error as Error).message}`);
  }
  let width = meta.width ?? 0;
  let height = meta.height ?? 0;
  if (!(width > 0 && height > 0)) throw new InputError(where, 'the image has no size');
  if (width * height > options.maxPixels) {
    const scale = Math.sqrt(options.maxPixels / (width * height));
    width = Math.max(1, Math.floor(width * scale));
    height = Math.max(1, Math.floor(height * scale));
    pipeline = pipeline.resize(width, height, { fit: 'fill' });
  }
  const { data, info } = await pipeline
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .jpeg({ quality: options.quality ?? 90 })
    .toBuffer({ resolveWithObject: true });
  return { jpeg: new Uint8Array(data), width: info.width, height: info.height };
}
