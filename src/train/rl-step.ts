/**
 * One RL step (docs/method.md §3–§6, the same for GRPO, GDPO and MRPO): sample G
 * completions for each of P prompts → steps → judge → rewards → advantages
 * from the estimator registry, with the completions' token offsets, so MRPO's
 * step-wise shaping lands on the tokens of each step → per-token advantages →
 * `backend.train` with the clipped-surrogate + k3-KL loss → metrics.
 *
 * Unjudged completions (a judge failure) follow the configured policy:
 * `no-labels` keeps them with R_proc = 0 and no shaping (the reference's
 * behaviour, but counted in `judge/unjudged`); `skip-group` leaves their whole
 * group out of the batch (counted in `judge/skipped_groups`). Items without a
 * gold rationale follow `noGold` the same way (`answer-only` or `skip-group`).
 */
import { computeAdvantages, type CompletionAdvantage } from '../algo/advantages/index.js';
import type { LossSpec, OptimizerSpec, PolicyBackend, Prompt, TrainExample } from '../backends/backend.js';
import type { Item } from '../types.js';
import type { TrainConfig } from './config.js';
import { hasGoldReasoning, judgeGroups, promptFor, type JudgedCompletion, type TrainTask } from './rollout.js';
import { rolloutMetrics } from './step-metrics.js';

export interface RlStepInput {
  readonly config: TrainConfig;
  readonly backend: PolicyBackend;
  readonly task: TrainTask;
  readonly items: readonly Item[];
  readonly sampleSeed: number;
  readonly optimizer: OptimizerSpec;
  readonly now: () => number;
}

/** One rollout as written to samples.jsonl. */
export interface SampleRecord {
  readonly step: number;
  readonly item: string;
  readonly question: string;
  readonly gold: string;
  readonly text: string;
  readonly answer: string;
  readonly rewards: { answer: number; process: number; length: number };
  readonly correct: boolean;
  readonly unjudged: string | null;
  /** Sequence advantage A_i. */
  readonly advantage: number;
  /** One entry per step: text, label (null = no labels) and the advantage its tokens got. */
  readonly steps: ReadonlyArray<{ text: string; label: 0 | 1 | null; advantage: number }>;
  /** The shaped per-token advantages (rounded to 4 decimals). */
  readonly tokenAdvantages: readonly number[];
}

export interface RlStepResult {
  readonly metrics: Record<string, number>;
  readonly samples: Omit<SampleRecord, 'step'>[];
}

export function lossSpecOf(config: TrainConfig): LossSpec {
  return {
    kind: 'policy-gradient',
    beta: config.beta,
    epsLow: config.epsLow,
    epsHigh: config.epsHigh,
    aggregation: config.lossAggregation,
    constant: config.maxTokens,
  };
}

const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;

export async function rlStep(input: RlStepInput): Promise<RlStepResult> {
  const { config, backend, task, items, now } = input;
  if (config.algorithm === 'sft') throw new Error('rlStep called for algorithm sft');
  const t0 = now();
  const prompts = items.map((item) => promptFor(task, item));
  const completions_P_G = await backend.sample(prompts, config.groupSize, {
    temperature: config.temperature,
    maxTokens: config.maxTokens,
    seed: input.sampleSeed,
  });
  const t1 = now();
  const judged_P_G = await judgeGroups(items, completions_P_G, task.trainStepJudge ?? task.stepJudge, config, task.semantic);
  const t2 = now();

  // Groups that enter the advantage estimator and the batch.
  const kept_P = judged_P_G.map(
    (group, p) =>
      (config.unjudged !== 'skip-group' || group.every((c) => c.unjudged === null)) &&
      (config.noGold !== 'skip-group' || hasGoldReasoning(items[p])),
  );
  const keptGroups = judged_P_G.filter((_, p) => kept_P[p]);
  const adv = computeAdvantages(config.algorithm, {
    groups: keptGroups.map((group) => ({
      completions: group.map((c) => ({ rewards: c.rewards, steps: c.steps, stepLabels: c.labels, tokenOffsets: c.completion.tokenOffsets })),
    })),
    options: { tau: config.tau, roundWeights: config.roundWeights },
  });

  const { batch, shaped_P_G } = buildBatch(judged_P_G, kept_P, adv.value.groups, prompts);

  let trainMetrics: Record<string, number> = {};
  if (batch.length > 0) trainMetrics = { ...(await backend.train(batch, lossSpecOf(config), input.optimizer)) };
  const t3 = now();

  const all = judged_P_G.flat();
  const tokens = all.reduce((a, c) => a + c.completion.tokenIds.length, 0);
  const metrics: Record<string, number> = {
    ...rolloutMetrics(all),
    ...adv.metrics,
    ...trainMetrics,
    'judge/skipped_groups': kept_P.filter((x) => !x).length,
    'time/sample_s': (t1 - t0) / 1000,
    'time/judge_s': (t2 - t1) / 1000,
    'time/train_s': (t3 - t2) / 1000,
    'time/step_s': (t3 - t0) / 1000,
    'perf/sample_tokens_per_s': t1 > t0 ? tokens / ((t1 - t0) / 1000) : 0,
    'perf/train_tokens_per_s': t3 > t2 ? tokens / ((t3 - t2) / 1000) : 0,
  };

  return { metrics, samples: sampleRecords(items, judged_P_G, shaped_P_G, config.samplesPerStep) };
}

