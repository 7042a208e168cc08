/**
 * `npm run bench`: runs every `bench/*.bench.ts` in name order (or only those
 * whose name contains one of the arguments: `npm run bench -- shape judge`).
 * Each bench module exports `run(): Promise<void>` and prints one figure per
 * line as `<name>: <value> <unit>`.
 */
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cpus } from 'node:os';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = (await readdir(here)).filter((f) => f.endsWith('.bench.ts')).sort();
const selected = files.filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
console.log(`# mrpo bench on ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`);
for (const file of selected) {
  console.log(`## ${file.replace(/\.bench\.ts$/, '')}`);
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { run: () => Promise<void> };
  await mod.run();
}
