/**
 * Small fixtures in the real source formats, written inside tests: a VQA-RAD
 * OSF folder, a SLAKE folder (en/zh, open/closed, a corrupt image), PathVQA
 * Hugging Face parquet files (image struct {bytes, path} holding real PNG/JPEG
 * bytes, written by hyparquet-writer) and a MedThink folder (objects keyed by
 * id, integer answers indexing `choices`, R-PathVQA images for md5 renaming).
 * The expected build results are derived by hand in build.test.ts.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { parquetWriteFile } from 'hyparquet-writer';

/** A distinct small image: a solid colour, PNG or JPEG. */
export async function solidImage(rgb: readonly [number, number, number], format: 'png' | 'jpeg', size: readonly [number, number] = [16, 12]): Promise<Buffer> {
  const img = sharp({ create: { width: size[0], height: size[1], channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
  return format === 'png' ? img.png().toBuffer() : img.jpeg().toBuffer();
}

async function put(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, data);
}

export interface ParquetRow {
  readonly image: { readonly bytes: Uint8Array; readonly path: string | null };
  readonly question: string;
  readonly answer: string;
}

/**
 * Writes a parquet file shaped like the Hugging Face datasets: image struct {bytes: binary, path: string},
 * question, answer, then any `extra` string columns (e.g. Quilt-VQA's answer_type and context), one value per row.
 */
export function writeHfParquet(
  path: string,
  rows: readonly ParquetRow[],
  options: { rowGroupSize?: number; extra?: Readonly<Record<string, ReadonlyArray<string | null>>> } = {},
): void {
  const extra = Object.entries(options.extra ?? {});
  parquetWriteFile({
    filename: path,
    ...(options.rowGroupSize !== undefined ? { rowGroupSize: options.rowGroupSize } : {}),
    columnData: [
      { name: 'image', data: rows.map((r) => ({ bytes: r.image.bytes, path: r.image.path })) },
      { name: 'question', data: rows.map((r) => r.question) },
      { name: 'answer', data: rows.map((r) => r.answer) },
      ...extra.map(([name, values]) => ({ name, data: [...values] })),
    ],
    schema: [
      { name: 'root', num_children: 3 + extra.length },
      { name: 'image', repetition_type: 'OPTIONAL', num_children: 2 },
      { name: 'bytes', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
      { name: 'path', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'question', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'answer', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      ...extra.map(([name]) => ({ name, type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'OPTIONAL' as const })),
    ],
  });
}

export interface SourceFixture {
  readonly vqaRad: string;
  readonly slake: string;
  readonly pathvqa: string;
  readonly medthink: string;
  readonly images: Record<string, Buffer>;
}

/** Writes all four source folders under `root`. */
export async function writeSourceFixture(root: string): Promise<SourceFixture> {
  const images = {
    synpic1: await solidImage([200, 10, 10], 'jpeg'),
    synpic2: await solidImage([10, 200, 10], 'jpeg'),
    synpic3: await solidImage([10, 10, 200], 'jpeg'),
    xmlab1: await solidImage([100, 100, 0], 'jpeg'),
    xmlab2: await solidImage([0, 100, 100], 'jpeg'),
    xmlab3: await solidImage([100, 0, 100], 'jpeg'),
    p1: await solidImage([1, 2, 3], 'png'),
    p2: await solidImage([40, 50, 60], 'jpeg'),
    p3: await solidImage([70, 80, 90], 'png'),
    pv: await solidImage([9, 9, 9], 'png'),
  };

  // ---- VQA-RAD, OSF release layout
  const vqaRad = join(root, 'vqa-rad');
  const osfImages = join(vqaRad, 'VQA_RAD Image Folder');
  await put(join(osfImages, 'synpic1.jpg'), images.synpic1);
  await put(join(osfImages, 'synpic2.jpg'), images.synpic2);
  await put(join(osfImages, 'synpic3.jpg'), images.synpic3);
  await put(
    join(vqaRad, 'VQA_RAD Dataset Public.json'),
    JSON.stringify([
      { qid: 1, image_name: 'synpic1.jpg', question: 'What organ is shown ?', answer: 'Liver', answer_type: 'OPEN', phrase_type: 'freeform' },
      { qid: 2, image_name: 'synpic1.jpg', question: 'is this normal?', answer: 'yes', answer_type: 'CLOSED', phrase_type: 'freeform' },
      { qid: 3, image_name: 'synpic2.jpg', question: 'Where is the lesion?', answer: 'left  lobe', answer_type: 'OPEN', phrase_type: 'para' },
      { qid: 4, image_name: 'synpic2.jpg', question: 'What modality?', answer: 'CT', answer_type: 'OPEN', phrase_type: 'test_freeform' },
      { qid: 5, image_name: 'synpic3.jpg', question: 'Is there a mass?', answer: 'No', answer_type: 'CLOSED', phrase_type: 'test_para' },
      { qid: 6, image_name: 'synpic3.jpg', question: 'How many ribs?', answer: 3, answer_type: 'OPEN', phrase_type: 'Test_freeform' },
      { qid: 7, image_name: 'synpic_missing.jpg', question: 'What is it?', answer: 'x', answer_type: 'OPEN', phrase_type: 'test_freeform' },
      { qid: 8, image_name: null, question: 'Broken?', answer: 'x', answer_type: 'OPEN', phrase_type: 'freeform' },
    ]),
  );

  // ---- SLAKE: JSON + imgs/xmlab<N>/
  const slake = join(root, 'slake');
  await put(join(slake, 'imgs', 'xmlab1', 'source.jpg'), images.xmlab1);
  await put(join(slake, 'imgs', 'xmlab2', 'source.jpg'), images.xmlab2);
  await put(join(slake, 'imgs', 'xmlab3', 'source.jpg'), images.xmlab3);
  await put(join(slake, 'imgs', 'xmlab4', 'source.jpg'), images.xmlab3.subarray(0, 40)); // truncated: corrupt
  const sl = (img_id: number, img_name: string, question: string, answer: unknown, q_lang: string, answer_type: string, qid: number) => ({
    img_id,
    img_name,
    question,
    answer,
    q_lang,
    location: 'Lung',
    modality: 'CT',
    answer_type,
    base_type: 'vqa',
    content_type: 'Organ',
    triple: ['vhead', '_', '_'],
    qid,
  });
  await put(
    join(slake, 'train.json'),
    JSON.stringify([
      sl(1, 'xmlab1/source.jpg', 'Which organ is abnormal?', 'Lung', 'en', 'OPEN', 10),
      sl(1, 'xmlab1/source.jpg', '哪个器官异常?', '肺', 'zh', 'OPEN', 11),
      sl(2, 'xmlab2/source.jpg', 'How many kidneys ?', 2, 'en', 'OPEN', 12),
      sl(2, 'xmlab2/source.jpg', 'Is this a CT?', 'Yes', 'en', 'CLOSED', 13),
    ]),
  );
  await put(
    join(slake, 'test.json'),
    JSON.stringify([
      sl(3, 'xmlab3/source.jpg', 'What modality is used?', 'MRI', 'en', 'OPEN', 20),
      sl(3, 'xmlab3/source.jpg', '图像是什么模态?', '核磁共振', 'zh', 'OPEN', 21),
      sl(3, 'xmlab3/source.jpg', 'Is it abnormal?', 'no', 'en', 'CLOSED', 22),
      sl(3, 'xmlab3/source.jpg', 'Which is bigger, left or right kidney?', 'Left', 'en', 'CLOSED', 23),
      sl(4, 'xmlab4/source.jpg', 'What is shown?', 'brain', 'en', 'OPEN', 24),
    ]),
  );

  // ---- PathVQA, Hugging Face parquet
  const pathvqa = join(root, 'path-vqa');
  await mkdir(join(pathvqa, 'data'), { recursive: true });
  writeHfParquet(join(pathvqa, 'data', 'train-00000-of-00001.parquet'), [
    { image: { bytes: images.p1, path: null }, question: 'what is present?', answer: 'necrosis' },
    { image: { bytes: images.p2, path: 'img/train_p2.jpg' }, question: 'is this malignant?', answer: 'yes' },
    { image: { bytes: images.p2, path: 'img/train_p2.jpg' }, question: 'what is shown ?', answer: 'granuloma' },
  ]);
  writeHfParquet(join(pathvqa, 'data', 'test-00000-of-00001.parquet'), [
    { image: { bytes: images.p3, path: null }, question: 'what stain is used?', answer: 'h&e' },
    { image: { bytes: images.p3, path: null }, question: 'does this show x?', answer: 'no' },
    { image: { bytes: new Uint8Array(0), path: null }, question: 'what is this?', answer: 'cell' },
  ]);
  writeHfParquet(join(pathvqa, 'data', 'validation-00000-of-00001.parquet'), [
    { image: { bytes: images.pv, path: null }, question: 'what is here?', answer: 'fibrosis' },
  ]);

  // ---- MedThink
  const medthink = join(root, 'Medthink_Dataset');
  await put(
    join(medthink, 'R-RAD', 'open-end', 'trainset.json'),
    JSON.stringify({
      '1': { image: 'synpic1.jpg', question: 'what organ is shown?', choices: ['liver'], answer: 0, solution: 'The liver is seen.' },
      '2': { image: 'synpic2.jpg', question: 'Where is the lesion ?', choices: ['Left lobe'], answer: 'Left lobe', solution: 'A lesion in the left lobe.' },
      '3': { image: 'synpic1.jpg', question: 'Is this normal?', choices: ['yes', 'no'], answer: 0, solution: 'Normal.' },
      '4': { image: 'synpic1.jpg', question: 'What  organ is shown?', choices: ['Liver'], answer: 0, solution: 'Duplicate.' },
      '5': { image: 'synpic9.jpg', question: 'What is this?', choices: ['bone'], answer: 0, solution: 'Bone.' },
      '6': { image: 'synpic2.jpg', question: 'What modality?', choices: ['CT'], answer: 0, solution: 'CT.' },
      '7': { image: 'synpic1.jpg', question: 'what organ is shown?', choices: ['liver'], answer: 5, solution: 'Bad index.' },
    }),
  );
  await put(
    join(medthink, 'R-RAD', 'open-end', 'testset.json'),
    JSON.stringify({ t1: { image: 'synpic2.jpg', question: 'what modality?', choices: ['ct'], answer: 0, solution: 'CT rationale.' } }),
  );
  await put(
    join(medthink, 'R-SLAKE', 'open-end', 'train.json'),
    JSON.stringify({
      s1: { img_id: 1, img_name: 'xmlab1/source.jpg', question: 'Which organ is abnormal ?', choices: ['Lung'], answer: 0, solution: 'The lung is abnormal.' },
      s2: { img_id: 2, img_name: 'xmlab2/source.jpg', question: 'How many kidneys?', answer: 2, solution: 'Two kidneys are visible.' },
    }),
  );
  await put(
    join(medthink, 'R-SLAKE', 'open-end', 'test.json'),
    JSON.stringify({ st1: { img_id: 3, img_name: 'xmlab3/source.jpg', question: 'What modality is used?', choices: ['MRI'], answer: 0, solution: 'MR rationale.' } }),
  );
  await put(join(medthink, 'R-PathVQA', 'images', 'Train_images', 'path_0001.jpg'), images.p1);
  await put(join(medthink, 'R-PathVQA', 'images', 'Test_images', 'test_0042.png'), images.p3);
  await put(
    join(medthink, 'R-PathVQA', 'open-end', 'trainset.json'),
    JSON.stringify({
      p1: { image: 'path_0001.jpg', question: 'What is present?', choices: ['Necrosis'], answer: 0, solution: 'Necrotic tissue.' },
      p2: { image: 'train_p2.jpg', question: 'what is shown?', choices: ['granuloma'], answer: 0, solution: 'A granuloma.' },
      p3: { image: 'train_1.jpg', question: 'what is shown?', choices: ['granuloma'], answer: 0, solution: 'Unmatched.' },
    }),
  );
  await put(
    join(medthink, 'R-PathVQA', 'open-end', 'testset.json'),
    JSON.stringify({ pt1: { image: 'test_0042.png', question: 'what stain is used?', choices: ['H&E'], answer: 0, solution: 'Pink and purple.' } }),
  );

  return { vqaRad, slake, pathvqa, medthink, images };
}
