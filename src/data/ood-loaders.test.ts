/**
 * The out-of-distribution loaders on small fixtures written in the real
 * published layouts (shared/docs findings, data-formats §5): VQA-Med 2019
 * (pipe text, tabs inside questions, a 4-field test file), VQA-Med 2021
 * (several accepted answers, CSV-style quoting, MS-COCO-style questions),
 * Quilt-VQA (HF parquet with answer_type and context), MIMIC-CXR-VQA (JSON
 * list, answer lists, image_path under a MIMIC-CXR-JPG root). Expected values
 * are read off the fixture lines by hand.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectItems } from './dataset.js';
import { openFormat } from './formats.js';
import { readItems, writeItemsJsonl } from './items-jsonl.js';
import { mimicCxrVqaDataset } from './mimic-cxr-vqa.js';
import { quiltVqaDataset } from './quilt-vqa.js';
import { readVqaMed2019, vqaMed2019Dataset, vqaMed2021Dataset } from './vqa-med.js';
import { solidImage, writeHfParquet } from './test-support/fixtures.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mrpo-ood-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('VQA-Med 2019', () => {
  it('reads train lines (image|question|answer) with tabs collapsed, and joins the image folder', async () => {
    mkdirSync(join(dir, 'Train_images'));
    writeFileSync(
      join(dir, 'All_QA_Pairs_train.txt'),
      'synpic41148|what kind of scan is this?|ct with gi and iv contrast\r\nsynpic43984|is \tthis a t1 weighted image?|yes\r\nsynpic38930|which plane is  this image taken?|axial\r\n',
    );
    const items = await collectItems(vqaMed2019Dataset(join(dir, 'All_QA_Pairs_train.txt'), { imagesDir: join(dir, 'Train_images') }));
    expect(items.map((i) => [i.question, i.answer, i.answerType])).toEqual([
      ['what kind of scan is this?', 'ct with gi and iv contrast', 'open'],
      ['is this a t1 weighted image?', 'yes', 'closed'],
      ['which plane is this image taken?', 'axial', 'open'],
    ]);
    expect(items[0]?.image).toBe(join(dir, 'Train_images', 'synpic41148.jpg'));
    expect(items.every((i) => i.source === 'vqa-med-2019')).toBe(true);
  });

  it('reads the test file with its category column', async () => {
    writeFileSync(join(dir, 'VQAMed2019_Test_Questions_w_Ref_Answers.txt'), 'synpic54082|modality|is this a \tnoncontrast mri?|no\nsynpic33889|organ|what organ system is shown?|skull and contents\n');
    const rows = await readVqaMed2019(join(dir, 'VQAMed2019_Test_Questions_w_Ref_Answers.txt'));
    expect(rows.map((r) => [r.imageId, r.category, r.question, r.answers])).toEqual([
      ['synpic54082', 'modality', 'is this a noncontrast mri?', ['no']],
      ['synpic33889', 'organ', 'what organ system is shown?', ['skull and contents']],
    ]);
  });

  it('names the file, line and field of a malformed line', async () => {
    const f = join(dir, 'All_QA_Pairs_val.txt');
    writeFileSync(f, 'synpic1|what is this?|ct\nsynpic2 what plane?\n');
    await expect(readVqaMed2019(f)).rejects.toThrow('All_QA_Pairs_val.txt line 2: expected "image_id|question|answer" or "image_id|category|question|answer", got 1 "|"-separated fields');
    writeFileSync(f, 'synpic1|what is this?|ct\nsynpic2|what plane?|  \n');
    await expect(readVqaMed2019(f)).rejects.toThrow('All_QA_Pairs_val.txt line 2: field "answer" is empty');
  });
});

describe('VQA-Med 2021', () => {
  const answers = [
    'synpic42072|avascular necrosis|extensive degenerative changes on the bilateral femoral heads.|Avascular Necrosis of femoral heads',
    'synpic37231|pulmonary embolism',
    'synpic48161|"the right lower lobe is fluid filled, a ""drowned"" right lower lobe"',
    'synpic49488|dural  fistula, avf',
  ].join('\n');
  const questions = {
    info: '',
    task_type: 'vqa_imageclef_2021',
    data_type: 'questions',
    questions: [
      { question: 'what abnormality is seen in the image?', question_id: 'synpic42072' },
      { question: 'what is the primary abnormality in this image?', question_id: 'synpic37231' },
      { question: 'what is abnormal in the ct scan?', question_id: 'synpic48161' },
      { question: 'what is abnormal in the angiogram?', question_id: 'synpic49488' },
    ],
  };

  it('keeps every accepted answer, unquotes CSV-style fields and joins the questions', async () => {
    writeFileSync(join(dir, 'answers.txt'), answers);
    writeFileSync(join(dir, 'questions.json'), JSON.stringify(questions, null, 4));
    const items = await collectItems(vqaMed2021Dataset(join(dir, 'answers.txt'), { questionsFile: join(dir, 'questions.json'), imagesDir: join(dir, 'images') }));
    expect(items.map((i) => i.answers)).toEqual([
      ['avascular necrosis', 'extensive degenerative changes on the bilateral femoral heads.', 'Avascular Necrosis of femoral heads'],
      ['pulmonary embolism'],
      ['the right lower lobe is fluid filled, a "drowned" right lower lobe'],
      ['dural fistula, avf'],
    ]);
    expect(items[0]).toMatchObject({ id: 'vqa-med-2021/synpic42072', answer: 'avascular necrosis', question: 'what abnormality is seen in the image?', answerType: 'open', image: join(dir, 'images', 'synpic42072.jpg') });
  });

  it('names the line of an answer whose image has no question', async () => {
    writeFileSync(join(dir, 'answers.txt'), `${answers}\nsynpic9|pneumonia\n`);
    writeFileSync(join(dir, 'questions.txt'), 'synpic42072|what abnormality is seen in the image?\nsynpic37231|q\nsynpic48161|q\nsynpic49488|q\n');
    const ds = vqaMed2021Dataset(join(dir, 'answers.txt'), { questionsFile: join(dir, 'questions.txt'), imagesDir: dir });
    await expect(collectItems(ds)).rejects.toThrow('answers.txt line 5: image "synpic9" has no question in questions.txt');
  });
});

function writeQuilt(path: string, rows: Array<{ bytes: Uint8Array; question: string; answer: string; answer_type: string; context: string }>): void {
  writeHfParquet(
    path,
    rows.map((r) => ({ image: { bytes: r.bytes, path: null }, question: r.question, answer: r.answer })),
    { extra: { answer_type: rows.map((r) => r.answer_type), context: rows.map((r) => r.context) } },
  );
}

describe('Quilt-VQA', () => {
  it('reads the HF parquet with answer_type, image bytes kept as is', async () => {
    const jpeg = await solidImage([200, 120, 180], 'jpeg');
    mkdirSync(join(dir, 'data'));
    writeQuilt(join(dir, 'data', 'train-00000-of-00001.parquet'), [
      { bytes: jpeg, question: 'What type of tissue is shown?', answer: 'adipose tissue', answer_type: 'open', context: 'the narrator shows fat' },
      { bytes: jpeg, question: 'Is there necrosis?', answer: 'no', answer_type: 'closed', context: '' },
    ]);
    const items = await collectItems(quiltVqaDataset(dir));
    expect(items.map((i) => [i.question, i.answer, i.answerType, i.source])).toEqual([
      ['What type of tissue is shown?', 'adipose tissue', 'open', 'quilt-vqa'],
      ['Is there necrosis?', 'no', 'closed', 'quilt-vqa'],
    ]);
    const image = items[0]?.image as { bytes: Uint8Array; mime: string };
    expect(image.mime).toBe('image/jpeg');
    expect(Buffer.from(image.bytes).equals(jpeg)).toBe(true);
  });

  it('names the file, row and field of a bad answer_type', async () => {
    const png = await solidImage([1, 2, 3], 'png');
    const file = join(dir, 'test-00000-of-00001.parquet');
    writeQuilt(file, [
      { bytes: png, question: 'q1', answer: 'a', answer_type: 'open', context: '' },
      { bytes: png, question: 'q2', answer: 'b', answer_type: 'multiple', context: '' },
    ]);
    await expect(collectItems(quiltVqaDataset(file))).rejects.toThrow(`${file} row 1: field "answer_type" must be "open" or "closed", got "multiple"`);
  });
});

describe('MIMIC-Ext-MIMIC-CXR-VQA', () => {
  const record = (over: Record<string, unknown>) => ({
    split: 'test',
    idx: 13,
    image_id: '02aa804e-bde0afdd-112c0b34-7bc16630-4e384014',
    question: 'Does the left lung show any abnormalities?',
    content_type: 'abnormality',
    semantic_type: 'verify',
    template: 'Does the ${object} show any abnormalities?',
    template_program: 'program_1',
    template_arguments: { object: { '0': 'left lung' }, attribute: {}, category: {}, viewpos: {}, gender: {} },
    answer: ['yes'],
    subject_id: '10000032',
    study_id: '50414267',
    image_path: 'files/p10/p10000032/s50414267/02aa804e-bde0afdd-112c0b34-7bc16630-4e384014.jpg',
    ...over,
  });

  it('joins image_path to the MIMIC-CXR-JPG root and keeps the answer list', async () => {
    const file = join(dir, 'test.json');
    writeFileSync(
      file,
      JSON.stringify([
        record({}),
        record({ idx: 14, semantic_type: 'query', content_type: 'attribute', question: 'List all abnormalities in the right lung.', answer: ['pleural effusion', 'atelectasis'] }),
        record({ idx: 15, semantic_type: 'query', content_type: 'anatomy', question: 'List all anatomical findings related to lung opacity.', answer: [] }),
      ]),
    );
    const items = await collectItems(mimicCxrVqaDataset(file, { imagesRoot: join(dir, 'mimic-cxr-jpg') }));
    expect(items[0]).toMatchObject({ id: 'mimic-cxr-vqa/test/13', answer: 'yes', answerType: 'closed', image: join(dir, 'mimic-cxr-jpg', 'files/p10/p10000032/s50414267/02aa804e-bde0afdd-112c0b34-7bc16630-4e384014.jpg') });
    expect(items[0]?.answers).toBeUndefined();
    expect(items[1]).toMatchObject({ answer: 'pleural effusion, atelectasis', answers: ['pleural effusion, atelectasis', 'pleural effusion', 'atelectasis'], answerType: 'open' });
    expect(items[2]).toMatchObject({ answer: 'none', answerType: 'open' });
  });

  it('names the record and field of an answer that is not a list', async () => {
    const file = join(dir, 'valid.json');
    writeFileSync(file, JSON.stringify([record({}), record({ answer: 'yes' })]));
    await expect(collectItems(mimicCxrVqaDataset(file, { imagesRoot: dir }))).rejects.toThrow('valid.json record 1 ($[1]): field "answer" must be a list of strings, got "yes"');
  });
});

describe('every format through openFormat, and items JSONL round trip', () => {
  it('writes accepted answers and answerType to items JSONL and reads them back', async () => {
    writeFileSync(join(dir, 'answers.txt'), 'synpic1|pneumonia|consolidation of the right lower lobe\nsynpic2|no\n');
    writeFileSync(join(dir, 'q.txt'), 'synpic1|what is abnormal in the x-ray?\nsynpic2|is this normal?\n');
    mkdirSync(join(dir, 'images'));
    const ds = await openFormat('vqa-med-2021', join(dir, 'answers.txt'), { questions: join(dir, 'q.txt') });
    const out = join(dir, 'out', 'items.jsonl');
    expect(await writeItemsJsonl(out, ds.items())).toBe(2);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toEqual({
      id: 'vqa-med-2021/synpic1',
      image: '../images/synpic1.jpg',
      question: 'what is abnormal in the x-ray?',
      answer: 'pneumonia',
      answers: ['pneumonia', 'consolidation of the right lower lobe'],
      answerType: 'open',
      source: 'vqa-med-2021',
    });
    expect(lines[1]).toEqual({ id: 'vqa-med-2021/synpic2', image: '../images/synpic2.jpg', question: 'is this normal?', answer: 'no', answerType: 'closed', source: 'vqa-med-2021' });
    const back: unknown[] = [];
    for await (const item of readItems(out)) back.push(item);
    expect(back[0]).toMatchObject({ answers: ['pneumonia', 'consolidation of the right lower lobe'], answerType: 'open' });
  });

  it('rejects an unknown format and a missing path', async () => {
    await expect(openFormat('vqa-med-2020', dir)).rejects.toThrow('--format: unknown format "vqa-med-2020"; expected one of: items, vqa-rad,');
    await expect(openFormat('vqa-med-2019', join(dir, 'nope.txt'))).rejects.toThrow('nope.txt: not found (format vqa-med-2019 expects FILE');
  });
});
