/**
 * `JSON.parse` of a `/v1/shape` body with every completion's `tokenOffsets`
 * read into a flat Int32Array (`start₀, end₀, start₁, …`) instead of an array of
 * `[start, end]` pairs. Building 272k two-element arrays was 99% of parsing a
 * training batch, and parsing a third of a request (docs/performance.md, `serve`);
 * shape() reads the flat form directly.
 *
 * How: one pass over the body's bytes jumps from string to string (memchr for
 * `"`, escapes honoured), as a JSON lexer would. Where a string is the key
 * `tokenOffsets` followed by `:` and `[`, the array is scanned by hand and cut
 * out of the text, replaced by a placeholder string with a random nonce and the
 * array's number; the rest of the text (texts, labels, options) goes to
 * `JSON.parse`, and each placeholder found at
 * `groups[g].completions[c].tokenOffsets` is replaced by its Int32Array.
 *
 * The scanner accepts only the plain form: `[[s, e], …]` (whitespace allowed)
 * of non-negative integers written as JSON integers (no sign, fraction,
 * exponent or leading zero) below 2³¹. Anything else — another number form, a
 * nesting it does not expect, a syntax error, a placeholder found elsewhere or
 * lost to a duplicate key — returns `undefined`, and the caller parses the
 * whole body the ordinary way, so values, errors and their paths stay exactly
 * those of `JSON.parse` + the schema.
 */

import { decodeBase64, int32View } from './base64.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const ZERO = 0x30;
const NINE = 0x39;
const INT32_MAX = 2 ** 31 - 1;
const KEY = Buffer.from('tokenOffsets', 'latin1');

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** Growable scratch for one array's values (copied out once the array is complete). */
let scratch = new Int32Array(1 << 16);

/** Index of the closing quote of the string whose opening quote is at `open`, or −1. */
function stringEnd(b: Buffer, open: number): number {
  let e = open;
  for (;;) {
    e = b.indexOf(QUOTE, e + 1);
    if (e < 0) return -1;
    let j = e - 1;
    while (b[j] === BACKSLASH) j--;
    if ((e - 1 - j) % 2 === 0) return e; // an even run of backslashes escapes itself, not the quote
  }
}

function isKey(b: Buffer, open: number, close: number): boolean {
  if (close - open - 1 !== KEY.length) return false;
  for (let i = 0; i < KEY.length; i++) if (b[open + 1 + i] !== KEY[i]) return false;
  return true;
}

function skipSpace(b: Buffer, i: number): number {
  while (i < b.length && isSpace(b[i])) i++;
  return i;
}

/**
 * Scans `[[s, e], …]` starting at the `[` at `start`. Returns the flat values and the index after the closing `]`,
 * or null when the array is not in the plain form. (One flat loop: this is most of a request's parse time.)
 */
function scanPairs(b: Buffer, start: number): { values: Int32Array; end: number } | null {
  let i = skipSpace(b, start + 1);
  if (b[i] === CLOSE) return { values: new Int32Array(0), end: i + 1 };
  let out = scratch;
  let n = 0;
  for (;;) {
    if (b[i] !== OPEN) return null;
    i++;
    for (let half = 0; half < 2; half++) {
      let c = b[i];
      while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
      if (!(c >= ZERO && c <= NINE)) return null; // also the end of the buffer (undefined)
      const first = i;
      let v = c - ZERO;
      c = b[++i];
      while (c >= ZERO && c <= NINE) {
        v = v * 10 + (c - ZERO);
        c = b[++i];
      }
      // more than 10 digits or beyond int32, or a leading zero (not JSON)
      if (i - first > 10 || v > INT32_MAX || (v !== 0 && b[first] === ZERO) || (v === 0 && i - first > 1)) return null;
      if (n === out.length) {
        const grown = new Int32Array(2 * out.length);
        grown.set(out);
        scratch = out = grown;
      }
      out[n++] = v;
      while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
      if (c !== (half === 0 ? COMMA : CLOSE)) return null;
      i++;
    }
    let c = b[i];
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
    if (c === CLOSE) return { values: out.slice(0, n), end: i + 1 };
    if (c !== COMMA) return null;
    i = skipSpace(b, i + 1);
  }
}

/** Decodes the base64 string whose opening quote is at `open` into int32 values, whole tokens (8 bytes) only. */
function scanBase64(b: Buffer, open: number): { values: Int32Array; end: number } | null {
  const close = stringEnd(b, open);
  if (close < 0 || b.subarray(open, close).includes(BACKSLASH)) return null; // an escape: not plain base64
  const bytes = decodeBase64(b.toString('latin1', open + 1, close));
  return bytes === null || bytes.length % 8 !== 0 ? null : { values: int32View(bytes), end: close + 1 };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The parsed body with flat Int32Array offsets, or undefined when the body must be parsed the ordinary way.
 * `base64` (the compact encoding, compact.ts) also decodes offsets given as a base64 string, straight from the
 * body's bytes; a string that is not valid base64 of whole tokens gives undefined too.
 */
export function parseWithFlatOffsets(b: Buffer, options: { readonly base64?: boolean } = {}): unknown {
  const found: Int32Array[] = [];
  const pieces: string[] = [];
  const prefix = `mrpo-offsets:${Math.random().toString(36).slice(2)}:`;
  let copied = 0;
  let pos = 0;
  for (;;) {
    const open = b.indexOf(QUOTE, pos);
    if (open < 0) break;
    const close = stringEnd(b, open);
    if (close < 0) return undefined;
    pos = close + 1;
    if (!isKey(b, open, close)) continue;
    let i = skipSpace(b, close + 1);
    if (b[i] !== COLON) continue; // the string "tokenOffsets" as a value
    i = skipSpace(b, i + 1);
    let scanned: { values: Int32Array; end: number } | null;
    if (b[i] === OPEN) scanned = scanPairs(b, i);
    else if (b[i] === QUOTE && options.base64 === true) scanned = scanBase64(b, i);
    else continue; // neither: left to the schema
    if (scanned === null) return undefined;
    pieces.push(b.toString('utf8', copied, i), `"${prefix}${found.length}"`);
    found.push(scanned.values);
    copied = pos = scanned.end;
  }
  if (found.length === 0) return undefined;
  pieces.push(b.toString('utf8', copied));
  let parsed: unknown;
  try {
    parsed = JSON.parse(pieces.join(''));
  } catch {
    return undefined;
  }
  let placed = 0;
  if (!isRecord(parsed) || !Array.isArray(parsed.groups)) return undefined;
  for (const group of parsed.groups as unknown[]) {
    if (!isRecord(group) || !Array.isArray(group.completions)) continue;
    for (const completion of group.completions as unknown[]) {
      if (!isRecord(completion) || typeof completion.tokenOffsets !== 'string' || !completion.tokenOffsets.startsWith(prefix)) continue;
      const index = Number(completion.tokenOffsets.slice(prefix.length));
      if (found[index] === undefined) return undefined;
      completion.tokenOffsets = found[index];
      placed++;
    }
  }
  // Every array must have landed on a completion, once: otherwise one sat elsewhere or a duplicate key dropped one.
  return placed === found.length ? parsed : undefined;
}
