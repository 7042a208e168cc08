/**
 * Hand-written scanners behind steps.ts (docs/method.md §1–2): the same
 * matches as the regular expressions the rules are written in, found in one
 * pass over the characters without match arrays or substrings.
 *
 * - Tags (`<think>`, `<thinking>`, `<answer>` and their closing forms) follow
 *   the patterns `<\s*(think|thinking)\s*>([\s\S]*?)<\s*\/\s*\1\s*>`,
 *   `<\s*answer\s*>` and `<\s*answer\s*>([\s\S]*?)<\s*\/\s*answer\s*>` with
 *   the `i` flag: ASCII case folding only (JavaScript's non-Unicode `i` never
 *   folds a non-ASCII character to an ASCII one), and JavaScript's `\s`
 *   between the parts (isJsWs), which is not Python's.
 * - Sentence cuts follow the reference's `(?<=[.!?])\s+(?=[^\s])` with
 *   Python's `\s` (isPyWs): a maximal whitespace run after `.`, `!` or `?`
 *   that ends before the block does.
 * steps.test.ts and step-scan.test.ts check these against the expressions.
 */

import type { SpanBuffer } from './span-buffer.js';

export interface Span {
  readonly start: number;
  readonly end: number;
}

const CH_GT = 62;
const CH_SLASH = 47;
const CH_DOT = 46;
const CH_0 = 48;
const CH_9 = 57;
const THINK = 'think';
const ING = 'ing';
const ANSWER = 'answer';
// Python's `\d` in a str pattern is any Unicode decimal digit (category Nd): the non-ASCII fallback.
const NUMBER_FRAGMENT = /^\p{Nd}+\.$/u;

/** The non-ASCII spaces both JavaScript's `\s` and Python's `\s` have. */
function isSharedUnicodeSpace(code: number): boolean {
  return (
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000
  );
}

/** JavaScript's regex `\s` (what the tag patterns allow around tag names). */
export function isJsWs(code: number): boolean {
  if (code < 128) return code === 32 || (code >= 9 && code <= 13);
  return code === 0xfeff || isSharedUnicodeSpace(code);
}

/** Python's str.isspace() / `re`'s `\s` on str (JavaScript's `\s` has U+FEFF and lacks U+001C–U+001F, U+0085). */
export function isPyWs(code: number): boolean {
  if (code < 128) return code === 32 || (code >= 9 && code <= 13) || (code >= 0x1c && code <= 0x1f);
  return code === 0x85 || isSharedUnicodeSpace(code);
}

function skipJsWs(text: string, i: number): number {
  while (i < text.length && isJsWs(text.charCodeAt(i))) i++;
  return i;
}

/** True when text[i…] spells the lower-case ASCII `word`, ignoring ASCII case. */
function hasWord(text: string, i: number, word: string): boolean {
  if (i + word.length > text.length) return false;
  for (let k = 0; k < word.length; k++) if ((text.charCodeAt(i + k) | 0x20) !== word.charCodeAt(k)) return false;
  return true;
}

/** End of the tag `<\s*(\/\s*)?NAME\s*>` whose `<` is at i (closing adds the slash), or −1. */
function tagEnd(text: string, i: number, name: string, closing: boolean): number {
  let j = skipJsWs(text, i + 1);
  if (closing) {
    if (text.charCodeAt(j) !== CH_SLASH) return -1;
    j = skipJsWs(text, j + 1);
  }
  if (!hasWord(text, j, name)) return -1;
  j = skipJsWs(text, j + name.length);
  return text.charCodeAt(j) === CH_GT ? j + 1 : -1;
}

/** Start of the first tag `<\s*(\/\s*)?NAME\s*>` in [from, limit) (its `<` before limit), or −1; tagEnd gives its end. */
function findTag(text: string, from: number, limit: number, name: string, closing: boolean): number {
  for (let p = text.indexOf('<', from); p >= 0 && p < limit; p = text.indexOf('<', p + 1)) {
    if (tagEnd(text, p, name, closing) >= 0) return p;
  }
  return -1;
}

/**
 * Content spans of the closed think blocks (the matches of the think pattern, left to right), each cut at the first
 * `<answer>` opening tag inside it.
 */
export function scanThinkSpans(text: string): Span[] {
  const spans: Span[] = [];
  // Once a closing tag of one name is missing after some point, it is missing after every later opening tag too.
  let noThinkClose = false;
  let noThinkingClose = false;
  let i = text.indexOf('<');
  while (i >= 0) {
    const j = skipJsWs(text, i + 1);
    let contentStart = -1;
    let name = THINK;
    if (hasWord(text, j, THINK)) {
      const k = skipJsWs(text, j + THINK.length);
      if (text.charCodeAt(k) === CH_GT) contentStart = k + 1;
      else if (hasWord(text, j + THINK.length, ING)) {
        const m = skipJsWs(text, j + THINK.length + ING.length);
        if (text.charCodeAt(m) === CH_GT) {
          contentStart = m + 1;
          name = 'thinking';
        }
      }
    }
    if (contentStart >= 0 && !(name === THINK ? noThinkClose : noThinkingClose)) {
      const close = findTag(text, contentStart, text.length, name, true);
      if (close >= 0) {
        const cut = findTag(text, contentStart, close, ANSWER, false);
        spans.push({ start: contentStart, end: cut >= 0 ? cut : close });
        i = text.indexOf('<', tagEnd(text, close, name, true));
        continue;
      }
      if (name === THINK) noThinkClose = true;
      else noThinkingClose = true;
    }
    i = text.indexOf('<', i + 1);
  }
  return spans;
}

