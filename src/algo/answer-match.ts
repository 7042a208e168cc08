/**
 * Answer matching for the answer reward (docs/method.md §3): exact/numeric
 * equivalence, plus the lexical metrics re-exported from rouge.ts and bleu.ts.
 *
 * Equivalence rule (a deliberate improvement over the reference, which runs a
 * math verifier on the whole completion and does not equate "two" with "2";
 * docs/method.md §3 step 1). Both texts become token lists:
 * 1. Unicode NFKC, lower-case; "%" becomes the word "percent".
 * 2. Numbers written with digits are one token each, in canonical decimal form:
 *    thousands separators dropped, leading zeros of the integer part and trailing
 *    zeros of the fraction dropped ("2.0" → "2", "2.50" → "2.5", "1,000" → "1000",
 *    ".5" → "0.5"); a leading "-" counts as a sign only at the start, after
 *    whitespace or an opening bracket ("-3" → "-3", but "5-10" → "5", "10").
 *    Digits glued to a following word split off ("3cm" → "3", "cm"); digits after
 *    letters stay in the word ("t2", "covid19").
 * 3. Words are runs of letters, digits and marks (apostrophes inside a word are
 *    dropped: "crohn's" → "crohns"); each other symbol (+, <, ≥, °, …) is a token
 *    of its own; all other punctuation separates tokens and disappears.
 * 4. Runs of English number words (number-words.ts grammar, hyphens or spaces:
 *    "twenty-one", "two thousand three hundred and five") become the same
 *    canonical decimal token as digits.
 * Two answers are equivalent when both lists are non-empty and equal. So
 * "2" = "two" = "2.0" = "2.00", "1,000" = "one thousand", "3 cm" = "three cm" =
 * "3cm", "5%" = "five percent", "Left Lung." = "left lung"; but "2.5" ≠ "2",
 * "left lung" ≠ "lung", "<5 mm" ≠ "5 mm", "-2" ≠ "2", and an answer without
 * letters, digits or symbols never matches anything (so an empty answer never
 * earns the reward). Number words in a row read as one number when the grammar
 * allows ("one thousand three" = 1003, "one thousand and one" = 1001), so
 * "1,000 3" ≠ "one thousand three" and "1,000 and 1" ≠ "one thousand and one";
 * "a hundred", ordinals and fractions in words are not numbers here.
 */
import { parseNumberWords } from './number-words.js';

export { rouge1F, rouge1FTarget, rouge1FTargetTokens } from './rouge.js';
export { bleu1, bleu1Reference } from './bleu.js';
export { spellNumbers } from './number-words.js';

interface AnswerTokens {
  /** Canonical decimal for numbers, the lower-cased word without apostrophes, or the symbol. */
  readonly text: string[];
  /** True where the token is a word (only words can start a number-word run). */
  readonly isWord: boolean[];
}

const PERCENT = /%/g;
const NON_ASCII = /[^\x00-\x7f]/;
const WORD_CHAR = /^[\p{L}\p{N}\p{M}]$/u;
const SYMBOL_CHAR = /^\p{S}$/u;
const JS_WHITESPACE = /^\s$/;

const CH_0 = 48;
const CH_9 = 57;
const CH_DOT = 46;
const CH_COMMA = 44;
const CH_MINUS = 45;
const CH_MATH_MINUS = 0x2212;

function isDigit(c: number): boolean {
  return c >= CH_0 && c <= CH_9;
}

