/**
 * One SFT step (docs/method.md §7 "SFT"): cross-entropy on target completions in the
 * think/answer format — gold rationale + answer for the SFT baseline, or the
 * task's warm-start mix of gold and early-wrong chains for the warm start.
 */
import type { OptimizerSpec, PolicyBackend, TrainExample } from '../backends/backend.js';
import type { Item } from '../types.js';
import type { Rng } from '../utils/rng.js';
import { promptFor, type TrainTask } from './rollout.js';

export async function sftStep(input: {
  readonly backend: PolicyBackend;
  readonly task: TrainTask;
  readonly items: readonly Item[];
  readonly rng: Rng;
  readonly optimizer: OptimizerSpec;
  readonly now: () => number;
}): Promise<Record<string, number>> {
  const t0 = input.now();
  const batch: TrainExample[] = input.items.map((item) => ({
    prompt: promptFor(input.task, item),
    // The backend re-encodes `text` for SFT; ids, log-probs and advantages are not used.
    completion: { text: input.task.sftTarget(item, input.rng), tokenIds: [], logprobs: [], tokenOffsets: [], finishReason: 'stop' },
    advantages_T: [],
  }));
  const metrics = await input.backend.train(batch, { kind: 'sft' }, input.optimizer);
  const t1 = input.now();
  return { ...metrics, 'time/train_s': (t1 - t0) / 1000, 'time/step_s': (t1 - t0) / 1000 };
}
