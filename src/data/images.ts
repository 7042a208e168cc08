/**
 * Images for items (docs/method.md §1, §9; docs/reference-facts.md §3a `--max_pixels 802816`):
 * load an `ImageSource` (file path, `data:` URL, http(s) URL, encoded bytes or
 * raw pixels), decode and validate it with sharp, downscale it to a pixel
 * budget keeping the aspect ratio, and encode it (JPEG or PNG), or turn it into
 * a `data:` URL for a chat-completions request.
 *
 * Every failure is an InputError whose `where` names the file or record and the
 * field (`train.jsonl line 3 field "image"`), never a bare sharp message.
 */
import { createHash, hash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { imageSize } from 'image-size';
import type { default as Sharp } from 'sharp';
import { InputError } from '../errors.js';
import type { ImageSource } from '../types.js';
import { assertNotLfsPointer } from './lfs.js';

// sharp is loaded at its first use (0.1 s at start-up otherwise): JPEG/PNG headers are read without it, and a
// rerun over cached verdicts never decodes an image.
let sharpLoading: Promise<typeof Sharp> | undefined;
const loadSharp = async (): Promise<typeof Sharp> => (await (sharpLoading ??= import('sharp').then((m) => m.default)));

/** The reference's `max_pixels` (Qwen-VL processor budget): 1024 × 28 × 28. */
export const DEFAULT_MAX_PIXELS = 802_816;

export type ImageFormat = 'jpeg' | 'png';

export interface EncodedImage {
  readonly bytes: Uint8Array;
  readonly mime: string;
}

export interface PreparedImage extends EncodedImage {
  readonly width: number;
  readonly height: number;
  /** Size before downscaling. */
  readonly originalWidth: number;
  readonly originalHeight: number;
  /** False when the original bytes were passed through untouched. */
  readonly reencoded: boolean;
}

export interface PrepareImageOptions {
  /** Pixel budget: the output has width × height ≤ maxPixels. Default 802,816; `Infinity` disables downscaling. */
  readonly maxPixels?: number;
  /**
   * Output encoding. `auto` (default) keeps a JPEG or PNG that needs no
   * downscaling byte-for-byte, and otherwise writes PNG for PNG/raw input and
   * JPEG for everything else.
   */
  readonly format?: ImageFormat | 'auto';
  /** JPEG quality, 1–100 (default 90). */
  readonly quality?: number;
  /** Names the record and field in errors, e.g. `train.jsonl line 3 field "image"`. */
  readonly where?: string;
  /** Directory that relative file paths are resolved against (default: the process cwd). */
  readonly baseDir?: string;
  /** Passed to fetch for http(s) images. */
  readonly signal?: AbortSignal;
  /**
   * Fully decode an image that passes through unchanged, to catch truncated or
   * corrupt files (default true). Re-encoded images are always fully decoded.
   */
  readonly validate?: boolean;
}

const DATA_URL = /^data:([^;,]*)(;base64)?,/i;

/** The MIME type from an encoded image's magic number, or undefined when unknown. */
export function sniffImageMime(bytes: Uint8Array): string | undefined {
  const b = bytes;
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'image/png';
  if (b.length >= 6 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46) return 'image/gif';
  if (b.length >= 12 && b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && b[8] === 0x57 && b[9] === 0x45)
    return 'image/webp';
  if (b.length >= 4 && ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a) || (b[0] === 0x4d && b[1] === 0x4d && b[3] === 0x2a)))
    return 'image/tiff';
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d) return 'image/bmp';
  return undefined;
}

/** File extension (with the dot) for an image MIME type. */
export function extensionForMime(mime: string): string {
  switch (mime) {
    case 'image/jpeg':
      return '.jpg';
    case 'image/png':
      return '.png';
    case 'image/gif':
      return '.gif';
    case 'image/webp':
      return '.webp';
    case 'image/tiff':
      return '.tif';
    case 'image/bmp':
      return '.bmp';
    default:
      return '.bin';
  }
}

function describe(where: string | undefined, fallback: string): string {
  return where && where.length > 0 ? where : fallback;
}

