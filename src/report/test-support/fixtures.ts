/**
 * Hand-built judged traces shared by the report and `mrpo analyze` tests, with
 * their expected summaries worked out by hand in the comments (docs/method.md §8).
 */

/**
 * "base": complete traces b1–b5, plus b6 (answer unjudged) and b7 (steps unjudged).
 * b1 ✗ [0,1,1,1,1] K=5 k*=1 FFP .2 → bin (0,.2], early, FAR 0/4 = 0
 * b2 ✗ [1,0,0,0]   K=4 k*=2 FFP .5 → bin (.4,.6], mid,  FAR 2/2 = 1
 * b3 ✓ [1,1,1]     clean
 * b4 ✓ [0,0,1,1,1,1,1,1,1,1] K=10 k*=1 FFP .1 → bin (0,.2], early, FAR 1/9
 * b5 ✗ [1,1,0]     K=3 k*=3 FFP 1 → bin (.8,1], late, FAR undefined
 * traces 5, withFailure 4, stages 2/1/1 → .5/.25/.25;
 * bin0: count 2, incorrect rate 1/2, FAR all (0 + 1/9)/2 = 1/18, correct 1/9, incorrect 0
 * bin2: count 1, rate 1, FAR all 1, correct null, incorrect 1
 * bin4: count 1, rate 1, FAR all/correct/incorrect null
 * accuracy over answered records b1–b5, b7: 3/6; by source: vqa-rad 0/2, slake 2/2, pathvqa 1/2.
 */
export const BASE_LINES = [
  { id: 'b1', correct: false, stepLabels: [0, 1, 1, 1, 1], source: 'vqa-rad' },
  { id: 'b2', correct: false, stepLabels: [1, 0, 0, 0], source: 'vqa-rad' },
  { id: 'b3', correct: true, stepLabels: [1, 1, 1], source: 'slake' },
  { id: 'b4', correct: true, stepLabels: [0, 0, 1, 1, 1, 1, 1, 1, 1, 1], source: 'slake' },
  { id: 'b5', correct: false, stepLabels: [1, 1, 0], source: 'pathvqa' },
  { id: 'b6', correct: null, stepLabels: [0], source: 'pathvqa', unjudgedReason: 'HTTP 500' },
  { id: 'b7', correct: true, stepLabels: null, source: 'pathvqa' },
];

/**
 * "mrpo":
 * m1 ✓ [1,1,1,0]    K=4 k*=4 FFP 1 → bin (.8,1], late, FAR undefined
 * m2 ✓ [1,1,1]      clean
 * m3 ✗ [1,0,1,0,1]  K=5 k*=2 FFP .4 → bin (.2,.4], mid (.4 > 1/3), FAR 1/3
 * m4 ✓ [0,1,1]      K=3 k*=1 FFP 1/3 → bin (.2,.4], early (edge inclusive), FAR 0/2 = 0
 * traces 4, withFailure 3, stages 1/3 each; bin1: count 2, rate 1/2, FAR all 1/6, correct 0, incorrect 1/3;
 * bin4: count 1, rate 0, FAR null; accuracy 3/4; by source: vqa-rad 2/2, slake 1/2.
 */
export const MRPO_LINES = [
  { id: 'm1', correct: true, stepLabels: [1, 1, 1, 0], source: 'vqa-rad' },
  { id: 'm2', correct: true, stepLabels: [1, 1, 1], source: 'vqa-rad' },
  { id: 'm3', correct: false, stepLabels: [1, 0, 1, 0, 1], source: 'slake' },
  { id: 'm4', correct: true, stepLabels: [0, 1, 1], source: 'slake' },
];

export const toJsonl = (lines: readonly object[]): string => lines.map((l) => JSON.stringify(l)).join('\n') + '\n';

/** Number of data marks (bar rects, line paths, points, value labels) per mark type in a vega SVG string. */
export function countMarks(svg: string): { rect: number; line: number; symbol: number; text: number } {
  const count = (type: string, element: string) => {
    let n = 0;
    for (const m of svg.matchAll(new RegExp(`<g class="mark-${type} role-mark[^"]*"[^>]*>(.*?)</g>`, 'gs'))) n += (m[1].match(new RegExp(`<${element}[ >]`, 'g')) ?? []).length;
    return n;
  };
  return { rect: count('rect', 'path'), line: count('line', 'path'), symbol: count('symbol', 'path'), text: count('text', 'text') };
}
