import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { porterStem, porterStemUncached } from './porter-stemmer.js';

interface PorterFixture {
  readonly generated_by: string;
  readonly stems: ReadonlyArray<readonly [string, string]>;
}
const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/porter-nltk.json', import.meta.url), 'utf8'),
) as PorterFixture;

describe('porterStem (NLTK_EXTENSIONS mode)', () => {
  it('reproduces the golden stems of reference-facts §5c', () => {
    const golden: Record<string, string> = {
      lungs: 'lung',
      opacities: 'opac',
      hemorrhage: 'hemorrhag',
      calcified: 'calcifi',
      nodules: 'nodul',
      vasculature: 'vasculatur',
      generalization: 'gener',
      kidneys: 'kidney',
      fully: 'fulli',
      geology: 'geolog',
      agreed: 'agre',
      cardiomegaly: 'cardiomegali',
      effusion: 'effus',
    };
    for (const [word, stem] of Object.entries(golden)) expect(porterStem(word), word).toBe(stem);
  });

  it('gets right the 7 words the npm stemmers get wrong', () => {
    expect(porterStem('dying')).toBe('die');
    expect(porterStem('skies')).toBe('sky');
    expect(porterStem('news')).toBe('news');
    expect(porterStem('enjoy')).toBe('enjoy');
    expect(porterStem('kidneys')).toBe('kidney');
    expect(porterStem('ties')).toBe('tie');
    expect(porterStem('geology')).toBe('geolog');
  });

  it('follows the examples of Porter (1980) where NLTK keeps them', () => {
    const paper: Record<string, string> = {
      caresses: 'caress',
      ponies: 'poni',
      cats: 'cat',
      feed: 'feed',
      plastered: 'plaster',
      bled: 'bled',
      motoring: 'motor',
      sing: 'sing',
      hopping: 'hop',
      falling: 'fall',
      hissing: 'hiss',
      filing: 'file',
      happy: 'happi',
      relational: 'relat',
      triplicate: 'triplic',
      adjustment: 'adjust',
      adoption: 'adopt',
      controlling: 'control',
      roll: 'roll',
    };
    for (const [word, stem] of Object.entries(paper)) expect(porterStem(word), word).toBe(stem);
  });

  it('applies the irregular table to the word as given and lower-cases the rest, as NLTK does', () => {
    expect(porterStem('Skies')).toBe('ski'); // 'Skies' is not in NLTK's table, so the rules run on 'skies'
    expect(porterStem('DYING')).toBe('dy');
    expect(porterStem('Lungs')).toBe('lung');
    expect(porterStem('is')).toBe('is');
    expect(porterStem('AS')).toBe('as');
  });

  it(`matches NLTK on ${fixture.stems.length} words (fixture: ${fixture.generated_by.slice(0, 40)}…)`, () => {
    const wrong: string[] = [];
    for (const [word, stem] of fixture.stems) {
      const got = porterStemUncached(word);
      if (got !== stem) wrong.push(`${word}: got ${got}, NLTK ${stem}`);
    }
    expect(wrong).toEqual([]);
  });

  it('memoised and uncached stems agree, and a stem is never more than one letter longer than its word', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z]{0,14}$/), (word) => {
        const stem = porterStem(word);
        expect(stem).toBe(porterStemUncached(word));
        expect(porterStem(word)).toBe(stem);
        // Porter only strips or rewrites suffixes: the stem never grows by more than one letter (…at → …ate).
        expect(stem.length).toBeLessThanOrEqual(word.length + 1);
      }),
      { numRuns: 2000 },
    );
  });
});