/** Letter, number or mark (\p{L}\p{N}\p{M}) for one code point. */
function isWordChar(c: number): boolean {
  if (c < 128) return isDigit(c) || (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
  return WORD_CHAR.test(String.fromCodePoint(c));
}

/** Unicode symbol (\p{S}) for one code point: in ASCII $ + < = > ^ ` | ~. */
function isSymbolChar(c: number): boolean {
  if (c < 128) return c === 36 || c === 43 || c === 60 || c === 61 || c === 62 || c === 94 || c === 96 || c === 124 || c === 126;
  return SYMBOL_CHAR.test(String.fromCodePoint(c));
}

function isApostrophe(c: number): boolean {
  return c === 39 || c === 0x2019 || c === 0x02bc;
}

/** A sign counts only at the start, after whitespace or an opening bracket. */
function signAllowedAfter(s: string, i: number): boolean {
  if (i === 0) return true;
  const c = s.charCodeAt(i - 1);
  return c === 40 || c === 91 || c === 123 || c === 32 || (c < 128 ? c >= 9 && c <= 13 : JS_WHITESPACE.test(s[i - 1]));
}

/** End index of a digit literal starting at i (s[i] is a digit or a '.' before a digit). */
function scanNumber(s: string, i: number): number {
  const n = s.length;
  let j = i;
  while (j < n && isDigit(s.charCodeAt(j))) j++;
  if (j > i && j - i <= 3) {
    // Thousands groups ",ddd", as many as fit, but never followed by a further digit ("1,0000" is "1" ",0000").
    let end = j;
    const groupEnds: number[] = [];
    while (
      end + 3 < n &&
      s.charCodeAt(end) === CH_COMMA &&
      isDigit(s.charCodeAt(end + 1)) &&
      isDigit(s.charCodeAt(end + 2)) &&
      isDigit(s.charCodeAt(end + 3))
    ) {
      end += 4;
      groupEnds.push(end);
    }
    while (groupEnds.length > 0 && isDigit(s.charCodeAt(groupEnds[groupEnds.length - 1]))) groupEnds.pop();
    if (groupEnds.length > 0) j = groupEnds[groupEnds.length - 1];
  }
  if (j < n - 1 && s.charCodeAt(j) === CH_DOT && isDigit(s.charCodeAt(j + 1))) {
    j += 2;
    while (j < n && isDigit(s.charCodeAt(j))) j++;
  }
  return j;
}

/** "−002.500" → "-2.5", "1,000" → "1000", ".5" → "0.5", "-0" → "0". */
function canonicalDecimal(literal: string): string {
  let s = literal.replaceAll(',', '');
  let sign = '';
  if (s.charCodeAt(0) === CH_MINUS || s.charCodeAt(0) === CH_MATH_MINUS) {
    sign = '-';
    s = s.slice(1);
  }
  const dot = s.indexOf('.');
  let int = dot < 0 ? s : s.slice(0, dot);
  let frac = dot < 0 ? '' : s.slice(dot + 1);
  let a = 0;
  while (a < int.length - 1 && int.charCodeAt(a) === CH_0) a++;
  int = int.slice(a) || '0';
  let b = frac.length;
  while (b > 0 && frac.charCodeAt(b - 1) === CH_0) b--;
  frac = frac.slice(0, b);
  const body = frac ? `${int}.${frac}` : int;
  return body === '0' ? '0' : sign + body;
}

function tokenize(text: string): AnswerTokens {
  let s = NON_ASCII.test(text) ? text.normalize('NFKC') : text; // NFKC is the identity on ASCII
  s = s.toLowerCase();
  if (s.includes('%')) s = s.replace(PERCENT, ' percent ');
  const out: AnswerTokens = { text: [], isWord: [] };
  const n = s.length;
  let i = 0;
  while (i < n) {
    const c = s.codePointAt(i) as number;
    const next = i + 1 < n ? s.charCodeAt(i + 1) : -1;
    const signed = (c === CH_MINUS || c === CH_MATH_MINUS) && signAllowedAfter(s, i);
    const numberAt = signed ? i + 1 : i;
    const d = signed ? next : c;
    const dNext = numberAt + 1 < n ? s.charCodeAt(numberAt + 1) : -1;
    if (isDigit(d) || (d === CH_DOT && isDigit(dNext))) {
      const end = scanNumber(s, numberAt);
      out.text.push(canonicalDecimal(s.slice(i, end)));
      out.isWord.push(false);
      i = end;
    } else if (isWordChar(c)) {
      // A word: letters, digits and marks, with apostrophes kept out but allowed between word characters.
      let word = '';
      let start = i;
      let j = i;
      for (;;) {
        while (j < n) {
          const w = s.codePointAt(j) as number;
          if (!isWordChar(w)) break;
          j += w > 0xffff ? 2 : 1;
        }
        if (j + 1 < n && isApostrophe(s.charCodeAt(j)) && isWordChar(s.codePointAt(j + 1) as number)) {
          word += s.slice(start, j);
          j += 1;
          start = j;
        } else break;
      }
      word += s.slice(start, j);
      out.text.push(word);
      out.isWord.push(true);
      i = j;
    } else {
      const width = c > 0xffff ? 2 : 1;
      if (isSymbolChar(c)) {
        out.text.push(s.slice(i, i + width));
        out.isWord.push(false);
      }
      i += width;
    }
  }
  return out;
}

/**
 * The answer text as compared, without number-word conversion: NFKC, lower-case,
 * punctuation removed, whitespace collapsed — except that digit numbers keep
 * their decimal point in canonical form ("2.50" → "2.5", "1,000" → "1000") so
 * "2.5" never becomes "2 5" — and "%" reads "percent".
 */
export function normalizeAnswerText(text: string): string {
  return tokenize(text).text.join(' ');
}

/** Canonical tokens: normalizeAnswerText's tokens with number-word runs replaced by their decimal value. */
export function canonicalAnswerTokens(text: string): string[] {
  const tokens = tokenize(text);
  const words = tokens.text.map((t, k) => (tokens.isWord[k] ? t : '')); // '' never starts a number-word run
  const out: string[] = [];
  let i = 0;
  while (i < words.length) {
    const parsed = tokens.isWord[i] ? parseNumberWords(words, i) : null;
    if (parsed !== null) {
      out.push(String(parsed.value));
      i = parsed.end;
    } else {
      out.push(tokens.text[i]);
      i++;
    }
  }
  return out;
}

/**
 * True when `prediction` and `gold` are the same answer up to case, whitespace,
 * punctuation and the writing of numbers (see the module comment for the rule).
 * Symmetric; reflexive for every text that contains a letter, digit or symbol.
 */
export function answersEquivalent(prediction: string, gold: string): boolean {
  return answersEquivalentTo(prediction, () => canonicalAnswerTokens(gold));
}

/** answersEquivalent(prediction, gold) with gold's canonical tokens from `goldTokens` (called at most once, when needed). */
export function answersEquivalentTo(prediction: string, goldTokens: () => readonly string[]): boolean {
  const a = canonicalAnswerTokens(prediction);
  if (a.length === 0) return false;
  const b = goldTokens();
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
