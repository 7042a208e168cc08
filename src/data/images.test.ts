import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InputError } from '../errors.js';
import {
  DEFAULT_MAX_PIXELS,
  decodeDataUrl,
  fitToPixelBudget,
  imageSourceDigest,
  imageToDataUrl,
  prepareImage,
  sniffImageMime,
  validateImage,
} from './images.js';

let dir: string;
let png: Buffer; // 40×30 RGB, red
let jpeg: Buffer; // 1200×900 (1,080,000 px, over the budget)

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mrpo-images-'));
  png = await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 255, g: 0, b: 0 } } }).png().toBuffer();
  jpeg = await sharp({ create: { width: 1200, height: 900, channels: 3, background: { r: 10, g: 200, b: 30 } } }).jpeg().toBuffer();
  await writeFile(join(dir, 'small.png'), png);
  await writeFile(join(dir, 'big.jpg'), jpeg);
  await writeFile(join(dir, 'truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 3)));
  await writeFile(join(dir, 'garbage.png'), Buffer.from('this is not an image at all'));
  await writeFile(join(dir, 'truncated-small.png'), png.subarray(0, png.length - 20));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('fitToPixelBudget', () => {
  it('keeps images within budget unchanged', () => {
    expect(fitToPixelBudget(896, 896, DEFAULT_MAX_PIXELS)).toEqual({ width: 896, height: 896 }); // 896² = 802,816 exactly
  });
  it('scales 1200×900 to 1034×775 under 802,816 pixels (hand-computed)', () => {
    // scale = sqrt(802816 / 1080000) = 0.862177…; 1200·s = 1034.6 → 1034, 900·s = 775.96 → 775; 1034·775 = 801,350 ≤ 802,816
    expect(fitToPixelBudget(1200, 900, DEFAULT_MAX_PIXELS)).toEqual({ width: 1034, height: 775 });
  });
  it('always fits the budget and never upsizes (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 2_000_000 }), (w, h, budget) => {
        const out = fitToPixelBudget(w, h, budget);
        expect(out.width).toBeGreaterThanOrEqual(1);
        expect(out.height).toBeGreaterThanOrEqual(1);
        expect(out.width).toBeLessThanOrEqual(w);
        expect(out.height).toBeLessThanOrEqual(h);
        if (budget >= 1) expect(out.width * out.height <= budget || (out.width === 1 && out.height === 1)).toBe(true);
      }),
    );
  });
});

describe('prepareImage', () => {
  it('passes a PNG within budget through byte-for-byte', async () => {
    const out = await prepareImage(join(dir, 'small.png'));
    expect(out.reencoded).toBe(false);
    expect(Buffer.from(out.bytes).equals(png)).toBe(true);
    expect([out.width, out.height, out.mime]).toEqual([40, 30, 'image/png']);
  });

  it('downscales a JPEG over the budget and re-encodes it as JPEG', async () => {
    const out = await prepareImage(join(dir, 'big.jpg'));
    expect(out.reencoded).toBe(true);
    expect(out.mime).toBe('image/jpeg');
    expect([out.originalWidth, out.originalHeight, out.width, out.height]).toEqual([1200, 900, 1034, 775]);
    const meta = await sharp(out.bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 1034, 775]);
  });

  it('honours a small budget and an explicit PNG format', async () => {
    const out = await prepareImage({ bytes: new Uint8Array(jpeg), mime: 'image/jpeg' }, { maxPixels: 100 * 75, format: 'png' });
    const meta = await sharp(out.bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 100, 75]);
  });

  it('applies an EXIF orientation instead of passing the bytes through', async () => {
    // 40×30 stored, orientation 6 (rotate 90° clockwise to display) → 30×40 displayed.
    const rotated = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#808080' } }).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const out = await prepareImage({ bytes: new Uint8Array(rotated), mime: 'image/jpeg' });
    expect(out.reencoded).toBe(true);
    expect([out.width, out.height]).toEqual([30, 40]);
    expect((await sharp(out.bytes).metadata()).orientation ?? 1).toBe(1);
  });

  it('encodes raw pixels as PNG with their exact values', async () => {
    const pixels = new Uint8Array([0, 64, 128, 255]);
    const out = await prepareImage({ pixels, width: 2, height: 2, channels: 1 });
    expect(out.mime).toBe('image/png');
    expect((await sharp(out.bytes).metadata()).channels).toBe(1);
    const { data } = await sharp(out.bytes).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    expect([...data]).toEqual([0, 64, 128, 255]);
  });

  it('names the file for a missing image', async () => {
    const missing = join(dir, 'nope.jpg');
    await expect(prepareImage(missing, { where: 'test.jsonl line 4 field "image"' })).rejects.toThrow(
      `test.jsonl line 4 field "image": image file not found: ${missing}`,
    );
  });

  it('rejects a truncated JPEG and garbage bytes with InputError naming the record', async () => {
    const err = await prepareImage(join(dir, 'truncated.jpg'), { where: 'x.jsonl line 2 field "image"' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/^x\.jsonl line 2 field "image": not a readable image/);
    await expect(prepareImage(join(dir, 'garbage.png'))).rejects.toThrow(/garbage\.png: not a readable image/);
    // Within budget (would pass through): still fully decoded, so the truncation is caught …
    await expect(prepareImage(join(dir, 'truncated-small.png'))).rejects.toThrow(/truncated-small\.png: not a readable image/);
    // … unless validation is turned off, when the header alone decides.
    expect((await prepareImage(join(dir, 'truncated-small.png'), { validate: false })).reencoded).toBe(false);
  });

  it('rejects raw pixels of the wrong length', async () => {
    await expect(prepareImage({ pixels: new Uint8Array(5), width: 2, height: 2, channels: 1 }, { where: 'r1' })).rejects.toThrow(
      'r1: raw image has 5 bytes, expected width × height × channels = 4',
    );
  });
});

