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
  let m = 0;
  for (let i = 0; i < n; i++) m += xs[i];
  m /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (xs[i] - m) * (xs[i] - m);
  const denom = Math.sqrt(ss / (n - 1)) + epsilon;
  for (let i = 0; i < n; i++) out[i] = (xs[i] - m) / denom;
  return out;
}
