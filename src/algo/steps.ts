/**
 * Think/answer parsing and step segmentation (docs/method.md §1–2).
 *
 * - Think blocks: every non-greedy `<think>…</think>` or `<thinking>…</thinking>`
 *   block, case-insensitive, whitespace tolerated inside the tags (`< Think >`,
 *   `</ thinking>`); the closing tag must name the same tag as the opening one.
 *   An unclosed block (a completion cut at the token limit) has no steps, as in
 *   the reference.
 * - Inside a block, text after the first `<answer>` tag is ignored.
 * - Sentences: the faithful default is the reference's regex fallback
 *   `(?<=[.!?])\s+(?=[^\s])` with Python's whitespace set, then strip and drop
 *   empty pieces. The `improved` splitter is described at `improvedBoundaries`.
 * - A fragment that is only a list number ("1.", "12.") is merged with the
 *   sentence after it; the merged step's span runs from the number's start to
 *   that sentence's end (the reference's training behaviour).
 * - Every step keeps its absolute character span: text.slice(start, end) === step.text.
 */
import type { Step } from '../types.js';
import { SpanBuffer } from './span-buffer.js';
import { isPyWs, mergeNumbering, newPunctuationCursor, scanAnswerSpan, scanSentences, scanThinkSpans, type Span } from './step-scan.js';

export type { Span } from './step-scan.js';

export type SplitterName = 'regex' | 'improved';
export const SPLITTERS: readonly SplitterName[] = ['regex', 'improved'];

export interface SegmentOptions {
  /** Sentence splitter; `regex` (default) is the reference's fallback, exactly. */
  readonly splitter?: SplitterName;
}

export interface ParsedCompletion {
  /** True when at least one closed think block was found. */
  readonly hasThink: boolean;
  /** Content spans of the think blocks, cut at an inner `<answer>` tag. */
  readonly thinkSpans: readonly Span[];
  /** The think text (blocks joined by a newline). */
  readonly think: string;
  /** The extracted answer: the first `<answer>…</answer>` content, stripped; else the whole text, stripped. */
  readonly answer: string;
  /** Span of the answer content before stripping, or null when there is no answer tag. */
  readonly answerSpan: Span | null;
}

// Python's str.isspace()/re `\s` set for str patterns (JS `\s` differs: it has U+FEFF and lacks U+001C–U+001F, U+0085).
const WS = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

/** Python's str.strip() on a span of `text`: the span without leading/trailing whitespace (possibly empty). */
export function stripSpan(text: string, start: number, end: number): Span {
  let s = start;
  let e = end;
  while (s < e && isPyWs(text.charCodeAt(s))) s++;
  while (e > s && isPyWs(text.charCodeAt(e - 1))) e--;
  return { start: s, end: e };
}

/** Python's str.strip(). */
export function pyStrip(text: string): string {
  const s = stripSpan(text, 0, text.length);
  return s.start === 0 && s.end === text.length ? text : text.slice(s.start, s.end);
}

/** Content spans of the closed think blocks, each cut at an inner `<answer>` tag. */
export function thinkSpans(text: string): Span[] {
  return scanThinkSpans(text);
}

/** The answer of docs/method.md §3: first `<answer>` content, stripped, or the whole completion stripped. */
export function extractAnswer(text: string): string {
  const span = scanAnswerSpan(text);
  if (span === null) return pyStrip(text);
  const s = stripSpan(text, span.start, span.end);
  return text.slice(s.start, s.end);
}

export function parseCompletion(text: string): ParsedCompletion {
  const spans = thinkSpans(text);
  return {
    hasThink: spans.length > 0,
    thinkSpans: spans,
    think: spans.map((s) => text.slice(s.start, s.end)).join('\n'),
    answer: extractAnswer(text),
    answerSpan: scanAnswerSpan(text),
  };
}

// Abbreviations after which the improved splitter does not split (lower case, without the final period):
// titles and common scholarly/clinical abbreviations (punkt's English list has the titles; e.g./i.e./etc.
// are added on purpose: punkt splits after them, which is a known punkt weakness).
const ABBREVIATIONS = new Set([
  'dr', 'mr', 'mrs', 'ms', 'prof', 'st', 'jr', 'sr', 'vs', 'v', 'inc', 'ltd', 'co', 'corp', 'no', 'nos', 'fig', 'figs',
  'approx', 'e.g', 'i.e', 'cf', 'al', 'etc', 'ca', 'resp', 'u.s', 'u.k', 'ph.d', 'a.m', 'p.m',
  'vol', 'pt', 'pts', 'hx', 'dx', 'sx', 'tx', 'rx',
]);
// Sentence starters: after an abbreviation, a capitalised one of these still starts a new sentence.
const SENTENCE_STARTERS = new Set([
  'the', 'this', 'these', 'there', 'it', 'in', 'however', 'but', 'if', 'when', 'while', 'thus', 'therefore', 'then',
  'finally', 'next', 'first', 'second', 'third', 'overall', 'so', 'given', 'based', 'no', 'a', 'an', 'we', 'i',
]);
const IMPROVED_SPLIT = new RegExp(`([.!?])(["'\\u201d\\u2019)\\]}]*)([${WS}]+)(?=[^${WS}])|\\n[${WS}]*\\n`, 'g');

