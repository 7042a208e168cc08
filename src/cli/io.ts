/** Reading inputs and writing outputs for CLI commands: files or stdin/stdout. */
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InputError, UsageError } from '../errors.js';
import { redactSecrets } from '../utils/redact.js';
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

/**
 * The one "path must be a file / a directory" check of the CLI, made before anything is created: when `path`
 * exists it must be of `kind` (else an InputError naming the flag and path, exit 2); a missing path is refused
 * only with `mustExist`. Undefined and '-' (stdin/stdout) pass.
 */
export async function checkPathKind(path: string | undefined, flag: string, kind: 'file' | 'directory', io: CliIo, options: { mustExist?: boolean } = {}): Promise<void> {
  if (path === undefined || path === '-') return;
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(resolve(io.cwd, path))).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && options.mustExist !== true) return;
    throw new InputError(`${flag} ${path}`, code === 'ENOENT' ? 'not found' : `cannot access (${code ?? String(error)})`);
  }
  if (kind === 'file' && isDirectory) throw new InputError(`${flag} ${path}`, 'is a directory; expected a file');
  if (kind === 'directory' && !isDirectory) throw new InputError(`${flag} ${path}`, 'is a file; expected a directory');
}

/**
 * An endpoint flag must be an http(s) URL without credentials (the key goes in `keyEnv`): exit 2 with one line,
 * rather than a connection error retried later.
 */
export function checkEndpointUrl(value: string, flag: string, keyEnv: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${flag}: "${redactSecrets(value, [], 200)}" is not a URL (expected e.g. http://127.0.0.1:8000/v1)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${flag}: expected an http(s) URL, got ${url.protocol}`);
  if (url.username !== '' || url.password !== '') throw new UsageError(`${flag}: credentials in the URL are not accepted; set ${keyEnv} instead`);
}
