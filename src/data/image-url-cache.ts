/**
 * A bounded LRU of `imageToDataUrl` results. The same image is sent many times
 * (every completion of a group, the step judge and the answer judge), and a
 * full decode costs milliseconds per call; with this cache each image is
 * decoded, validated and encoded once. A file is keyed by its resolved path,
 * size and modification time, so an edited file is read again; in-memory
 * images by a hash of their bytes, data and http(s) URLs by themselves.
 * Failures are not cached. The judge endpoint keeps one of these (64
 * entries) for the images it sends.
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ImageSource } from '../types.js';
import { imageToDataUrl, isDataUrl, type PrepareImageOptions } from './images.js';

export interface ImageUrlCacheOptions extends Omit<PrepareImageOptions, 'where' | 'signal'> {
  /** Most entries kept (default 256). */
  readonly maxEntries?: number;
  /**
   * Makes the URL of an image (replaces `imageToDataUrl` and its options; `baseDir` still resolves file keys).
   * `where` is passed on for error messages.
   */
  readonly prepare?: (image: ImageSource, where?: string) => Promise<string>;
}

export interface ImageUrlCache {
  /** The image as a `data:` URL (as `imageToDataUrl` gives it). `where` names the record in errors. */
  dataUrl(image: ImageSource, where?: string): Promise<string>;
  readonly stats: { hits: number; misses: number };
}

/** A data or http(s) URL is its own key (no copy, no hash); the other keys start with a letter and a colon. */
async function keyOf(image: ImageSource, baseDir: string | undefined): Promise<string> {
  if (typeof image === 'string') {
    if (isDataUrl(image) || /^https?:\/\//i.test(image)) return image;
    const full = baseDir ? resolve(baseDir, image) : resolve(image);
    try {
      const st = await stat(full);
      return `f:${full}:${st.size}:${st.mtimeMs}`;
    } catch {
      return `f:${full}:missing`; // imageToDataUrl reports the missing file; failures are not cached
    }
  }
  if ('bytes' in image) return `b:${image.mime}:${createHash('sha1').update(image.bytes).digest('hex')}`;
  return `p:${image.width}x${image.height}x${image.channels}:${createHash('sha1').update(image.pixels).digest('hex')}`;
}

export function createImageUrlCache(options: ImageUrlCacheOptions = {}): ImageUrlCache {
  const maxEntries = options.maxEntries ?? 256;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries must be a positive integer, got ${maxEntries}`);
  const entries = new Map<string, Promise<string>>();
  const stats = { hits: 0, misses: 0 };
  return {
    stats,
    async dataUrl(image, where) {
      const key = await keyOf(image, options.baseDir);
      const cached = entries.get(key);
      if (cached !== undefined) {
        stats.hits += 1;
        entries.delete(key); // re-insert: most recently used last
        entries.set(key, cached);
        return cached;
      }
      stats.misses += 1;
      const pending = options.prepare !== undefined ? options.prepare(image, where) : imageToDataUrl(image, where === undefined ? options : { ...options, where });
      entries.set(key, pending);
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
      try {
        return await pending;
      } catch (error) {
        if (entries.get(key) === pending) entries.delete(key);
        throw error;
      }
    },
  };
}
