/**
 * The two file helpers every layer with I/O needs (data, train, cli, rewards):
 * an atomic write and an existence check. Not for src/algo, which does no I/O.
 */
import { access, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

let counter = 0;

/** Writes through a temporary file in the same folder and a rename, so a crash never leaves half a file. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${++counter}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true }).catch(() => {}); // never leave the temporary file behind
    throw error;
  }
}

/** True when `path` can be accessed (file or folder). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
