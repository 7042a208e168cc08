/**
 * Data throughput: image → data URL (decode + validate, passing a within-budget
 * JPEG through; downscaling an over-budget one), the cached path, reading
 * items JSONL, reading Hugging Face parquet rows, and a small `data build`.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { buildDatasets } from '../src/data/build.js';
import { findParquetSplits, readHfParquetRows } from '../src/data/hf-parquet.js';
import { createImageUrlCache } from '../src/data/image-url-cache.js';
import { imageToDataUrl } from '../src/data/images.js';
import { readItems } from '../src/data/items-jsonl.js';
import { writeHfParquet, writeSourceFixture } from '../src/data/test-support/fixtures.js';

/** A smooth synthetic "scan": gradients plus a disc, so JPEG sizes resemble real images more than noise would. */
async function syntheticScan(width: number, height: number): Promise<Buffer> {
  const px = new Uint8Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const d = Math.hypot(x - width / 2, y - height / 2) / Math.min(width, height);
      px[y * width + x] = Math.max(0, Math.min(255, Math.round(200 * (1 - d) + 30 * Math.sin(x / 9) * Math.cos(y / 13))));
    }
  return sharp(px, { raw: { width, height, channels: 1 } }).jpeg({ quality: 90 }).toBuffer();
}

async function perSecond(n: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  return n / ((performance.now() - t0) / 1000);
}

export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mrpo-bench-data-'));
  try {
    const small = join(dir, 'scan-512.jpg');
    const large = join(dir, 'scan-1600.jpg');
    await writeFile(small, await syntheticScan(512, 512));
    await writeFile(large, await syntheticScan(1600, 1200));
    await imageToDataUrl(small); // warm-up
    console.log(`data/imageToDataUrl_512px_passthrough: ${(await perSecond(100, () => imageToDataUrl(small))).toFixed(0)} images/s`);
    console.log(`data/imageToDataUrl_1600x1200_downscaled: ${(await perSecond(10, () => imageToDataUrl(large))).toFixed(1)} images/s`);
    const cache = createImageUrlCache();
    await cache.dataUrl(small);
    console.log(`data/imageUrlCache_hits: ${(await perSecond(5000, () => cache.dataUrl(small))).toFixed(0)} images/s`);

    const jsonl = join(dir, 'items.jsonl');
    const n = 50_000;
    await writeFile(jsonl, Array.from({ length: n }, (_, i) => JSON.stringify({ image: `images/${i}.jpg`, problem: `question ${i}?`, solution: `answer ${i}` })).join('\n'));
    const t0 = performance.now();
    let count = 0;
    for await (const _ of readItems(jsonl)) count += 1;
    console.log(`data/readItems_reference_jsonl: ${(count / ((performance.now() - t0) / 1000)).toFixed(0)} items/s`);

    const pq = join(dir, 'pq');
    await mkdir(pq, { recursive: true });
    const bytes = await syntheticScan(256, 256);
    writeHfParquet(join(pq, 'train-00000-of-00001.parquet'), Array.from({ length: 2000 }, (_, i) => ({ image: { bytes, path: null }, question: `q${i}`, answer: `a${i}` })), { rowGroupSize: 200 });
    const files = (await findParquetSplits(pq)).get('train')!;
    const t1 = performance.now();
    let rows = 0;
    for await (const _ of readHfParquetRows(files)) rows += 1;
    console.log(`data/readHfParquetRows_256px: ${(rows / ((performance.now() - t1) / 1000)).toFixed(0)} rows/s`);

    const fx = await writeSourceFixture(join(dir, 'raw'));
    const t2 = performance.now();
    await buildDatasets({ sources: { 'vqa-rad': fx.vqaRad, slake: fx.slake, pathvqa: fx.pathvqa }, medthink: fx.medthink, outDir: join(dir, 'out') });
    console.log(`data/build_fixture: ${(performance.now() - t2).toFixed(0)} ms`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
