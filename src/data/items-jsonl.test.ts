import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../errors.js';
import type { Item } from '../types.js';
import { collectItems } from './dataset.js';
import { itemsDataset, readItems, stripAnswerTags, stripPromptSuffix, writeItemsJsonl } from './items-jsonl.js';

let dir: string;

async function collect(path: string): Promise<Item[]> {
  const out: Item[] = [];
  for await (const item of readItems(path)) out.push(item);
  return out;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mrpo-items-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('stripPromptSuffix / stripAnswerTags', () => {
  it("removes the reference's think/answer instruction, with <think> or <thinking>", () => {
    const suffix = ' Think step-by-step and enclose your reasoning in <think>...</think> tags. Then provide your answer in <answer>...</answer> tags.';
    expect(stripPromptSuffix(`What organ is shown?${suffix}`)).toBe('What organ is shown?');
    expect(stripPromptSuffix(`Where is it?${suffix.replace(/think>/g, 'thinking>')}`)).toBe('Where is it?');
    expect(stripPromptSuffix('Think step by step about the liver?')).toBe('Think step by step about the liver?');
  });
  it('removes answer tags only when they wrap the whole solution', () => {
    expect(stripAnswerTags('<answer> left lung </answer>')).toBe('left lung');
    expect(stripAnswerTags('<ANSWER>two</ANSWER>\n')).toBe('two');
    expect(stripAnswerTags('the <answer>x</answer> here')).toBe('the <answer>x</answer> here');
    expect(stripAnswerTags('  plain  ')).toBe('  plain  ');
  });
});

describe('readItems', () => {
  it('reads our JSONL, resolving image paths against the file folder', async () => {
    const sub = join(dir, 'ours');
    await mkdir(sub, { recursive: true });
    const file = join(sub, 'test.jsonl');
    await writeFile(
      file,
      [
        JSON.stringify({ id: 'a1', image: 'images/x.png', question: 'Q1?', answer: 'A1', source: 'slake' }),
        '',
        JSON.stringify({ id: 7, image: 'data:image/png;base64,AAAA', question: 'Q2?', answer: 3, goldReasoning: 'because', source: 'vqa-rad' }),
      ].join('\n'),
    );
    const items = await collect(file);
    expect(items).toEqual([
      { id: 'a1', image: join(sub, 'images/x.png'), question: 'Q1?', answer: 'A1', source: 'slake' },
      { id: '7', image: 'data:image/png;base64,AAAA', question: 'Q2?', answer: '3', goldReasoning: 'because', source: 'vqa-rad' },
    ]);
  });

  it("reads the reference's {image, problem, solution} JSON array as is", async () => {
    const file = join(dir, 'test_open_ended.json');
    const suffix = ' Think step-by-step and enclose your reasoning in <think>...</think> tags. Then provide your answer in <answer>...</answer> tags.';
    await writeFile(
      file,
      JSON.stringify([
        { image: '/data/Data_RAW/vqa-rad/images/synpic100.jpg', problem: 'what is shown?', solution: 'liver' },
        { image: '/data/Data_RAW/slake/images/xmlab3/source.jpg', problem: `which organ?${suffix}`, solution: '<answer>Lung</answer>' },
        { image: '/data/Data_RAW/pathvqa/images/test_0.jpg', problem: 'what stain?', solution: 'h&e' },
        { image: '/data/Data_RAW/pathvqa/images/test_0.jpg', problem: 'what stain?', solution: 'h&e' },
      ]),
    );
    const items = await collect(file);
    expect(items.map((i) => [i.source, i.question, i.answer])).toEqual([
      ['vqa-rad', 'what is shown?', 'liver'],
      ['slake', 'which organ?', 'Lung'],
      ['pathvqa', 'what stain?', 'h&e'],
      ['pathvqa', 'what stain?', 'h&e'],
    ]);
    expect(items[0]!.image).toBe('/data/Data_RAW/vqa-rad/images/synpic100.jpg');
    // Derived ids: stable (a second read gives the same), source-prefixed, unique for duplicates.
    expect(items[0]!.id).toMatch(/^vqa-rad-[0-9a-f]{16}$/);
    expect(items[3]!.id).toBe(`${items[2]!.id}#2`);
    const again = await collect(file);
    expect(again.map((i) => i.id)).toEqual(items.map((i) => i.id));
  });

  it("reads the reference's records as JSONL without a .jsonl extension, and the merged MedThink shape", async () => {
    const file = join(dir, 'ref-lines.json');
    await writeFile(
      file,
      `${JSON.stringify({ image: 'a.jpg', problem: 'q1', solution: 's1' })}\n${JSON.stringify({ image_path: 'xmlab1_source.jpg', question: 'q2', answer: 'a2', solution: 'the rationale' })}\n`,
    );
    const items = await collect(file);
    expect(items.map((i) => [i.question, i.answer, i.goldReasoning, i.source])).toEqual([
      ['q1', 's1', undefined, 'ref-lines'],
      ['q2', 'a2', 'the rationale', 'slake'],
    ]);
  });

  it('reads an object keyed by id, using the key as id', async () => {
    const file = join(dir, 'keyed.json');
    await writeFile(file, JSON.stringify({ k1: { image: 'i.png', question: 'q', answer: 'a', source: 's' } }));
    const items = await collect(file);
    expect(items.map((i) => i.id)).toEqual(['k1']);
  });

  it('names file, line and field for a null image', async () => {
    const file = join(dir, 'train.jsonl');
    const lines = Array.from({ length: 211 }, (_, i) => JSON.stringify({ id: `i${i}`, image: 'x.png', question: 'q', answer: 'a', source: 's' }));
    lines.push(JSON.stringify({ id: 'bad', image: null, question: 'q', answer: 'a', source: 's' }));
    await writeFile(file, `${lines.join('\n')}\n`);
    const err = await collect(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe('train.jsonl line 212: field "image" must be a path or data URL, got null');
  });

  it('names the record and field in a JSON array, and reports bad JSON lines', async () => {
    const arr = join(dir, 'bad.json');
    await writeFile(arr, JSON.stringify([{ image: 'a.png', problem: 'q', solution: 's' }, { image: 'b.png', problem: 'q' }]));
    await expect(collect(arr)).rejects.toThrow('bad.json record 1 ($[1]): field "solution" must be a string, got nothing (the field is missing)');
    const jl = join(dir, 'broken.jsonl');
    await writeFile(jl, `${JSON.stringify({ image: 'a.png', problem: 'q', solution: 's' })}\n{"image": "b.png", "problem":\n`);
    await expect(collect(jl)).rejects.toThrow(/^broken\.jsonl line 2: not valid JSON/);
    await expect(collect(join(dir, 'absent.jsonl'))).rejects.toThrow(/absent\.jsonl: file not found/);
  });
});

describe('writeItemsJsonl', () => {
  it('writes relative paths and in-memory images, and reads back the same items', async () => {
    const out = join(dir, 'written', 'items.jsonl');
    const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#00ff00' } }).png().toBuffer();
    const items: Item[] = [
      { id: 'p/1', image: join(dir, 'written', 'imgs', 'a.jpg'), question: 'q1', answer: 'a1', source: 'vqa-rad' },
      { id: 'b2', image: { bytes: new Uint8Array(png), mime: 'image/png' }, question: 'q2', answer: 'a2', goldReasoning: 'r', source: 'slake' },
    ];
    expect(await writeItemsJsonl(out, items)).toBe(2);
    const lines = (await readFile(out, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    expect(lines[0]).toEqual({ id: 'p/1', image: 'imgs/a.jpg', question: 'q1', answer: 'a1', source: 'vqa-rad' });
    expect(lines[1]).toEqual({ id: 'b2', image: 'images/b2.png', question: 'q2', answer: 'a2', goldReasoning: 'r', source: 'slake' });
    expect((await readFile(join(dir, 'written', 'images', 'b2.png'))).equals(png)).toBe(true);
    // Ids that are not file-name safe get a hash suffix, so "a/b" and "a_b" do not overwrite each other.
    const pair = join(dir, 'written', 'pair.jsonl');
    await writeItemsJsonl(pair, [
      { id: 'a/b', image: { bytes: new Uint8Array(png), mime: 'image/png' }, question: 'q', answer: 'a', source: 's' },
      { id: 'a_b', image: { bytes: new Uint8Array(png), mime: 'image/png' }, question: 'q', answer: 'a', source: 's' },
    ]);
    const names = (await readFile(pair, 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { image: string }).image);
    expect(names[0]).toMatch(/^images\/a_b-[0-9a-f]{8}\.png$/);
    expect(names[1]).toBe('images/a_b.png');

    const back = await collectItems(itemsDataset(out));
    expect(back[0]).toEqual(items[0]);
    expect(back[1]).toEqual({ ...items[1], image: join(dir, 'written', 'images', 'b2.png') });
    expect(itemsDataset(out).name).toBe('items');
  });

  it('appends when asked', async () => {
    const out = join(dir, 'append.jsonl');
    const item: Item = { id: 'x', image: 'data:image/png;base64,AA==', question: 'q', answer: 'a', source: 's' };
    await writeItemsJsonl(out, [item]);
    await writeItemsJsonl(out, [{ ...item, id: 'y' }], { append: true });
    expect((await collect(out)).map((i) => i.id)).toEqual(['x', 'y']);
  });
});
