/**
 * Checkpoint files of the embedded policy, in a directory the caller creates
 * (and renames atomically):
 * - `config.json`: format tag, model config, optimizer step, and for each
 *   tensor file the ordered list of tensor names and shapes;
 * - `tokenizer.json`: `{ vocab: string[] }` (id = index);
 * - `weights.bin`: the policy's float32 tensors, little-endian, concatenated in
 *   the listed order; `reference.bin`: the frozen KL reference, same layout;
 *   `adam-m.bin` / `adam-v.bin`: AdamW moments (present once a step was taken).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { InputError } from '../../errors.js';
import { ModelConfigSchema, type ModelConfig } from './config.js';
import { tf } from './engine.js';
import { paramShapes, type Params } from './model.js';

export const CHECKPOINT_FORMAT = 'mrpo-embedded-policy/1';

const ManifestSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  model: ModelConfigSchema,
  vocabSize: z.number().int().positive(),
  adamStep: z.number().int().nonnegative(),
  files: z.array(z.enum(['weights', 'reference', 'adam-m', 'adam-v'])),
});

export interface CheckpointState {
  readonly model: ModelConfig;
  readonly vocab: readonly string[];
  readonly weights: Params;
  readonly reference: Params | null;
  readonly adam: { m: Params; v: Params; step: number } | null;
}

function toBytes(params: Params, order: ReadonlyArray<[string, number[]]>): Uint8Array {
  const total = order.reduce((a, [, s]) => a + s.reduce((x, y) => x * y, 1), 0);
  const buf = new Float32Array(total);
  let o = 0;
  for (const [name] of order) {
    const data = params[name].dataSync() as Float32Array;
    buf.set(data, o);
    o += data.length;
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

function fromBytes(bytes: Uint8Array, order: ReadonlyArray<[string, number[]]>, where: string): Params {
  const total = order.reduce((a, [, s]) => a + s.reduce((x, y) => x * y, 1), 0);
  if (bytes.byteLength !== total * 4) throw new InputError(where, `expected ${total * 4} bytes (${total} float32 values), got ${bytes.byteLength}`);
  const copy = new Float32Array(total);
  new Uint8Array(copy.buffer).set(bytes);
  const out: Params = {};
  let o = 0;
  for (const [name, shape] of order) {
    const n = shape.reduce((x, y) => x * y, 1);
    out[name] = tf.tensor(copy.subarray(o, o + n), shape, 'float32');
    o += n;
  }
  return out;
}

export async function writeCheckpoint(dir: string, s: CheckpointState): Promise<void> {
  const order = paramShapes(s.model, s.vocab.length);
  const files: Array<'weights' | 'reference' | 'adam-m' | 'adam-v'> = ['weights'];
  await writeFile(join(dir, 'weights.bin'), toBytes(s.weights, order));
  if (s.reference !== null) {
    files.push('reference');
    await writeFile(join(dir, 'reference.bin'), toBytes(s.reference, order));
  }
  if (s.adam !== null && s.adam.step > 0) {
    files.push('adam-m', 'adam-v');
    await writeFile(join(dir, 'adam-m.bin'), toBytes(s.adam.m, order));
    await writeFile(join(dir, 'adam-v.bin'), toBytes(s.adam.v, order));
  }
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify({ vocab: s.vocab }));
  const manifest = { format: CHECKPOINT_FORMAT, model: s.model, vocabSize: s.vocab.length, adamStep: s.adam?.step ?? 0, files };
  await writeFile(join(dir, 'config.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InputError(path, 'cannot read the embedded-policy checkpoint file', { cause: error });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InputError(path, `not valid JSON: ${(error as Error).message}`);
  }
}

export async function readCheckpoint(dir: string): Promise<CheckpointState> {
  const manifestPath = join(dir, 'config.json');
  const parsed = ManifestSchema.safeParse(await readJson(manifestPath));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(`${manifestPath} $.${issue.path.join('.')}`, issue.message);
  }
  const m = parsed.data;
  const tokPath = join(dir, 'tokenizer.json');
  const tok = z.object({ vocab: z.array(z.string()) }).safeParse(await readJson(tokPath));
  if (!tok.success) throw new InputError(`${tokPath} $.vocab`, 'expected an array of strings');
  if (tok.data.vocab.length !== m.vocabSize)
    throw new InputError(`${tokPath} $.vocab`, `expected ${m.vocabSize} entries (config.json vocabSize), got ${tok.data.vocab.length}`);
  const order = paramShapes(m.model, m.vocabSize);
  const load = async (name: string): Promise<Params> => {
    const path = join(dir, `${name}.bin`);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (error) {
      throw new InputError(path, 'cannot read the embedded-policy checkpoint file', { cause: error });
    }
    return fromBytes(bytes, order, path);
  };
  const weights = await load('weights');
  const reference = m.files.includes('reference') ? await load('reference') : null;
  const adam = m.files.includes('adam-m') ? { m: await load('adam-m'), v: await load('adam-v'), step: m.adamStep } : null;
  return { model: m.model, vocab: tok.data.vocab, weights, reference, adam };
}
