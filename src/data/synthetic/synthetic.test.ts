import { describe, expect, it } from 'vitest';
import { segmentSteps } from '../../algo/steps.js';
import { createRng } from '../../utils/rng.js';
import { collectItems } from '../dataset.js';
import {
  createSyntheticDataset,
  generateItem,
  generateItems,
  mistakenFacts,
  syntheticCorpus,
  warmStartChain,
  type SyntheticItem,
} from './index.js';

type Raw = { pixels: Uint8Array; width: number; height: number; channels: number };

/** Connected components (4-neighbour) of pixels where `on` holds: an independent reading of the image. */
function components(img: Raw, on: (v: number) => boolean): Array<{ x: number; y: number; size: number; border: boolean }> {
  const { width: w, height: h, pixels } = img;
  const seen = new Uint8Array(w * h);
  const out: Array<{ x: number; y: number; size: number; border: boolean }> = [];
  for (let i = 0; i < w * h; i++) {
    if (seen[i] || !on(pixels[i])) continue;
    const stack = [i];
    seen[i] = 1;
    let sx = 0, sy = 0, n = 0, border = false;
    while (stack.length > 0) {
      const j = stack.pop() as number;
      const x = j % w, y = Math.floor(j / w);
      sx += x; sy += y; n++;
      if (x === 0 || y === 0 || x === w - 1 || y === h - 1) border = true;
      for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
        const nx = x + dx, ny = y + dy, k = ny * w + nx;
        if (nx >= 0 && ny >= 0 && nx < w && ny < h && !seen[k] && on(pixels[k])) {
          seen[k] = 1;
          stack.push(k);
        }
      }
    }
    out.push({ x: sx / n, y: sy / n, size: n, border });
  }
  return out;
}

