/**
 * The linter (`biome lint`, run by `npm test`) keeps the rules that catch real
 * bugs here: a floating promise of one of our async functions and unused code.
 * A probe file with one of each must fail the lint with those rule names, so a
 * config change that drops them cannot pass unnoticed.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(new URL('..', import.meta.url).pathname);
const probeDir = join(root, 'test', `.lint-probe-${process.pid}`);
afterAll(() => rmSync(probeDir, { recursive: true, force: true }));

describe('biome lint', () => {
  it('fails on a floating promise, an unused import and an unused variable', () => {
    mkdirSync(probeDir, { recursive: true });
    const probe = join(probeDir, 'probe.ts');
    writeFileSync(
      probe,
      [
        "import { sleep } from '../../src/utils/retry.js';",
        "import { join } from 'node:path';",
        'export async function f(): Promise<void> {',
        '  sleep(3);',
        '  const unused = 1;',
        '}',
        '',
      ].join('\n'),
    );
    const r = spawnSync(join(root, 'node_modules', '.bin', 'biome'), ['lint', '--colors=off', probe], { cwd: root, encoding: 'utf8' });
    const out = `${r.stdout}${r.stderr}`;
    expect(r.status, out).not.toBe(0);
    expect(out).toContain('lint/nursery/noFloatingPromises');
    expect(out).toContain('lint/correctness/noUnusedImports');
    expect(out).toContain('lint/correctness/noUnusedVariables');
  });
});
