/** Reading inputs and writing outputs for CLI commands: files or stdin/stdout. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InputError } from '../errors.js';
import { writeFileAtomic } from '../utils/fs.js';
import type { CliIo } from './command.js';

export async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads `path` (relative to `io.cwd`; named as given in errors), or stdin when path is undefined or '-'. */
export async function readInput(path: string | undefined, io: CliIo): Promise<{ text: string; name: string }> {
  if (path === undefined || path === '-') return { text: await readStream(io.stdin), name: '<stdin>' };
  try {
    return { text: await readFile(resolve(io.cwd, path), 'utf8'), name: path };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(path, code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(error)})`);
  }
}

/** Parses JSON and turns a syntax error into an InputError naming the source. */
export function parseJson(text: string, name: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(name, `not valid JSON (${(error as Error).message})`);
  }
}

export { writeFileAtomic };

/** Writes to `path` (relative to `io.cwd`), or stdout when path is undefined or '-'. */
export async function writeOutput(path: string | undefined, text: string, io: CliIo): Promise<void> {
  if (path === undefined || path === '-') {
    await new Promise<void>((resolve, reject) => io.stdout.write(text, (err) => (err ? reject(err) : resolve())));
    return;
  }
  await writeFileAtomic(resolve(io.cwd, path), text);
}
