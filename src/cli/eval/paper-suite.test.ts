/**
 * `mrpo eval --suite paper`: the preset's paths match the loaders. A data
 * folder with every benchmark in its published layout (small fixtures) is
 * read in full by `--dry-run`; without the data the command is exit 2 and
 * names the first missing path.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { solidImage, writeHfParquet } from '../../data/test-support/fixtures.js';
import { main } from '../main.js';
import { memoryIo } from '../test-support/memory-io.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mrpo-paper-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function writeFixtures(data: string): Promise<void> {
  const jpeg = await solidImage([30, 60, 90], 'jpeg');
  const put = (path: string, content: string | Uint8Array) => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, content);
  };
  // VQA-RAD, OSF layout: two test rows (test_freeform, test_para) and one train row.
  const rad = (qid: number, phrase_type: string, answer: string | number) => ({
    qid, phrase_type, qid_linked_id: `0${qid}`, image_case_url: 'https://medpix.nlm.nih.gov/case?id=x', image_name: 'synpic100.jpg', image_organ: 'CHEST',
    evaluation: 'evaluated', question: qid === 2 ? 'How many ribs are there?' : 'Is there a pneumothorax?', question_rephrase: 'NULL', question_relation: 'NULL',
    question_frame: 'NULL', question_type: 'PRES', answer, answer_type: typeof answer === 'number' ? 'OPEN' : 'CLOSED ',
  });
  put(join(data, 'vqa-rad', 'VQA_RAD Dataset Public.json'), JSON.stringify([rad(1, 'test_freeform', 'yes'), rad(2, 'test_para', 12), rad(3, 'freeform', 'no')]));
  put(join(data, 'vqa-rad', 'VQA_RAD Image Folder', 'synpic100.jpg'), jpeg);
  // SLAKE: an English and a Chinese test row (the English one is kept).
  const slake = (qid: number, q_lang: string, question: string, answer: string) => ({
    img_id: 1, img_name: 'xmlab1/source.jpg', question, answer, q_lang, location: 'Lung', modality: 'X-Ray', answer_type: 'OPEN', base_type: 'vqa', content_type: 'Organ', triple: ['vhead', '_', '_'], qid,
  });
  put(join(data, 'slake', 'test.json'), JSON.stringify([slake(11934, 'en', 'Which organ is abnormal?', 'Lung'), slake(11935, 'zh', '哪个器官不正常？', '肺')]));
  put(join(data, 'slake', 'imgs', 'xmlab1', 'source.jpg'), jpeg);
  // PathVQA: a test parquet shard.
  mkdirSync(join(data, 'path-vqa', 'data'), { recursive: true });
  writeHfParquet(join(data, 'path-vqa', 'data', 'test-00000-of-00001.parquet'), [
    { image: { bytes: jpeg, path: null }, question: 'what is present?', answer: 'necrosis' },
    { image: { bytes: jpeg, path: null }, question: 'is there fibrosis?', answer: 'yes' },
  ]);
  put(
    join(data, 'pmc-vqa', 'test_2.csv'),
    'index,Figure_path,Caption,Question,Choice A,Choice B,Choice C,Choice D,Answer,split\n0,PMC1_f1.jpg,"A caption\nover two lines",Which artery?,"  A: Left Anterior Descending "," B: Right Coronary"," C: Circumflex"," D: Aorta",A,test\n',
  );
  put(join(data, 'pmc-vqa', 'figures', 'PMC1_f1.jpg'), jpeg);
  const v19 = join(data, 'vqa-med-2019', 'VQAMed2019Test');
  put(join(v19, 'VQAMed2019_Test_Questions_w_Ref_Answers.txt'), 'synpic1|modality|is this a \tct?|yes\nsynpic2|plane|which plane?|axial\n');
  put(join(v19, 'VQAMed2019_Test_Images', 'synpic1.jpg'), jpeg);
  put(join(v19, 'VQAMed2019_Test_Images', 'synpic2.jpg'), jpeg);
  const v21 = join(data, 'vqa-med-2021');
  put(join(v21, 'Task1-VQAnswering2021-Test-ReferenceAnswers-4Evaluator.txt'), 'synpic5|pneumonia|consolidation\n');
  put(join(v21, 'Task1-VQAnswering2021-Test-ReferenceQuestions_mscoco_format_vqa.json'), JSON.stringify({ questions: [{ question: 'what is abnormal in the x-ray?', question_id: 'synpic5' }] }));
  put(join(v21, 'images', 'synpic5.jpg'), jpeg);
  mkdirSync(join(data, 'quilt-vqa', 'data'), { recursive: true });
  writeHfParquet(join(data, 'quilt-vqa', 'data', 'train-00000-of-00001.parquet'), [{ image: { bytes: jpeg, path: null }, question: 'What stain is used?', answer: 'h&e' }], {
    extra: { answer_type: ['open'] },
  });
  put(
    join(data, 'mimic-cxr-vqa', 'test.json'),
    JSON.stringify([{ split: 'test', idx: 0, image_id: 'd1', question: 'Is there pleural effusion?', semantic_type: 'verify', content_type: 'presence', answer: ['no'], image_path: 'files/p10/p10000032/s1/d1.jpg' }]),
  );
  put(join(data, 'mimic-cxr-jpg', 'files', 'p10', 'p10000032', 's1', 'd1.jpg'), jpeg);
}

describe('mrpo eval --suite paper', () => {
  it('reads every benchmark of the preset from --data with --dry-run, with the model given by flags', async () => {
    await writeFixtures(join(dir, 'data'));
    const io = memoryIo('', { MRPO_JUDGE_API_KEY: 'sk-test-not-a-real-key' }, dir);
    const code = await main(['eval', '--suite', 'paper', '--data', 'data', '--base-url', 'http://127.0.0.1:9/v1', '--model', 'my-vl', '--family', 'qwen3-vl', '--dry-run'], io);
    expect(code, io.err()).toBe(0);
    const plan = JSON.parse(io.out()) as { benchmarks: Array<{ name: string; group: string; items: number }>; models: string[]; judge: string };
    expect(plan.benchmarks.map((b) => `${b.group}:${b.name}`)).toEqual([
      'id:vqa-rad',
      'id:slake',
      'id:pathvqa',
      'ood:pmc-vqa',
      'ood:vqa-med-2019',
      'ood:vqa-med-2021',
      'ood:quilt-vqa',
      'ood:mimic-cxr-vqa',
    ]);
    // Open and closed questions are all evaluated: VQA-RAD 2 test rows, SLAKE 1 English row, PathVQA 2, then the OOD fixtures.
    expect(plan.benchmarks.map((b) => b.items)).toEqual([2, 1, 2, 1, 2, 1, 1, 1]);
    expect(plan.models).toEqual(['policy']);
    expect(`${io.out()}${io.err()}`).not.toContain('sk-test-not-a-real-key');
    // Answer calls, one per accepted answer: 2 + 1 + 2 + 1 + 2 + 2 (VQA-Med 2021: two answers) + 1 + 1 = 12; no item has a
    // gold rationale, so no step call. 12 × 1,300 = 15,600 prompt and 12 × 300 = 3,600 completion tokens; at the assumed
    // gpt-5-mini prices ($0.25 / $2.00 per 1M): 0.0039 + 0.0072 = $0.0111.
    expect(io.err()).toContain('judge estimate: ≈12 calls, ≈15600 prompt + 3600 completion tokens, ≈$0.01 ');
  });

  it('is exit 2 naming a missing image before anything runs', async () => {
    await writeFixtures(join(dir, 'data'));
    rmSync(join(dir, 'data', 'mimic-cxr-jpg'), { recursive: true });
    const io = memoryIo('', { MRPO_JUDGE_API_KEY: 'sk-test-not-a-real-key' }, dir);
    expect(await main(['eval', '--suite', 'paper', '--data', 'data', '--dry-run'], io)).toBe(2);
    expect(io.err()).toContain(
      `benchmark "mimic-cxr-vqa" (${join(dir, 'data', 'mimic-cxr-vqa', 'test.json')}): 1 of 1 items have no image file, e.g. item "mimic-cxr-vqa/test/0": ${join(dir, 'data', 'mimic-cxr-jpg', 'files/p10/p10000032/s1/d1.jpg')}`,
    );
  });

  it('is exit 2 without a judge key, before reading any data', async () => {
    const io = memoryIo('', {}, dir);
    expect(await main(['eval', '--suite', 'paper', '--data', 'nowhere', '--dry-run'], io)).toBe(2);
    expect(io.err()).toBe('mrpo eval: judge: https://api.openai.com/v1 needs a key: set MRPO_JUDGE_API_KEY (or use judge: {kind: offline})\n');
  });

  it('is exit 2 naming the first missing data path', async () => {
    const io = memoryIo('', { OPENAI_API_KEY: 'sk-test-not-a-real-key' }, dir);
    expect(await main(['eval', '--suite', 'paper', '--data', 'nowhere', '--dry-run'], io)).toBe(2);
    expect(io.err()).toContain(`${join(dir, 'nowhere', 'vqa-rad')}: not found (format vqa-rad expects DIR`);
  });
});
