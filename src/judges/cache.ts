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
 * re-encoding every image (the cost of a cache hit is then two lookups).
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { InputError } from '../errors.js';

export interface VerdictCache {
  get(model: string, promptVersion: string, inputHash: string): unknown;
  set(model: string, promptVersion: string, inputHash: string, value: unknown): void;
  /** The digest of the image as sent, for a source digest and preparation seen before. */
  imageDigest(sourceDigest: string, preparation: string): string | undefined;
  setImageDigest(sourceDigest: string, preparation: string, sentDigest: string): void;
  /** Rows stored. */
  size(): number;
  close(): void;
}

/** SHA-256 (hex) of a JSON-serialisable value with its object keys sorted, so key order never changes the hash. */
export function hashInputs(value: unknown): string {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical);
    if (v !== null && typeof v === 'object')
      return Object.fromEntries(
        Object.keys(v as Record<string, unknown>)
          .sort()
          .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
      );
    return v;
  };
  return createHash('sha256').update(JSON.stringify(canonical(value))).digest('hex');
}

/** Opens (creating if needed) the cache file; `:memory:` gives a cache that lives as long as the process. */
export function openVerdictCache(path: string): VerdictCache {
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
  return wrap(db);
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

function wrap(db: Database.Database): VerdictCache {
  const getStmt = db.prepare<[string, string, string], { value: string }>(
    'SELECT value FROM verdicts WHERE model = ? AND prompt_version = ? AND input_hash = ?',
  );
  const setStmt = db.prepare<[string, string, string, string, string]>(
    'INSERT OR REPLACE INTO verdicts (model, prompt_version, input_hash, value, created_at) VALUES (?, ?, ?, ?, ?)',
  );
  const countStmt = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM verdicts');
  const getImageStmt = db.prepare<[string, string], { sent_digest: string }>('SELECT sent_digest FROM image_digests WHERE source_digest = ? AND preparation = ?');
  const setImageStmt = db.prepare<[string, string, string]>('INSERT OR REPLACE INTO image_digests (source_digest, preparation, sent_digest) VALUES (?, ?, ?)');
  return {
    get(model, promptVersion, inputHash) {
      const row = getStmt.get(model, promptVersion, inputHash);
      return row === undefined ? undefined : (JSON.parse(row.value) as unknown);
    },
    set(model, promptVersion, inputHash, value) {
      setStmt.run(model, promptVersion, inputHash, JSON.stringify(value), new Date().toISOString());
    },
    imageDigest: (sourceDigest, preparation) => getImageStmt.get(sourceDigest, preparation)?.sent_digest,
    setImageDigest(sourceDigest, preparation, sentDigest) {
      setImageStmt.run(sourceDigest, preparation, sentDigest);
    },
    size: () => countStmt.get()?.n ?? 0,
    close: () => db.close(),
  };
}
