/**
 * The reference's string rules for building data sets (docs/reference-facts.md §3e,
 * docs/method.md §9): Python-style `str()` of JSON values, the two normalisations
 * (de-duplication and matching), the flat image key (`xmlab12/source.jpg` →
 * `xmlab12_source.jpg`), the yes/no rule, and stable item ids.
 */
import { createHash } from 'node:crypto';

/**
 * Python's `str()` of a JSON value, as the reference applies it to answers
 * (SLAKE and MedThink answers can be numbers). JSON parsing cannot tell `1.0`
 * from `1`, so a float answer with an integral value prints as `1`, not `1.0`
 * (a deliberate, documented difference; such answers do not occur in open-ended sets).
 */
export function pythonStr(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'nan';
    if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
    return String(value);
  }
  return JSON.stringify(value);
}

/** De-duplication normalisation: collapse whitespace runs (Python `split()`), trim, lower-case. */
export function normDedup(value: unknown): string {
  return pythonStr(value).split(/\s+/u).filter((s) => s.length > 0).join(' ').toLowerCase();
}

/** Matching normalisation: `normDedup`, then no whitespace before `? . , ! ; :`. */
export function normMatch(value: unknown): string {
  return normDedup(value).replace(/\s*([?.,!;:])/gu, '$1');
}

/**
 * The reference's flat image key: backslashes become slashes; a path that
 * contains `xmlab` keys as its last two parts joined by `_`
 * (`imgs/xmlab12/source.jpg` → `xmlab12_source.jpg`); anything else keys as
 * its base name.
 */
export function flatImageKey(path: string): string {
  if (path.length === 0) return '';
  const parts = path.replace(/\\/g, '/').split('/');
  if (path.includes('xmlab') && parts.length >= 2) return parts.slice(-2).join('_');
  return parts[parts.length - 1] ?? path;
}

/** The reference's yes/no rule: the answer string, trimmed and lower-cased, is `yes` or `no`. */
export function isYesNo(answer: unknown): boolean {
  const a = pythonStr(answer).trim().toLowerCase();
  return a === 'yes' || a === 'no';
}

/** A stable id from the given parts: `prefix-` + the first 16 hex digits of sha1(parts joined by NUL). */
export function stableId(prefix: string, parts: readonly string[]): string {
  const hash = createHash('sha1').update(parts.join('\u0000')).digest('hex').slice(0, 16);
  return prefix ? `${prefix}-${hash}` : hash;
}

/**
 * Hands out unique ids: the first use of an id keeps it, later uses get
 * `#2`, `#3`, … (duplicate records are kept, as the reference keeps them).
 */
export class IdAllocator {
  private readonly seen = new Map<string, number>();
  take(id: string): string {
    const n = (this.seen.get(id) ?? 0) + 1;
    this.seen.set(id, n);
    return n === 1 ? id : `${id}#${n}`;
  }
}

/** Short description of a JSON value for error messages (`null`, `a number (3)`, `an object`). */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing (the field is missing)';
  if (value === null) return 'null';
  if (typeof value === 'string') return value.length === 0 ? 'an empty string' : JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return `a ${typeof value} (${String(value)})`;
  if (Array.isArray(value)) return 'an array';
  return 'an object';
}
