import { describe, expect, it } from 'vitest';
import { QWEN25_VL_PROCESSOR, QWEN3_VL_PROCESSOR, qwenImagePadTokens, qwenResizedSize } from './vision-tokens.js';

// Every expected value below is worked out by hand from the processor's steps (vision-tokens.ts header).
// Qwen3-VL: patch 16, merge 2 → factor 32; min_pixels 65 536; max_pixels 16 777 216. Sizes are (height, width).
describe('Qwen3-VL image-pad tokens (test server)', () => {
  it('rounds each side to a multiple of 32, ties to even as Python does', () => {
    // 300/32 = 9.375 → 9 → 288; 400/32 = 12.5 → tie → 12 (even) → 384; 288·384 = 110 592 is within the bounds.
    // grid (1, 288/16, 384/16) = (1, 18, 24) → 432 patches / 2² = 108. (Rounding the tie up would give 416 and 117.)
    expect(qwenResizedSize(300, 400, QWEN3_VL_PROCESSOR)).toEqual([288, 384]);
    expect(qwenImagePadTokens(300, 400, QWEN3_VL_PROCESSOR)).toBe(108);
    // 80/32 = 2.5 → tie → 2 → 64; 3000/32 = 93.75 → 94 → 3008; 64·3008 = 192 512 ≥ 65 536.
    // grid (1, 4, 188) → 752 / 4 = 188.
    expect(qwenResizedSize(80, 3000, QWEN3_VL_PROCESSOR)).toEqual([64, 3008]);
    expect(qwenImagePadTokens(80, 3000, QWEN3_VL_PROCESSOR)).toBe(188);
    // 512 is a multiple of 32: (1, 32, 32) → 1024 / 4 = 256.
    expect(qwenImagePadTokens(512, 512, QWEN3_VL_PROCESSOR)).toBe(256);
  });

  it('scales a small image up to min_pixels, ceiling each side to a multiple of 32', () => {
    // 64×64: area 4096 < 65 536; β = √(65 536/4096) = 4; 64·4 = 256 = 8·32 → 256×256; (1, 16, 16) → 64.
    expect(qwenResizedSize(64, 64, QWEN3_VL_PROCESSOR)).toEqual([256, 256]);
    expect(qwenImagePadTokens(64, 64, QWEN3_VL_PROCESSOR)).toBe(64);
    // 100×150: 100/32 = 3.125 → 96, 150/32 = 4.6875 → 160; 96·160 = 15 360 < 65 536;
    // β = √(65 536/15 000) = √4.36907 ≈ 2.09023; 100β ≈ 209.02 → /32 ≈ 6.53 → ceil 7 → 224;
    // 150β ≈ 313.53 → /32 ≈ 9.80 → ceil 10 → 320; (1, 14, 20) → 280 / 4 = 70.
    expect(qwenResizedSize(100, 150, QWEN3_VL_PROCESSOR)).toEqual([224, 320]);
    expect(qwenImagePadTokens(100, 150, QWEN3_VL_PROCESSOR)).toBe(70);
    // 16×256: 16/32 = 0.5 → tie → 0, so the rounded area is 0 < min; β = √(65 536/4096) = 4 → 64×1024; (1, 4, 64) → 64.
    expect(qwenResizedSize(16, 256, QWEN3_VL_PROCESSOR)).toEqual([64, 1024]);
    expect(qwenImagePadTokens(16, 256, QWEN3_VL_PROCESSOR)).toBe(64);
  });

  it('scales a large image down to max_pixels, flooring each side to a multiple of 32', () => {
    // 5000×5000: 5000/32 = 156.25 → 4992, 4992² > 16 777 216; β = √(25·10⁶/2²⁴) = 5000/4096;
    // 5000/β = 4096 = 128·32 → 4096×4096; (1, 256, 256) → 16 384.
    expect(qwenResizedSize(5000, 5000, QWEN3_VL_PROCESSOR)).toEqual([4096, 4096]);
    expect(qwenImagePadTokens(5000, 5000, QWEN3_VL_PROCESSOR)).toBe(16_384);
    // 3000×9000: 3008·9024 > max; β = √(27·10⁶/16 777 216) ≈ 1.26859; 3000/β ≈ 2364.8 → /32 ≈ 73.9 → 73 → 2336;
    // 9000/β ≈ 7094.5 → /32 ≈ 221.7 → 221 → 7072; (1, 146, 442) → 64 532 / 4 = 16 133.
    expect(qwenResizedSize(3000, 9000, QWEN3_VL_PROCESSOR)).toEqual([2336, 7072]);
    expect(qwenImagePadTokens(3000, 9000, QWEN3_VL_PROCESSOR)).toBe(16_133);
  });

  it('refuses an aspect ratio above 200 and a size that is not a positive pixel count', () => {
    expect(() => qwenResizedSize(10, 2001, QWEN3_VL_PROCESSOR)).toThrow(/aspect ratio/); // 200.1
    expect(qwenImagePadTokens(10, 2000, QWEN3_VL_PROCESSOR)).toBeGreaterThan(0); // exactly 200 is allowed
    expect(() => qwenResizedSize(0, 10, QWEN3_VL_PROCESSOR)).toThrow(/positive/);
  });
});

// Qwen2.5-VL: patch 14, merge 2 → factor 28; min_pixels 3136; max_pixels 12 845 056.
describe('Qwen2.5-VL image-pad tokens (test server)', () => {
  it('counts with factor 28', () => {
    // 448 = 16·28: (1, 32, 32) → 1024 / 4 = 256.
    expect(qwenImagePadTokens(448, 448, QWEN25_VL_PROCESSOR)).toBe(256);
    // 375/28 ≈ 13.39 → 13 → 364; 500/28 ≈ 17.86 → 18 → 504; (1, 26, 36) → 936 / 4 = 234.
    expect(qwenResizedSize(375, 500, QWEN25_VL_PROCESSOR)).toEqual([364, 504]);
    expect(qwenImagePadTokens(375, 500, QWEN25_VL_PROCESSOR)).toBe(234);
    // 42/28 = 1.5 → 2 (even) → 56; 70/28 = 2.5 → 2 (even) → 56; 56·56 = 3136 is not below min_pixels; (1, 4, 4) → 4.
    expect(qwenResizedSize(42, 70, QWEN25_VL_PROCESSOR)).toEqual([56, 56]);
    expect(qwenImagePadTokens(42, 70, QWEN25_VL_PROCESSOR)).toBe(4);
  });
});
