/**
 * The layer rules of docs/architecture.md, checked on the source: each folder
 * imports only what its layer may. `src/algo` is pure: no node:* and no
 * packages, directly or through any chain of imports. No production file
 * imports a `test-support/` file, directly or through any chain.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const src = join(root, 'src');

/** Every .ts file under `dir`, tests included. */
function allTs(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return allTs(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

const isTestSupport = (p: string): boolean => p.split('/').includes('test-support');
const isTest = (p: string): boolean => p.endsWith('.test.ts');

/** The production source files: no tests, no test-support. */
function files(dir: string): string[] {
  return allTs(dir).filter((p) => !isTest(p) && !isTestSupport(p));
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

/** An import: a resolved .ts path for relative specifiers, the specifier itself (`node:fs`, `zod`) otherwise. */
function resolveImport(from: string, spec: string): string {
  if (!spec.startsWith('.')) return spec;
  const target = resolve(dirname(from), spec);
  if (target.endsWith('.js')) return `${target.slice(0, -3)}.ts`;
  if (target.endsWith('.ts')) return target;
  return target; // e.g. a .json import: kept as is
}

type Graph = ReadonlyMap<string, readonly string[]>;

/** The import graph of `paths`: each file to its resolved imports. */
function importGraph(paths: readonly string[]): Map<string, string[]> {
  return new Map(paths.map((p) => [p, imports(p).map((spec) => resolveImport(p, spec))]));
}

/**
 * Every module reachable from `start` through the graph, with one import chain
 * to it. Files outside the graph (test files, non-.ts) are followed when they
 * exist on disk, so a chain through any file is seen.
 */
function reachable(graph: Graph, start: string): Map<string, string[]> {
  const chain = new Map<string, string[]>([[start, [start]]]);
  const queue = [start];
  while (queue.length > 0) {
    const cur = queue.shift() as string;
    let next = graph.get(cur);
    if (next === undefined && cur.startsWith('/') && cur.endsWith('.ts')) {
      try {
        next = imports(cur).map((spec) => resolveImport(cur, spec));
      } catch {
        next = []; // a missing file: the type checker reports it
      }
    }
    for (const n of next ?? []) {
      if (chain.has(n)) continue;
      chain.set(n, [...(chain.get(cur) as string[]), n]);
      if (n.startsWith('/')) queue.push(n);
    }
  }
  return chain;
}

const show = (chain: readonly string[]): string => chain.map((c) => (c.startsWith('/') ? relative(root, c) : c)).join(' → ');

/** Chains by which a file of src/algo reaches a node:* module or a package. */
function algoImpurities(graph: Graph): string[] {
  const out: string[] = [];
  for (const f of graph.keys()) {
    if (layer(f) !== 'algo') continue;
    for (const [mod, chain] of reachable(graph, f)) if (!mod.startsWith('/')) out.push(show(chain));
  }
  return out;
}

/** Chains by which a production file reaches a test-support/ file. */
function testSupportLeaks(graph: Graph): string[] {
  const out: string[] = [];
  for (const f of graph.keys()) {
    if (isTest(f) || isTestSupport(f)) continue;
    for (const [mod, chain] of reachable(graph, f)) if (mod.startsWith('/') && isTestSupport(mod)) out.push(show(chain));
  }
  return out;
}

describe('architecture checker (self-test)', () => {
  const algoFile = join(src, 'algo', 'steps.ts');
  const fsFile = join(src, 'utils', 'fs.ts');
  it('finds node:* reached from src/algo through src/utils/fs.ts', () => {
    const graph = importGraph(files(src));
    expect(graph.has(algoFile)).toBe(true);
    // simulate `import … from '../utils/fs.js'` in an algo file
    graph.set(algoFile, [...(graph.get(algoFile) ?? []), resolveImport(algoFile, '../utils/fs.js')]);
    const bad = algoImpurities(graph);
    expect(bad.some((b) => b.startsWith('src/algo/steps.ts → src/utils/fs.ts → node:'))).toBe(true);
    expect(fsFile).toBe(resolveImport(algoFile, '../utils/fs.js'));
  });
  it('finds a production file reaching test-support through another file', () => {
    const a = join(src, 'x', 'a.ts');
    const b = join(src, 'x', 'b.ts');
    const t = join(src, 'x', 'test-support', 'fake.ts');
    const graph = new Map([[a, [b]], [b, [t]], [t, []]]);
    expect(testSupportLeaks(graph)).toEqual(['src/x/a.ts → src/x/b.ts → src/x/test-support/fake.ts', 'src/x/b.ts → src/x/test-support/fake.ts']);
  });
});

describe('architecture (docs/architecture.md layers)', () => {
  const all = files(src);
  it('finds the source files', () => {
    expect(all.length).toBeGreaterThan(10);
  });

  it('src/algo is pure: no node:* modules and no packages, by any import path', () => {
    expect(algoImpurities(importGraph(all))).toEqual([]);
  });

  it('nothing outside tests imports a test-support/ file, by any import path', () => {
    expect(testSupportLeaks(importGraph(all))).toEqual([]);
  });

  it('every layer imports only what it may', () => {
    const problems: string[] = [];
    for (const f of all) {
      const from = layer(f);
      if (from === 'cli' || from === 'index') continue;
      const allowed = ALLOWED[from];
      if (allowed === undefined) {
        problems.push(`${relative(root, f)}: layer "${from}" is not in docs/architecture.md's table`);
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
