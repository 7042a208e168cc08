/**
 * The training loop around the policy: synthetic-task generation, the exact
 * judge, and one full RL step at the demo's size (8 prompts × 8 completions on
 * the default embedded policy: sample → steps → judge → rewards → MRPO
 * advantages → train), split into its phases.
 */
import { performance } from 'node:perf_hooks';
import { createTask, createBackend } from '../src/cli/training-setup.js';
import { generateItems, warmStartChain } from '../src/data/synthetic/index.js';
import { createSyntheticJudge } from '../src/judges/synthetic/exact-judge.js';
import { segmentSteps } from '../src/algo/steps.js';
import { resolveConfig } from '../src/train/config.js';
import { optimizerAt } from '../src/train/loop.js';
import { rlStep } from '../src/train/rl-step.js';
import { createRng } from '../src/utils/rng.js';

export async function run(): Promise<void> {
  let t0 = performance.now();
  const items = generateItems(0, 'train', 2000);
  console.log(`synthetic items (32×32 image + rationale): ${(2000 / ((performance.now() - t0) / 1000)).toFixed(0)} items/s`);

  const judge = createSyntheticJudge();
  const rng = createRng(1);
  const requests = items.slice(0, 500).map((item) => ({ item, steps: segmentSteps(warmStartChain(item, rng).text).map((s) => s.text) }));
  const stepCount = requests.reduce((a, r) => a + r.steps.length, 0);
  t0 = performance.now();
  for (let rep = 0; rep < 4; rep++) for (const r of requests) await judge.judgeSteps(r);
  console.log(`exact synthetic judge: ${((4 * stepCount) / ((performance.now() - t0) / 1000)).toFixed(0)} steps/s`);

  const config = resolveConfig({ algorithm: 'mrpo', promptsPerStep: 8, groupSize: 8, dataset: { trainSize: 64, testSize: 8 } }, 'bench');
  const task = await createTask(config);
  const backend = await createBackend(config);
  try {
    for (let step = 1; step <= 2; step++) {
      const r = await rlStep({
        config,
        backend,
        task,
        items: task.trainItems.slice(8 * step, 8 * step + 8),
        sampleSeed: step,
        optimizer: optimizerAt(config, step),
        now: () => performance.now(),
      });
      if (step === 1) continue; // warm-up (engine init, kernel compilation)
      const m = r.metrics;
      console.log(`rl step (8×8, default policy, ≤${config.maxTokens} new tokens): ${m['time/step_s'].toFixed(2)} s`);
      console.log(`rl step sampling: ${m['time/sample_s'].toFixed(2)} s (${m['perf/sample_tokens_per_s'].toFixed(0)} tokens/s)`);
      console.log(`rl step judging + rewards: ${(m['time/judge_s'] * 1000).toFixed(1)} ms`);
      console.log(`rl step training: ${m['time/train_s'].toFixed(2)} s (${m['perf/train_tokens_per_s'].toFixed(0)} completion tokens/s)`);
    }
  } finally {
    await backend.close();
  }
}
