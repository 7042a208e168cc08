/**
 * Python string semantics the reference metrics depend on (docs/method.md §3,
 * docs/reference-facts.md §5a): `str.split()` with no argument and `str.strip()`.
 *
 * Python's whitespace (`str.isspace()`, also what `re`'s `\s` matches on str) is
 * JavaScript's `\s` without U+FEFF, plus U+001C–U+001F and U+0085.
 */

/** Python's whitespace characters, as a regex character-class body. */
export const PYTHON_WHITESPACE_CLASS = '\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

const WHITESPACE_RUN = new RegExp(`[${PYTHON_WHITESPACE_CLASS}]+`);
const LEADING = new RegExp(`^[${PYTHON_WHITESPACE_CLASS}]+`);
const TRAILING = new RegExp(`[${PYTHON_WHITESPACE_CLASS}]+$`);

/** Python `text.split()`: split on runs of Python whitespace, no empty strings. */
export function pythonSplit(text: string): string[] {
  const parts = text.split(WHITESPACE_RUN);
  // Only the first and last piece can be empty (leading/trailing whitespace).
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  if (parts.length > 0 && parts[0] === '') parts.shift();
  return parts;
}

/** Python `text.strip()`: trim Python whitespace at both ends (JS `trim` also strips U+FEFF; this does not). */
export function pythonStrip(text: string): string {
  return text.replace(LEADING, '').replace(TRAILING, '');
}
