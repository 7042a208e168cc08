import { mean, sampleStd } from '../../utils/stats.js';

/**
 * Group and batch normalisation shared by the estimators: (x − mean)/(std + ε)
 * with the sample standard deviation (Bessel, N − 1), as torch's `.std()`.
 * A group of one has no spread: its normalised value is 0 (torch would give
 * NaN; the reference never forms groups of one).
 */
export function normalize(xs: ArrayLike<number>, epsilon: number): Float64Array {
  const n = xs.length;
  const out = new Float64Array(n);
  if (n < 2) return out;
  const m = mean(xs);
  const denom = sampleStd(xs) + epsilon;
  for (let i = 0; i < n; i++) out[i] = (xs[i] - m) / denom;
  return out;
}
