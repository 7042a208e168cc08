/**
 * Renders the image of a synthetic item: a small grey image whose pixels carry
 * every fact the rationale needs, so answering needs the image.
 *
 * - Modality by intensity style and texture: radiograph = dark background,
 *   bright smooth body; CT = mid-grey background, speckled (checkerboard) body;
 *   MRI = black background, striped (alternating rows) body.
 * - Region by the body silhouette: a wide ellipse or a tall ellipse (which
 *   region that is depends on the modality, see facts.ts).
 * - Finding by lesion blobs: bright or dark discs, 1–3 of them, all in one
 *   quadrant of the body. The quadrant gives laterality and level; the patient's
 *   right is on the image's left (radiological convention).
 * Small seeded pixel noise and a ±1 pixel jitter of the body keep items apart.
 */
import type { Rng } from '../../utils/rng.js';
import { shapeOf, type Modality, type SyntheticFacts } from './facts.js';

export const IMAGE_SIZE = 32;

export interface RawImage {
  readonly pixels: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: 1;
}

interface Style {
  readonly background: number;
  readonly body: number;
  /** Texture amplitude added to the body: value(x, y) → offset. */
  readonly texture: (x: number, y: number) => number;
}

const STYLES: Readonly<Record<Modality, Style>> = {
  radiograph: { background: 20, body: 150, texture: () => 0 },
  ct: { background: 70, body: 120, texture: (x, y) => ((x + y) % 2 === 0 ? 22 : -22) },
  mri: { background: 0, body: 100, texture: (_x, y) => (y % 2 === 0 ? 28 : -28) },
};

const clamp = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

export function renderImage(facts: SyntheticFacts, rng: Rng): RawImage {
  const n = IMAGE_SIZE;
  const style = STYLES[facts.modality];
  const cx = n / 2 - 0.5 + (rng.int(3) - 1);
  const cy = n / 2 - 0.5 + (rng.int(3) - 1);
  const [rx, ry] = shapeOf(facts.region) === 'wide' ? [13, 8] : [6.5, 13];
  const inside = (x: number, y: number): boolean => ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1;

  const value = new Float64Array(n * n);
  for (let y = 0; y < n; y++)
    for (let x = 0; x < n; x++) value[y * n + x] = inside(x, y) ? style.body + style.texture(x, y) : style.background;

  // Lesions: discs of radius 1.2 in the quadrant; patient right = image left.
  const qx = facts.side === 'right' ? -1 : 1;
  const qy = facts.level === 'upper' ? -1 : 1;
  // Three places along the body's long axis (ellipse-normalised coordinates), ≈4 px apart
  // and ≥ 1 px of body from the edge: blobs never touch each other or the background.
  const wide = shapeOf(facts.region) === 'wide';
  const slots: Array<[number, number]> = [0.12, 0.42, 0.72].map((t) => (wide ? [t, 0.35] : [0.35, t]));
  const delta = facts.polarity === 'bright' ? 95 : -90;
  const order = [0, 1, 2];
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (const s of order.slice(0, facts.count)) {
    const bx = cx + qx * slots[s][0] * rx;
    const by = cy + qy * slots[s][1] * ry;
    for (let y = 0; y < n; y++)
      for (let x = 0; x < n; x++) if ((x - bx) ** 2 + (y - by) ** 2 <= 1.2 ** 2 && inside(x, y)) value[y * n + x] = style.body + delta;
  }

  const pixels = new Uint8Array(n * n);
  for (let i = 0; i < n * n; i++) pixels[i] = clamp(value[i] + (rng.next() - 0.5) * 12);
  return { pixels, width: n, height: n, channels: 1 };
}
