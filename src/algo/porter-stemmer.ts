/**
 * The Porter stemmer exactly as NLTK's `PorterStemmer()` runs it by default
 * (mode NLTK_EXTENSIONS, `nltk/stem/porter.py`), which is what rouge_score's
 * `use_stemmer=True` uses (docs/method.md §3, docs/reference-facts.md §5c). Written from the
 * algorithm description (Porter 1980, with NLTK's documented departures):
 *
 * - a table of irregular forms is consulted first (skies → sky, dying → die, …);
 * - words of two letters or fewer are returned lower-cased and unchanged;
 * - step 1a: a 4-letter "…ies" becomes "…ie" (ties → tie);
 * - step 1b: "ied" → "ie" for 4-letter words, else "i";
 * - step 1c: y → i only after a consonant and when the stem is longer than one
 *   letter (happy → happi, enjoy → enjoy);
 * - step 2: "bli" → "ble"; "alli" → "al" is tried first and step 2 re-applied;
 *   "fulli" → "ful"; "logi" → "log" with the measure taken on the word minus
 *   its last three letters (geology → geolog);
 * - the *o (cvc) condition also accepts a two-letter vowel–consonant stem.
 *
 * Every rule list applies the FIRST rule whose suffix matches; when that rule's
 * condition fails, the word is returned unchanged (later rules are not tried).
 * As in NLTK, the irregular table is looked up with the word as given and the
 * remaining steps run on the lower-cased word. Non-letters are consonants.
 *
 * `porterStem` memoises results in a bounded cache (results are a pure function
 * of the input, so the cache changes nothing but speed).
 */

const IRREGULAR_FORMS: ReadonlyMap<string, string> = new Map([
  ['sky', 'sky'],
  ['skies', 'sky'],
  ['dying', 'die'],
  ['lying', 'lie'],
  ['tying', 'tie'],
  ['news', 'news'],
  ['innings', 'inning'],
  ['inning', 'inning'],
  ['outings', 'outing'],
  ['outing', 'outing'],
  ['cannings', 'canning'],
  ['canning', 'canning'],
  ['howe', 'howe'],
  ['proceed', 'proceed'],
  ['exceed', 'exceed'],
  ['succeed', 'succeed'],
]);

const CH_A = 97;
const CH_E = 101;
const CH_I = 105;
const CH_O = 111;
const CH_U = 117;
const CH_W = 119;
const CH_X = 120;
const CH_Y = 121;

function isVowelLetter(c: number): boolean {
  return c === CH_A || c === CH_E || c === CH_I || c === CH_O || c === CH_U;
}

/** Porter's consonant test: not a vowel, and a 'y' is a consonant only at the start or after a vowel. */
function isConsonant(word: string, i: number): boolean {
  const c = word.charCodeAt(i);
  if (isVowelLetter(c)) return false;
  if (c !== CH_Y) return true;
  // Walk back over a run of 'y's: each flips the consonant status of the one before.
  let j = i;
  while (j > 0 && word.charCodeAt(j) === CH_Y) j--;
  const base = word.charCodeAt(j) === CH_Y ? true : !isVowelLetter(word.charCodeAt(j)); // j === 0 when still 'y'
  return (i - j) % 2 === 0 ? base : !base;
}

/** m in [C](VC)^m[V]: the number of vowel→consonant transitions. */
function measure(stem: string): number {
  let m = 0;
  let prevConsonant = true;
  for (let i = 0; i < stem.length; i++) {
    const c = stem.charCodeAt(i);
    let consonant: boolean;
    if (isVowelLetter(c)) consonant = false;
    else if (c === CH_Y) consonant = i === 0 ? true : !prevConsonant;
    else consonant = true;
    if (consonant && !prevConsonant) m++;
    prevConsonant = consonant;
  }
  return m;
}

function hasPositiveMeasure(stem: string): boolean {
  return measure(stem) > 0;
}

function measureAboveOne(stem: string): boolean {
  return measure(stem) > 1;
}

function containsVowel(stem: string): boolean {
  for (let i = 0; i < stem.length; i++) if (!isConsonant(stem, i)) return true;
  return false;
}

