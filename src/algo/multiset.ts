/**
 * Multiset intersection size Σ_t min(count_a(t), count_b(t)) — the clipped
 * unigram overlap used by ROUGE-1 and BLEU-1 (docs/method.md §3). Short lists (the
 * usual answers) use a quadratic scan without allocating maps.
 */

/** Above this many pairwise comparisons, counting with a Map is cheaper. */
const QUADRATIC_LIMIT = 1024;

export function multisetOverlap(a: readonly string[], b: readonly string[]): number {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return 0;
  if (n * m <= QUADRATIC_LIMIT) {
    const used_M = new Uint8Array(m); // b's tokens already matched
    let overlap = 0;
    for (let i = 0; i < n; i++) {
      const t = a[i];
      for (let j = 0; j < m; j++) {
        if (used_M[j] === 0 && b[j] === t) {
          used_M[j] = 1;
          overlap++;
          break;
        }
      }
    }
    return overlap;
  }
  const counts = new Map<string, number>();
  for (const t of b) counts.set(t, (counts.get(t) ?? 0) + 1);
  let overlap = 0;
  for (const t of a) {
    const left = counts.get(t);
    if (left !== undefined && left > 0) {
      counts.set(t, left - 1);
      overlap++;
    }
  }
  return overlap;
}
