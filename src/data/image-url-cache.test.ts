import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImageUrlCache } from './image-url-cache.js';

let dir: string;
let red: Buffer;
let blue: Buffer;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mrpo-urlcache-'));
  red = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#ff0000' } }).png().toBuffer();
  blue = await sharp({ create: { width: 8, height: 9, channels: 3, background: '#0000ff' } }).png().toBuffer();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('createImageUrlCache', () => {
  it('returns the same data URL, decoding once per file version', async () => {
    const file = join(dir, 'a.png');
    await writeFile(file, red);
    const cache = createImageUrlCache();
    const first = await cache.dataUrl(file);
    expect(first).toBe(`data:image/png;base64,${red.toString('base64')}`);
    expect(await Promise.all([cache.dataUrl(file), cache.dataUrl(file)])).toEqual([first, first]);
    expect(cache.stats).toEqual({ hits: 2, misses: 1 });
    // A rewritten file (new size and mtime) is read again.
    await writeFile(file, blue);
    await utimes(file, new Date(), new Date(Date.now() + 5000));
    expect(await cache.dataUrl(file)).toBe(`data:image/png;base64,${blue.toString('base64')}`);
    expect(cache.stats).toEqual({ hits: 2, misses: 2 });
  });

  it('keys in-memory images by content, evicts the least recently used, and does not cache failures', async () => {
    const cache = createImageUrlCache({ maxEntries: 1 });
    await cache.dataUrl({ bytes: new Uint8Array(red), mime: 'image/png' });
    await cache.dataUrl({ bytes: new Uint8Array(red), mime: 'image/png' });
    await cache.dataUrl({ bytes: new Uint8Array(blue), mime: 'image/png' }); // evicts red
    await cache.dataUrl({ bytes: new Uint8Array(red), mime: 'image/png' });
    expect(cache.stats).toEqual({ hits: 1, misses: 3 });
    const missing = join(dir, 'missing.png');
    await expect(cache.dataUrl(missing, 'items.jsonl line 9 field "image"')).rejects.toThrow(`items.jsonl line 9 field "image": image file not found: ${missing}`);
    await writeFile(missing, red);
    expect(await cache.dataUrl(missing)).toBe(`data:image/png;base64,${red.toString('base64')}`);
  });

  it('uses a given preparation instead of imageToDataUrl, once per image, with data URLs as their own keys', async () => {
    const calls: Array<[unknown, string | undefined]> = [];
    const cache = createImageUrlCache({
      prepare: async (image, where) => {
        calls.push([image, where]);
        return `prepared:${typeof image === 'string' ? image.length : 'bytes'}`;
      },
    });
    const url = `data:image/png;base64,${red.toString('base64')}`;
    expect(await cache.dataUrl(url, 'line 1')).toBe(`prepared:${url.length}`);
    expect(await cache.dataUrl(`${url}`)).toBe(`prepared:${url.length}`);
    expect(await cache.dataUrl({ bytes: new Uint8Array(blue), mime: 'image/png' })).toBe('prepared:bytes');
    expect(calls).toEqual([
      [url, 'line 1'],
      [{ bytes: new Uint8Array(blue), mime: 'image/png' }, undefined],
    ]);
    expect(cache.stats).toEqual({ hits: 1, misses: 2 });
  });
});
