/**
 * Training datums for the Tinker losses, and the advantage scaling that makes
 * the service optimise mrpo's loss aggregation (docs/method.md §6).
 *
 * Alignment (docs/tinker-protocol.md §4.1): for the full sequence S = prompt ++
 * completion (P prompt positions — an image counts its expected tokens — and T
 * completion tokens), `model_input` = S[0 : P+T−1] and position i is scored on
 * target S[i+1]. Completion token t sits at position P−1+t. Prompt positions
 * get logprob 0 and advantage 0 (zero advantage is the mask: the service has
 * no separate one); image positions have target 0.
 *
 * Loss bookkeeping. Hosted Tinker *sums* the per-token loss over tokens and
 * datums: L_service = Σ_b Σ_t ℓ(r_bt, A_bt), with ℓ = −r·A (importance
 * sampling) or −min(r·A, clip(r)·A) (ppo). Both are positively homogeneous in
 * A: ℓ(r, c·A) = c·ℓ(r, A) for c > 0. mrpo's aggregations are weighted sums
 * Σ w_bt·ℓ_bt with w_bt ≥ 0 (`aggregateLosses` in src/algo/losses.ts):
 *   seq-mean-token-mean  w = 1/(T_b·B)   token-mean  w = 1/ΣT   seq-sum-const  w = 1/(B·C)
 * so sending A'_bt = w_bt·A_bt makes the service's sum *exactly* the chosen
 * aggregate (value and gradient). SkyRL tx's JAX backend instead computes
 * (1/B)·Σ_b (1/N_b)·Σ_t ℓ_bt with N_b = P_b+T_b−1 (all positions, weights
 * absent); there A'_bt = w_bt·B·N_b·A_bt (`serverReduction: sequence-mean`).
 * Zero-weight positions stay zero under any scaling.
 *
 * Not expressible by the service: the k3 KL term β·KL(π_θ‖π_ref) — there is no
 * reference model inside the loss. With `kl: fold` the backend adds
 * β·(exp(logπ_ref − logπ_old) − 1) to A before scaling: for ℓ = −r·A the
 * gradient at r = 1 is −A, and d(β·KL)/dlogπ = β·(1 − exp(logπ_ref − logπ)),
 * so the folded advantage reproduces the on-policy gradient of L_clip + β·KL
 * exactly (one update per batch, as the reference trains); the KL *value* is
 * reported as a metric, not optimised as a loss term off-policy.
 */
import { aggregateLosses, type LossAggregation } from '../../algo/losses.js';
import { chunkLength, type InputChunk } from './render/chat.js';
import type { Datum } from './wire.js';

export type ServerReduction = 'sum' | 'sequence-mean';

/** Prompt tokens flattened to sequence positions (image positions are 0). */
function flatPrompt(prompt: readonly InputChunk[]): number[] {
  const out: number[] = [];
  for (const c of prompt) {
    if (c.kind === 'tokens') out.push(...c.tokens);
    else for (let i = 0; i < c.expectedTokens; i++) out.push(0);
  }
  return out;
}

/** model_input = prompt ++ completion[0 : T−1]; the completion tokens extend the prompt's last text chunk. */
function modelInput(prompt: readonly InputChunk[], completion_T: readonly number[]): InputChunk[] {
  const last = prompt[prompt.length - 1];
  if (last === undefined || last.kind !== 'tokens') throw new RangeError('a training sequence must not start with an image or end its prompt with one');
  const head = completion_T.slice(0, completion_T.length - 1);
  return [...prompt.slice(0, -1), { kind: 'tokens', tokens: [...last.tokens, ...head] }];
}

/** Positions of the model input (= length of every loss tensor). */
export function inputLength(prompt: readonly InputChunk[], completionLength: number): number {
  return chunkLength(prompt) + completionLength - 1;
}

/** A datum for `importance_sampling`/`ppo`. `sentAdvantages_T` are already scaled. */
export function rlDatum(prompt: readonly InputChunk[], completion_T: readonly number[], logprobs_T: readonly number[], sentAdvantages_T: ArrayLike<number>): Datum {
  const T = completion_T.length;
  if (T === 0) throw new RangeError('rlDatum: an empty completion has nothing to train on');
  if (logprobs_T.length !== T || sentAdvantages_T.length !== T)
    throw new RangeError(`rlDatum: ${T} tokens but ${logprobs_T.length} logprobs and ${sentAdvantages_T.length} advantages`);
  const P = chunkLength(prompt);
  const full = [...flatPrompt(prompt), ...completion_T];
  const N = P + T - 1;
  const target = full.slice(1, N + 1);
  const logprobs = new Array<number>(N).fill(0);
  const advantages = new Array<number>(N).fill(0);
  for (let t = 0; t < T; t++) {
    logprobs[P - 1 + t] = logprobs_T[t];
    advantages[P - 1 + t] = sentAdvantages_T[t];
  }
  return {
    modelInput: modelInput(prompt, completion_T),
    lossFnInputs: {
      target_tokens: { dtype: 'int64', data: target },
      logprobs: { dtype: 'float32', data: logprobs },
      advantages: { dtype: 'float32', data: advantages },
    },
  };
}

/** A datum for `cross_entropy`: weight w_T[t] on the target position of completion token t, 0 elsewhere. */
export function sftDatum(prompt: readonly InputChunk[], completion_T: readonly number[], weights_T: ArrayLike<number>): Datum {
  const T = completion_T.length;
  if (T === 0) throw new RangeError('sftDatum: an empty target has nothing to train on');
  const P = chunkLength(prompt);
  const full = [...flatPrompt(prompt), ...completion_T];
  const N = P + T - 1;
  const weights = new Array<number>(N).fill(0);
  for (let t = 0; t < T; t++) weights[P - 1 + t] = weights_T[t];
  return {
    modelInput: modelInput(prompt, completion_T),
    lossFnInputs: { target_tokens: { dtype: 'int64', data: full.slice(1, N + 1) }, weights: { dtype: 'float32', data: weights } },
  };
}

/**
 * Per-token factor c_bt with which advantages are multiplied so that the
 * service's reduction equals the aggregation `mode` over completion tokens.
 * `inputLengths_B` (N_b) is used by `sequence-mean` only.
 */
export function advantageScale_B_T(
  completionLengths_B: readonly number[],
  mode: LossAggregation,
  constant: number | undefined,
  reduction: ServerReduction,
  inputLengths_B: readonly number[],
): Float64Array[] {
  const { weight_B_T } = aggregateLosses(
    completionLengths_B.map((T) => new Float64Array(T)),
    mode,
    constant,
  );
  if (reduction === 'sum') return weight_B_T;
  const B = completionLengths_B.length;
  return weight_B_T.map((w_T, b) => w_T.map((w) => w * B * inputLengths_B[b]));
}
