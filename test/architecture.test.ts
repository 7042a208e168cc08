/**
 * The layer rules of design.md, checked on the source: each folder imports
 * only what its layer may. `src/algo` is pure: no node:* and no packages.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const src = join(root, 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return files(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') && !p.includes('/test-support/') ? [p] : [];
  });
}

/** Layer of a source path: the first folder under src, or the file name for top-level files. */
function layer(path: string): string {
  const rel = relative(src, path);
  const first = rel.split('/')[0];
  if (first === 'types.ts' || first === 'errors.ts' || first === 'utils') return 'leaf';
  return first.replace(/\.ts$/, '');
}

const INTERFACES = new Set(['judges/judge.ts', 'data/dataset.ts', 'backends/backend.ts']);

/** What each layer may import (besides itself and the leaf layer). `interfaces:` = only the seam files of that layer. */
const ALLOWED: Record<string, string[]> = {
  leaf: [],
  algo: [],
  rewards: ['algo'],
  shape: ['algo', 'rewards'],
  judges: ['algo', 'data'],
  data: ['algo'],
  backends: ['algo', 'data'],
  report: ['algo'],
  train: ['algo', 'rewards', 'shape', 'report', 'interfaces:judges', 'interfaces:data', 'interfaces:backends'],
  serve: ['algo', 'rewards', 'shape', 'interfaces:judges'],
};

function imports(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  const out: string[] = [];
  const re = /^\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

describe('architecture (design.md layers)', () => {
  const all = files(src);
  it('finds the source files', () => {
    expect(all.length).toBeGreaterThan(10);
  });

  it('src/algo is pure: no node:* modules and no packages', () => {
    const bad = all
      .filter((f) => layer(f) === 'algo')
      .flatMap((f) => imports(f).filter((i) => !i.startsWith('.')).map((i) => `${relative(root, f)} imports ${i}`));
    expect(bad).toEqual([]);
  });

  it('every layer imports only what it may', () => {
    const problems: string[] = [];
    for (const f of all) {
      const from = layer(f);
      if (from === 'cli' || from === 'index') continue;
      const allowed = ALLOWED[from];
      if (allowed === undefined) {
        problems.push(`${relative(root, f)}: layer "${from}" is not in design.md's table`);
        continue;
      }
      for (const spec of imports(f)) {
        if (!spec.startsWith('.')) continue;
        const target = resolve(dirname(f), spec.replace(/\.js$/, '.ts'));
        const to = layer(target);
        if (to === from || to === 'leaf') continue;
        const relTarget = relative(src, target);
        const ok = allowed.includes(to) || (allowed.includes(`interfaces:${to}`) && INTERFACES.has(relTarget));
        if (!ok) problems.push(`${relative(root, f)} (${from}) imports ${relTarget} (${to})`);
      }
    }
    expect(problems).toEqual([]);
  });
});