/** True for strings that are `data:` URLs. */
export function isDataUrl(value: string): boolean {
  return DATA_URL.test(value);
}

/** Decodes a base64 `data:` URL into bytes. */
export function decodeDataUrl(url: string, where?: string): EncodedImage {
  const m = DATA_URL.exec(url);
  if (!m) throw new InputError(describe(where, 'image'), 'not a data URL (expected "data:<mime>;base64,...")');
  if (!m[2]) throw new InputError(describe(where, 'image'), 'data URL must be base64-encoded (";base64,")');
  const payload = url.slice(m[0].length);
  if (!/^[A-Za-z0-9+/=\s_-]*$/.test(payload)) throw new InputError(describe(where, 'image'), 'data URL payload is not valid base64');
  const bytes = new Uint8Array(Buffer.from(payload, 'base64'));
  const mime = (m[1] || '').toLowerCase() || sniffImageMime(bytes) || 'application/octet-stream';
  return { bytes, mime };
}

/**
 * SHA-256 (hex) of an image source's content, cheaply (no decoding): a data
 * URL's text, a file's bytes, in-memory bytes with their MIME type, raw pixels
 * with their shape. Undefined for http(s) URLs (their content can change) and
 * for files that cannot be read (the caller's normal path reports those).
 */
export async function imageSourceDigest(image: ImageSource): Promise<string | undefined> {
  if (typeof image !== 'string' || isDataUrl(image)) return inlineImageDigest(image);
  if (/^https?:\/\//i.test(image) || image.length === 0) return undefined;
  try {
    return createHash('sha256').update('file\u0000').update(await readFile(image)).digest('hex');
  } catch {
    return undefined;
  }
}

/** `imageSourceDigest` of a source that needs no reading (a data URL, bytes, pixels); undefined for paths and URLs. */
export function inlineImageDigest(image: ImageSource): string | undefined {
  // (`hash` is the one-shot form of createHash: the same digest of the same bytes, at less cost per call.)
  if (typeof image === 'string') return isDataUrl(image) ? hash('sha256', `data-url\u0000${image}`, 'hex') : undefined;
  if ('bytes' in image) return createHash('sha256').update(`bytes\u0000${image.mime}\u0000`).update(image.bytes).digest('hex');
  return createHash('sha256').update(`pixels\u0000${image.width}x${image.height}x${image.channels}\u0000`).update(image.pixels).digest('hex');
}

/**
 * Loads an image source as encoded bytes (raw pixels are encoded as PNG).
 * A missing file, an unreadable URL or an empty payload is an InputError that
 * names the file and `where`.
 */
export async function loadImageBytes(image: ImageSource, options: Pick<PrepareImageOptions, 'where' | 'baseDir' | 'signal'> = {}): Promise<EncodedImage> {
  const where = options.where;
  let out: EncodedImage;
  if (typeof image === 'string') {
    if (image.length === 0) throw new InputError(describe(where, 'image'), 'image is an empty string (expected a path or data URL)');
    if (isDataUrl(image)) out = decodeDataUrl(image, where);
    else if (/^https?:\/\//i.test(image)) out = await fetchImage(image, where, options.signal);
    else out = await readImageFile(image, where, options.baseDir);
  } else if ('bytes' in image) {
    out = { bytes: image.bytes, mime: image.mime || sniffImageMime(image.bytes) || 'application/octet-stream' };
  } else {
    return encodePixels(image, where);
  }
  if (out.bytes.length === 0) throw new InputError(describe(where, 'image'), 'image is empty (0 bytes)');
  return out;
}

async function readImageFile(path: string, where: string | undefined, baseDir: string | undefined): Promise<EncodedImage> {
  const full = baseDir ? resolve(baseDir, path) : path;
  let buf: Buffer;
  try {
    buf = await readFile(full);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const problem = code === 'ENOENT' ? 'image file not found' : `cannot read image file (${code ?? String(error)})`;
    throw new InputError(describe(where, full), where ? `${problem}: ${full}` : problem);
  }
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  assertNotLfsPointer(bytes, full);
  return { bytes, mime: sniffImageMime(bytes) ?? 'application/octet-stream' };
}

async function fetchImage(url: string, where: string | undefined, signal: AbortSignal | undefined): Promise<EncodedImage> {
  let response: Response;
  try {
    response = await fetch(url, signal ? { signal } : {});
  } catch (error) {
    throw new InputError(describe(where, url), `cannot fetch image ${url} (${(error as Error).message})`);
  }
  if (!response.ok) throw new InputError(describe(where, url), `cannot fetch image ${url} (HTTP ${response.status})`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const header = response.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  return { bytes, mime: sniffImageMime(bytes) ?? header ?? 'application/octet-stream' };
}

async function encodePixels(
  image: { readonly pixels: Uint8Array; readonly width: number; readonly height: number; readonly channels: 1 | 3 },
  where: string | undefined,
): Promise<EncodedImage> {
  const { pixels, width, height, channels } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0)
    throw new InputError(describe(where, 'image'), `raw image must have positive integer width and height, got ${width}×${height}`);
  if (pixels.length !== width * height * channels)
    throw new InputError(describe(where, 'image'), `raw image has ${pixels.length} bytes, expected width × height × channels = ${width * height * channels}`);
  let pipeline = (await loadSharp())(pixels, { raw: { width, height, channels } });
  if (channels === 1) pipeline = pipeline.toColourspace('b-w'); // keep one channel instead of sharp's default sRGB expansion
  const png = await pipeline.png().toBuffer();
  return { bytes: new Uint8Array(png.buffer, png.byteOffset, png.byteLength), mime: 'image/png' };
}

/** Target size for a pixel budget: the largest size with the same aspect ratio and width × height ≤ maxPixels. */
export function fitToPixelBudget(width: number, height: number, maxPixels: number): { width: number; height: number } {
  if (!(maxPixels > 0)) throw new RangeError(`maxPixels must be > 0, got ${maxPixels}`);
  if (width * height <= maxPixels) return { width, height };
  const scale = Math.sqrt(maxPixels / (width * height));
  let w = Math.max(1, Math.floor(width * scale));
  let h = Math.max(1, Math.floor(height * scale));
  // floor() keeps the product within budget except for rounding at the edges; shave until it fits.
  while (w * h > maxPixels) {
    if (w >= h && w > 1) w -= 1;
    else if (h > 1) h -= 1;
    else break;
  }
  return { width: w, height: h };
}

interface ImageHeader {
  readonly width?: number;
  readonly height?: number;
  readonly orientation?: number;
}

/**
 * Width, height and EXIF orientation from an image's header: image-size for
 * JPEG and PNG (a few µs; sharp's metadata() costs 100–180 µs of CPU, which
 * matters when every judge call prepares an image), sharp otherwise and for
 * PNGs with an eXIf chunk (whose orientation only sharp reads).
 */
async function readHeader(bytes: Uint8Array, unreadable: (error: unknown) => InputError): Promise<ImageHeader> {
  const mime = sniffImageMime(bytes);
  if (mime === 'image/jpeg' || (mime === 'image/png' && Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf('eXIf', 0, 'latin1') < 0)) {
    try {
      const size = imageSize(bytes);
      if ((size.width ?? 0) > 0 && (size.height ?? 0) > 0) return size;
    } catch {
      // not readable this way: sharp reads it or says why not
    }
  }
  try {
    return await (await loadSharp())(bytes).metadata();
  } catch (error) {
    throw unreadable(error);
  }
}

/**
 * Decodes, validates, downscales and encodes one image. A corrupt or
 * truncated file is an InputError naming `where`.
 */
export async function prepareImage(image: ImageSource, options: PrepareImageOptions = {}): Promise<PreparedImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const quality = options.quality ?? 90;
  if (!(maxPixels > 0)) throw new RangeError(`maxPixels must be > 0, got ${maxPixels}`);
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) throw new RangeError(`quality must be an integer in 1..100, got ${quality}`);
  const encoded = await loadImageBytes(image, options);
  const where = describe(options.where, typeof image === 'string' && !isDataUrl(image) ? image : 'image');
  const inputIsRaw = typeof image !== 'string' && 'pixels' in image;

  const unreadable = (error: unknown): InputError => new InputError(where, `not a readable image (${(error as Error).message.split('\n')[0]})`);
  // The header first (cheap): size, format and EXIF orientation decide whether the bytes can pass through.
  const meta = await readHeader(encoded.bytes, unreadable);
  const orientation = inputIsRaw ? 1 : (meta.orientation ?? 1);
  const rotated = orientation >= 5; // EXIF 5–8 swap width and height
  const originalWidth = rotated ? (meta.height ?? 0) : (meta.width ?? 0);
  const originalHeight = rotated ? (meta.width ?? 0) : (meta.height ?? 0);
  if (!(originalWidth > 0 && originalHeight > 0)) throw new InputError(where, 'not a readable image (no width/height in its header)');
  const target = fitToPixelBudget(originalWidth, originalHeight, maxPixels);
  const needsResize = target.width !== originalWidth || target.height !== originalHeight;
  const sourceMime = inputIsRaw ? 'image/png' : (sniffImageMime(encoded.bytes) ?? encoded.mime);
  const autoFormat = options.format === undefined || options.format === 'auto';
  const format: ImageFormat = autoFormat ? (sourceMime === 'image/png' ? 'png' : 'jpeg') : (options.format as ImageFormat);
  const targetMime = format === 'png' ? 'image/png' : 'image/jpeg';

  // An EXIF orientation other than 1 means the displayed pixels differ from the stored ones, so the bytes cannot pass through.
  if (!needsResize && autoFormat && sourceMime === targetMime && orientation <= 1) {
    if (options.validate ?? true) {
      try {
        // A full decode (not only the header) so that truncated files are caught; `failOn: 'error'` rejects corrupt data.
        await (await loadSharp())(encoded.bytes, { failOn: 'error' }).raw().toBuffer();
      } catch (error) {
        throw unreadable(error);
      }
    }
    return { bytes: encoded.bytes, mime: targetMime, width: originalWidth, height: originalHeight, originalWidth, originalHeight, reencoded: false };
  }

  let pipeline = (await loadSharp())(encoded.bytes, { failOn: 'error' }).rotate();
  if (needsResize) pipeline = pipeline.resize(target.width, target.height, { fit: 'fill', kernel: 'lanczos3' });
  let out: Buffer;
  try {
    // JPEG has no alpha: flatten onto white rather than letting the encoder drop it to black.
    out = format === 'png' ? await pipeline.png().toBuffer() : await pipeline.flatten({ background: '#ffffff' }).jpeg({ quality }).toBuffer();
  } catch (error) {
    throw unreadable(error);
  }
  return {
    bytes: new Uint8Array(out.buffer, out.byteOffset, out.byteLength),
    mime: targetMime,
    width: target.width,
    height: target.height,
    originalWidth,
    originalHeight,
    reencoded: true,
  };
}

/**
 * Checks that an encoded image decodes completely; returns its size. A corrupt
 * file is an InputError naming `where`.
 */
export async function validateImage(bytes: Uint8Array, where: string): Promise<{ width: number; height: number; mime: string }> {
  try {
    const { info } = await (await loadSharp())(bytes, { failOn: 'error' }).raw().toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, mime: sniffImageMime(bytes) ?? 'application/octet-stream' };
  } catch (error) {
    throw new InputError(where, `not a readable image (${(error as Error).message.split('\n')[0]})`);
  }
}

/** Turns encoded bytes into a base64 `data:` URL. */
export function bytesToDataUrl(image: EncodedImage): string {
  return `data:${image.mime};base64,${Buffer.from(image.bytes.buffer, image.bytes.byteOffset, image.bytes.byteLength).toString('base64')}`;
}

/**
 * The image as a `data:` URL for a chat-completions `image_url` part:
 * decoded, validated, downscaled to the pixel budget (default 802,816) and
 * encoded (a JPEG/PNG within budget passes through byte-for-byte, so cache
 * keys built from the URL are stable).
 */
export async function imageToDataUrl(image: ImageSource, options: PrepareImageOptions = {}): Promise<string> {
  return bytesToDataUrl(await prepareImage(image, options));
}
