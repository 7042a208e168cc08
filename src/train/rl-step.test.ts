/**
 * The RL step's wiring, hand-checked: given two known completions for one item
 * (a gold chain and a chain that starts with the wrong modality), the loop
 * must judge the steps, score the rewards and hand `backend.train` the
 * per-token advantages of docs/method.md §5. The backend here replays fixed texts
 * (whitespace tokens with exact offsets) and records what it was asked to
 * train on; the real policy is exercised by the end-to-end CLI test.
 */
import { describe, expect, it } from 'vitest';
import type { LossSpec, PolicyBackend, Prompt, SampledCompletion, SamplingParams, TrainExample } from '../backends/backend.js';
import { renderPrompt, goldCompletion } from '../data/prompt.js';
import type { Item, TokenOffset } from '../types.js';
import { createSyntheticJudge } from '../judges/synthetic/exact-judge.js';
import { resolveConfig } from './config.js';
import { rlStep } from './rl-step.js';
import type { TrainTask } from './rollout.js';

const GOLD =
  'The image is a radiograph. The image shows the chest. There is one bright lesion in the left upper chest. This appearance indicates nodule. So the answer is nodule.';
const WRONG =
  'The image is a ct scan. The image shows the abdomen. There is one bright lesion in the left upper abdomen. This appearance indicates calculus. So the answer is calculus.';

const item: Item = { id: 'it', image: 'x.png', question: 'What abnormality is seen in this image?', answer: 'nodule', goldReasoning: GOLD, source: 'synthetic' };

/** Whitespace tokens of a text with their spans. */
function tokens(text: string): TokenOffset[] {
  const out: TokenOffset[] = [];
  for (const m of text.matchAll(/\S+/g)) out.push([m.index, m.index + m[0].length]);
  return out;
}

class ReplayBackend implements PolicyBackend {
  readonly name = 'replay';
  trained: Array<{ batch: readonly TrainExample[]; loss: LossSpec }> = [];
  constructor(private readonly texts: readonly string[]) {}
  async sample(prompts: readonly Prompt[], n: number, _s: SamplingParams): Promise<SampledCompletion[][]> {
    return prompts.map(() =>
      Array.from({ length: n }, (_, g) => {
        const text = this.texts[g % this.texts.length];
        const offsets = tokens(text);
        return { text, tokenIds: offsets.map((_o, i) => i), logprobs: offsets.map(() => -1), tokenOffsets: offsets, finishReason: 'stop' as const };
      }),
    );
  }
  async train(batch: readonly TrainExample[], loss: LossSpec): Promise<Record<string, number>> {
    this.trained.push({ batch, loss });
    return { 'loss/total': 0.5 };
  }
  async save(): Promise<void> {}
  async load(): Promise<void> {}
  async close(): Promise<void> {}
}

const judge = createSyntheticJudge();
const task: TrainTask = {
  name: 't',
  trainItems: [item],
  evalItems: [item],
  sftTarget: () => goldCompletion(GOLD, 'nodule'),
  stepJudge: judge,
  answerJudge: judge,
  promptText: (i) => renderPrompt(i.question),
};

