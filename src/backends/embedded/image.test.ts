import { describe, expect, it } from 'vitest';
import { InputError } from '../../errors.js';
import type { Item } from '../../types.js';
import { ModelConfigSchema } from './config.js';
import { imagePatches } from './image.js';

const item = (pixels: Uint8Array, width: number, height: number, channels: 1 | 3): Item => ({
  id: 'img1',
  image: { pixels, width, height, channels },
  question: 'q',
  answer: 'a',
  source: 'test',
});

describe('imagePatches', () => {
  it('cuts patches in row-major patch order, each row-major, scaled to [0, 1]', () => {
    const c = ModelConfigSchema.parse({ imageSize: 4, patchSize: 2, channels: 1 });
    // pixel value = 10·y + x
    const px = Uint8Array.from({ length: 16 }, (_, i) => 10 * Math.floor(i / 4) + (i % 4));
    const out = Array.from(imagePatches(item(px, 4, 4, 1), c), (v) => Math.round(v * 255));
    expect(out).toEqual([
      0, 1, 10, 11, // patch (0,0)
      2, 3, 12, 13, // patch (0,1)
      20, 21, 30, 31, // patch (1,0)
      22, 23, 32, 33, // patch (1,1)
    ]);
  });

  it('area-averages when shrinking and averages RGB into grey', () => {
    const c = ModelConfigSchema.parse({ imageSize: 2, patchSize: 2, channels: 1 });
    // 4×4 RGB; each 2×2 block has one colour: (30, 60, 90) → grey 60, etc.
    const colours = [
      [30, 60, 90],
      [0, 0, 255],
      [255, 255, 255],
      [10, 20, 30],
    ];
    const px = new Uint8Array(4 * 4 * 3);
    for (let y = 0; y < 4; y++)
      for (let x = 0; x < 4; x++) px.set(colours[Math.floor(y / 2) * 2 + Math.floor(x / 2)], (y * 4 + x) * 3);
    const out = Array.from(imagePatches(item(px, 4, 4, 3), c), (v) => v * 255);
    [60, 85, 255, 20].forEach((v, i) => expect(out[i]).toBeCloseTo(v, 3));
  });

  it('replicates grey into RGB and enlarges by nearest pixel', () => {
    const c = ModelConfigSchema.parse({ imageSize: 2, patchSize: 2, channels: 3 });
    const out = Array.from(imagePatches(item(Uint8Array.from([51]), 1, 1, 1), c), (v) => v * 255);
    expect(out).toHaveLength(12);
    out.forEach((v) => expect(v).toBeCloseTo(51, 3));
  });

  it('rejects encoded images and wrong pixel counts, naming the item', () => {
    const c = ModelConfigSchema.parse({});
    expect(() => imagePatches({ ...item(new Uint8Array(1), 1, 1, 1), image: 'x.png' }, c)).toThrow(InputError);
    expect(() => imagePatches(item(new Uint8Array(5), 2, 2, 1), c)).toThrow(/item img1 field "image": expected 2×2×1 = 4 bytes, got 5/);
  });
});
