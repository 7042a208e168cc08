/**
 * ROUGE-1 exactly as google-research `rouge_score` computes it (docs/method.md §3,
 * docs/reference-facts.md §5b), and the reference's pre-normalisation.
 *
 * Tokenizer (`DefaultTokenizer`): lower-case; every run of characters outside
 * [a-z0-9] becomes a separator (so non-ASCII letters vanish: "café" → "caf");
 * with the stemmer on, tokens longer than 3 characters are Porter-stemmed
 * (NLTK_EXTENSIONS mode, see porter-stemmer.ts).
 * Scores: overlap = Σ over target unigrams of min(target count, prediction count);
 * P = overlap / max(#prediction tokens, 1); R = overlap / max(#target tokens, 1);
 * F = 2PR/(P+R), 0 when P + R = 0. F does not depend on the argument order.
 */
import { multisetOverlap } from './multiset.js';
import { porterStem } from './porter-stemmer.js';
import { PYTHON_WHITESPACE_CLASS } from './python-text.js';

export interface RougeScore {
  readonly precision: number;
  readonly recall: number;
  readonly fmeasure: number;
}

const CH_0 = 48;
const CH_9 = 57;
const CH_LOWER_A = 97;
const CH_LOWER_Z = 122;

/** rouge_score's `tokenize(text, stemmer)`: lower-cased [a-z0-9]+ runs, stemmed when longer than 3 characters. */
export function rougeTokenize(text: string, useStemmer: boolean): string[] {
  const lower = text.toLowerCase();
  const tokens: string[] = [];
  let start = -1;
  const n = lower.length;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? lower.charCodeAt(i) : 0;
    const alnum = (c >= CH_LOWER_A && c <= CH_LOWER_Z) || (c >= CH_0 && c <= CH_9);
    if (alnum) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      const token = lower.slice(start, i);
      start = -1;
      if (useStemmer && token.length > 3) {
        const stem = porterStem(token);
        if (stem.length > 0) tokens.push(stem); // rouge_score keeps only tokens matching ^[a-z0-9]+$
      } else {
        tokens.push(token);
      }
    }
  }
  return tokens;
}

/** rouge_score's `fmeasure`: the harmonic mean, 0 when both are 0. */
function fmeasure(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

/** Unigram P/R/F of two token lists, as rouge_score's `_score_ngrams`. */
export function rouge1Tokens(target: readonly string[], prediction: readonly string[]): RougeScore {
  const overlap = multisetOverlap(target, prediction);
  const precision = overlap / Math.max(prediction.length, 1);
  const recall = overlap / Math.max(target.length, 1);
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/**
 * `RougeScorer(['rouge1'], use_stemmer).score(target, prediction)['rouge1']`.
 * `useStemmer` defaults to false, as in rouge_score; the MRPO reward uses `rouge1F`.
 */
export function rouge1(target: string, prediction: string, useStemmer = false): RougeScore {
  return rouge1Tokens(rougeTokenize(target, useStemmer), rougeTokenize(prediction, useStemmer));
}

const TAG = /<[^>]+>/g;
const WHITESPACE_RUN = new RegExp(`[${PYTHON_WHITESPACE_CLASS}]+`, 'g');

/**
 * The reference's pre-normalisation of ROUGE inputs: `re.sub(r"<[^>]+>", " ", s)`,
 * `.lower()`, whitespace runs → one space, strip.
 */
export function normalizeForRouge(text: string): string {
  const collapsed = text.replace(TAG, ' ').toLowerCase().replace(WHITESPACE_RUN, ' ');
  // Runs are single spaces now; Python's strip() would not remove U+FEFF, so neither does this (no trim()).
  const start = collapsed.startsWith(' ') ? 1 : 0;
  const end = collapsed.endsWith(' ') ? collapsed.length - 1 : collapsed.length;
  return start >= end ? '' : collapsed.slice(start, end);
}

/** Tags removed; lower-casing and whitespace collapsing cannot change rouge tokens, so they are skipped here. */
function stripTags(text: string): string {
  return text.includes('<') ? text.replace(TAG, ' ') : text;
}

/**
 * The MRPO ROUGE-1 reward component: F of rouge1(target = normalised gold,
 * prediction = normalised prediction, stemmer on). Equal to
 * `rouge1(normalizeForRouge(gold), normalizeForRouge(prediction), true).fmeasure`.
 */
export function rouge1F(prediction: string, gold: string): number {
  return rouge1FTarget(prediction, rouge1FTargetTokens(gold));
}

/** The gold side of rouge1F, made once for many predictions. */
export function rouge1FTargetTokens(gold: string): string[] {
  return rougeTokenize(stripTags(gold), true);
}

/** rouge1F(prediction, gold) with gold's tokens from rouge1FTargetTokens. */
export function rouge1FTarget(prediction: string, goldTokens: readonly string[]): number {
  return rouge1Tokens(goldTokens, rougeTokenize(stripTags(prediction), true)).fmeasure;
}
