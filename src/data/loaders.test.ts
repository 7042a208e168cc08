/** Tests of the per-format loaders against fixtures written in the real formats. */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../errors.js';
import { collectItems } from './dataset.js';
import { findParquetSplits, hfParquetDataset, readHfParquetRows, type HfParquetRow } from './hf-parquet.js';
import { medthinkDataset, readMedThinkFile, resolveMedThinkAnswer } from './medthink.js';
import { pmcVqaDataset, readPmcVqaCsv, type PmcVqaRow } from './pmc-vqa.js';
import type { RecordIssue } from './record-issues.js';
import { readSlakeJson, slakeDataset } from './slake.js';
import { solidImage, writeHfParquet, writeSourceFixture, type SourceFixture } from './test-support/fixtures.js';
import { vqaRadOsfDataset, vqaRadSplit } from './vqa-rad-osf.js';
import { ImageStore } from './build-images.js';

let root: string;
let fx: SourceFixture;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mrpo-loaders-'));
  fx = await writeSourceFixture(join(root, 'raw'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('Hugging Face parquet (image struct {bytes, path})', () => {
  it('finds the shards of each split and reads image.bytes as is', async () => {
    const splits = await findParquetSplits(fx.pathvqa);
    expect([...splits.keys()].sort()).toEqual(['test', 'train', 'validation']);
    const rows: HfParquetRow[] = [];
    for await (const r of readHfParquetRows(splits.get('train')!)) rows.push(r);
    expect(rows.map((r) => [r.index, r.question, r.answer, r.imagePath])).toEqual([
      [0, 'what is present?', 'necrosis', null],
      [1, 'is this malignant?', 'yes', 'img/train_p2.jpg'],
      [2, 'what is shown ?', 'granuloma', 'img/train_p2.jpg'],
    ]);
    expect(Buffer.from(rows[0]!.imageBytes).equals(fx.images.p1!)).toBe(true);
    expect(Buffer.from(rows[2]!.imageBytes).equals(fx.images.p2!)).toBe(true);
  });

  it('counts rows across shards and row groups in name order', async () => {
    const dir = join(root, 'sharded', 'data');
    await mkdir(dir, { recursive: true });
    const img = await solidImage([5, 5, 5], 'png');
    writeHfParquet(join(dir, 'train-00001-of-00002.parquet'), [{ image: { bytes: img, path: null }, question: 'q2', answer: 'a2' }]);
    writeHfParquet(
      join(dir, 'train-00000-of-00002.parquet'),
      [0, 1, 2].map((i) => ({ image: { bytes: img, path: null }, question: `q${i === 2 ? '1b' : i}`, answer: `a${i}` })),
      { rowGroupSize: 2 }, // two row groups: rows 0–1 and row 2
    );
    const rows: HfParquetRow[] = [];
    for await (const r of readHfParquetRows((await findParquetSplits(join(root, 'sharded'))).get('train')!)) rows.push(r);
    expect(rows.map((r) => [r.index, r.question, r.where])).toEqual([
      [0, 'q0', `${join(dir, 'train-00000-of-00002.parquet')} row 0`],
      [1, 'q1', `${join(dir, 'train-00000-of-00002.parquet')} row 1`],
      [2, 'q1b', `${join(dir, 'train-00000-of-00002.parquet')} row 2`],
      [3, 'q2', `${join(dir, 'train-00001-of-00002.parquet')} row 0`],
    ]);
  });

  it('names file, row and field for an empty image, or records it with a sink', async () => {
    const files = (await findParquetSplits(fx.pathvqa)).get('test')!;
    const read = async (sink?: (i: RecordIssue) => void) => {
      const out: HfParquetRow[] = [];
      for await (const r of readHfParquetRows(files, sink ? { onInvalid: sink } : {})) out.push(r);
      return out;
    };
    const file = join(fx.pathvqa, 'data', 'test-00000-of-00001.parquet');
    await expect(read()).rejects.toThrow(`${file} row 2: field "image.bytes" must hold the encoded image, got 0 bytes`);
    const issues: RecordIssue[] = [];
    expect((await read((i) => issues.push(i))).length).toBe(2);
    expect(issues).toEqual([{ where: `${file} row 2`, problem: 'field "image.bytes" must hold the encoded image, got 0 bytes' }]);
  });

  it('rejects a parquet file without the expected columns and a file that is not parquet', async () => {
    const dir = join(root, 'badcols', 'data');
    await mkdir(dir, { recursive: true });
    const { parquetWriteFile } = await import('hyparquet-writer');
    parquetWriteFile({ filename: join(dir, 'test-0.parquet'), columnData: [{ name: 'question', data: ['q'], type: 'STRING' }] });
    const rows = readHfParquetRows([join(dir, 'test-0.parquet')]);
    await expect(rows.next()).rejects.toThrow(/test-0\.parquet: parquet file has no "image" column \(columns: question\)/);
    await writeFile(join(dir, 'train-0.parquet'), 'not parquet');
    await expect(readHfParquetRows([join(dir, 'train-0.parquet')]).next()).rejects.toThrow(/train-0\.parquet: not a readable parquet file/);
  });

  it('as a Dataset: yes/no dropped, in-memory images with their MIME type', async () => {
    const items = await collectItems(hfParquetDataset(fx.pathvqa, { source: 'pathvqa', split: 'train' }));
    expect(items.map((i) => [i.question, i.answer, i.source])).toEqual([
      ['what is present?', 'necrosis', 'pathvqa'],
      ['what is shown ?', 'granuloma', 'pathvqa'],
    ]);
    expect(items[0]!.image).toMatchObject({ mime: 'image/png' });
    expect(items[1]!.image).toMatchObject({ mime: 'image/jpeg' });
  });
});

describe('SLAKE', () => {
  it('reads every record, answers as str(); the dataset keeps English non-yes/no rows', async () => {
    const records = await readSlakeJson(join(fx.slake, 'train.json'));
    expect(records.map((r) => [r.imageKey, r.answer, r.qLang])).toEqual([
      ['xmlab1_source.jpg', 'Lung', 'en'],
      ['xmlab1_source.jpg', '肺', 'zh'],
      ['xmlab2_source.jpg', '2', 'en'],
      ['xmlab2_source.jpg', 'Yes', 'en'],
    ]);
    const items = await collectItems(slakeDataset(fx.slake, { split: 'train' }));
    expect(items.map((i) => [i.question, i.answer, i.image])).toEqual([
      ['Which organ is abnormal?', 'Lung', join(fx.slake, 'imgs', 'xmlab1/source.jpg')],
      ['How many kidneys ?', '2', join(fx.slake, 'imgs', 'xmlab2/source.jpg')],
    ]);
    const zh = await collectItems(slakeDataset(fx.slake, { split: 'test', lang: 'zh' }));
    expect(zh.map((i) => i.answer)).toEqual(['核磁共振']);
  });

  it('names the record and field of a malformed row', async () => {
    const file = join(root, 'slake-bad.json');
    await writeFile(file, JSON.stringify([{ img_name: 'xmlab1/source.jpg', question: 'q', answer: 'a', q_lang: 'en' }, { img_name: 'xmlab1/source.jpg', question: 'q', q_lang: 'en' }]));
    await expect(readSlakeJson(file, { label: 'train.json' })).rejects.toThrow('train.json record 1 ($[1]): field "answer" must be a string or number, got nothing (the field is missing)');
  });
});

describe('MedThink', () => {
  it('resolves integer answers through choices, but not booleans', () => {
    expect(resolveMedThinkAnswer(1, ['yes', 'no'])).toEqual({ answer: 'no' });
    expect(resolveMedThinkAnswer('liver', ['liver'])).toEqual({ answer: 'liver' });
    expect(resolveMedThinkAnswer(2, undefined)).toEqual({ answer: '2' });
    expect(resolveMedThinkAnswer(true, ['a', 'b'])).toEqual({ answer: 'True' });
    expect(resolveMedThinkAnswer(2, ['a', 'b'])).toEqual({ error: 'field "answer" is index 2 but "choices" has 2 entries' });
  });

  it('reads an object keyed by id (R-RAD "image", R-SLAKE "img_name") into items with gold reasoning', async () => {
    const slake = await readMedThinkFile(join(fx.medthink, 'R-SLAKE', 'open-end', 'train.json'));
    expect(slake.map((r) => [r.key, r.imageKey, r.answer])).toEqual([
      ['s1', 'xmlab1_source.jpg', 'Lung'],
      ['s2', 'xmlab2_source.jpg', '2'],
    ]);
    const items = await collectItems(medthinkDataset(join(fx.medthink, 'R-RAD', 'open-end', 'testset.json'), { source: 'vqa-rad', imagesDir: '/imgs' }));
    expect(items).toEqual([{ id: expect.stringMatching(/^vqa-rad-[0-9a-f]{16}$/), image: join('/imgs', 'synpic2.jpg'), question: 'what modality?', answer: 'ct', goldReasoning: 'CT rationale.', source: 'vqa-rad' }]);
  });

  it('names the record of a row without an image', async () => {
    const file = join(root, 'mt-bad.json');
    await writeFile(file, JSON.stringify({ a1: { question: 'q', answer: 'x', solution: 's', img_name: '' } }));
    await expect(readMedThinkFile(file, { label: 'train.json' })).rejects.toThrow('train.json record "a1" ($["a1"]): field "img_name" or "image" must be a non-empty string, got nothing (the field is missing) in "image"');
  });
});

describe('VQA-RAD OSF', () => {
  it('splits by phrase_type (test* is test) and drops yes/no', async () => {
    expect(['test_freeform', ' Test_para', 'freeform', 'para', '', 'testing'].map(vqaRadSplit)).toEqual(['test', 'test', 'train', 'train', 'train', 'test']);
    const dir = join(root, 'osf-clean');
    await mkdir(join(dir, 'images'), { recursive: true });
    await writeFile(
      join(dir, 'VQA_RAD Dataset Public.json'),
      JSON.stringify([
        { image_name: 'synpic2.jpg', question: 'What modality?', answer: 'CT', phrase_type: 'test_freeform' },
        { image_name: 'synpic2.jpg', question: 'Is it normal?', answer: 'No', phrase_type: 'test_para' },
        { image_name: 'synpic3.jpg', question: 'How many ribs?', answer: 3, phrase_type: 'Test_freeform' },
        { image_name: 'synpic3.jpg', question: 'Where?', answer: 'left', phrase_type: 'freeform' },
      ]),
    );
    const test = await collectItems(vqaRadOsfDataset(dir, { split: 'test' }));
    expect(test.map((i) => [i.question, i.answer, i.image])).toEqual([
      ['What modality?', 'CT', join(dir, 'images', 'synpic2.jpg')],
      ['How many ribs?', '3', join(dir, 'images', 'synpic3.jpg')],
    ]);
    expect((await collectItems(vqaRadOsfDataset(dir, { split: 'train' }))).map((i) => i.answer)).toEqual(['left']);
  });

  it('the dataset view is strict: a row with image_name null is an error naming file, record and field', async () => {
    await expect(collectItems(vqaRadOsfDataset(fx.vqaRad, { split: 'test' }))).rejects.toThrow(
      `${join(fx.vqaRad, 'VQA_RAD Dataset Public.json')} record 7 ($[7]): field "image_name" must be a non-empty string, got null`,
    );
  });
});

describe('parquet compressed with gzip or zstd (fixtures written by pyarrow, test-support/make-compressed-parquet.py)', () => {
  const fixture = (codec: string): string => fileURLToPath(new URL(`./test-support/parquet/train-00000-of-00001-${codec}.parquet`, import.meta.url));
  for (const codec of ['gzip', 'zstd']) {
    it(`reads ${codec} pages`, async () => {
      const rows: HfParquetRow[] = [];
      for await (const r of readHfParquetRows([fixture(codec)])) rows.push(r);
      expect(rows.map((r) => [r.index, r.question, r.answer, r.imagePath, [...r.imageBytes.subarray(1, 4)]])).toEqual([
        [0, 'what is present?', 'necrosis', null, [0x50, 0x4e, 0x47]],
        [1, 'what stain is used?', 'h&e', 'img/train_7.png', [0x50, 0x4e, 0x47]],
      ]);
      expect((await sharp(rows[1]!.imageBytes).metadata()).width).toBe(4);
    });
  }
  it('names the file when its pages cannot be decoded (an InputError, exit 2)', async () => {
    const bytes = new Uint8Array(await readFile(fixture('zstd')));
    for (let i = 40; i < 400; i++) bytes[i] = 0xa5; // the first column chunk's pages; the footer stays intact
    const broken = join(root, 'train-00000-of-00001-broken.parquet');
    await writeFile(broken, bytes);
    const error = await readHfParquetRows([broken])
      .next()
      .then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toContain(broken);
  });
});

describe('PMC-VQA CSV', () => {
  const header = ',Figure_path,Question,Answer,Choice A,Choice B,Choice C,Choice D,Answer_label';
  it('parses quoted fields and the "Anwser" spelling, stripping choice prefixes', async () => {
    const file = join(root, 'test.csv');
    await writeFile(
      file,
      [
        header,
        '0,PMC1_fig1.jpg,"What does the arrow show, in the CT?",Pneumothorax ,A:Effusion,B:Pneumothorax,C:Mass,D:Normal,B',
        '1,PMC2_fig3.jpg,"Which ""phase"" is it?",,A:Arterial,B:Venous,C:Delayed,D:None,C',
      ].join('\n'),
    );
    const rows: PmcVqaRow[] = [];
    for await (const r of readPmcVqaCsv(file)) rows.push(r);
    expect(rows.map((r) => [r.line, r.figurePath, r.question, r.answer, r.choices])).toEqual([
      [2, 'PMC1_fig1.jpg', 'What does the arrow show, in the CT?', 'Pneumothorax', ['Effusion', 'Pneumothorax', 'Mass', 'Normal']],
      [3, 'PMC2_fig3.jpg', 'Which "phase" is it?', 'Delayed', ['Arterial', 'Venous', 'Delayed', 'None']], // empty answer → choice C
    ]);
    const typo = join(root, 'train.csv');
    await writeFile(typo, `Figure_path,Question,Anwser\nf.jpg,Q?,A:Liver\n`);
    const items = await collectItems(pmcVqaDataset(typo, { imagesDir: '/pmc/images', withChoices: true }));
    expect(items.map((i) => [i.image, i.question, i.answer, i.source])).toEqual([[join('/pmc/images', 'f.jpg'), 'Q?', 'Liver', 'pmc-vqa']]);
    const withChoices = await collectItems(pmcVqaDataset(file, { imagesDir: '/x', withChoices: true }));
    expect(withChoices[0]!.question).toBe('What does the arrow show, in the CT?\nA: Effusion\nB: Pneumothorax\nC: Mass\nD: Normal');
  });

  it('resolves the v2 letter answer (train_2.csv / test_2.csv) to the option text', async () => {
    const file = join(root, 'test_2.csv');
    await writeFile(
      file,
      [
        'index,Figure_path,Caption,Question,Choice A,Choice B,Choice C,Choice D,Answer,split',
        '0,PMC8253867_Fig2_41.jpg,"Coronary angiography, right view.",Which artery is occluded?,"  A: Right Coronary "," B: Left Anterior Descending ", C: Circumflex , D: Left Main ,B,test',
        '1,PMC8253867_Fig3_42.jpg,Caption,What modality is shown?, A:CT, B:MRI, C:Ultrasound, D:X-ray,D,test',
      ].join('\r\n') + '\r\n',
    );
    const rows: PmcVqaRow[] = [];
    for await (const r of readPmcVqaCsv(file)) rows.push(r);
    expect(rows.map((r) => [r.answer, r.answerLabel, r.choices])).toEqual([
      ['Left Anterior Descending', 'B', ['Right Coronary', 'Left Anterior Descending', 'Circumflex', 'Left Main']],
      ['X-ray', 'D', ['CT', 'MRI', 'Ultrasound', 'X-ray']],
    ]);
    const items = await collectItems(pmcVqaDataset(file, { imagesDir: '/pmc/figures', withChoices: true }));
    expect(items.map((i) => [i.image, i.answer])).toEqual([
      [join('/pmc/figures', 'PMC8253867_Fig2_41.jpg'), 'Left Anterior Descending'],
      [join('/pmc/figures', 'PMC8253867_Fig3_42.jpg'), 'X-ray'],
    ]);
    expect(items[0]!.question).toBe('Which artery is occluded?\nA: Right Coronary\nB: Left Anterior Descending\nC: Circumflex\nD: Left Main');
    const empty = join(root, 'train_2.csv');
    await writeFile(empty, 'index,Figure_path,Caption,Question,Choice A,Choice B,Choice C,Choice D,Answer,split\n0,f.jpg,c,Q?,A:x,B:y,,,C,train\n');
    await expect(readPmcVqaCsv(empty).next()).rejects.toThrow('train_2.csv line 2: column "Answer" is "C" but "Choice C" is empty');
  });

  it('names the line of a bad row and of broken CSV', async () => {
    const file = join(root, 'bad.csv');
    await writeFile(file, `${header}\n0,f.jpg,,x,,,,,\n`);
    const first = readPmcVqaCsv(file);
    await expect(first.next()).rejects.toThrow('bad.csv line 2: column "Question" is empty');
    const broken = join(root, 'broken.csv');
    await writeFile(broken, `Figure_path,Question,Answer\nf.jpg,"unclosed,x\n`);
    await expect(readPmcVqaCsv(broken).next()).rejects.toThrow(/^broken\.csv( line \d+)?: not valid CSV/);
    await expect(readPmcVqaCsv(join(root, 'none.csv')).next()).rejects.toBeInstanceOf(InputError);
  });
});

describe('ImageStore', () => {
  it('with maxPixels, writes images within the budget byte for byte and downscales only those over it', async () => {
    const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');
    const store = new ImageStore({ root: join(root, 'budget'), maxPixels: 802_816 });
    // Within budget: a small JPEG, a CMYK JPEG (which a re-encode would turn into sRGB) and a PNG under a .jpg name.
    const small = await solidImage([30, 60, 90], 'jpeg', [40, 30]);
    const cmyk = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 40, b: 40 } } }).toColourspace('cmyk').jpeg().toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const pngNamedJpg = await solidImage([1, 2, 3], 'png', [20, 20]);
    const exact = await solidImage([9, 9, 9], 'jpeg', [896, 896]); // 802,816 px: exactly at the budget
    const big = await solidImage([10, 200, 30], 'jpeg', [1100, 900]);
    for (const [name, bytes] of [['small.jpg', small], ['cmyk.jpg', cmyk], ['png.jpg', pngNamedJpg], ['exact.jpg', exact]] as const) {
      const stored = await store.put(`pathvqa/train/${name}`, { kind: 'bytes', bytes });
      expect(stored).toEqual({ ok: true, path: join(root, 'budget', 'pathvqa', 'train', name) });
      expect(md5(await readFile(join(root, 'budget', 'pathvqa', 'train', name)))).toBe(md5(bytes));
    }
    const srcFile = join(root, 'budget-src.jpg');
    await writeFile(srcFile, small);
    const fromFile = await store.put('vqa-rad/test/synpic9.jpg', { kind: 'file', path: srcFile });
    expect(fromFile.ok && md5(await readFile(fromFile.path))).toBe(md5(small));
    const over = await store.put('pathvqa/train/big.jpg', { kind: 'bytes', bytes: big });
    expect(over.ok).toBe(true);
    const written = await readFile(join(root, 'budget', 'pathvqa', 'train', 'big.jpg'));
    expect(md5(written)).not.toBe(md5(big));
    const meta = await sharp(written).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([990, 810, 'jpeg']);
    const bad = await store.put('bad.jpg', { kind: 'bytes', bytes: small.subarray(0, 40) });
    expect(bad.ok).toBe(false);
  });

  it('keeps two different images that want the same name under distinct names, and reuses identical ones', async () => {
    const store = new ImageStore({ root: join(root, 'store') });
    const a = await solidImage([1, 1, 1], 'png');
    const b = await solidImage([2, 2, 2], 'png');
    const first = await store.put('pathvqa/train/x.png', { kind: 'bytes', bytes: a });
    const again = await store.put('pathvqa/train/x.png', { kind: 'bytes', bytes: a });
    const other = await store.put('pathvqa/train/x.png', { kind: 'bytes', bytes: b });
    expect(first).toEqual({ ok: true, path: join(root, 'store', 'pathvqa', 'train', 'x.png') });
    expect(again).toEqual(first);
    expect(other.ok && other.path).toMatch(/x~[0-9a-f]{8}\.png$/);
    expect([store.written, store.collisions]).toEqual([2, 1]);
    const bad = await store.put('y.png', { kind: 'bytes', bytes: new Uint8Array([1, 2, 3]) });
    expect(bad).toEqual({ ok: false, problem: expect.stringMatching(/^embedded image bytes: not a readable image/) });
  });
});
