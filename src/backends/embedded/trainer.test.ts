/**
 * The backpropagation through the network is checked against finite
 * differences of the aggregated loss, where the loss is computed independently
 * of the gradient path: re-score the completions (forward only), then apply the
 * core library's tokenLosses + aggregateLosses (or the mean NLL for SFT).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { aggregateLosses, tokenLosses } from '../../algo/losses.js';
import { createRng } from '../../utils/rng.js';
import type { LossSpec } from '../backend.js';
import { ModelConfigSchema } from './config.js';
import { gelu, initEngine, layerNorm, tf } from './engine.js';
import { disposeParams, initParams, type Params } from './model.js';
import { lossGradients, scoreRows, type PgTargets, type TrainRow } from './trainer.js';

const c = ModelConfigSchema.parse({ dModel: 16, layers: 2, heads: 2, ffDim: 32, imageSize: 16, patchSize: 8, maxTextLen: 24 });
const V = 12;

beforeAll(async () => {
  await initEngine();
});

function rows(seed: number): TrainRow[] {
  const rng = createRng(seed);
  return [
    [9, 4],
    [7, 6],
    [11, 3],
  ].map(([len, start]) => ({
    patches: Float32Array.from({ length: 4 * 64 }, () => rng.next()),
    textIds: [2, ...Array.from({ length: len - 1 }, () => 4 + rng.int(V - 4))],
    start,
  }));
}

function lossValue(params: Params, rs: TrainRow[], loss: LossSpec, pg: PgTargets | null): number {
  const logp = scoreRows(params, c, rs);
  if (loss.kind === 'sft') {
    const n = logp.reduce((a, r) => a + r.length, 0);
    return -logp.reduce((a, r) => a + r.reduce((x, y) => x + y, 0), 0) / n;
  }
  if (pg === null) throw new Error('pg targets missing');
  const per = logp.map((logp_T, b) =>
    tokenLosses({ logp_T, oldLogp_T: pg.oldLogp_B_T[b], refLogp_T: pg.refLogp_B_T?.[b], adv_T: pg.adv_B_T[b], epsLow: loss.epsLow, epsHigh: loss.epsHigh, beta: loss.beta }),
  );
  return aggregateLosses(
    per.map((x) => x.loss_T),
    loss.aggregation,
    loss.constant,
  ).value;
}

function scaled(params: Params, factor: number): Params {
  const out: Params = {};
  for (const [k, v] of Object.entries(params)) out[k] = v.rank === 2 ? tf.mul(v, factor) : tf.clone(v);
  disposeParams(params);
  return out;
}

function with1(params: Params, name: string, delta: tf.Tensor): Params {
  return { ...params, [name]: tf.add(params[name], delta) };
}

/**
 * For each parameter tensor, directional derivatives along two unit directions
 * — its own gradient's (the analytic value is then |g|, the largest signal)
 * and a random one — analytic vs central difference.
 */
function checkGradients(loss: LossSpec, seed: number): void {
  const rng = createRng(seed);
  // Weights 10× the initial scale, so attention is far from uniform and every path carries gradient.
  const params = scaled(initParams(c, V, createRng(seed + 1)), 10);
  const rs = rows(seed + 2);
  let pg: PgTargets | null = null;
  if (loss.kind === 'policy-gradient') {
    const reference = initParams(c, V, createRng(seed + 3));
    const current = scoreRows(params, c, rs);
    pg = {
      // ratios within [0.9, 1.1]: inside the clip range, away from its kinks
      oldLogp_B_T: current.map((r) => Array.from(r, (x) => x + 0.1 * (2 * rng.next() - 1))),
      adv_B_T: current.map((r) => Array.from(r, () => rng.normal())),
      refLogp_B_T: scoreRows(reference, c, rs),
    };
    disposeParams(reference);
  }
  const { grads, metrics } = lossGradients(params, c, rs, loss, pg);
  expect(metrics['loss/total']).toBeCloseTo(lossValue(params, rs, loss, pg), 5);
  const h = 3e-3;
  for (const name of Object.keys(params)) {
    const shape = params[name].shape;
    const random = Float32Array.from({ length: params[name].size }, () => rng.normal());
    for (const u of [grads[name].dataSync() as Float32Array, random]) {
      const norm = Math.hypot(...u);
      if (norm === 0) continue;
      const dir = tf.tensor(u.map((x) => x / norm), shape);
      const analytic = tf.sum(tf.mul(grads[name], dir)).dataSync()[0];
      const plus = with1(params, name, tf.mul(dir, h));
      const minus = with1(params, name, tf.mul(dir, -h));
      const numeric = (lossValue(plus, rs, loss, pg) - lossValue(minus, rs, loss, pg)) / (2 * h);
      plus[name].dispose();
      minus[name].dispose();
      dir.dispose();
      if (process.env.FD_DEBUG) console.log(name, analytic, numeric);
      expect(Math.abs(numeric - analytic), `${name}: numeric ${numeric} vs analytic ${analytic}`).toBeLessThan(5e-5 + 0.01 * Math.abs(analytic));
    }
  }
  disposeParams(params);
  disposeParams(grads);
}

