import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { imageTokenCount, QWEN2_VL_RESIZE, QWEN3_VL_RESIZE, readResizeRule, smartResize, toJpeg } from './image.js';

describe('smartResize (Qwen-VL processor rule)', () => {
  it('keeps a size that is already a multiple of 32 within the pixel bounds', () => {
    expect(smartResize(512, 512, QWEN3_VL_RESIZE)).toEqual({ height: 512, width: 512 });
    expect(imageTokenCount(512, 512, QWEN3_VL_RESIZE)).toBe(256); // (512/32)²
  });

  it('rounds halves to even like Python round()', () => {
    // 80/32 = 2.5 → 2 (not 3); 4000/32 = 125 → 4000; 64·4000 = 256 000 is inside the bounds
    expect(smartResize(80, 4000, QWEN3_VL_RESIZE)).toEqual({ height: 64, width: 4000 });
    expect(imageTokenCount(80, 4000, QWEN3_VL_RESIZE)).toBe(2 * 125);
    // 48/32 = 1.5 → 2
    expect(smartResize(48, 4000, QWEN3_VL_RESIZE).height).toBe(64);
  });

  it('scales small images up to min_pixels (65 536) with ceil', () => {
    // 200×100: 192·96 < 65 536 → β = √(65536/20000) ≈ 1.8102; ⌈200β/32⌉ = ⌈11.31⌉ = 12, ⌈100β/32⌉ = ⌈5.66⌉ = 6
    expect(smartResize(200, 100, QWEN3_VL_RESIZE)).toEqual({ height: 384, width: 192 });
    expect(imageTokenCount(200, 100, QWEN3_VL_RESIZE)).toBe(72);
  });

  it('scales large images down to max_pixels (4096²) with floor', () => {
    // β = 5000/4096 exactly; ⌊4096/32⌋·32 = 4096
    expect(smartResize(5000, 5000, QWEN3_VL_RESIZE)).toEqual({ height: 4096, width: 4096 });
    expect(imageTokenCount(5000, 5000, QWEN3_VL_RESIZE)).toBe(16384);
  });

  it('uses factor 28 for Qwen2-VL', () => {
    expect(imageTokenCount(448, 448, QWEN2_VL_RESIZE)).toBe(256); // (448/28)²
  });

  it('rejects aspect ratios above 200', () => {
    expect(() => smartResize(10, 2500, QWEN3_VL_RESIZE)).toThrow(/aspect ratio/);
  });
});

describe('readResizeRule', () => {
  it('reads size.shortest_edge/longest_edge and patch/merge sizes from preprocessor_config.json', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mrpo-rule-'));
    await writeFile(join(dir, 'preprocessor_config.json'), JSON.stringify({ patch_size: 14, merge_size: 2, size: { shortest_edge: 100, longest_edge: 200 } }));
    expect(await readResizeRule(dir, QWEN3_VL_RESIZE)).toEqual({ patchSize: 14, mergeSize: 2, minPixels: 100, maxPixels: 200 });
    expect(await readResizeRule(join(dir, 'missing'), QWEN3_VL_RESIZE)).toBe(QWEN3_VL_RESIZE);
  });
});

describe('toJpeg', () => {
  it('encodes raw grey pixels as an RGB JPEG of the same size', async () => {
    const pixels = new Uint8Array(40 * 30).map((_, i) => i % 256);
    const out = await toJpeg({ pixels, width: 40, height: 30, channels: 1 }, { maxPixels: 1_000_000 });
    expect([out.jpeg[0], out.jpeg[1]]).toEqual([0xff, 0xd8]);
    const meta = await sharp(Buffer.from(out.jpeg)).metadata();
    expect(meta).toMatchObject({ format: 'jpeg', width: 40, height: 30, channels: 3 });
    expect([out.width, out.height]).toEqual([40, 30]);
  });

  it('scales an image above maxPixels down, keeping the aspect ratio', async () => {
    const pixels = new Uint8Array(40 * 30 * 3).fill(128);
    const out = await toJpeg({ pixels, width: 40, height: 30, channels: 3 }, { maxPixels: 600 });
    // scale √(600/1200): ⌊40·0.7071⌋ = 28, ⌊30·0.7071⌋ = 21
    expect([out.width, out.height]).toEqual([28, 21]);
  });

  it('names the item when the image cannot be read', async () => {
    await expect(toJpeg('/nonexistent/x.png', { maxPixels: 10, where: 'item 7 image' })).rejects.toThrow(/item 7 image: cannot read/);
  });
});