/** *d: ends with a double consonant. */
function endsDoubleConsonant(word: string): boolean {
  const n = word.length;
  return n >= 2 && word.charCodeAt(n - 1) === word.charCodeAt(n - 2) && isConsonant(word, n - 1);
}

/** *o: ends consonant–vowel–consonant, the last not w, x or y; NLTK also accepts a 2-letter vowel–consonant word. */
function endsCvc(word: string): boolean {
  const n = word.length;
  if (n >= 3) {
    const last = word.charCodeAt(n - 1);
    if (
      isConsonant(word, n - 3) &&
      !isConsonant(word, n - 2) &&
      isConsonant(word, n - 1) &&
      last !== CH_W &&
      last !== CH_X &&
      last !== CH_Y
    ) {
      return true;
    }
  }
  return n === 2 && !isConsonant(word, 0) && isConsonant(word, 1);
}

type Condition = (stem: string) => boolean;
/** [suffix, replacement, condition on the stem left after removing the suffix (null: always)]. */
type Rule = readonly [string, string, Condition | null];

/** Applies the first rule whose suffix matches; if its condition fails the word is returned unchanged. */
function applyRules(word: string, rules: readonly Rule[]): string {
  for (const [suffix, replacement, condition] of rules) {
    if (word.endsWith(suffix)) {
      const stem = word.slice(0, word.length - suffix.length);
      return condition === null || condition(stem) ? stem + replacement : word;
    }
  }
  return word;
}

const STEP1A_RULES: readonly Rule[] = [
  ['sses', 'ss', null],
  ['ies', 'i', null],
  ['ss', 'ss', null],
  ['s', '', null],
];

function step1a(word: string): string {
  if (word.length === 4 && word.endsWith('ies')) return word.slice(0, 1) + 'ie';
  return applyRules(word, STEP1A_RULES);
}

function step1b(word: string): string {
  if (word.endsWith('ied')) return word.slice(0, -3) + (word.length === 4 ? 'ie' : 'i');
  if (word.endsWith('eed')) {
    const stem = word.slice(0, -3);
    return measure(stem) > 0 ? stem + 'ee' : word;
  }
  let stem: string;
  if (word.endsWith('ed') && containsVowel(word.slice(0, -2))) stem = word.slice(0, -2);
  else if (word.endsWith('ing') && containsVowel(word.slice(0, -3))) stem = word.slice(0, -3);
  else return word;
  if (stem.endsWith('at') || stem.endsWith('bl') || stem.endsWith('iz')) return stem + 'e';
  if (endsDoubleConsonant(stem)) {
    const last = stem[stem.length - 1];
    // hopp → hop, but fall, hiss, fizz keep their double letter.
    return last === 'l' || last === 's' || last === 'z' ? stem : stem.slice(0, -1);
  }
  return measure(stem) === 1 && endsCvc(stem) ? stem + 'e' : stem;
}

function step1c(word: string): string {
  const n = word.length;
  if (n > 0 && word.charCodeAt(n - 1) === CH_Y) {
    // The stem (word minus y) must be longer than one letter and end in a consonant.
    if (n - 1 > 1 && isConsonant(word, n - 2)) return word.slice(0, -1) + 'i';
  }
  return word;
}

const STEP2_RULES: readonly Rule[] = [
  ['ational', 'ate', hasPositiveMeasure],
  ['tional', 'tion', hasPositiveMeasure],
  ['enci', 'ence', hasPositiveMeasure],
  ['anci', 'ance', hasPositiveMeasure],
  ['izer', 'ize', hasPositiveMeasure],
  ['bli', 'ble', hasPositiveMeasure],
  ['alli', 'al', hasPositiveMeasure],
  ['entli', 'ent', hasPositiveMeasure],
  ['eli', 'e', hasPositiveMeasure],
  ['ousli', 'ous', hasPositiveMeasure],
  ['ization', 'ize', hasPositiveMeasure],
  ['ation', 'ate', hasPositiveMeasure],
  ['ator', 'ate', hasPositiveMeasure],
  ['alism', 'al', hasPositiveMeasure],
  ['iveness', 'ive', hasPositiveMeasure],
  ['fulness', 'ful', hasPositiveMeasure],
  ['ousness', 'ous', hasPositiveMeasure],
  ['aliti', 'al', hasPositiveMeasure],
  ['iviti', 'ive', hasPositiveMeasure],
  ['biliti', 'ble', hasPositiveMeasure],
  ['fulli', 'ful', hasPositiveMeasure],
  // 'logi' → 'log' keeps the 'l' with the stem for the measure (geo-logi, theo-logi).
  ['logi', 'log', (stem) => hasPositiveMeasure(stem + 'l')],
];

