/**
 * TEST SUPPORT ONLY. The answers in which hosted Tinker and SkyRL tx differ,
 * for the test server (server.ts). `hosted` follows the Tinker SDK's response
 * types (tinker d595dc2: ClientConfigResponse, SupportedModel, GetInfoResponse);
 * `skyrl` follows SkyRL a956457's `skyrl/tinker/api.py` response models and
 * `skyrl/backends/jax.py`, written from reading them (no code copied), and
 * checked against a live a956457 server on 2026-12-07 (client/config,
 * capabilities, get_info with status "created", a seed ≥ 2³¹ failing its
 * future with 400 `{detail}` at retrieve_future):
 * - client/config is a stub: `{pjwt_auth_enabled: false}` and nothing else;
 * - get_server_capabilities lists `{model_name}` only (no context length);
 * - get_info: `{model_id, status, model_data: {base_model, lora_config: {rank, seed}, model_name}}`;
 * - create_model checks the rank (≤ max_lora_rank, default 32) and a free
 *   adapter slot (slot 0 is the base model: max_lora_adapters N holds N−1
 *   models) when the engine runs it, so the future fails (400 at retrieve);
 * - forward_backward metrics are `{}`; optim_step metrics `skyrl.ai/grad_norm`
 *   and `skyrl.ai/learning_rate`; AdamParams has no grad_clip_norm (dropped);
 * - a sampling seed above int32 fails the sample future (JAX PRNGKey from an
 *   int32 array), again 400 at retrieve.
 */

export type Personality = 'hosted' | 'skyrl';

export interface PersonalityOptions {
  /** SkyRL `max_lora_rank` (default 32). */
  readonly maxLoraRank?: number;
  /** SkyRL `max_lora_adapters` (default 32, i.e. 31 models). */
  readonly maxLoraAdapters?: number;
}

/** The flags hosted Tinker resolves per caller (a subset of the SDK's ClientConfigResponse, at the SDK defaults). */
const HOSTED_CLIENT_FLAGS = {
  credential_default_source: 'api_key',
  parallel_fwdbwd_chunks: true,
  proto_compress_fwdbwd: false,
  fwdbwd_max_chunk_len: 1024,
  fwdbwd_max_chunk_bytes_count: 5_000_000,
  sample_max_concurrent_requests: 2000,
} as const;

export function clientConfigBody(p: Personality, jwt: boolean): Record<string, unknown> {
  return p === 'skyrl' ? { pjwt_auth_enabled: false } : { pjwt_auth_enabled: jwt, ...HOSTED_CLIENT_FLAGS };
}

export function capabilitiesBody(p: Personality, models: readonly string[]): Record<string, unknown> {
  return { supported_models: models.map((model_name) => (p === 'skyrl' ? { model_name } : { model_name, max_context_length: 32768 })) };
}

export function getInfoBody(p: Personality, model: { id: string; baseModel: string; rank: number }): Record<string, unknown> {
  if (p === 'skyrl') return { model_id: model.id, status: 'created', model_data: { base_model: model.baseModel, lora_config: { rank: model.rank, seed: null }, model_name: model.baseModel } };
  return { model_id: model.id, model_data: { arch: 'fake', model_name: model.baseModel, tokenizer_id: model.baseModel }, is_lora: true, lora_rank: model.rank, model_name: model.baseModel };
}

/** The engine-side create_model checks of SkyRL (the error texts of skyrl/backends/jax.py); undefined when it may proceed. */
export function createModelRefusal(p: Personality, o: PersonalityOptions, rank: number, liveModels: number): string | undefined {
  if (p !== 'skyrl') return undefined;
  const slots = o.maxLoraAdapters ?? 32;
  if (liveModels >= slots - 1) return `Maximum number of LoRA adapters (${slots}) reached`;
  const maxRank = o.maxLoraRank ?? 32;
  if (!(rank > 0 && rank <= maxRank)) return `LoRA rank ${rank} must be between 1 and ${maxRank}`;
  return undefined;
}

export function forwardBackwardMetrics(p: Personality, loss: number): Record<string, number> {
  return p === 'skyrl' ? {} : { 'loss:sum': loss };
}

export function optimStepMetrics(p: Personality, policyMetrics: Record<string, number>, learningRate: number): Record<string, number> {
  if (p !== 'skyrl') return policyMetrics;
  // the bigram policy reports grad_norm:mean, the embedded one grad/norm:mean
  const norm = Object.entries(policyMetrics).find(([k]) => k.startsWith('grad_norm') || k.startsWith('grad/norm'))?.[1] ?? 0;
  return { 'skyrl.ai/grad_norm': norm, 'skyrl.ai/learning_rate': learningRate };
}

/** The sample failure of SkyRL's JAX sampler for a seed outside int32; undefined when fine. */
export function seedRefusal(p: Personality, seed: unknown): string | undefined {
  if (p === 'skyrl' && typeof seed === 'number' && seed > 2 ** 31 - 1) return `OverflowError: Python integer ${seed} out of bounds for int32`;
  return undefined;
}
