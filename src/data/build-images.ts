/**
 * The image side of `mrpo data build`: every image an item uses is read once,
 * decoded and validated (sharp), optionally downscaled to a pixel budget, and
 * written under the output folder. A missing or corrupt image becomes a
 * recorded problem for each record that uses it, never a silent gap.
 *
 * Without a pixel budget the original bytes are written unchanged (the
 * reference copies files as they are; the model's processor resizes later).
 * With one, images within budget are still written byte for byte (no
 * re-encoding: md5s, colour spaces and EXIF stay as they are), and only images
 * over budget are downscaled and re-encoded in the format
 * their file name says (`.jpg` → JPEG, `.png` → PNG) unless a format is forced;
 * a file re-encoded to another format gets that format's extension appended.
 * Two different images that the reference would give the same file name (it
 * keeps the first and silently points later rows at it) are written under
 * distinct names here, and the collision is counted.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { InputError } from '../errors.js';
import sharp from 'sharp';
import { assertNotLfsPointer } from './lfs.js';
import { extensionForMime, prepareImage, validateImage, type ImageFormat } from './images.js';

export type ImageInput = { readonly kind: 'file'; readonly path: string } | { readonly kind: 'bytes'; readonly bytes: Uint8Array };

export interface ImageStoreOptions {
  /** Folder the images are written under (`<out>/images`). */
  readonly root: string;
  /** Downscale (and re-encode) images above this many pixels; images within it, and all images when undefined, keep their original bytes. */
  readonly maxPixels?: number;
  /** Encoding for re-encoded images (default `auto`: PNG stays PNG, everything else JPEG). */
  readonly format?: ImageFormat | 'auto';
  /** Decode every image fully to catch corrupt files (default true). */
  readonly validate?: boolean;
}

export type StoredImage = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly problem: string };

interface Entry {
  readonly md5: string | undefined;
  readonly result: Promise<StoredImage>;
}

export class ImageStore {
  private readonly entries = new Map<string, Entry>();
  /** Distinct images that wanted an already-used file name. */
  collisions = 0;
  written = 0;

  constructor(private readonly options: ImageStoreOptions) {}

  /**
   * Stores the image under `relPath` (relative to the root; `/`-separated) and
   * returns its absolute path, or the problem (missing file, unreadable image).
   */
  put(relPath: string, input: ImageInput): Promise<StoredImage> {
    const md5 = input.kind === 'bytes' ? createHash('md5').update(input.bytes).digest('hex') : undefined;
    let rel = relPath;
    const existing = this.entries.get(rel);
    if (existing !== undefined) {
      if (existing.md5 === md5) return existing.result;
      // Same name, different bytes: keep both images.
      const ext = extname(rel);
      rel = `${rel.slice(0, rel.length - ext.length)}~${(md5 ?? 'file').slice(0, 8)}${ext}`;
      const again = this.entries.get(rel);
      if (again !== undefined) return again.result;
      this.collisions += 1;
    }
    const result = this.write(rel, input);
    // A rejection (a Git LFS pointer: bad input for the whole build) reaches whoever awaits this
    // result; the no-op handler keeps results queued behind the first failure from being unhandled
    // (put is not async, so every caller gets this same promise).
    result.catch(() => undefined);
    this.entries.set(rel, { md5, result });
    return result;
  }

  private async write(rel: string, input: ImageInput): Promise<StoredImage> {
    let bytes: Uint8Array;
    if (input.kind === 'file') {
      try {
        const buf = await readFile(input.path);
        bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        return { ok: false, problem: code === 'ENOENT' ? `image file not found: ${input.path}` : `cannot read image file ${input.path} (${code ?? String(error)})` };
      }
      assertNotLfsPointer(bytes, input.path); // bad input for the whole build, not one skipped record
    } else bytes = input.bytes;
    const label = input.kind === 'file' ? input.path : 'embedded image bytes';
    let out = bytes;
    let target = join(this.options.root, ...rel.split('/'));
    try {
      const maxPixels = this.options.maxPixels;
      const withinBudget = maxPixels === undefined ? true : await fitsPixelBudget(bytes, maxPixels, this.options.validate ?? true, label);
      if (maxPixels !== undefined && !withinBudget) {
        // `auto` follows the file name (`.jpg` → JPEG, `.png` → PNG) so names stay as the reference gives them.
        const named = extname(target).toLowerCase();
        const byName = named === '.jpg' || named === '.jpeg' ? 'jpeg' : named === '.png' ? 'png' : 'auto';
        const format = (this.options.format ?? 'auto') === 'auto' ? byName : this.options.format;
        const prepared = await prepareImage({ bytes, mime: '' }, { maxPixels, ...(format ? { format } : {}), where: label });
        out = prepared.bytes;
        const ext = extensionForMime(prepared.mime);
        const current = extname(target).toLowerCase();
        const same = current === ext || (ext === '.jpg' && current === '.jpeg');
        if (!same) target = `${target}${ext}`;
      } else if (maxPixels === undefined && (this.options.validate ?? true)) {
        await validateImage(bytes, label); // (within a budget, fitsPixelBudget has already validated)
      }
    } catch (error) {
      if (error instanceof InputError) return { ok: false, problem: error.message };
      throw error;
    }
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, out);
    this.written += 1;
    return { ok: true, path: target };
  }
}

/**
 * Whether an image has at most `maxPixels` pixels (such an image is written
 * byte for byte; only larger ones are downscaled and re-encoded). With
 * `validate` the image is fully decoded, else only its header is read.
 */
async function fitsPixelBudget(bytes: Uint8Array, maxPixels: number, validate: boolean, where: string): Promise<boolean> {
  let size: { width: number; height: number };
  if (validate) size = await validateImage(bytes, where);
  else {
    try {
      const meta = await sharp(bytes).metadata();
      size = { width: meta.width ?? 0, height: meta.height ?? 0 };
    } catch (error) {
      throw new InputError(where, `not a readable image (${(error as Error).message.split('\n')[0]})`);
    }
    if (!(size.width > 0 && size.height > 0)) throw new InputError(where, 'not a readable image (no width/height in its header)');
  }
  return size.width * size.height <= maxPixels;
}
