/**
 * The composition root of training (docs/architecture.md: only src/cli picks concrete
 * parts): the task (dataset + SFT targets + judge) and the policy backend a
 * training config names. Shared by `mrpo train`, `mrpo demo` and
 * `mrpo experiment`.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { resolve } from 'node:path';
import type { PolicyBackend } from '../backends/backend.js';
import { createEmbeddedBackend, loadEmbeddedBackend } from '../backends/embedded/index.js';
import { createTinkerBackendFromConfig } from '../backends/tinker/index.js';
import { collectItems } from '../data/dataset.js';
import { itemsDataset } from '../data/items-jsonl.js';
import { openVerdictCache } from '../judges/cache.js';
import { createOfflineAnswerJudge } from '../judges/offline/answer-judge.js';
import { createOfflineStepJudge } from '../judges/offline/step-judge.js';
import { createOpenAIAnswerJudge } from '../judges/openai/answer-judge.js';
import { createJudgeEndpoint, judgeApiKeyFromEnv } from '../judges/openai/endpoint.js';
import { createOpenAIStepJudge } from '../judges/openai/step-judge.js';
import type { Item } from '../types.js';
import { goldCompletion, referencePrompt, renderPrompt } from '../data/prompt.js';
import {
  DEFAULT_WARM_START_MIX,
  generateItems,
  syntheticCorpus,
  warmStartChain,
  type SyntheticItem,
} from '../data/synthetic/index.js';
import { ConfigError, InputError } from '../errors.js';
import { withJudgeNoise } from '../judges/noise.js';
import { openSemanticScorer } from '../rewards/semantic-config.js';
import { createSyntheticJudge } from '../judges/synthetic/exact-judge.js';
import type { TrainConfig } from '../train/config.js';
import { hasGoldReasoning, type TrainTask } from '../train/rollout.js';

/**
 * The task a config names: the synthetic task with its exact judge, or item
 * files (`dataset: items`) judged by the offline or an OpenAI-compatible judge.
 * `cwd` resolves relative paths; `env` supplies the judge's key.
 */
