/**
 * The pluggable semantic-similarity component of the answer reward
 * (docs/method.md §3: BERTScore F1 in the reference). A scorer is async (it may run a
 * model); the answer reward itself stays pure and takes the scores as data.
 */
export interface SemanticPair {
  readonly prediction: string;
  readonly reference: string;
}

export interface SemanticScorer {
  /** Identifies the scorer in logs and configs (e.g. `bertscore:BiomedBERT@12`). */
  readonly name: string;
  /** One score in [0, 1] per pair, in order. */
  score(pairs: readonly SemanticPair[]): Promise<number[]>;
}