describe('synthetic task generator', () => {
  it('is deterministic per (seed, split, index) and prefixes agree', async () => {
    expect(generateItem(3, 'train', 7)).toEqual(generateItem(3, 'train', 7));
    expect(generateItems(3, 'train', 5).map((i) => i.id)).toEqual(generateItems(3, 'train', 8).slice(0, 5).map((i) => i.id));
    expect(generateItem(3, 'train', 7).image).not.toEqual(generateItem(3, 'test', 7).image);
    const ds = createSyntheticDataset({ seed: 3, split: 'test', size: 4 });
    expect((await collectItems(ds)).map((i) => i.id)).toEqual(['synthetic-test-3-0', 'synthetic-test-3-1', 'synthetic-test-3-2', 'synthetic-test-3-3']);
  });

  it('a hand-checked item: the rationale follows modality → region → finding → conclusion', () => {
    // Item 0 of seed 0 (pinned): a radiograph of the chest with three bright lesions in the right lower quadrant.
    const it0 = generateItem(0, 'train', 0);
    expect(it0.question).toBe('What abnormality is seen in this image?');
    expect(it0.answer).toBe('nodule');
    expect(it0.goldReasoning).toBe(
      'The image is a radiograph. The image shows the chest. ' +
        'There are three bright lesions in the right lower chest. This appearance indicates nodule. So the answer is nodule.',
    );
  });

  it('gold rationales have 4–6 steps under the faithful regex splitter, in clinical order', () => {
    const order = ['texture', 'modality', 'region', 'shape', 'lesion', 'diagnosis', 'conclusion'];
    for (const item of generateItems(1, 'train', 200)) {
      const text = `<think>${item.goldReasoning}</think><answer>${item.answer}</answer>`;
      const steps = segmentSteps(text);
      expect(steps.length).toBe(item.stepKinds.length);
      expect(steps.length).toBeGreaterThanOrEqual(4);
      expect(steps.length).toBeLessThanOrEqual(6);
      const idx = item.stepKinds.map((k) => order.indexOf(k));
      expect([...idx].sort((a, b) => a - b)).toEqual(idx);
      expect(steps[steps.length - 1].text).toBe(`So the answer is ${item.answer}.`);
    }
  });

  it('the image carries the facts: background level, texture, lesion polarity, count and quadrant', () => {
    const bg = { radiograph: 20, ct: 70, mri: 0 };
    for (const item of generateItems(2, 'test', 300)) {
      const img = item.image as Raw;
      expect([img.width, img.height, img.channels]).toEqual([32, 32, 1]);
      const corner = img.pixels[0];
      expect(Math.abs(corner - bg[item.facts.modality])).toBeLessThanOrEqual(6);
      const f = item.facts;
      // Lesions: bright blobs are ≥ 215 (body + 95 − noise), dark ones are the body − 90 inside the body (never background).
      const body = { radiograph: 150, ct: 120, mri: 100 }[f.modality];
      // Bright lesions: ≥ body + 60. Dark lesions: ≤ body − 60 and enclosed by the body (the background touches the border).
      const blobs = (
        f.polarity === 'bright' ? components(img, (v) => v >= body + 60) : components(img, (v) => v <= body - 60)
      ).filter((b) => !b.border);
      expect(blobs.length, item.id).toBe(f.count);
      for (const b of blobs) {
        // Patient right is image left.
        expect(b.x < 15.5 ? 'right' : 'left', item.id).toBe(f.side);
        expect(b.y < 15.5 ? 'upper' : 'lower', item.id).toBe(f.level);
      }
    }
  });

  it('ct bodies are speckled (neighbours alternate), mri bodies striped (rows alternate), radiographs smooth', () => {
    for (const item of generateItems(4, 'train', 30)) {
      const img = item.image as Raw;
      // A body pixel in the quadrant opposite the lesions (patient right = image left).
      const x = item.facts.side === 'right' ? 18 : 13;
      const y = item.facts.level === 'upper' ? 18 : 13;
      const c = y * 32 + x;
      const horiz = Math.abs(img.pixels[c] - img.pixels[c + 1]);
      const vert = Math.abs(img.pixels[c] - img.pixels[c + 32]);
      if (item.facts.modality === 'ct') expect(horiz).toBeGreaterThan(25);
      if (item.facts.modality === 'mri') expect([horiz < 15, vert > 40]).toEqual([true, true]);
      if (item.facts.modality === 'radiograph') expect(Math.max(horiz, vert)).toBeLessThan(15);
    }
  });

  it('wrong chains cascade: the mistake is followed consistently (hand-checked tables)', () => {
    const item = generateItem(0, 'train', 0) as SyntheticItem; // radiograph, chest, bright → nodule
    const rng = createRng(5);
    // cycle confusion: radiograph → ct; chest (wide) → abdomen (wide); bright → calculus
    expect(mistakenFacts(item, 'modality', rng)).toMatchObject({ modality: 'ct', region: 'abdomen', finding: 'calculus', polarity: 'bright' });
    expect(mistakenFacts(item, 'region', rng)).toMatchObject({ modality: 'radiograph', region: 'knee', finding: 'osteophyte' });
    expect(mistakenFacts(item, 'lesion', rng)).toMatchObject({ modality: 'radiograph', region: 'chest', polarity: 'dark', finding: 'pneumothorax' });
    const mix = { weights: { none: 0, modality: 1, region: 0, lesion: 0 }, confusion: 'cycle' as const };
    expect(warmStartChain(item, rng, mix).text).toBe(
      '<think>The image is a ct scan. The image shows the abdomen. ' +
        'There are three bright lesions in the right lower abdomen. This appearance indicates calculus. So the answer is calculus.</think><answer>calculus</answer>',
    );
  });

  it('the default warm-start mix is mostly wrong, and mostly wrong from the start', () => {
    const rng = createRng(9);
    const counts = { none: 0, modality: 0, region: 0, lesion: 0 };
    for (const item of generateItems(5, 'train', 2000)) counts[warmStartChain(item, rng).mistake]++;
    expect(counts.none / 2000).toBeCloseTo(0.22, 1);
    expect(counts.modality / 2000).toBeCloseTo(0.6, 1);
    // the wrong modality is more likely than the right one (which gold, region and lesion chains share)
    expect(counts.modality).toBeGreaterThan(counts.none + counts.region + counts.lesion);
    expect(counts.modality + counts.region).toBeGreaterThan(5 * counts.lesion);
  });

  it('the corpus covers every word of prompts, gold chains and wrong chains', () => {
    const words = new Set(syntheticCorpus().join(' ').split(/\s+/));
    const rng = createRng(1);
    for (const item of generateItems(6, 'train', 100)) {
      for (const text of [item.goldReasoning ?? '', item.answer, warmStartChain(item, rng).text.replace(/<\/?(think|answer)>/g, ' ')])
        for (const w of text.split(/\s+/).filter((x) => x !== '')) expect(words.has(w), w).toBe(true);
    }
    expect(words.size).toBeLessThan(150);
  });
});
