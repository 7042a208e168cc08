/**
 * TEST SUPPORT ONLY. How many placeholder tokens a Qwen-VL image processor
 * gives an image, written out here from the Hugging Face processor's steps
 * and not taken from the client (render/image.ts), so that the test server
 * checks the client's `expected_tokens` against a second reading of the rule.
 *
 * Hugging Face `Qwen2VLImageProcessor` (also used by Qwen2.5-VL and
 * Qwen3-VL, with other numbers):
 * 1. `smart_resize(height, width, factor = patch_size·merge_size,
 *    min_pixels = size.shortest_edge, max_pixels = size.longest_edge)`:
 *    refuse an aspect ratio above 200; round each side to the nearest
 *    multiple of `factor` with Python's `round` (ties to even); if the area
 *    is then above max_pixels, scale both sides by 1/√(h·w/max_pixels) and
 *    floor to a multiple of `factor` (at least `factor`); if below
 *    min_pixels, scale by √(min_pixels/(h·w)) and ceil to a multiple.
 * 2. The resized image is cut into `patch_size` squares: a grid of
 *    (1, H/patch_size, W/patch_size) for a still image (one temporal patch:
 *    the frame is repeated to `temporal_patch_size`).
 * 3. The processor inserts grid_t·grid_h·grid_w / merge_size² image-pad
 *    tokens (each merge_size × merge_size block of patches becomes one).
 */

export interface QwenVisionConfig {
  readonly patchSize: number;
  readonly mergeSize: number;
  /** `size.shortest_edge` in preprocessor_config.json (a pixel count, despite the name). */
  readonly minPixels: number;
  /** `size.longest_edge` (likewise a pixel count). */
  readonly maxPixels: number;
}

/** Qwen3-VL's preprocessor_config.json: patch 16, merge 2, 256² … 4096² pixels. */
export const QWEN3_VL_PROCESSOR: QwenVisionConfig = { patchSize: 16, mergeSize: 2, minPixels: 256 * 256, maxPixels: 4096 * 4096 };
/** Qwen2-VL/Qwen2.5-VL: patch 14, merge 2, min_pixels 56·56, max_pixels 28·28·16 384. */
export const QWEN25_VL_PROCESSOR: QwenVisionConfig = { patchSize: 14, mergeSize: 2, minPixels: 56 * 56, maxPixels: 28 * 28 * 16_384 };

const MAX_ASPECT_RATIO = 200;

/** Python 3's `round(x)` for x ≥ 0: to the nearest integer, an exact .5 to the even one. */
function pythonRound(x: number): number {
  const up = Math.round(x); // JavaScript sends .5 up
  return x + 0.5 === up && up % 2 === 1 ? up - 1 : up;
}

/** Step 1: the (height, width) the processor resizes the image to. */
export function qwenResizedSize(height: number, width: number, config: QwenVisionConfig): [number, number] {
  if (!(Number.isInteger(height) && Number.isInteger(width) && height > 0 && width > 0)) throw new Error(`image size ${width}×${height} is not a positive pixel size`);
  if (Math.max(height, width) / Math.min(height, width) > MAX_ASPECT_RATIO) throw new Error(`image ${width}×${height}: aspect ratio above ${MAX_ASPECT_RATIO}`);
  const factor = config.patchSize * config.mergeSize;
  const nearest = (side: number): number => pythonRound(side / factor) * factor;
  const [h, w] = [nearest(height), nearest(width)];
  if (h * w > config.maxPixels) {
    const beta = Math.sqrt((height * width) / config.maxPixels);
    const down = (side: number): number => Math.max(factor, Math.floor(side / beta / factor) * factor);
    return [down(height), down(width)];
  }
  if (h * w < config.minPixels) {
    const beta = Math.sqrt(config.minPixels / (height * width));
    const up = (side: number): number => Math.ceil((side * beta) / factor) * factor;
    return [up(height), up(width)];
  }
  return [h, w];
}

/** Steps 2–3: the number of image-pad tokens for an image of this pixel size. */
export function qwenImagePadTokens(height: number, width: number, config: QwenVisionConfig): number {
  const [h, w] = qwenResizedSize(height, width, config);
  const grid = [1, h / config.patchSize, w / config.patchSize];
  const patches = grid.reduce((n, g) => n * g, 1);
  return patches / (config.mergeSize * config.mergeSize);
}
