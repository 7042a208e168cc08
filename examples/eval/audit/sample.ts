/**
 * How examples/eval/audit/completions.jsonl was made (kept for provenance; the
 * shipped file is what counts): 30 synthetic test items (dataset seed 0),
 * one sample each at temperature 1 from the committed warm start
 * (assets/warm-start), written in `mrpo infer`'s output format.
 *   node --import tsx examples/eval/audit/sample.ts > examples/eval/audit/completions.jsonl
 */
import { loadEmbeddedBackend } from '../../../src/backends/embedded/index.js';
import { extractAnswer, segmentSteps } from '../../../src/algo/steps.js';
import { renderPrompt } from '../../../src/data/prompt.js';
import { generateItems } from '../../../src/data/synthetic/index.js';
import { policyDirOf } from '../../../src/cli/training-setup.js';
import { BUNDLED_WARM_START } from '../../../src/cli/commands/demo.js';

const items = generateItems(0, 'test', 30);
const backend = await loadEmbeddedBackend(await policyDirOf(BUNDLED_WARM_START));
const out = await backend.sample(items.map((item) => ({ item, text: renderPrompt(item.question) })), 1, { temperature: 1, maxTokens: 72, seed: 11 });
items.forEach((item, i) => {
  const completion = out[i][0].text;
  const think = /<think>([\s\S]*?)<\/think>/.exec(completion)?.[1] ?? '';
  process.stdout.write(
    `${JSON.stringify({ id: item.id, source: 'synthetic', question: item.question, answer: item.answer, goldReasoning: item.goldReasoning, sample: 0, completion, think, prediction: extractAnswer(completion), steps: segmentSteps(completion, { splitter: 'regex' }) })}\n`,
  );
});
