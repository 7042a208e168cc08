import { describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathExists, writeFileAtomic } from './fs.js';

describe('writeFileAtomic', () => {
  it('writes the data and leaves no temporary file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mrpo-fs-'));
    const p = join(dir, 'sub', 'a.json');
    await writeFileAtomic(p, 'one');
    await writeFileAtomic(p, 'two');
    expect(await readFile(p, 'utf8')).toBe('two');
    expect(await readdir(join(dir, 'sub'))).toEqual(['a.json']);
  });

  it('removes the temporary file when the rename fails and rethrows', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mrpo-fs-'));
    const target = join(dir, 'taken');
    await mkdir(join(target, 'child'), { recursive: true }); // a non-empty folder: renaming a file over it fails
    await expect(writeFileAtomic(target, 'x')).rejects.toThrow();
    expect((await readdir(dir)).sort()).toEqual(['taken']);
    expect(await readdir(target)).toEqual(['child']);
  });

  it('pathExists', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mrpo-fs-'));
    expect(await pathExists(dir)).toBe(true);
    expect(await pathExists(join(dir, 'nope'))).toBe(false);
  });
});