/**
 * Boundaries of the improved splitter inside [start, end). Candidates: the
 * regex splitter's (a `.`, `!` or `?` then whitespace), also when closing
 * quotes or brackets follow the punctuation (`"liver." This` splits after the
 * quote), and blank lines. A candidate after a period is dropped when the word
 * before it is a known abbreviation ("Dr.", "vs.", "e.g.", "approx.") or a
 * single-letter initial ("Vitamin D."), unless the next word is a capitalised
 * sentence starter ("type B. The margins"). Decimals never split (no space).
 */
function improvedBoundaries(text: string, start: number, end: number): Span[] {
  const region = text.slice(start, end);
  const out: Span[] = [];
  IMPROVED_SPLIT.lastIndex = 0;
  for (let m = IMPROVED_SPLIT.exec(region); m !== null; m = IMPROVED_SPLIT.exec(region)) {
    if (m[1] === undefined) {
      // blank line
      out.push({ start: start + m.index, end: start + m.index + m[0].length });
      continue;
    }
    const wsStart = m.index + m[1].length + m[2].length;
    if (m[1] === '.' && m[2].length === 0) {
      let w = m.index;
      while (w > 0 && !isPyWs(region.charCodeAt(w - 1)) && region[w - 1] !== '(' && region[w - 1] !== '"') w--;
      const word = region.slice(w, m.index).toLowerCase();
      const isInitial = /^[a-z]$/.test(word);
      if (ABBREVIATIONS.has(word) || isInitial) {
        const next = /^[A-Za-z]+/.exec(region.slice(wsStart + m[3].length));
        const nextWord = next?.[0] ?? '';
        const startsSentence = /^[A-Z]/.test(nextWord) && SENTENCE_STARTERS.has(nextWord.toLowerCase());
        if (!startsSentence) continue;
      }
    }
    out.push({ start: start + wsStart, end: start + wsStart + m[3].length });
  }
  return out;
}

/** Sentence spans (stripped, non-empty) inside [start, end) of text. */
export function splitSentences(text: string, start: number, end: number, splitter: SplitterName = 'regex'): Span[] {
  if (splitter === 'regex') {
    const flat = new SpanBuffer();
    scanSentences(text, start, end, flat);
    return spansOf(flat);
  }
  const out: Span[] = [];
  const cuts = improvedBoundaries(text, start, end);
  let pieceStart = start;
  for (let i = 0; i <= cuts.length; i++) {
    const pieceEnd = i < cuts.length ? cuts[i].start : end;
    const s = stripSpan(text, pieceStart, pieceEnd);
    if (s.end > s.start) out.push(s);
    if (i < cuts.length) pieceStart = cuts[i].end;
  }
  return out;
}

/**
 * Appends the spans of a completion's reasoning steps (docs/method.md §2), in text order, to `out`, flat (what shape()
 * reads); returns how many there are.
 */
export function segmentSpansInto(text: string, options: SegmentOptions, out: SpanBuffer): number {
  const improved = options.splitter === 'improved';
  const first = out.count;
  const cursor = newPunctuationCursor();
  for (const block of scanThinkSpans(text)) {
    if (improved) {
      const from = out.count;
      for (const s of splitSentences(text, block.start, block.end, 'improved')) out.push(s.start, s.end);
      mergeNumbering(text, out, from);
    } else scanSentences(text, block.start, block.end, out, cursor, true);
  }
  return out.count - first;
}

/** The spans of a completion's reasoning steps (docs/method.md §2), in text order: segmentSteps without the step texts. */
export function segmentSpans(text: string, options: SegmentOptions = {}): Span[] {
  const flat = new SpanBuffer();
  segmentSpansInto(text, options, flat);
  return spansOf(flat);
}

/** The spans of a buffer as objects. */
function spansOf(flat: SpanBuffer): Span[] {
  const out: Span[] = [];
  for (let i = 0; i < flat.count; i++) out.push({ start: flat.start(i), end: flat.end(i) });
  return out;
}

/** The reasoning steps of a completion with absolute spans (docs/method.md §2). */
export function segmentSteps(text: string, options: SegmentOptions = {}): Step[] {
  return segmentSpans(text, options).map((s) => ({ start: s.start, end: s.end, text: text.slice(s.start, s.end) }));
}
