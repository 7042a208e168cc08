/**
 * Per-token policy loss of docs/method.md §6 and its aggregation, on plain arrays.
 *
 * Per token t, with r = exp(logπ_θ − logπ_old) and shaped advantage Â:
 *   L_clip = −min(r·Â, clip(r, 1−ε_low, 1+ε_high)·Â)
 *   KL_k3  = exp(logπ_ref − logπ_θ) − (logπ_ref − logπ_θ) − 1
 *   L      = L_clip + β·KL_k3
 * and the derivative of L with respect to logπ_θ (what a backend backpropagates):
 *   dL_clip/dlogπ = −Â·r when the unclipped term is the minimum (or both are
 *                   equal), 0 when the clipped term is strictly smaller (the clip
 *                   is active and the clipped value is constant in θ);
 *   dKL/dlogπ     = 1 − exp(logπ_ref − logπ_θ).
 * The KL is not clamped (as in the reference and TRL).
 *
 * Aggregation (a separate function, style.md rule 4) turns per-token losses of
 * a batch into one scalar Σ_b Σ_t weight_{b,t}·L_{b,t}:
 *   seq-mean-token-mean  mean over each completion's tokens, then mean over the
 *                        non-empty completions (the reference; verl's name)
 *   token-mean           sum over all tokens ÷ number of tokens (DAPO)
 *   seq-sum-const        sum over all tokens ÷ (completions × constant), the
 *                        constant being the maximum completion length (Dr. GRPO,
 *                        as TRL's `dr_grpo`)
 * Because the weights are returned, a backend gets the gradient of the scalar
 * with respect to each log-prob as weight·dL/dlogπ.
 */

export type LossAggregation = 'seq-mean-token-mean' | 'token-mean' | 'seq-sum-const';
export const LOSS_AGGREGATIONS: readonly LossAggregation[] = ['seq-mean-token-mean', 'token-mean', 'seq-sum-const'];

export interface TokenLossInput {
  /** log π_θ of each generated token (current policy). */
  readonly logp_T: ArrayLike<number>;
  /** log π_old (the sampling policy); with one update per batch equal to logp_T. */
  readonly oldLogp_T: ArrayLike<number>;
  /** log π_ref (frozen reference); may be omitted when beta = 0. */
  readonly refLogp_T?: ArrayLike<number>;
  /** Shaped advantage of each token. */
  readonly adv_T: ArrayLike<number>;
  readonly epsLow: number;
  readonly epsHigh: number;
  readonly beta: number;
}

export interface TokenLossOutput {
  readonly loss_T: Float64Array;
  /** dL_t / d logπ_θ,t */
  readonly dLogp_T: Float64Array;
  /** 1 where the clip is active (the clipped term is strictly the minimum). */
  readonly clipped_T: Uint8Array;
  /** The k3 KL of each token (0 when beta = 0 and no reference is given). */
  readonly kl_T: Float64Array;
  /** The importance ratio r of each token. */
  readonly ratio_T: Float64Array;
}

export function tokenLosses(input: TokenLossInput): TokenLossOutput {
  const { logp_T, oldLogp_T, refLogp_T, adv_T, epsLow, epsHigh, beta } = input;
  const T = logp_T.length;
  if (oldLogp_T.length !== T || adv_T.length !== T || (refLogp_T !== undefined && refLogp_T.length !== T))
    throw new RangeError(`tokenLosses: arrays must have equal length (logp ${T}, old ${oldLogp_T.length}, adv ${adv_T.length}, ref ${refLogp_T?.length ?? '-'})`);
  if (beta !== 0 && refLogp_T === undefined) throw new RangeError('tokenLosses: beta ≠ 0 needs refLogp_T');
  const loss_T = new Float64Array(T);
  const dLogp_T = new Float64Array(T);
  const clipped_T = new Uint8Array(T);
  const kl_T = new Float64Array(T);
  const ratio_T = new Float64Array(T);
  const lo = 1 - epsLow;
  const hi = 1 + epsHigh;
  for (let t = 0; t < T; t++) {
    const a = adv_T[t];
    const r = Math.exp(logp_T[t] - oldLogp_T[t]);
    const rc = r < lo ? lo : r > hi ? hi : r;
    const unclipped = r * a;
    const clippedTerm = rc * a;
    let loss: number;
    let grad: number;
    if (clippedTerm < unclipped) {
      loss = -clippedTerm;
      grad = 0;
      clipped_T[t] = 1;
    } else {
      loss = -unclipped;
      grad = -a * r;
    }
    if (refLogp_T !== undefined) {
      const x = refLogp_T[t] - logp_T[t];
      const ex = Math.exp(x);
      kl_T[t] = ex - x - 1;
      loss += beta * kl_T[t];
      grad += beta * (1 - ex);
    }
    loss_T[t] = loss;
    dLogp_T[t] = grad;
    ratio_T[t] = r;
  }
  return { loss_T, dLogp_T, clipped_T, kl_T, ratio_T };
}

export interface AggregatedLoss {
  readonly value: number;
  /** weight_B_T[b][t]: d value / d loss_{b,t}. */
  readonly weight_B_T: Float64Array[];
}

/**
 * Aggregates per-token losses of B completions (ragged: each row its own
 * length; a row of length 0 is an empty completion). `constant` is used by
 * `seq-sum-const` only; it defaults to the longest row.
 */
export function aggregateLosses(
  loss_B_T: ReadonlyArray<ArrayLike<number>>,
  mode: LossAggregation,
  constant?: number,
): AggregatedLoss {
  const B = loss_B_T.length;
  const weight_B_T = loss_B_T.map((row) => new Float64Array(row.length));
  let totalTokens = 0;
  let nonEmpty = 0;
  let longest = 0;
  for (const row of loss_B_T) {
    totalTokens += row.length;
    if (row.length > 0) nonEmpty++;
    if (row.length > longest) longest = row.length;
  }
  if (totalTokens === 0) return { value: 0, weight_B_T };
  let value = 0;
  for (let b = 0; b < B; b++) {
    const row = loss_B_T[b];
    const T = row.length;
    if (T === 0) continue;
    let w: number;
    switch (mode) {
      case 'seq-mean-token-mean':
        w = 1 / (T * nonEmpty);
        break;
      case 'token-mean':
        w = 1 / totalTokens;
        break;
      case 'seq-sum-const': {
        const c = constant ?? longest;
        if (!(c > 0)) throw new RangeError(`aggregateLosses: seq-sum-const needs a positive constant, got ${c}`);
        w = 1 / (B * c);
        break;
      }
    }
    const weights = weight_B_T[b];
    for (let t = 0; t < T; t++) {
      weights[t] = w;
      value += w * row[t];
    }
  }
  return { value, weight_B_T };
}

/** Loss diagnostics for a batch (`loss/clipfrac`, `loss/kl`, `loss/ratio_mean`), token-averaged. */
export function lossMetrics(outputs: readonly TokenLossOutput[]): Record<string, number> {
  let n = 0;
  let clipped = 0;
  let kl = 0;
  let ratio = 0;
  for (const o of outputs) {
    for (let t = 0; t < o.loss_T.length; t++) {
      n++;
      clipped += o.clipped_T[t];
      kl += o.kl_T[t];
      ratio += o.ratio_T[t];
    }
  }
  if (n === 0) return { 'loss/clipfrac': 0, 'loss/kl': 0, 'loss/ratio_mean': 1 };
  return { 'loss/clipfrac': clipped / n, 'loss/kl': kl / n, 'loss/ratio_mean': ratio / n };
}
