/**
 * `mrpo data convert` on the command line: both input spellings, a malformed
 * row is exit 2 naming file, line and field with no output left behind, and
 * bad flags are exit 2.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { memoryIo } from '../test-support/memory-io.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mrpo-convert-'));
  mkdirSync(join(dir, 'Val_images'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]) {
  const io = memoryIo('', {}, dir);
  return { code: await main(args, io), err: io.err() };
}

describe('mrpo data convert', () => {
  it('converts with --format NAME PATH and with --in NAME:PATH, finding the images folder beside the file', async () => {
    writeFileSync(join(dir, 'All_QA_Pairs_val.txt'), 'synpic1|what modality is shown?|mr - flair\nsynpic2|is this a  t2 weighted image?|no\n');
    const a = await run(['data', 'convert', '--format', 'vqa-med-2019', 'All_QA_Pairs_val.txt', '--out', 'a.jsonl']);
    expect(a.code, a.err).toBe(0);
    const b = await run(['data', 'convert', '--in', 'vqa-med-2019:All_QA_Pairs_val.txt', '--out', 'b.jsonl', '--limit', '1']);
    expect(b.code, b.err).toBe(0);
    const lines = readFileSync(join(dir, 'a.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.image, l.question, l.answer, l.answerType])).toEqual([
      ['Val_images/synpic1.jpg', 'what modality is shown?', 'mr - flair', 'open'],
      ['Val_images/synpic2.jpg', 'is this a t2 weighted image?', 'no', 'closed'],
    ]);
    expect(readFileSync(join(dir, 'b.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('names the file, line and field of a malformed row and writes nothing', async () => {
    writeFileSync(join(dir, 'All_QA_Pairs_val.txt'), 'synpic1|what modality is shown?|mr - flair\nsynpic2||no\n');
    const r = await run(['data', 'convert', '--format', 'vqa-med-2019', 'All_QA_Pairs_val.txt', '--out', 'out/items.jsonl']);
    expect(r.code).toBe(2);
    expect(r.err).toBe('mrpo data: All_QA_Pairs_val.txt line 2: field "question" is empty\n');
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('rejects bad usage with exit 2', async () => {
    expect((await run(['data', 'convert', '--format', 'nope', 'x', '--out', 'o.jsonl'])).err).toContain('--format: unknown format "nope"; expected one of: items,');
    expect((await run(['data', 'convert', '--in', 'no-colon', '--out', 'o.jsonl'])).err).toContain('--in must be FORMAT:PATH');
    expect((await run(['data', 'convert', '--format', 'items', 'x.jsonl'])).code).toBe(2);
    expect((await run(['data', 'convert', '--format', 'mimic-cxr-vqa', 'All_QA_Pairs_val.txt', '--out', 'o.jsonl', '--images', 'missing'])).err).toContain('missing: --images: not found');
  });
});

describe('mrpo judge answers with accepted answers', () => {
  it('counts a prediction correct when it matches any accepted answer (offline judge)', async () => {
    const line = (id: string, prediction: string) =>
      JSON.stringify({ id, question: 'what is abnormal in the x-ray?', answer: 'pneumonia', answers: ['pneumonia', 'consolidation of the right lower lobe'], prediction, completion: `<think>x.</think><answer>${prediction}</answer>` });
    writeFileSync(join(dir, 'completions.jsonl'), `${line('a', 'consolidation of the right lower lobe')}\n${line('b', 'pneumonia')}\n${line('c', 'pleural effusion')}\n`);
    const r = await run(['judge', 'answers', '--judge', 'offline', '--in', 'completions.jsonl', '--out', 'answers.jsonl']);
    expect(r.code, r.err).toBe(0);
    const out = readFileSync(join(dir, 'answers.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; correct: boolean });
    // a matches the second accepted answer only, b the first, c neither.
    expect(Object.fromEntries(out.map((l) => [l.id, l.correct]))).toEqual({ a: true, b: true, c: false });
  });
});
