/**
 * TEST SUPPORT ONLY. A tiny deterministic "model" for the local Tinker test
 * server: next-token logits W[prev][next] (a bigram table over the test
 * tokenizer's vocabulary; image positions read as token 0), trained with the
 * service's losses (docs/tinker-protocol.md §6) and Adam (§3.3). Small enough that
 * the gradients are exact and a test can check what the service optimised.
 */
import { createRng, type Rng } from '../../../utils/rng.js';

export interface PolicyState {
  readonly W: Float64Array;
  readonly m: Float64Array;
  readonly v: Float64Array;
  readonly step: number;
}

export interface BigramDatum {
  /** Input token of each position (image positions: 0). */
  readonly input_N: readonly number[];
  readonly inputs: Readonly<Record<string, readonly number[]>>;
}

export interface AdamWire {
  readonly learning_rate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weight_decay: number;
  readonly grad_clip_norm?: number;
}

export class BigramPolicy {
  W: Float64Array;
  private m: Float64Array;
  private v: Float64Array;
  private step = 0;
  private grad: Float64Array;

  constructor(
    readonly vocabSize: number,
    seed: number,
    /** Extra logit for these tokens in every row (makes sampling less uniform). */
    bias: ReadonlyMap<number, number> = new Map(),
  ) {
    const V = vocabSize;
    const rng = createRng(seed);
    this.W = new Float64Array(V * V);
    for (let i = 0; i < V * V; i++) this.W[i] = 0.1 * rng.normal() + (bias.get(i % V) ?? 0);
    this.m = new Float64Array(V * V);
    this.v = new Float64Array(V * V);
    this.grad = new Float64Array(V * V);
  }

  snapshot(): PolicyState {
    return { W: this.W.slice(), m: this.m.slice(), v: this.v.slice(), step: this.step };
  }

  restore(state: PolicyState): void {
    this.W = state.W.slice();
    this.m = state.m.slice();
    this.v = state.v.slice();
    this.step = state.step;
    this.grad.fill(0);
  }

  /** Log-softmax of row `prev` of weights `W`. */
  static logProbs(W: Float64Array, V: number, prev: number): Float64Array {
    const row = W.subarray(prev * V, prev * V + V);
    let max = -Infinity;
    for (const x of row) max = Math.max(max, x);
    let sum = 0;
    for (const x of row) sum += Math.exp(x - max);
    const lse = max + Math.log(sum);
    return row.map((x) => x - lse);
  }

  /** Samples `n` continuations of `prompt_N` from weights `W`. */
  static sample(
    W: Float64Array,
    V: number,
    prompt_N: readonly number[],
    n: number,
    params: { max_tokens: number; temperature: number; stop: readonly number[]; seed: number },
  ): Array<{ tokens: number[]; logprobs: number[]; stop_reason: 'stop' | 'length' }> {
    const rng: Rng = createRng(params.seed);
    const out = [];
    for (let s = 0; s < n; s++) {
      let prev = prompt_N[prompt_N.length - 1] ?? 0;
      const tokens: number[] = [];
      const logprobs: number[] = [];
      let stop: 'stop' | 'length' = 'length';
      for (let t = 0; t < params.max_tokens; t++) {
        const lp = BigramPolicy.logProbs(W, V, prev);
        const temp = params.temperature > 0 ? params.temperature : 1e-6;
        const weights = lp.map((x) => Math.exp(x / temp));
        let total = 0;
        for (const w of weights) total += w;
        let u = rng.next() * total;
        let next = V - 1;
        for (let j = 0; j < V; j++) {
          u -= weights[j];
          if (u < 0) {
            next = j;
            break;
          }
        }
        tokens.push(next);
        logprobs.push(lp[next]);
        prev = next;
        if (params.stop.includes(next)) {
          stop = 'stop';
          break;
        }
      }
      out.push({ tokens, logprobs, stop_reason: stop });
    }
    return out;
  }

  /** log π(target_i | input_i) for every position. */
  scoreTargets(input_N: readonly number[], target_N: readonly number[]): number[] {
    return input_N.map((x, i) => BigramPolicy.logProbs(this.W, this.vocabSize, x)[target_N[i]]);
  }

  /**
   * Accumulates the gradient of the summed loss (hosted reduction) or of the
   * per-sequence mean (`sequence-mean`, SkyRL's JAX reduction: ÷ positions,
   * then mean over the datums of the call). Returns per-datum learner log-probs
   * and the loss value.
   */
  forwardBackward(
    data: readonly BigramDatum[],
    lossFn: string,
    config: Readonly<Record<string, number>>,
    reduction: 'sum' | 'sequence-mean',
  ): { logprobs_B: number[][]; loss: number } {
    const V = this.vocabSize;
    const lo = config.clip_low_threshold ?? 0.8;
    const hi = config.clip_high_threshold ?? 1.2;
    let loss = 0;
    const logprobs_B: number[][] = [];
    for (const d of data) {
      const target = d.inputs.target_tokens;
      const N = d.input_N.length;
      const seqScale = reduction === 'sum' ? 1 : 1 / (N * data.length);
      const lps: number[] = [];
      for (let i = 0; i < N; i++) {
        const prev = d.input_N[i];
        const lp_V = BigramPolicy.logProbs(this.W, V, prev);
        const y = target[i];
        const lp = lp_V[y];
        lps.push(lp);
        let l: number;
        let dl: number; // d loss / d lp
        if (lossFn === 'cross_entropy') {
          const w = d.inputs.weights[i];
          l = -w * lp;
          dl = -w;
        } else {
          const a = d.inputs.advantages[i];
          const r = Math.exp(lp - d.inputs.logprobs[i]);
          if (lossFn === 'ppo') {
            const rc = Math.min(Math.max(r, lo), hi);
            if (rc * a < r * a) {
              l = -rc * a;
              dl = 0;
            } else {
              l = -r * a;
              dl = -r * a;
            }
          } else {
            l = -r * a;
            dl = -r * a;
          }
        }
        loss += l * seqScale;
        if (dl !== 0) {
          const g = dl * seqScale;
          const base = prev * V;
          for (let j = 0; j < V; j++) this.grad[base + j] -= g * Math.exp(lp_V[j]);
          this.grad[base + y] += g;
        }
      }
      logprobs_B.push(lps);
    }
    return { logprobs_B, loss };
  }

  /** AdamW step on the accumulated gradient (optional global-norm clip), then the gradient is cleared. */
  optimStep(adam: AdamWire): { grad_norm: number } {
    let sq = 0;
    for (const g of this.grad) sq += g * g;
    const norm = Math.sqrt(sq);
    const clip = adam.grad_clip_norm && adam.grad_clip_norm > 0 && norm > adam.grad_clip_norm ? adam.grad_clip_norm / norm : 1;
    this.step++;
    const b1c = 1 - adam.beta1 ** this.step;
    const b2c = 1 - adam.beta2 ** this.step;
    for (let i = 0; i < this.W.length; i++) {
      const g = this.grad[i] * clip;
      this.m[i] = adam.beta1 * this.m[i] + (1 - adam.beta1) * g;
      this.v[i] = adam.beta2 * this.v[i] + (1 - adam.beta2) * g * g;
      this.W[i] -= adam.learning_rate * ((this.m[i] / b1c) / (Math.sqrt(this.v[i] / b2c) + adam.eps) + adam.weight_decay * this.W[i]);
    }
    this.grad.fill(0);
    return { grad_norm: norm };
  }
}
