/**
 * The `semantic` configuration key shared by `train`, `serve` and `shape`:
 * `semantic: { model: DIR, layer?: N }` names a local BERTScore model directory
 * (bertscore.ts; never downloaded). Without it the answer reward's semantic
 * weight has no scorer, which `describeAnswerReward` says once at start.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { createBertScorer, type BertScorer } from './bertscore.js';

export const semanticConfigSchema = z
  .object({
    /** Local model directory: config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx. */
    model: z.string().min(1),
    /** Hidden layer whose states are the token embeddings (bert_score num_layers; default 12, as the reference's BiomedBERT). */
    layer: z.number().int().min(1).optional(),
  })
  .strict();

export type SemanticConfig = z.infer<typeof semanticConfigSchema>;

/** Loads the configured scorer (paths relative to `cwd`), or null when none is configured. */
export async function openSemanticScorer(config: SemanticConfig | undefined, cwd: string): Promise<BertScorer | null> {
  if (config === undefined) return null;
  return createBertScorer({ modelDir: resolve(cwd, config.model), layer: config.layer });
}
