/**
 * BERTScore from token embeddings (docs/method.md §3; docs/reference-facts.md §3b), exactly
 * as bert_score's `greedy_cos_idf` with idf=False for one (candidate, reference)
 * pair:
 *
 *   ê_i = e_i / ‖e_i‖                           (every token row L2-normalised)
 *   P = Σ_i w_i · max_j ĉ_i·r̂_j / Σ_i w_i        (over candidate tokens i)
 *   R = Σ_j u_j · max_i ĉ_i·r̂_j / Σ_j u_j        (over reference tokens j)
 *   F = 2PR / (P + R),  NaN → 0
 *
 * with weight 1 for every token except [CLS] and [SEP] (weight 0). The max runs
 * over *all* tokens of the other side, [CLS] and [SEP] included: bert_score
 * masks only padding, so a candidate word may be matched to the reference's
 * [SEP]. A side whose weights sum to 0 (an empty sentence: only [CLS][SEP])
 * gives P = R = F = 0, as bert_score does. Pure; no model involved.
 */

/** Token embeddings of one sentence: `data` is row-major tokens × dim. */
export interface TokenEmbeddings {
  readonly data: ArrayLike<number>;
  readonly tokens: number;
  readonly dim: number;
  /** One weight per token (bert_score with idf=False: 0 for [CLS]/[SEP], 1 otherwise). */
  readonly weights: ArrayLike<number>;
}

export interface BertScore {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

function normalisedRows(e: TokenEmbeddings, side: string): Float64Array {
  if (e.data.length !== e.tokens * e.dim) throw new RangeError(`${side}: data has ${e.data.length} values, expected tokens × dim = ${e.tokens * e.dim}`);
  if (e.weights.length !== e.tokens) throw new RangeError(`${side}: ${e.weights.length} weights for ${e.tokens} tokens`);
  const D = e.dim;
  const out_T_D = Float64Array.from(e.data);
  for (let t = 0; t < e.tokens; t++) {
    let ss = 0;
    for (let d = t * D; d < (t + 1) * D; d++) ss += out_T_D[d] * out_T_D[d];
    // A zero row stays zero (cosine 0 with everything) instead of torch's NaN.
    const inv = ss === 0 ? 0 : 1 / Math.sqrt(ss);
    for (let d = t * D; d < (t + 1) * D; d++) out_T_D[d] *= inv;
  }
  return out_T_D;
}

/** Greedy max-cosine matching of candidate and reference tokens → BERTScore P, R, F1. */
export function bertScoreFromEmbeddings(candidate: TokenEmbeddings, reference: TokenEmbeddings): BertScore {
  if (candidate.dim !== reference.dim) throw new RangeError(`candidate dim ${candidate.dim} ≠ reference dim ${reference.dim}`);
  const D = candidate.dim;
  const Tc = candidate.tokens;
  const Tr = reference.tokens;
  const cand_Tc_D = normalisedRows(candidate, 'candidate');
  const ref_Tr_D = normalisedRows(reference, 'reference');
  const bestForCand_Tc = new Float64Array(Tc).fill(-Infinity);
  const bestForRef_Tr = new Float64Array(Tr).fill(-Infinity);
  for (let i = 0; i < Tc; i++) {
    const ci = i * D;
    for (let j = 0; j < Tr; j++) {
      const rj = j * D;
      let sim = 0;
      for (let d = 0; d < D; d++) sim += cand_Tc_D[ci + d] * ref_Tr_D[rj + d];
      if (sim > bestForCand_Tc[i]) bestForCand_Tc[i] = sim;
      if (sim > bestForRef_Tr[j]) bestForRef_Tr[j] = sim;
    }
  }
  const weightedMean = (best: Float64Array, w: ArrayLike<number>) => {
    let num = 0;
    let den = 0;
    for (let k = 0; k < best.length; k++) {
      if (w[k] === 0) continue; // also skips -Infinity when the other side has no tokens
      num += w[k] * best[k];
      den += w[k];
    }
    return den === 0 ? Number.NaN : num / den;
  };
  const precision = weightedMean(bestForCand_Tc, candidate.weights);
  const recall = weightedMean(bestForRef_Tr, reference.weights);
  if (Number.isNaN(precision) || Number.isNaN(recall)) return { precision: 0, recall: 0, f1: 0 };
  const f1 = (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1: Number.isNaN(f1) ? 0 : f1 };
}
