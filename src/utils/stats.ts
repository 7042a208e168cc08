/** Small numeric helpers shared by algorithms and reports. Pure. */

export function sum(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s;
}

export function mean(xs: ArrayLike<number>): number {
  return xs.length === 0 ? Number.NaN : sum(xs) / xs.length;
}

/**
 * Sample standard deviation (Bessel, divides by n − 1), as torch's `.std()`.
 * n = 1 gives NaN, as torch does; callers decide what a group of one means.
 */
export function sampleStd(xs: ArrayLike<number>): number {
  const n = xs.length;
  if (n < 2) return Number.NaN;
  const m = mean(xs);
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (xs[i] - m) * (xs[i] - m);
  return Math.sqrt(ss / (n - 1));
}

/** Linear-interpolated quantile (q in [0, 1]) of a copy of xs. */
export function quantile(xs: ArrayLike<number>, q: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = Array.from(xs).sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Two-sided 95% critical value of Student's t with `df` degrees of freedom
 * (t_{0.975, df}); df 1–30 from the standard table (e.g. NIST/SEMATECH
 * e-Handbook of Statistical Methods, §1.3.6.7.2), 1.96 (the normal) beyond.
 */
export function tCritical95(df: number): number {
  const T = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];
  if (!Number.isInteger(df) || df < 1) return Number.NaN;
  return df <= 30 ? T[df - 1] : 1.96;
}

/** Mean with its 95% t-interval over the values (null bounds with fewer than two values). */
export function meanInterval95(xs: readonly number[]): { mean: number | null; lo: number | null; hi: number | null; n: number } {
  const n = xs.length;
  if (n === 0) return { mean: null, lo: null, hi: null, n };
  const m = mean(xs);
  if (n < 2) return { mean: m, lo: null, hi: null, n };
  const half = (tCritical95(n - 1) * sampleStd(xs)) / Math.sqrt(n);
  return { mean: m, lo: m - half, hi: m + half, n };
}
