/**
 * The embedded CPU policy (issue 4): `createEmbeddedBackend`, `loadEmbeddedBackend`
 * and the tokenizer. See embedded-backend.ts for the conventions the loop relies on.
 *
 * The tensor engine (TensorFlow.js + its wasm backend, ~1–3 s to import) is
 * loaded on the first call of a factory, not when this module is imported, so
 * CLI commands that never build a policy start fast.
 */
import type { EmbeddedBackend, EmbeddedBackendOptions } from './embedded-backend.js';

export type { EmbeddedBackend, EmbeddedBackendOptions } from './embedded-backend.js';
export { ModelConfigSchema, type ModelConfig, type ModelConfigInput } from './config.js';
export { WordTokenizer, PAD, UNK, BOS, EOS, type Encoded, type Decoded, type TokenizerOptions } from './tokenizer.js';

/** A new embedded policy with seeded random weights and a vocabulary from `corpus` (or `vocab`). */
export async function createEmbeddedBackend(options: EmbeddedBackendOptions): Promise<EmbeddedBackend> {
  const impl = await import('./embedded-backend.js');
  return impl.createEmbeddedBackend(options);
}

/** An embedded policy restored from a checkpoint directory written by `save`. */
export async function loadEmbeddedBackend(dir: string): Promise<EmbeddedBackend> {
  const impl = await import('./embedded-backend.js');
  return impl.loadEmbeddedBackend(dir);
}
