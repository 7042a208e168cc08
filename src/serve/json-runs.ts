/**
 * The JSON of a value, byte for byte what `JSON.stringify(value)` gives,
 * written faster when the value holds long arrays of numbers with runs of equal
 * values: a shape response's `tokenAdvantages`, where every token of a step has
 * the same advantage, is about 270k numbers per training batch, and converting
 * each one was a third of a `/v1/shape` request (docs/performance.md, `serve`).
 *
 * How: a depth-first walk in `JSON.stringify`'s own order (object keys in
 * `Object.keys` order, array elements by index) finds every all-number array of
 * at least MIN_LENGTH elements inside plain objects and arrays. Those arrays are
 * replaced, in shallow copies of the containers on the way to them (the input is
 * not modified), by one placeholder string; the copy is stringified natively and
 * each quoted placeholder is replaced, in order, by the array written run by
 * run: a number is converted once per run and repeated with `String.repeat`.
 * A number is written exactly as JSON.stringify writes it (`String(x)` for a
 * finite number, so −0 is `0`; `null` for NaN and ±Infinity). If the data itself
 * happens to contain the placeholder text, the split finds more pieces than
 * placeholders and the function falls back to `JSON.stringify(value)`.
 *
 * Objects with a `toJSON` method and objects that are not plain (class
 * instances, Maps, typed arrays, Dates) are left to the native pass untouched.
 */

/** Arrays shorter than this are left to JSON.stringify (no gain below a few dozen numbers). */
export const MIN_LENGTH = 32;

let counter = 0;

/**
 * A placeholder string for one serialisation: a NUL, a tag, a counter and a random part, a NUL. Data that
 * happens to contain it is caught by the caller (the split gives more pieces than it placed).
 */
export function uniquePlaceholder(tag: string): string {
  return `\u0000mrpo-${tag}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2)}\u0000`;
}

/**
 * The pieces of `JSON.stringify(skeleton)` around each quoted `placeholder` (expected `count` times), or null
 * when the text holds the placeholder some other number of times.
 */
export function piecesAround(skeleton: unknown, placeholder: string, count: number): string[] | null {
  const parts = JSON.stringify(skeleton).split(JSON.stringify(placeholder));
  return parts.length === count + 1 ? parts : null;
}

/** The UTF-8 bytes of parts[0] + inserts[0] + parts[1] + … + parts[n], written into one buffer (inserts are ASCII). */
export function interleaveAscii(parts: readonly string[], inserts: readonly string[]): Buffer {
  let size = 0;
  for (const part of parts) size += Buffer.byteLength(part, 'utf8');
  for (const text of inserts) size += text.length;
  const out = Buffer.allocUnsafe(size);
  let at = out.write(parts[0], 0, 'utf8');
  for (let i = 0; i < inserts.length; i++) {
    at += out.write(inserts[i], at, 'latin1');
    at += out.write(parts[i + 1], at, 'utf8');
  }
  return out;
}

function isPlainContainer(v: object): boolean {
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return false;
  if (Array.isArray(v)) return true;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function isNumberArray(a: readonly unknown[]): boolean {
  if (a.length < MIN_LENGTH) return false;
  for (let i = 0; i < a.length; i++) if (typeof a[i] !== 'number') return false;
  return true;
}

/** `JSON.stringify(a)` for an array of numbers, one conversion per run of equal values. */
export function numbersJson(a: readonly number[]): string {
  const n = a.length;
  if (n === 0) return '[]';
  let out = '[';
  let i = 0;
  while (i < n) {
    const v = a[i];
    let j = i + 1;
    while (j < n && a[j] === v) j++; // −0 === 0, and both are written `0`; NaN runs have length 1
    const s = Number.isFinite(v) ? `${String(v)},` : 'null,';
    out += j - i === 1 ? s : s.repeat(j - i);
    i = j;
  }
  return `${out.slice(0, -1)}]`;
}

/**
 * Returns `value` with every long number array replaced by `placeholder` (copying only the containers that
 * change), pushing the arrays in JSON.stringify's visiting order.
 */
function extract(value: unknown, placeholder: string, found: Array<readonly number[]>, depth: number): unknown {
  if (typeof value !== 'object' || value === null || depth > 64 || !isPlainContainer(value)) return value;
  if (Array.isArray(value)) {
    if (isNumberArray(value)) {
      found.push(value as number[]);
      return placeholder;
    }
    if (value.length === 0 || typeof value[0] !== 'object') return value; // a short or mixed array of scalars
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const v = value[i] as unknown;
      const w = extract(v, placeholder, found, depth + 1);
      if (w !== v) {
        copy ??= value.slice();
        copy[i] = w;
      }
    }
    return copy ?? value;
  }
  let copy: Record<string, unknown> | null = null;
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const v = record[key];
    if (typeof v !== 'object' || v === null) continue;
    const w = extract(v, placeholder, found, depth + 1);
    if (w !== v) {
      copy ??= { ...record };
      copy[key] = w;
    }
  }
  return copy ?? value;
}

/**
 * The UTF-8 bytes of `JSON.stringify(value)` (no replacer, no indentation), byte for byte, faster on long runs of
 * equal numbers: the arrays are written run by run into one buffer, without first joining a 5 MiB string.
 */
export function jsonBytesWithRuns(value: unknown): Buffer {
  const found: Array<readonly number[]> = [];
  const placeholder = uniquePlaceholder('runs');
  const replaced = extract(value, placeholder, found, 0);
  const parts = found.length === 0 ? null : piecesAround(replaced, placeholder, found.length);
  if (parts === null) return Buffer.from(JSON.stringify(value), 'utf8');
  return interleaveAscii(parts, found.map(numbersJson));
}
