/**
 * A persistent verdict cache in SQLite (better-sqlite3 12), so that a rerun or
 * a resumed run never pays for the same judgement twice. A row is keyed by
 * (judge model, prompt version, SHA-256 of the inputs) where the inputs
 * include the SHA-256 of the image as sent and the request settings that
 * change verdicts (temperature, reasoning effort); see `hashInputs` and its
 * caller in openai/endpoint.ts. Only successful verdicts
 * are stored; failures are retried on the next run. Nothing secret is stored:
 * no URLs with credentials, no keys, only verdict JSON.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { InputError } from '../errors.js';

export interface VerdictCache {
  get(model: string, promptVersion: string, inputHash: string): unknown;
  set(model: string, promptVersion: string, inputHash: string, value: unknown): void;
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
}

function wrap(db: Database.Database): VerdictCache {
  const getStmt = db.prepare<[string, string, string], { value: string }>(
    'SELECT value FROM verdicts WHERE model = ? AND prompt_version = ? AND input_hash = ?',
  );
  const setStmt = db.prepare<[string, string, string, string, string]>(
    'INSERT OR REPLACE INTO verdicts (model, prompt_version, input_hash, value, created_at) VALUES (?, ?, ?, ?, ?)',
  );
  const countStmt = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM verdicts');
  return {
    get(model, promptVersion, inputHash) {
      const row = getStmt.get(model, promptVersion, inputHash);
      return row === undefined ? undefined : (JSON.parse(row.value) as unknown);
    },
    set(model, promptVersion, inputHash, value) {
      setStmt.run(model, promptVersion, inputHash, JSON.stringify(value), new Date().toISOString());
    },
    size: () => countStmt.get()?.n ?? 0,
    close: () => db.close(),
  };
}