function step2(word: string): string {
  if (word.endsWith('alli')) {
    const stem = word.slice(0, -4);
    if (hasPositiveMeasure(stem)) return step2(stem + 'al');
  }
  return applyRules(word, STEP2_RULES);
}

const STEP3_RULES: readonly Rule[] = [
  ['icate', 'ic', hasPositiveMeasure],
  ['ative', '', hasPositiveMeasure],
  ['alize', 'al', hasPositiveMeasure],
  ['iciti', 'ic', hasPositiveMeasure],
  ['ical', 'ic', hasPositiveMeasure],
  ['ful', '', hasPositiveMeasure],
  ['ness', '', hasPositiveMeasure],
];

const STEP4_RULES: readonly Rule[] = [
  ['al', '', measureAboveOne],
  ['ance', '', measureAboveOne],
  ['ence', '', measureAboveOne],
  ['er', '', measureAboveOne],
  ['ic', '', measureAboveOne],
  ['able', '', measureAboveOne],
  ['ible', '', measureAboveOne],
  ['ant', '', measureAboveOne],
  ['ement', '', measureAboveOne],
  ['ment', '', measureAboveOne],
  ['ent', '', measureAboveOne],
  ['ion', '', (stem) => measure(stem) > 1 && (stem.endsWith('s') || stem.endsWith('t'))],
  ['ou', '', measureAboveOne],
  ['ism', '', measureAboveOne],
  ['ate', '', measureAboveOne],
  ['iti', '', measureAboveOne],
  ['ous', '', measureAboveOne],
  ['ive', '', measureAboveOne],
  ['ize', '', measureAboveOne],
];

function step5a(word: string): string {
  if (!word.endsWith('e')) return word;
  const stem = word.slice(0, -1);
  const m = measure(stem);
  if (m > 1) return stem;
  if (m === 1 && !endsCvc(stem)) return stem;
  return word;
}

function step5b(word: string): string {
  // (m > 1 and *d and *L) → single letter; the measure is of the word minus one 'l'.
  if (word.endsWith('ll') && measure(word.slice(0, -1)) > 1) return word.slice(0, -1);
  return word;
}

function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Stems one word with NLTK's default PorterStemmer (no memo). */
export function porterStemUncached(word: string): string {
  const lower = word.toLowerCase();
  const irregular = IRREGULAR_FORMS.get(word); // NLTK looks the table up with the word as given
  if (irregular !== undefined) return irregular;
  if (word.length <= 2 || (word.length <= 4 && codePointLength(word) <= 2)) return lower; // Python counts code points
  let stem = step1a(lower);
  stem = step1b(stem);
  stem = step1c(stem);
  stem = step2(stem);
  stem = applyRules(stem, STEP3_RULES);
  stem = applyRules(stem, STEP4_RULES);
  stem = step5a(stem);
  return step5b(stem);
}

const MEMO_LIMIT = 200_000;
const memo = new Map<string, string>();

/** Stems one word exactly as NLTK's `PorterStemmer().stem(word)` (NLTK_EXTENSIONS mode), memoised. */
export function porterStem(word: string): string {
  let stem = memo.get(word);
  if (stem === undefined) {
    stem = porterStemUncached(word);
    if (memo.size >= MEMO_LIMIT) memo.clear(); // bounded: a long run over a huge vocabulary never grows without limit
    memo.set(word, stem);
  }
  return stem;
}