describe('imageSourceDigest', () => {
  it('is the SHA-256 of a kind tag and the content (pinned: caches keep their image rows)', async () => {
    // printf 'data-url\0data:image/png;base64,AAAA' | sha256sum; printf 'bytes\0image/png\0\x01\x02\x03' | sha256sum
    expect(await imageSourceDigest('data:image/png;base64,AAAA')).toBe('8d436dc24dc8caefbf0d05120014ff55bff9b37fb0847fd5e43762377b610733');
    expect(await imageSourceDigest({ bytes: new Uint8Array([1, 2, 3]), mime: 'image/png' })).toBe('aa6caaa2f38f7dfd3bf1afeedd32b62f1b3fffb1197e579e4e7631a931f20980');
    expect(await imageSourceDigest('https://example.org/x.png')).toBeUndefined();
  });
});

describe('data URLs', () => {
  it('imageToDataUrl of a small PNG is the base64 of its bytes', async () => {
    const url = await imageToDataUrl(join(dir, 'small.png'));
    expect(url).toBe(`data:image/png;base64,${png.toString('base64')}`);
  });

  it('round-trips through decodeDataUrl and accepts a data URL as input', async () => {
    const url = `data:image/png;base64,${png.toString('base64')}`;
    const decoded = decodeDataUrl(url);
    expect(decoded.mime).toBe('image/png');
    expect(Buffer.from(decoded.bytes).equals(png)).toBe(true);
    expect(await imageToDataUrl(url)).toBe(url);
  });

  it('rejects a data URL that is not base64', () => {
    expect(() => decodeDataUrl('data:image/png,abc', 'f.jsonl line 1 field "image"')).toThrow(
      'f.jsonl line 1 field "image": data URL must be base64-encoded',
    );
  });
});

describe('sniffImageMime / validateImage', () => {
  it('recognises PNG and JPEG magic numbers', () => {
    expect(sniffImageMime(png)).toBe('image/png');
    expect(sniffImageMime(jpeg)).toBe('image/jpeg');
    expect(sniffImageMime(new Uint8Array([1, 2, 3, 4]))).toBeUndefined();
  });
  it('validateImage returns the size or names the record', async () => {
    expect(await validateImage(png, 'r')).toEqual({ width: 40, height: 30, mime: 'image/png' });
    await expect(validateImage(new Uint8Array(jpeg.subarray(0, 200)), 'train parquet row 3 field "image.bytes"')).rejects.toThrow(
      /^train parquet row 3 field "image\.bytes": not a readable image/,
    );
  });
});

describe('Git LFS pointers', () => {
  it('names an image file that is a Git LFS pointer', async () => {
    const file = join(dir, 'lfs.jpg');
    await writeFile(file, 'version https://git-lfs.github.com/spec/v1\noid sha256:0000000000000000000000000000000000000000000000000000000000000000\nsize 739\n');
    const error = await prepareImage(file).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(`${file} is a Git LFS pointer; run git lfs pull`);
  });
});
