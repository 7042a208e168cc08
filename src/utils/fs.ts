/**
 * The two file helpers every layer with I/O needs (data, train, cli, rewards):
 * an atomic write and an existence check. Not for src/algo, which does no I/O.
 */
import { access, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

let counter = 0;

/**
 * Writes through a temporary file in the same folder, fsyncs it and renames it
 * over `path`, so a crash never leaves half a file (nor, after a power loss, an
 * empty one). The folder is fsynced afterwards where the platform allows it, so
 * the rename itself is durable. On failure the temporary file is removed and the
 * error rethrown; `path` is then untouched.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${++counter}`;
  try {
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw error;
  }
  await syncDir(dir);
}

/** fsync of a folder (makes a rename in it durable); best effort: some platforms (Windows) cannot open a folder. */
async function syncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // not supported here; the file itself is already synced
  } finally {
    await handle?.close().catch(() => undefined);
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
