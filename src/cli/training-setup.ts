/**
 * The composition root of training (design.md: only src/cli picks concrete
 * parts): the task (dataset + SFT targets + judge) and the policy backend a
 * training config names. Shared by `mrpo train`, `mrpo demo` and
 * `mrpo experiment`.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createEmbeddedBackend, loadEmbeddedBackend, type EmbeddedBackend } from '../backends/embedded/index.js';
import { goldCompletion, renderPrompt } from '../data/prompt.js';
import {
  DEFAULT_WARM_START_MIX,
  generateItems,
  syntheticCorpus,
  warmStartChain,
  type SyntheticItem,
} from '../data/synthetic/index.js';
import { InputError } from '../errors.js';
import { createSyntheticJudge } from '../judges/synthetic/exact-judge.js';
import type { TrainConfig } from '../train/config.js';
import type { TrainTask } from '../train/rollout.js';

export function createTask(config: TrainConfig): TrainTask {
  const judge = createSyntheticJudge();
  const { seed, trainSize, testSize } = config.dataset;
  const trainItems = generateItems(seed, 'train', trainSize);
  const evalItems = generateItems(seed, 'test', testSize);
  const tag = config.thinkTag;
  return {
    name: 'synthetic',
    trainItems,
    evalItems,
    stepJudge: judge,
    answerJudge: judge,
    promptText: (item) => renderPrompt(item.question, tag),
    sftTarget: (item, rng) => {
      if (config.sftData === 'warm-start-mix' && 'facts' in item) return warmStartChain(item as SyntheticItem, rng, DEFAULT_WARM_START_MIX, tag).text;
      if (item.goldReasoning === undefined) throw new InputError(`item ${item.id}`, 'SFT needs a gold rationale (goldReasoning)');
      return goldCompletion(item.goldReasoning, item.answer, tag);
    },
  };
}

/**
 * The policy a config starts from: the `init` checkpoint (a warm start, which
 * then becomes the frozen KL reference, mrpo.md §6) or fresh seeded weights
 * with the task's vocabulary.
 */
export async function createBackend(config: TrainConfig): Promise<EmbeddedBackend> {
  if (config.init !== undefined) {
    const dir = await policyDirOf(config.init);
    const backend = await loadEmbeddedBackend(dir);
    backend.setReference();
    return backend;
  }
  const b = config.backend;
  const model: Record<string, number> = {};
  if (b.dModel !== undefined) model.dModel = b.dModel;
  if (b.layers !== undefined) model.layers = b.layers;
  if (b.heads !== undefined) model.heads = b.heads;
  if (b.ffDim !== undefined) model.ffDim = b.ffDim;
  return createEmbeddedBackend({ seed: config.seed, corpus: syntheticCorpus(), model });
}

/** Accepts a checkpoint dir (`…/step-N`), its `policy/` dir, or a run dir (its latest checkpoint). */
export async function policyDirOf(path: string): Promise<string> {
  const isFile = async (p: string) => {
    try {
      return (await stat(p)).isFile();
    } catch {
      return false;
    }
  };
  if (await isFile(join(path, 'tokenizer.json'))) return path;
  if (await isFile(join(path, 'policy', 'tokenizer.json'))) return join(path, 'policy');
  try {
    const steps = (await readdir(join(path, 'checkpoints')))
      .map((n) => /^step-(\d+)$/.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => b - a);
    for (const s of steps) {
      const p = join(path, 'checkpoints', `step-${s}`, 'policy');
      if (await isFile(join(p, 'tokenizer.json'))) return p;
    }
  } catch {
    // not a run directory
  }
  throw new InputError(path, 'not a checkpoint: expected a run directory, a checkpoints/step-N directory or a policy directory');
}
