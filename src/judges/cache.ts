/**
 * A persistent verdict cache in SQLite (better-sqlite3 12), so that a rerun or
 * a resumed run never pays for the same judgement twice. A row is keyed by
 * (judge model, prompt version, SHA-256 of the inputs) where the inputs
 * include the SHA-256 of the image as sent and the request settings that
 * change verdicts (temperature, reasoning effort); see `hashInputs` and its
 * caller in openai/endpoint.ts. Only successful verdicts
 * are stored; failures are retried on the next run. Nothing secret is stored:
 * no URLs with credentials, no keys, only verdict JSON.
 *
 * A second table remembers, for an image source (SHA-256 of its bytes) and a
 * named preparation (e.g. `data-url maxPixels=802816`), the SHA-256 of the
 * image as sent, so that a rerun finds its verdicts without decoding and
 * re-encoding every image.
 *
 * Both tables are read into memory at their first lookup while they are
 * small enough (100,000 verdicts per judge model and prompt version, 200,000
 * images per preparation), so that a hit costs a map lookup and a JSON.parse;
 * larger ones are looked up row by row. Writes are batched: committed in one
 * transaction at the end of the event-loop turn (or every 512 rows).
 */
import { hash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { InputError } from '../errors.js';

export interface VerdictCache {
  /** The stored value, or undefined; values read back are frozen (identical ones are shared). */
  get(model: string, promptVersion: string, inputHash: string): unknown;
  set(model: string, promptVersion: string, inputHash: string, value: unknown): void;
  /** The digest of the image as sent, for a source digest and preparation seen before. */
  imageDigest(sourceDigest: string, preparation: string): string | undefined;
  setImageDigest(sourceDigest: string, preparation: string, sentDigest: string): void;
  /** Writes what is pending now (writes are otherwise committed together at the end of the event-loop turn). */
  flush(): void;
  /** Rows stored. */
  size(): number;
  close(): void;
}

/**
 * A value with every object's keys inserted in sorted order (arrays and
 * primitives as they are), so that `JSON.stringify` of it is canonical. Parts
 * already in order are reused, not copied.
 */
function sortedCopy(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || inOrder(v)) return v;
  if (Array.isArray(v)) return v.map(sortedCopy);
  const record = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(record).sort()) out[k] = sortedCopy(record[k]);
  return out;
}

/** Whether every object in v already has its keys in sorted order (so `JSON.stringify` is canonical as it is). */
function inOrder(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return true;
  if (Array.isArray(v)) {
    for (const x of v) if (x !== null && typeof x === 'object' && !inOrder(x)) return false;
    return true;
  }
  let previous: string | undefined;
  for (const k in v) {
    if (previous !== undefined && k < previous) return false;
    if (!Object.hasOwn(v, k)) return false;
    const x = (v as Record<string, unknown>)[k];
    if (x !== null && typeof x === 'object' && !inOrder(x)) return false;
    previous = k;
  }
  return true;
}

/** SHA-256 (hex) of a JSON-serialisable value with its object keys sorted, so key order never changes the hash. */
export function hashInputs(value: unknown): string {
  return hash('sha256', JSON.stringify(sortedCopy(value)) ?? 'null', 'hex');
}

export interface VerdictCacheOptions {
  /** Most verdicts of one judge model and prompt version held in memory (default 100,000). */
  readonly memoryVerdicts?: number;
  /** Most image rows of one preparation held in memory (default 200,000). */
  readonly memoryImages?: number;
}

/** Opens (creating if needed) the cache file; `:memory:` gives a cache that lives as long as the process. */
export function openVerdictCache(path: string, options: VerdictCacheOptions = {}): VerdictCache {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  let db: Database.Database;
  try {
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    createTable(db);
  } catch (error) {
    throw new InputError(path, `not a usable verdict cache (${(error as Error).message}); delete it or give another --cache file`);
  }
  return wrap(db, { memoryVerdicts: options.memoryVerdicts ?? 100_000, memoryImages: options.memoryImages ?? 200_000 });
}