async function step(algorithm: 'grpo' | 'mrpo', unjudged: 'no-labels' | 'skip-group' = 'no-labels', t: TrainTask = task) {
  const backend = new ReplayBackend([goldCompletion(GOLD, 'nodule'), goldCompletion(WRONG, 'calculus')]);
  const config = resolveConfig({ algorithm, groupSize: 2, promptsPerStep: 1, samplesPerStep: 2, unjudged }, 'test');
  const optimizer = { learningRate: 1, gradClip: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
  let clock = 0;
  const result = await rlStep({ config, backend, task: t, items: [item], sampleSeed: 1, optimizer, now: () => (clock += 1000) });
  return { backend, result };
}

/** The per-token advantages of a completion grouped by the word they cover. */
function byWord(ex: TrainExample): Array<[string, number]> {
  return ex.completion.tokenOffsets.map(([s, e], i) => [ex.completion.text.slice(s, e), ex.advantages_T[i]]);
}

describe('one RL step', () => {
  it('MRPO: the correct chain keeps A_i; the wrong chain gets +|A| on valid steps and −w_k|A| on invalid ones', async () => {
    const { backend, result } = await step('mrpo');
    expect(backend.trained).toHaveLength(1);
    const [good, bad] = backend.trained[0].batch;
    expect(backend.trained[0].loss).toEqual({ kind: 'policy-gradient', beta: 0.04, epsLow: 0.2, epsHigh: 0.2, aggregation: 'seq-mean-token-mean', constant: 72 });
    // G = 2: A = ±(d/2)/(d/√2 + 1e-4) ≈ ±0.70711 whatever the reward gap d (here d ≥ 1).
    const a = 0.70711;
    for (const [, v] of byWord(good)) expect(v).toBeCloseTo(a, 3);
    // Wrong chain, K = 5, labels [0, 0, 1, 0, 0] (the lesion step states the right polarity: Contribution);
    // w_k = round(exp(1 − (k−1)/4), 2) = 2.72, 2.12, –, 1.28, 1.
    const words = byWord(bad);
    const value = (w: string) => words.find(([x]) => x === w)?.[1];
    expect(value('ct')).toBeCloseTo(-2.72 * a, 3);
    expect(value('abdomen.')).toBeCloseTo(-2.12 * a, 3);
    expect(value('lesion')).toBeCloseTo(+a, 3);
    expect(value('indicates')).toBeCloseTo(-1.28 * a, 3);
    expect(value('So')).toBeCloseTo(-1 * a, 3);
    // The first token straddles the tag and step 1 ("<think>The"): it overlaps step 1 most.
    expect(words[0][0]).toBe('<think>The');
    expect(words[0][1]).toBeCloseTo(-2.72 * a, 3);
    // The answer token after the last step keeps A_i.
    expect(words[words.length - 1][0]).toBe('calculus.</think><answer>calculus</answer>');

    const m = result.metrics;
    expect(m['reward/process']).toBeCloseTo((1 + 1 / 5) / 2, 12);
    expect(m['reward/length']).toBe(0);
    expect(m['reward/accuracy']).toBe(0.5);
    expect(m['steps/ffp_early']).toBe(1); // the one failed trace fails at step 1 of 5
    expect(m['judge/unjudged']).toBe(0);
    expect(m['shape/reshaped']).toBe(1);
    expect(m['shape/unmapped_steps']).toBe(0);
    expect(m['loss/total']).toBe(0.5);
    expect(result.samples).toHaveLength(2);
    expect(result.samples[1].steps.map((s) => s.label)).toEqual([0, 0, 1, 0, 0]);
    expect(result.samples[1].steps[0].advantage).toBeCloseTo(-2.72 * a, 3);
  });

  it('GRPO: every token of a completion gets its sequence advantage', async () => {
    const { backend } = await step('grpo');
    const [good, bad] = backend.trained[0].batch;
    for (const v of good.advantages_T) expect(v).toBeCloseTo(0.70711, 3);
    for (const v of bad.advantages_T) expect(v).toBeCloseTo(-0.70711, 3);
  });
});

describe('unjudged completions', () => {
  // A step judge that fails (as an HTTP error would) on completions that mention "ct".
  const flaky: TrainTask = {
    ...task,
    stepJudge: {
      name: 'flaky',
      judgeSteps: async (r) => (r.steps.some((x) => x.includes(' ct ')) ? { kind: 'unjudged', reason: 'HTTP 503' } : judge.judgeSteps(r)),
    },
  };

  it('no-labels: the unjudged completion gets R_proc = 0 and no shaping, and is counted', async () => {
    const { backend, result } = await step('mrpo', 'no-labels', flaky);
    const bad = backend.trained[0].batch[1];
    for (const v of bad.advantages_T) expect(v).toBeCloseTo(-0.70711, 3);
    expect(result.metrics['judge/unjudged']).toBe(1);
    expect(result.metrics['shape/reshaped']).toBe(0);
    expect(result.metrics['reward/process']).toBeCloseTo(0.5, 12); // (1 + 0) / 2
    expect(result.samples[1].unjudged).toBe('HTTP 503');
    expect(result.samples[1].steps.every((s) => s.label === null)).toBe(true);
  });

  it('skip-group: the group with an unjudged completion is not trained on', async () => {
    const { backend, result } = await step('mrpo', 'skip-group', flaky);
    expect(backend.trained).toHaveLength(0);
    expect(result.metrics['judge/skipped_groups']).toBe(1);
    expect(result.metrics['judge/unjudged']).toBe(1);
  });
});

describe('items without a gold rationale (noGold)', () => {
  const { goldReasoning: _dropped, ...noGoldItem } = item;
  // Two items in one step: the first has a gold rationale, the second has none.
  async function twoItems(noGold: 'answer-only' | 'skip-group') {
    const backend = new ReplayBackend([goldCompletion(GOLD, 'nodule'), goldCompletion(WRONG, 'calculus')]);
    const config = resolveConfig({ algorithm: 'mrpo', groupSize: 2, promptsPerStep: 2, samplesPerStep: 4, noGold }, 'test');
    const optimizer = { learningRate: 1, gradClip: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
    let clock = 0;
    const items = [item, { ...noGoldItem, id: 'no-gold' }];
    const result = await rlStep({ config, backend, task, items, sampleSeed: 1, optimizer, now: () => (clock += 1000) });
    return { backend, result };
  }

  it('answer-only: counted in judge/no_gold; the wrong chain gets R_proc = 0 and its sequence advantage on every token', async () => {
    const { backend, result } = await twoItems('answer-only');
    expect(result.metrics['judge/no_gold']).toBe(2); // both completions of the second item have steps
    expect(result.metrics['judge/unjudged']).toBe(0);
    const batch = backend.trained[0].batch;
    expect(batch).toHaveLength(4);
    // Second group, R_proc = 0 for both: the rewards differ by the answer only, A = ±0.70711 (G = 2) on every token.
    for (const v of batch[3].advantages_T) expect(v).toBeCloseTo(-0.70711, 3);
    expect(result.samples[3].steps.every((s) => s.label === null)).toBe(true);
    expect(result.samples[3].rewards.process).toBe(0);
    // The first group is shaped as before: its wrong chain's first step gets −2.72·A.
    expect(byWord(batch[1])[1][1]).toBeCloseTo(-2.72 * 0.70711, 3);
  });

  it('skip-group: the group of the item without gold is left out of the batch', async () => {
    const { backend, result } = await twoItems('skip-group');
    expect(backend.trained[0].batch).toHaveLength(2);
    expect(backend.trained[0].batch.every((ex) => ex.prompt.item.id === 'it')).toBe(true);
    expect(result.metrics['judge/skipped_groups']).toBe(1);
    expect(result.metrics['judge/no_gold']).toBe(2);
  });

  it('a gold item alone counts no judge/no_gold', async () => {
    const { result } = await step('mrpo');
    expect(result.metrics['judge/no_gold']).toBe(0);
  });
});