interface Shaped {
  readonly judged: JudgedCompletion;
  readonly adv: CompletionAdvantage;
  readonly advantages_T: number[];
}

/** The training batch of the kept groups (per-token advantages: MRPO's shaped ones, else A_i on every token), and each completion's shaping (null for a left-out group). */
function buildBatch(
  judged_P_G: readonly JudgedCompletion[][],
  kept_P: readonly boolean[],
  advGroups: ReadonlyArray<{ readonly completions: readonly CompletionAdvantage[] }>,
  prompts: readonly Prompt[],
): { batch: TrainExample[]; shaped_P_G: Array<Array<Shaped | null>> } {
  const batch: TrainExample[] = [];
  const shaped_P_G: Array<Array<Shaped | null>> = [];
  let k = 0;
  for (let p = 0; p < judged_P_G.length; p++) {
    if (!kept_P[p]) {
      shaped_P_G.push(judged_P_G[p].map(() => null));
      continue;
    }
    const advGroup = advGroups[k++].completions;
    shaped_P_G.push(
      judged_P_G[p].map((judged, g) => {
        const a = advGroup[g];
        const T = judged.completion.tokenIds.length;
        const advantages_T = a.tokenAdvantages !== undefined ? Array.from(a.tokenAdvantages) : new Array<number>(T).fill(a.advantage);
        batch.push({ prompt: prompts[p], completion: judged.completion, advantages_T });
        return { judged, adv: a, advantages_T };
      }),
    );
  }
  return { batch, shaped_P_G };
}

/** The first groups' rollouts, as samples.jsonl records (at most `limit`). */
function sampleRecords(
  items: readonly Item[],
  judged_P_G: readonly JudgedCompletion[][],
  shaped_P_G: ReadonlyArray<ReadonlyArray<Shaped | null>>,
  limit: number,
): Omit<SampleRecord, 'step'>[] {
  const samples: Omit<SampleRecord, 'step'>[] = [];
  for (let p = 0; p < items.length && samples.length < limit; p++)
    for (let g = 0; g < judged_P_G[p].length && samples.length < limit; g++) {
      const j = judged_P_G[p][g];
      const s = shaped_P_G[p][g];
      const a = s?.adv;
      samples.push({
        item: items[p].id,
        question: items[p].question,
        gold: items[p].answer,
        text: j.completion.text,
        answer: j.answer,
        rewards: { answer: round4(j.rewards.answer), process: round4(j.rewards.process), length: round4(j.rewards.length) },
        correct: j.equivalent,
        unjudged: j.unjudged,
        advantage: round4(a?.advantage ?? 0),
        steps: j.steps.map((st, i) => ({
          text: st.text,
          label: j.labels === null ? null : (j.labels[i] ?? 0),
          advantage: round4(a?.stepAdvantages?.[i] ?? a?.advantage ?? 0),
        })),
        tokenAdvantages: (s?.advantages_T ?? []).map(round4),
      });
    }
  return samples;
}