describe('engine building blocks', () => {
  it('gelu is the tanh form (hand-computed values)', () => {
    const y = gelu(tf.tensor1d([-1, 0, 1, 2])).dataSync();
    // 0.5·x·(1 + tanh(0.7978845608·(x + 0.044715·x³)))
    expect(Array.from(y).map((v) => Number(v.toFixed(6)))).toEqual([-0.158808, 0, 0.841192, 1.954598]);
  });

  it('layerNorm normalises each row (hand-computed)', () => {
    const y = layerNorm(tf.tensor2d([[1, 2, 3, 4]]), tf.tensor1d([1, 1, 1, 2]), tf.tensor1d([0, 0, 0, 1])).dataSync();
    // mean 2.5, variance 1.25: (x − 2.5)/√(1.25 + 1e-5)
    const s = Math.sqrt(1.25 + 1e-5);
    [-1.5 / s, -0.5 / s, 0.5 / s, (2 * 1.5) / s + 1].forEach((v, i) => expect(y[i]).toBeCloseTo(v, 5));
  });
});

describe('loss gradients through the network match finite differences', () => {
  it('policy gradient, seq-mean-token-mean, β = 0.1', () => {
    checkGradients({ kind: 'policy-gradient', beta: 0.1, epsLow: 0.2, epsHigh: 0.2, aggregation: 'seq-mean-token-mean', constant: 8 }, 11);
  });

  it('policy gradient, token-mean and seq-sum-const, β = 0.04', () => {
    checkGradients({ kind: 'policy-gradient', beta: 0.04, epsLow: 0.2, epsHigh: 0.28, aggregation: 'token-mean', constant: 8 }, 21);
    checkGradients({ kind: 'policy-gradient', beta: 0.04, epsLow: 0.2, epsHigh: 0.2, aggregation: 'seq-sum-const', constant: 10 }, 31);
  });

  it('SFT cross-entropy', () => {
    checkGradients({ kind: 'sft' }, 41);
  });
});

describe('micro-batches', () => {
  it('give the full-batch gradient, loss and log-probs', () => {
    const params = initParams(c, V, createRng(7));
    const rs = rows(8);
    const logp = scoreRows(params, c, rs);
    expect(scoreRows(params, c, rs, 1).map((r) => Array.from(r))).toEqual(logp.map((r) => Array.from(r)));
    const pg: PgTargets = { oldLogp_B_T: logp.map((r) => Array.from(r, (x) => x - 0.05)), adv_B_T: logp.map((r) => Array.from(r, (_, t) => (t % 2 ? 1 : -0.5))), refLogp_B_T: logp };
    const loss: LossSpec = { kind: 'policy-gradient', beta: 0.1, epsLow: 0.2, epsHigh: 0.2, aggregation: 'seq-mean-token-mean', constant: 8 };
    const whole = lossGradients(params, c, rs, loss, pg);
    const pieces = lossGradients(params, c, rs, loss, pg, 2);
    expect(pieces.metrics['loss/total']).toBeCloseTo(whole.metrics['loss/total'], 10);
    expect(pieces.metrics['train/tokens']).toBe(whole.metrics['train/tokens']);
    for (const name of Object.keys(params)) {
      const a = whole.grads[name].dataSync();
      const b = pieces.grads[name].dataSync();
      a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThan(1e-6 + 1e-4 * Math.abs(v)));
    }
    disposeParams(params);
    disposeParams(whole.grads);
    disposeParams(pieces.grads);
  });
});
