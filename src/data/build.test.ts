import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../cli/main.js';
import { InputError } from '../errors.js';
import { buildDatasets, type BuildReport } from './build.js';
import { readItems } from './items-jsonl.js';
import { writeHfParquet, writeSourceFixture, type SourceFixture } from './test-support/fixtures.js';
import type { Item } from '../types.js';

let root: string;
let fx: SourceFixture;
let out: string;
let report: BuildReport;

async function items(path: string): Promise<Item[]> {
  const all: Item[] = [];
  for await (const item of readItems(path)) all.push(item);
  return all;
}

async function jsonl(path: string): Promise<Array<Record<string, unknown>>> {
  return (await readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mrpo-build-'));
  fx = await writeSourceFixture(join(root, 'raw'));
  out = join(root, 'out');
  report = await buildDatasets({
    sources: { 'vqa-rad': fx.vqaRad, slake: fx.slake, pathvqa: fx.pathvqa },
    medthink: fx.medthink,
    outDir: out,
  });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('data build: training set', () => {
  it('keeps the MedThink open-ended rows that match a raw train row, in MedThink order, with MedThink text and rationale', async () => {
    const train = await items(join(out, 'train.jsonl'));
    expect(train.map((i) => [i.source, i.question, i.answer, i.goldReasoning])).toEqual([
      ['vqa-rad', 'what organ is shown?', 'liver', 'The liver is seen.'], // integer answer 0 indexes choices; "What organ is shown ?" matches
      ['vqa-rad', 'Where is the lesion ?', 'Left lobe', 'A lesion in the left lobe.'], // raw "left  lobe": whitespace collapsed
      ['slake', 'Which organ is abnormal ?', 'Lung', 'The lung is abnormal.'], // key xmlab1_source.jpg
      ['slake', 'How many kidneys?', '2', 'Two kidneys are visible.'], // numeric answers on both sides → "2"
      ['pathvqa', 'What is present?', 'Necrosis', 'Necrotic tissue.'], // image renamed to path_0001.jpg by md5
      ['pathvqa', 'what is shown?', 'granuloma', 'A granuloma.'], // image named from image.path's base name
    ]);
    expect(train.map((i) => (i.image as string).slice(join(out, 'images').length + 1))).toEqual([
      'vqa-rad/synpic1.jpg',
      'vqa-rad/synpic2.jpg',
      'slake/xmlab1/source.jpg',
      'slake/xmlab2/source.jpg',
      'pathvqa/train/path_0001.jpg',
      'pathvqa/train/train_p2.jpg',
    ]);
    expect(new Set(train.map((i) => i.id)).size).toBe(6);
    for (const item of train) expect(item.id).toMatch(/^(vqa-rad|slake|pathvqa)-[0-9a-f]{16}$/);
  });

  it('copies the images byte for byte when no pixel budget is given', async () => {
    expect((await readFile(join(out, 'images', 'vqa-rad', 'synpic1.jpg'))).equals(fx.images.synpic1!)).toBe(true);
    expect((await readFile(join(out, 'images', 'slake', 'xmlab2', 'source.jpg'))).equals(fx.images.xmlab2!)).toBe(true);
    expect((await readFile(join(out, 'images', 'pathvqa', 'train', 'path_0001.jpg'))).equals(fx.images.p1!)).toBe(true);
  });

  it('lists the MedThink rows that found no raw match, with the reason', async () => {
    const unmatched = await jsonl(join(out, 'unmatched-train.jsonl'));
    expect(unmatched.map((u) => [u.source, u.image, u.reason])).toEqual([
      ['vqa-rad', 'synpic9.jpg', 'no vqa-rad train row has image "synpic9.jpg"'],
      ['vqa-rad', 'synpic2.jpg', 'the vqa-rad train split has image "synpic2.jpg" but no row with this question and answer (normalised)'],
      ['pathvqa', 'train_1.jpg', 'no pathvqa train row has image "train_1.jpg"'],
    ]);
    expect(unmatched[0]!.where).toBe(`${join(fx.medthink, 'R-RAD', 'open-end', 'trainset.json')} record "5" ($["5"])`);
  });
});

describe('data build: test set', () => {
  it('keeps open-ended (non yes/no) rows, SLAKE English only, closed non-yes/no answers included, gold rationale attached', async () => {
    const test = await items(join(out, 'test.jsonl'));
    expect(test.map((i) => [i.source, i.question, i.answer, i.goldReasoning ?? null])).toEqual([
      ['vqa-rad', 'What modality?', 'CT', 'CT rationale.'],
      ['vqa-rad', 'How many ribs?', '3', null], // phrase_type "Test_freeform" is test; numeric answer → "3"
      ['slake', 'What modality is used?', 'MRI', 'MR rationale.'],
      ['slake', 'Which is bigger, left or right kidney?', 'Left', null], // CLOSED but not yes/no: kept
      ['pathvqa', 'what stain is used?', 'h&e', 'Pink and purple.'], // gold matched through the md5 name test_0042.png
    ]);
    expect((test[4]!.image as string).endsWith(join('images', 'pathvqa', 'test', 'test_0042.png'))).toBe(true);
  });

  it('reports counts per source', () => {
    expect(report.train).toEqual({ total: 6, perSource: { 'vqa-rad': 2, slake: 2, pathvqa: 2 } });
    expect(report.test).toEqual({ total: 5, perSource: { 'vqa-rad': 2, slake: 2, pathvqa: 1 }, withGoldReasoning: { 'vqa-rad': 1, slake: 1, pathvqa: 1 } });
    expect(report.raw).toEqual({
      'vqa-rad': { train: 3, test: 4, testYesNo: 1, testOtherLanguage: 0 },
      slake: { train: 4, test: 5, testYesNo: 1, testOtherLanguage: 1 },
      pathvqa: { train: 3, test: 2, testYesNo: 1, testOtherLanguage: 0 },
    });
    expect(report.medthink.train).toEqual({
      'vqa-rad': { read: 6, yesNo: 1, duplicates: 1, kept: 4 },
      slake: { read: 2, yesNo: 0, duplicates: 0, kept: 2 },
      pathvqa: { read: 3, yesNo: 0, duplicates: 0, kept: 3 },
    });
    expect(report.unmatched.total).toBe(3);
    expect(report.medthink.missingFiles).toEqual([]);
    expect(report.images).toEqual({ written: 9, renamedByMd5: 3, nameCollisions: 0 });
  });

  it('lists every skipped record naming file, record and field, in order', async () => {
    const skipped = await jsonl(join(out, 'skipped.jsonl'));
    const osf = join(fx.vqaRad, 'VQA_RAD Dataset Public.json');
    expect(skipped.map((s) => s.where)).toEqual([
      `${join(fx.medthink, 'R-RAD', 'open-end', 'trainset.json')} record "7" ($["7"])`,
      `${osf} record 7 ($[7])`,
      `${osf} record 6 ($[6]) field "image_name"`,
      `${join(fx.slake, 'test.json')} record 4 ($[4]) field "img_name"`,
      `${join(fx.pathvqa, 'data', 'test-00000-of-00001.parquet')} row 2`,
    ]);
    expect(skipped.map((s) => s.problem)).toEqual([
      'field "answer" is index 5 but "choices" has 1 entry',
      'field "image_name" must be a non-empty string, got null',
      `image file not found: ${join(fx.vqaRad, 'VQA_RAD Image Folder', 'synpic_missing.jpg')}`,
      expect.stringMatching(/^.*xmlab4[/\\]source\.jpg: not a readable image/),
      'field "image.bytes" must hold the encoded image, got 0 bytes',
    ]);
    expect(report.skipped.total).toBe(5);
  });
});

describe('data build: options', () => {
  it('downscales to a pixel budget: 16×12 at 100 pixels → 11×8 (hand-computed), encoding as the file name says', async () => {
    const small = join(root, 'out-small');
    await buildDatasets({ sources: { 'vqa-rad': fx.vqaRad, pathvqa: fx.pathvqa }, medthink: fx.medthink, outDir: small, maxPixels: 100 });
    const jpg = await sharp(join(small, 'images', 'vqa-rad', 'synpic1.jpg')).metadata();
    expect([jpg.format, jpg.width, jpg.height]).toEqual(['jpeg', 11, 8]);
    // A PNG that MedThink names .jpg is re-encoded as JPEG under its MedThink name.
    const renamed = await sharp(join(small, 'images', 'pathvqa', 'train', 'path_0001.jpg')).metadata();
    expect([renamed.format, renamed.width, renamed.height]).toEqual(['jpeg', 11, 8]);
    // A PNG with a .png name stays PNG.
    const png = await sharp(join(small, 'images', 'pathvqa', 'test', 'test_0042.png')).metadata();
    expect([png.format, png.width, png.height]).toEqual(['png', 11, 8]);
  });

  it('builds only the test set without MedThink, naming parquet images by base name or {split}_{index}.jpg', async () => {
    const noMt = join(root, 'out-nomt');
    const r = await buildDatasets({ sources: { pathvqa: fx.pathvqa }, outDir: noMt });
    expect(r.files.train).toBeNull();
    expect(r.train.total).toBe(0);
    const test = await items(join(noMt, 'test.jsonl'));
    expect(test.map((i) => [(i.image as string).slice(join(noMt, 'images').length + 1), i.goldReasoning])).toEqual([['pathvqa/test/test_0.jpg', undefined]]);
  });

  it('accepts VQA-RAD as Hugging Face parquet, renaming images to MedThink R-RAD names by md5', async () => {
    const hf = join(root, 'vqa-rad-hf');
    await mkdir(join(hf, 'data'), { recursive: true });
    writeHfParquet(join(hf, 'data', 'train-00000-of-00001-eb88.parquet'), [
      { image: { bytes: fx.images.synpic1!, path: null }, question: 'What organ is shown ?', answer: 'Liver' },
      { image: { bytes: fx.images.synpic3!, path: null }, question: 'Is it normal?', answer: 'yes' },
    ]);
    writeHfParquet(join(hf, 'data', 'test-00000-of-00001-e5bc.parquet'), [{ image: { bytes: fx.images.synpic2!, path: null }, question: 'What modality?', answer: 'CT' }]);
    const mt = join(root, 'mt-hf');
    await mkdir(join(mt, 'R-RAD', 'images'), { recursive: true });
    await mkdir(join(mt, 'R-RAD', 'open-end'), { recursive: true });
    await writeFile(join(mt, 'R-RAD', 'images', 'synpic1.jpg'), fx.images.synpic1!);
    await writeFile(join(mt, 'R-RAD', 'images', 'synpic2.jpg'), fx.images.synpic2!);
    await writeFile(join(mt, 'R-RAD', 'open-end', 'trainset.json'), JSON.stringify({ '1': { image: 'synpic1.jpg', question: 'what organ is shown?', choices: ['liver'], answer: 0, solution: 'Liver.' } }));
    const dest = join(root, 'out-hf');
    await rename(mt, join(root, 'mt-hf-Medthink_Dataset'));
    await mkdir(mt);
    await rename(join(root, 'mt-hf-Medthink_Dataset'), join(mt, 'Medthink_Dataset')); // a clone of the repository: found inside
    const r = await buildDatasets({ sources: { 'vqa-rad': hf }, medthink: mt, outDir: dest });
    const train = await items(join(dest, 'train.jsonl'));
    const test = await items(join(dest, 'test.jsonl'));
    expect(train.map((i) => [(i.image as string).slice(join(dest, 'images').length + 1), i.answer, i.goldReasoning])).toEqual([['vqa-rad/train/synpic1.jpg', 'liver', 'Liver.']]);
    expect(test.map((i) => [(i.image as string).slice(join(dest, 'images').length + 1), i.answer])).toEqual([['vqa-rad/test/synpic2.jpg', 'CT']]);
    expect(r.images.renamedByMd5).toBe(2); // train row 0 and test row 0; synpic3 has no MedThink name
    expect(r.medthink.missingFiles).toEqual([join(mt, 'Medthink_Dataset', 'R-RAD', 'open-end', 'testset.json')]); // listed: test items then carry no rationale
  });

  it('strict mode fails on the first malformed record, naming it', async () => {
    const err = await buildDatasets({ sources: { 'vqa-rad': fx.vqaRad }, medthink: fx.medthink, outDir: join(root, 'out-strict'), strict: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe(`${join(fx.medthink, 'R-RAD', 'open-end', 'trainset.json')} record "7" ($["7"]): field "answer" is index 5 but "choices" has 1 entry`);
  });
});

describe('mrpo data build (CLI)', () => {
  function io() {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let o = '';
    let e = '';
    stdout.on('data', (c: Buffer) => (o += c.toString()));
    stderr.on('data', (c: Buffer) => (e += c.toString()));
    return { io: { stdin: new PassThrough(), stdout, stderr, env: {}, cwd: root }, out: () => o, err: () => e };
  }

  it('builds, prints the report JSON on stdout and the per-source table on stderr', async () => {
    const t = io();
    const code = await main(['data', 'build', '--vqa-rad', fx.vqaRad, '--slake', fx.slake, '--medthink', fx.medthink, '--out', 'cli-out'], t.io);
    expect(code).toBe(0);
    const rep = JSON.parse(t.out()) as BuildReport;
    expect(rep.train.perSource).toEqual({ 'vqa-rad': 2, slake: 2 });
    expect(rep.files.test).toBe(join(root, 'cli-out', 'test.jsonl'));
    expect(t.err()).toContain('unmatched: ');
    expect(t.err()).toMatch(/vqa-rad\s+3\s+4\s+4\s+2\s+2\s+2\s+1/);
  });

  it('exits 2 with a usage message for a missing --out or source', async () => {
    const a = io();
    expect(await main(['data', 'build', '--slake', fx.slake], a.io)).toBe(2);
    expect(a.err()).toContain('--out DIR is required');
    const b = io();
    expect(await main(['data', 'build', '--out', 'x'], b.io)).toBe(2);
    expect(b.err()).toContain('give at least one source folder');
    const c = io();
    expect(await main(['data', 'build', '--slake', join(root, 'nope'), '--out', 'y'], c.io)).toBe(2);
    expect(c.err()).toContain(`${join(root, 'nope')}: slake folder not found (given as --slake)`);
    const d = io();
    expect(await main(['data', 'build', '--slake', join(root, 'raw', 'vqa-rad'), '--out', 'y'], d.io)).toBe(2);
    expect(d.err()).toContain('SLAKE test split not found');
  });
});

describe('MedThink as Git LFS pointers (a clone without git lfs pull)', () => {
  function io() {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let e = '';
    stderr.on('data', (c: Buffer) => (e += c.toString()));
    return { io: { stdin: new PassThrough(), stdout, stderr, env: {}, cwd: root }, err: () => e };
  }
  const pointer = 'version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 1244889\n';

  it('names a pointer JSON file (exit 2), not "not valid JSON"', async () => {
    const raw = await writeSourceFixture(join(root, 'lfs-json'));
    const file = join(raw.medthink, 'R-RAD', 'open-end', 'trainset.json');
    await writeFile(file, pointer);
    const err = await buildDatasets({ sources: { 'vqa-rad': raw.vqaRad }, medthink: raw.medthink, outDir: join(root, 'lfs-json-out') }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InputError);
    expect([(err as InputError).where, (err as Error).message]).toEqual([file, `${file} is a Git LFS pointer; run git lfs pull`]);
    const t = io();
    expect(await main(['data', 'build', '--vqa-rad', raw.vqaRad, '--medthink', raw.medthink, '--out', join(root, 'lfs-json-cli')], t.io)).toBe(2);
    expect(t.err()).toContain(`${file} is a Git LFS pointer; run git lfs pull`);
    expect(t.err()).not.toContain('not valid JSON');
  });

  it('names a pointer image in the md5-renaming folder (exit 2), instead of leaving every row unmatched with exit 0', async () => {
    const raw = await writeSourceFixture(join(root, 'lfs-img'));
    const image = join(raw.medthink, 'R-PathVQA', 'images', 'Train_images', 'path_0001.jpg');
    await writeFile(image, pointer);
    const t = io();
    expect(await main(['data', 'build', '--pathvqa', raw.pathvqa, '--medthink', raw.medthink, '--out', join(root, 'lfs-img-out')], t.io)).toBe(2);
    expect(t.err()).toContain(`${image} is a Git LFS pointer; run git lfs pull`);
  });

  it('names a pointer image that an item uses', async () => {
    const raw = await writeSourceFixture(join(root, 'lfs-slake'));
    const image = join(raw.slake, 'imgs', 'xmlab3', 'source.jpg'); // a test-split image (no --medthink: only the test set is built)
    await writeFile(image, pointer);
    await expect(buildDatasets({ sources: { slake: raw.slake }, outDir: join(root, 'lfs-slake-out') })).rejects.toThrow(`${image} is a Git LFS pointer; run git lfs pull`);
  });
});