/** The content span of the first `<answer>…</answer>` pair (before stripping), or null. */
export function scanAnswerSpan(text: string): Span | null {
  const open = findTag(text, 0, text.length, ANSWER, false);
  if (open < 0) return null;
  const start = tagEnd(text, open, ANSWER, false);
  // The first opening tag without a closing one after it means no later opening tag has one either.
  const close = findTag(text, start, text.length, ANSWER, true);
  return close < 0 ? null : { start, end: close };
}

/**
 * Where scanSentences last found each of `.`, `!` and `?`: reused across the blocks of one text (they come in text
 * order), so that a character missing from the rest of the text is searched for once, not once per block.
 */
export type PunctuationCursor = [dot: number, bang: number, question: number];

export function newPunctuationCursor(): PunctuationCursor {
  return [-1, -1, -1];
}

/** The first `ch` at or after p, or text.length when there is none. */
function nextOf(text: string, ch: string, p: number): number {
  const i = text.indexOf(ch, p);
  return i < 0 ? text.length : i;
}

/**
 * Sentence pieces of the reference's regex splitter inside [start, end): cut at each maximal run of Python
 * whitespace that follows `.`, `!` or `?` and ends before `end`, then stripped, empty pieces dropped. With
 * `mergeNumbers`, a list-number piece takes the piece after it as it is found (what mergeNumbering does afterwards).
 */
export function scanSentences(text: string, start: number, end: number, out: SpanBuffer, cursor = newPunctuationCursor(), mergeNumbers = false): void {
  let [dot, bang, question] = cursor;
  let pieceStart = start;
  let p = start;
  // The last piece pushed is a list number that the next piece of this block joins.
  let pending = false;
  for (;;) {
    // indexOf finds the next candidate far faster than a loop over the characters; each character's last position is
    // kept, so a character missing from the rest of the text is searched for once.
    if (dot < p) dot = nextOf(text, '.', p);
    if (bang < p) bang = nextOf(text, '!', p);
    if (question < p) question = nextOf(text, '?', p);
    p = dot < bang ? (dot < question ? dot : question) : bang < question ? bang : question;
    if (p >= end) break;
    let q = p + 1;
    while (q < end && isPyWs(text.charCodeAt(q))) q++;
    if (q > p + 1 && q < end) {
      // The piece [pieceStart, p + 1) ends at the punctuation: only its start can need stripping, and it is not empty.
      let s = pieceStart;
      while (isPyWs(text.charCodeAt(s))) s++;
      if (pending) {
        out.data[2 * out.count - 1] = p + 1;
        pending = false;
      } else {
        out.push(s, p + 1);
        pending = mergeNumbers && isNumberFragment(text, s, p + 1);
      }
      pieceStart = q;
    }
    p = q;
  }
  cursor[0] = dot;
  cursor[1] = bang;
  cursor[2] = question;
  let s = pieceStart;
  let e = end;
  while (s < e && isPyWs(text.charCodeAt(s))) s++;
  while (e > s && isPyWs(text.charCodeAt(e - 1))) e--;
  if (e <= s) return;
  if (pending) out.data[2 * out.count - 1] = e;
  else out.push(s, e);
}

/** True when text[start, end) is a list number: one or more decimal digits (Unicode Nd, as Python's `\d`), then ".". */
export function isNumberFragment(text: string, start: number, end: number): boolean {
  if (end - start < 2 || text.charCodeAt(end - 1) !== CH_DOT) return false;
  for (let i = start; i < end - 1; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128) return NUMBER_FRAGMENT.test(text.slice(start, end));
    if (c < CH_0 || c > CH_9) return false;
  }
  return true;
}

/**
 * Merges, in place, the pieces from… of one think block: a list-number piece takes the piece after it (the merged
 * span runs from the number's start to that piece's end); pieces never merge across blocks.
 */
export function mergeNumbering(text: string, out: SpanBuffer, from: number): void {
  const n = out.count;
  const b = out.data;
  let w = from;
  for (let i = from; i < n; i++) {
    const start = b[2 * i];
    let end = b[2 * i + 1];
    if (i + 1 < n && isNumberFragment(text, start, end)) end = b[2 * ++i + 1];
    b[2 * w] = start;
    b[2 * w + 1] = end;
    w++;
  }
  out.truncate(w);
}