/** v with every object and array in it frozen (in place). */
function deepFreeze(v: unknown): unknown {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

function createTable(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS verdicts (
    model TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    input_hash TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (model, prompt_version, input_hash)
  ) WITHOUT ROWID`);
  db.exec(`CREATE TABLE IF NOT EXISTS image_digests (
    source_digest TEXT NOT NULL,
    preparation TEXT NOT NULL,
    sent_digest TEXT NOT NULL,
    PRIMARY KEY (source_digest, preparation)
  ) WITHOUT ROWID`);
}

function wrap(db: Database.Database, limits: Required<VerdictCacheOptions>): VerdictCache {
  const getStmt = db
    .prepare<[string, string, string], string>('SELECT value FROM verdicts WHERE model = ? AND prompt_version = ? AND input_hash = ?')
    .pluck();
  const setStmt = db.prepare<[string, string, string, string, string]>(
    'INSERT OR REPLACE INTO verdicts (model, prompt_version, input_hash, value, created_at) VALUES (?, ?, ?, ?, ?)',
  );
  const countStmt = db.prepare<[], number>('SELECT COUNT(*) FROM verdicts').pluck();
  const countVerdictsStmt = db.prepare<[string, string], number>('SELECT COUNT(*) FROM verdicts WHERE model = ? AND prompt_version = ?').pluck();
  // (The whole-table reads return rows as arrays, which costs half as much per row as objects.)
  const allVerdictsStmt = db.prepare<[string, string], [string, string]>('SELECT input_hash, value FROM verdicts WHERE model = ? AND prompt_version = ?').raw();
  const getImageStmt = db.prepare<[string, string], string>('SELECT sent_digest FROM image_digests WHERE source_digest = ? AND preparation = ?').pluck();
  const countImagesStmt = db.prepare<[string], number>('SELECT COUNT(*) FROM image_digests WHERE preparation = ?').pluck();
  const allImagesStmt = db.prepare<[string], [string, string]>('SELECT source_digest, sent_digest FROM image_digests WHERE preparation = ?').raw();
  // The image table of a preparation is read into memory at its first lookup (when it has at most
  // limits.memoryImages rows, about 0.3 KB each); larger tables are looked up row by row.
  const imagesInMemory = new Map<string, Map<string, string> | null>();
  const imagesOf = (preparation: string): Map<string, string> | null => {
    let images = imagesInMemory.get(preparation);
    if (images === undefined) {
      images = null;
      if ((countImagesStmt.get(preparation) ?? 0) <= limits.memoryImages) {
        images = new Map();
        for (const [source, sent] of allImagesStmt.all(preparation)) images.set(source, sent);
      }
      imagesInMemory.set(preparation, images);
    }
    return images;
  };
  const setImageStmt = db.prepare<[string, string, string]>('INSERT OR REPLACE INTO image_digests (source_digest, preparation, sent_digest) VALUES (?, ?, ?)');

  // Writes wait for the end of the current event-loop turn and then go in one transaction: verdicts that
  // arrive together (a batch of replies) cost one commit. Reads see pending writes. A kill loses at most the
  // writes of the turn it interrupts; a committed transaction is whole (WAL).
  const pendingVerdicts = new Map<string, [string, string, string, string, string]>();
  const pendingImages = new Map<string, [string, string, string]>();
  let scheduled: NodeJS.Immediate | null = null;
  const writeAll = db.transaction(() => {
    for (const row of pendingVerdicts.values()) setStmt.run(...row);
    for (const row of pendingImages.values()) setImageStmt.run(...row);
  });
  const flush = (): void => {
    if (scheduled !== null) clearImmediate(scheduled);
    scheduled = null;
    if (pendingVerdicts.size + pendingImages.size === 0) return;
    writeAll();
    pendingVerdicts.clear();
    pendingImages.clear();
  };
  const schedule = (): void => {
    if (pendingVerdicts.size + pendingImages.size >= 512) flush();
    else scheduled ??= setImmediate(flush);
  };
  const verdictKey = (model: string, promptVersion: string, inputHash: string): string => `${model}\u0000${promptVersion}\u0000${inputHash}`;

  // The verdicts of a (model, prompt version) are read into memory at its first lookup when there are at most
  // limits.memoryVerdicts of them (0.2–0.5 KB each); later writes are added, so the map is the whole table and a
  // miss needs no query. Past that many rows the map is dropped and lookups go to SQLite again.
  const verdictsInMemory = new Map<string, Map<string, string> | null>();
  const verdictsOf = (model: string, promptVersion: string): Map<string, string> | null => {
    const name = `${model}\u0000${promptVersion}`;
    let verdicts = verdictsInMemory.get(name);
    if (verdicts === undefined) {
      verdicts = null;
      if ((countVerdictsStmt.get(model, promptVersion) ?? 0) <= limits.memoryVerdicts) {
        verdicts = new Map();
        for (const [inputHash, value] of allVerdictsStmt.all(model, promptVersion)) verdicts.set(inputHash, value);
      }
      verdictsInMemory.set(name, verdicts);
    }
    return verdicts;
  };
  // The last (model, prompt version) looked up: a run uses one or two, and naming them costs a string per get.
  let lastModel: string | undefined;
  let lastVersion: string | undefined;
  let lastVerdicts: Map<string, string> | null = null;
  const verdictsFor = (model: string, promptVersion: string): Map<string, string> | null => {
    if (model !== lastModel || promptVersion !== lastVersion) {
      lastVerdicts = verdictsOf(model, promptVersion);
      lastModel = model;
      lastVersion = promptVersion;
    }
    return lastVerdicts;
  };
  // Verdict texts repeat (a handful of distinct values per step count): each short text is parsed once, and
  // its value, frozen, shared by every row that holds it.
  const parsedTexts = new Map<string, unknown>();
  const parse = (text: string): unknown => {
    let value = parsedTexts.get(text);
    if (value === undefined) {
      value = deepFreeze(JSON.parse(text) as unknown);
      if (text.length <= 1024 && parsedTexts.size < 4096) parsedTexts.set(text, value);
    }
    return value;
  };
  return {
    get(model, promptVersion, inputHash) {
      let value: string | undefined;
      const inMemory = verdictsFor(model, promptVersion);
      if (inMemory !== null) value = inMemory.get(inputHash);
      else {
        const pending = pendingVerdicts.size === 0 ? undefined : pendingVerdicts.get(verdictKey(model, promptVersion, inputHash));
        value = pending !== undefined ? pending[3] : getStmt.get(model, promptVersion, inputHash);
      }
      return value === undefined ? undefined : parse(value);
    },
    set(model, promptVersion, inputHash, value) {
      const text = JSON.stringify(value);
      const inMemory = verdictsFor(model, promptVersion);
      if (inMemory !== null) {
        inMemory.set(inputHash, text);
        if (inMemory.size > limits.memoryVerdicts) {
          verdictsInMemory.set(`${model}\u0000${promptVersion}`, null);
          lastModel = undefined;
        }
      }
      pendingVerdicts.set(verdictKey(model, promptVersion, inputHash), [model, promptVersion, inputHash, text, new Date().toISOString()]);
      schedule();
    },
    imageDigest(sourceDigest, preparation) {
      const images = imagesOf(preparation);
      if (images !== null) return images.get(sourceDigest);
      return pendingImages.get(`${sourceDigest}\u0000${preparation}`)?.[2] ?? getImageStmt.get(sourceDigest, preparation);
    },
    setImageDigest(sourceDigest, preparation, sentDigest) {
      const images = imagesOf(preparation);
      if (images !== null) {
        images.set(sourceDigest, sentDigest);
        if (images.size > limits.memoryImages) imagesInMemory.set(preparation, null);
      }
      pendingImages.set(`${sourceDigest}\u0000${preparation}`, [sourceDigest, preparation, sentDigest]);
      schedule();
    },
    flush,
    size: () => {
      flush();
      return countStmt.get() ?? 0;
    },
    close: () => {
      flush();
      db.close();
    },
  };
}