export async function createTask(
  config: TrainConfig,
  cwd: string = process.cwd(),
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<TrainTask> {
  const tag = config.thinkTag;
  const { seed, trainSize, testSize } = config.dataset;
  let trainItems: readonly Item[];
  let evalItems: readonly Item[];
  if (config.dataset.name === 'synthetic') {
    trainItems = generateItems(seed, 'train', trainSize);
    evalItems = generateItems(seed, 'test', testSize);
  } else {
    const { train, test } = config.dataset;
    if (train === undefined || test === undefined)
      throw new ConfigError('dataset', 'dataset.name "items" needs dataset.train and dataset.test (item files: JSONL or the reference JSON)');
    trainItems = (await collectItems(itemsDataset(resolve(cwd, train)))).slice(0, trainSize);
    evalItems = (await collectItems(itemsDataset(resolve(cwd, test)))).slice(0, testSize);
    if (trainItems.length === 0) throw new ConfigError('dataset.train', `${train} has no items`);
    if (evalItems.length === 0) throw new ConfigError('dataset.test', `${test} has no items`);
  }
  const judges = createJudges(config, cwd, env);
  // Training may see a noisy judge; evaluation always uses the clean one.
  const trainStepJudge = config.judgeNoise.rate > 0 ? withJudgeNoise(judges.stepJudge, config.judgeNoise, config.seed) : undefined;
  const semantic = await openSemanticScorer(config.semantic, cwd);
  return {
    ...(trainStepJudge === undefined ? {} : { trainStepJudge }),
    ...(semantic === null ? {} : { semantic }),
    name: config.dataset.name,
    trainItems,
    evalItems,
    ...judges,
    // The synthetic task keeps its own wording (the embedded vocabulary); real items get the reference's prompt.
    promptText: (item) => (config.dataset.name === 'synthetic' ? renderPrompt(item.question, tag) : referencePrompt(item.question, tag)),
    sftTarget: (item, rng) => {
      if (config.sftData === 'warm-start-mix' && 'facts' in item) return warmStartChain(item as SyntheticItem, rng, DEFAULT_WARM_START_MIX, tag).text;
      if (item.goldReasoning === undefined) throw new InputError(`item ${item.id}`, 'SFT needs a gold rationale (goldReasoning)');
      return goldCompletion(item.goldReasoning, item.answer, tag);
    },
  };
}

/**
 * Training items without a gold rationale (the step judge needs one), checked
 * before the run directory exists: `noGold: refuse` fails naming the first such
 * item; otherwise a one-line warning of what happens to them, or null when every
 * item has one. SFT needs a rationale for every item and fails on its own.
 */
export function noGoldWarning(config: TrainConfig, task: Pick<TrainTask, 'trainItems'>): string | null {
  if (config.algorithm === 'sft') return null;
  const without = task.trainItems.filter((item) => !hasGoldReasoning(item));
  if (without.length === 0) return null;
  const share = `${without.length} of ${task.trainItems.length} training items have no gold rationale (first: ${without[0].id})`;
  if (config.noGold === 'refuse') throw new ConfigError('noGold', `${share}; add goldReasoning, or set noGold to answer-only or skip-group`);
  const effect =
    config.noGold === 'skip-group'
      ? 'their groups are not trained on (judge/skipped_groups)'
      : `their completions get no step labels: R_proc = 0 and no step shaping${config.algorithm === 'mrpo' ? ' (MRPO acts as GRPO on them)' : ''}; counted in judge/no_gold`;
  return `warning: ${share}: ${effect} (config noGold: ${config.noGold})`;
}

function createJudges(
  config: TrainConfig,
  cwd: string,
  env: Readonly<Record<string, string | undefined>>,
): Pick<TrainTask, 'stepJudge' | 'answerJudge'> {
  switch (config.judge) {
    case 'exact-synthetic': {
      if (config.dataset.name !== 'synthetic')
        throw new ConfigError('judge', 'the exact-synthetic judge only knows the synthetic task; use judge "offline" or "openai" for item files');
      const judge = createSyntheticJudge();
      return { stepJudge: judge, answerJudge: judge };
    }
    case 'offline':
      return { stepJudge: createOfflineStepJudge(), answerJudge: createOfflineAnswerJudge() };
    case 'openai': {
      const e = config.judgeEndpoint;
      if (e.baseUrl === undefined && judgeApiKeyFromEnv(env) === undefined)
        throw new ConfigError('judge', '"openai" needs MRPO_JUDGE_API_KEY (or OPENAI_API_KEY) in the environment, or judgeEndpoint.baseUrl of a local server');
      const endpoint = createJudgeEndpoint({
        baseUrl: e.baseUrl,
        model: e.model,
        apiKey: judgeApiKeyFromEnv(env),
        concurrency: e.concurrency,
        cache: openVerdictCache(resolve(cwd, e.cache)),
      });
      return { stepJudge: createOpenAIStepJudge(endpoint), answerJudge: createOpenAIAnswerJudge(endpoint) };
    }
  }
}

/**
 * The policy a config starts from: the `init` checkpoint (a warm start, which
 * then becomes the frozen KL reference, docs/method.md §6) or fresh seeded weights
 * with the task's vocabulary.
 */
export async function createBackend(
  config: TrainConfig,
  env: Readonly<Record<string, string | undefined>> = process.env,
  log: (message: string) => void = () => {},
): Promise<PolicyBackend> {
  if (config.backend.name === 'tinker') {
    if (config.init !== undefined) throw new ConfigError('init', 'the tinker backend starts from its base model (resume a tinker run with --resume)');
    if (config.dataset.name === 'synthetic' && config.judge === 'exact-synthetic') log('note: training a Tinker model on the synthetic task (set dataset.name: items for real data)');
    return createTinkerBackendFromConfig(config.backend, env, { log: { warn: log } });
  }
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
