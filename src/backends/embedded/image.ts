/**
 * Image → patch vectors for the policy's image encoder: raw pixels are
 * resampled to imageSize × imageSize (area average when shrinking, nearest
 * when enlarging), converted to the model's channel count (grey = mean of
 * R, G, B; grey → RGB replicates), scaled to [0, 1] and cut into
 * patchSize × patchSize patches in row-major patch order, each flattened
 * row-major with interleaved channels.
 *
 * The embedded policy takes raw pixels only (the synthetic task's images);
 * other image sources are an InputError naming the item.
 */
import { InputError } from '../../errors.js';
import type { Item } from '../../types.js';
import { numPatches, patchDim, type ModelConfig } from './config.js';

/** Patches of one item's image: Float32Array [numPatches × patchDim]. */
export function imagePatches(item: Item, c: ModelConfig): Float32Array {
  const img = item.image;
  if (typeof img === 'string' || !('pixels' in img))
    throw new InputError(`item ${item.id} field "image"`, 'the embedded policy needs raw pixels ({ pixels, width, height, channels }), got an encoded image or a path');
  const { pixels, width, height, channels } = img;
  if (pixels.length !== width * height * channels)
    throw new InputError(`item ${item.id} field "image"`, `expected ${width}×${height}×${channels} = ${width * height * channels} bytes, got ${pixels.length}`);
  const S = c.imageSize;
  const grey = new Float32Array(S * S * c.channels);
  for (let y = 0; y < S; y++) {
    const y0 = Math.floor((y * height) / S);
    const y1 = Math.max(y0 + 1, Math.floor(((y + 1) * height) / S));
    for (let x = 0; x < S; x++) {
      const x0 = Math.floor((x * width) / S);
      const x1 = Math.max(x0 + 1, Math.floor(((x + 1) * width) / S));
      const acc = [0, 0, 0];
      for (let yy = y0; yy < y1; yy++)
        for (let xx = x0; xx < x1; xx++)
          for (let ch = 0; ch < channels; ch++) acc[ch] += pixels[(yy * width + xx) * channels + ch];
      const n = (y1 - y0) * (x1 - x0) * 255;
      const out = (y * S + x) * c.channels;
      if (c.channels === 1) grey[out] = channels === 1 ? acc[0] / n : (acc[0] + acc[1] + acc[2]) / (3 * n);
      else for (let ch = 0; ch < 3; ch++) grey[out + ch] = (channels === 1 ? acc[0] : acc[ch]) / n;
    }
  }
  const P = c.patchSize;
  const perRow = S / P;
  const out = new Float32Array(numPatches(c) * patchDim(c));
  let o = 0;
  for (let py = 0; py < perRow; py++)
    for (let px = 0; px < perRow; px++)
      for (let y = 0; y < P; y++)
        for (let x = 0; x < P; x++)
          for (let ch = 0; ch < c.channels; ch++) out[o++] = grey[((py * P + y) * S + px * P + x) * c.channels + ch];
  return out;
}
