/**
 * Word-level helpers for the offline judges: lower-cased word tokens with
 * integers spelled out (so "2" and "two" agree), English stop words and
 * generic VQA words removed, Porter-stemmed.
 */
import { spellNumbers } from '../../algo/answer-match.js';
import { porterStem } from '../../algo/porter-stemmer.js';

const STOP_WORDS = new Set(
  `a about above after again against all also am an and any are as at be because been before being below between both but by can
could did do does doing down during each either few for from further had has have having he her here hers herself him himself his
how i if in into is it its itself just may me might more most must my myself no nor not now of off on once only or other our ours
ourselves out over own same shall she should so some such than that the their theirs them themselves then there these they this
those through to too under until up upon very was we were what when where which while who whom why will with within would you your
yours yourself yourselves let lets us ll ve re d s t`.split(/\s+/),
);

/** Words that say nothing about the case: every trace about an image uses them. */
const GENERIC_WORDS = new Set(
  `image images picture scan shown show shows showing seen see sees visible appear appears appearing look looks looking analyze analyse
analyzing analysing analysis examine examining examination consider considering determine determining identify identifying question
answer step steps based given provided first next then finally therefore thus hence so overall conclusion conclude suggest suggests
indicate indicates indicating likely observe observed observation note noted think reasoning evidence`.split(/\s+/),
);

/** Lower-cased word tokens of `text`, integers spelled out as words. */
export function words(text: string): string[] {
  return spellNumbers(text).toLowerCase().match(/[a-z0-9]+/g) ?? [];
}

/** Stems of the content words of `text` (stop words and generic VQA words removed). */
export function contentStems(text: string): string[] {
  return words(text)
    .filter((w) => !STOP_WORDS.has(w) && !GENERIC_WORDS.has(w))
    .map((w) => porterStem(w));
}

/** Stems of every word of `text` (for short answers whose words may all be stop words). */
export function allStems(text: string): string[] {
  return words(text).map((w) => porterStem(w));
}
