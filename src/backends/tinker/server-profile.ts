/**
 * What the server is and what it can do, decided before the first training
 * request from its own answers: `client/config` (at connect),
 * `get_server_capabilities`, and `get_info` of the model once created. The
 * backend refuses a config the server cannot honour (a base model it does not
 * serve, image prompts on a server that renders none, a LoRA rank above its
 * limit) and warns, one line each, about settings it ignores; `mrpo tinker
 * check` prints the same profile.
 *
 * How SkyRL tx is told from hosted Tinker — from the response models of
 * SkyRL a956457's `skyrl/tinker/api.py`, against the Tinker SDK's types:
 * - `client/config`: SkyRL's handler is a stub returning
 *   `ClientConfigResponse()`, a model with the single field
 *   `pjwt_auth_enabled` (false), so its body is exactly
 *   `{"pjwt_auth_enabled": false}`. Hosted Tinker resolves the SDK's feature
 *   flags per caller (the SDK's ClientConfigResponse: chunk limits,
 *   `proto_compress_fwdbwd`, `parallel_fwdbwd_chunks`, …), so its body names
 *   other fields, and a JWT handshake (`pjwt_auth_enabled: true`) is never
 *   SkyRL's.
 * - `get_server_capabilities`: SkyRL's `SupportedModel` has `model_name` only;
 *   the SDK's also has `max_context_length`. A listed context length means
 *   not SkyRL.
 * - `get_info`: SkyRL's `ModelData` is `{base_model, lora_config, model_name}`;
 *   the SDK's is `{arch, model_name, tokenizer_id}`. `base_model` or
 *   `lora_config` in `model_data` means SkyRL (this one is decisive and
 *   overrides the first two).
 * SkyRL is therefore: a client/config with no field but `pjwt_auth_enabled`
 * (not true) and no context length in the capabilities — or a SkyRL-shaped
 * get_info. Anything else is treated as hosted Tinker. (Hosted behaviour is
 * read from the SDK, not measured: no hosted run was possible. So that a
 * sparser hosted answer than the SDK allows for can never make hosted Tinker
 * look like SkyRL, hosted Tinker's own base URL counts as hosted, unless
 * get_info says otherwise.)
 */
import { ConfigError, RemoteError } from '../../errors.js';
import type { SupportedModel, TinkerClient } from './client.js';
import { HOSTED_TINKER_BASE_URL, type TinkerBackendConfig } from './config.js';
import type { WireFormat } from './wire.js';

export type ServerKind = 'hosted' | 'skyrl';

/** A setting the server does not apply: the key (or thing) and what the server does instead. */
export interface IgnoredSetting {
  readonly setting: string;
  readonly note: string;
}

export interface ServerProfile {
  readonly kind: ServerKind;
  /** The answers that decided `kind`, in words. */
  readonly evidence: string;
  /** Base models listed by get_server_capabilities (empty: not listed, or the call failed). */
  readonly models: readonly SupportedModel[];
  /** Whether image chunks are rendered into the model input (SkyRL: only when the user says so). */
  readonly rendersImages: boolean;
  readonly imagesNote: string;
  readonly wireFormat: WireFormat;
  readonly sdkVersion: string;
  /** The largest LoRA rank, when the server reports it (neither server does today). */
  readonly loraRankLimit?: number;
  readonly loraRankNote: string;
  /** Settings the server ignores, whatever the config says. */
  readonly ignored: readonly IgnoredSetting[];
}

/** SkyRL's `max_lora_rank` default (skyrl/backends/jax.py a956457); the server does not report its value. */
const SKYRL_DEFAULT_MAX_LORA_RANK = 32;

/** Field names of `client/config` that SkyRL a956457 sends. */
const SKYRL_CLIENT_CONFIG_FIELDS = new Set(['pjwt_auth_enabled']);

export interface KindEvidence {
  /** The API root the client talks to. */
  readonly baseUrl?: string;
  readonly clientConfigKeys: readonly string[];
  readonly usesJwt: boolean;
  /** From TinkerClient.serverCapabilities (undefined: the call failed). */
  readonly capabilityFields?: readonly string[];
  /** `model_data` of a get_info answer. */
  readonly modelData?: Readonly<Record<string, unknown>>;
}

function isHostedTinkerUrl(url: string): boolean {
  try {
    return new URL(url).hostname === new URL(HOSTED_TINKER_BASE_URL).hostname;
  } catch {
    return false;
  }
}

const SKYRL_INFO_EVIDENCE = 'get_info model_data has base_model/lora_config (SkyRL ModelData)';

function skyrlModelData(d: Readonly<Record<string, unknown>> | undefined): boolean {
  return d !== undefined && ('base_model' in d || 'lora_config' in d);
}

/** The server kind by the rule in the module comment, and why. */
export function detectServerKind(e: KindEvidence): { kind: ServerKind; evidence: string } {
  if (skyrlModelData(e.modelData)) return { kind: 'skyrl', evidence: SKYRL_INFO_EVIDENCE };
  const extra = e.clientConfigKeys.filter((k) => !SKYRL_CLIENT_CONFIG_FIELDS.has(k));
  if (e.baseUrl !== undefined && isHostedTinkerUrl(e.baseUrl)) return { kind: 'hosted', evidence: "the base URL is hosted Tinker's" };
  if (e.usesJwt) return { kind: 'hosted', evidence: 'client/config enabled JWT auth (SkyRL never does)' };
  if (extra.length > 0) return { kind: 'hosted', evidence: `client/config sent feature flags (${extra.slice(0, 3).join(', ')}${extra.length > 3 ? ', …' : ''})` };
  if (e.capabilityFields?.includes('supported_models[].max_context_length'))
    return { kind: 'hosted', evidence: 'get_server_capabilities lists max_context_length' };
  return { kind: 'skyrl', evidence: 'client/config has only pjwt_auth_enabled and no context length is listed (SkyRL stub)' };
}

/** Reads the capabilities and decides the profile; a failed capabilities call is tolerated with a warning (`strict`: thrown). */
export async function probeServer(
  client: TinkerClient,
  config: Pick<TinkerBackendConfig, 'serverRendersImages'> & Partial<Pick<TinkerBackendConfig, 'serverReduction' | 'loraRank'>>,
  log?: { warn(message: string): void },
  strict = false,
): Promise<ServerProfile> {
  let caps: { models: SupportedModel[]; fields: string[] } | undefined;
  try {
    caps = await client.serverCapabilities();
  } catch (error) {
    if (strict) throw error;
    log?.warn(`could not list the server's base models, so backend.model is not checked: ${(error as Error).message}`);
  }
  const { kind, evidence } = detectServerKind({ baseUrl: client.baseUrl, clientConfigKeys: client.clientConfigKeys, usesJwt: client.usesJwt, capabilityFields: caps?.fields });
  return buildProfile(kind, evidence, caps?.models ?? [], client, config);
}

/** The profile again after get_info of a created model (which can only turn hosted into skyrl). */
export function refineWithModelInfo(
  profile: ServerProfile,
  modelData: Readonly<Record<string, unknown>> | undefined,
  client: TinkerClient,
  config: Parameters<typeof probeServer>[1],
): ServerProfile {
  if (profile.kind === 'skyrl' || !skyrlModelData(modelData)) return profile;
  return buildProfile('skyrl', SKYRL_INFO_EVIDENCE, profile.models, client, config);
}

function buildProfile(kind: ServerKind, evidence: string, models: readonly SupportedModel[], client: TinkerClient, config: Parameters<typeof probeServer>[1]): ServerProfile {
  const common = { kind, evidence, models, wireFormat: client.wireFormat, sdkVersion: client.sdkVersion };
  if (kind === 'hosted')
    return {
      ...common,
      rendersImages: config.serverRendersImages ?? true,
      imagesNote: config.serverRendersImages === false ? 'backend.serverRendersImages is false' : 'hosted Tinker renders image chunks for its vision models',
      loraRankNote: 'not reported by the server',
      ignored: [],
    };
  const said = config.serverRendersImages;
  const ignored: IgnoredSetting[] = [
    { setting: 'gradClip', note: "SkyRL's AdamParams has no grad_clip_norm: gradients are not clipped" },
    { setting: 'LoRA alpha', note: `fixed at 32 by SkyRL's create_model (scale 32/rank${config.loraRank !== undefined ? ` = ${32 / config.loraRank} at backend.loraRank ${config.loraRank}` : ''}); there is no setting for it` },
    { setting: 'lora_config.train_unembed', note: "SkyRL's LoRAConfig takes rank and seed only: the embedding and unembedding get no LoRA (train_unembed false), attention and MLP do" },
  ];
  if (config.serverReduction === 'sum')
    ignored.push({
      setting: 'backend.serverReduction',
      note: "its JAX backend averages each sequence's loss whatever this says (here: sum); set backend.serverReduction: sequence-mean so the advantages are scaled for it",
    });
  return {
    ...common,
    rendersImages: said === true,
    imagesNote:
      said === true
        ? 'backend.serverRendersImages is true (a SkyRL fsdp/megatron server with a vLLM renderer)'
        : "SkyRL tx reports nothing about rendering; its JAX backend drops image chunks (skyrl/backends/renderer.py), only its fsdp/megatron backends render them through vLLM",
    loraRankNote: `not reported by the server; SkyRL's default max_lora_rank is ${SKYRL_DEFAULT_MAX_LORA_RANK} (a create_model above it fails)`,
    ignored,
  };
}

/** Refuses a `backend.model` the server does not list (SkyRL's create_model never checks base_model: it would train the server's model silently). */
export function checkBaseModel(profile: ServerProfile, model: string): void {
  if (profile.models.length > 0 && !profile.models.some((m) => m.model === model))
    throw new ConfigError('backend.model', `the server does not offer "${model}"; it offers: ${profile.models.map((m) => m.model).join(', ')}`);
}

/** Refuses image prompts (`backend.images: send`; every item has an image) on a server that does not render them. */
export function checkImages(profile: ServerProfile, images: TinkerBackendConfig['images']): void {
  if (images !== 'send' || profile.rendersImages) return;
  throw new ConfigError(
    'backend.images',
    `is "send" (every prompt carries its item's image), but the server is ${profile.kind === 'skyrl' ? 'SkyRL tx' : profile.kind}, which does not render images (${profile.imagesNote}); ` +
      'set backend.images: omit to train on the text alone, or use a server with a vLLM renderer (hosted Tinker, or SkyRL --backend fsdp|megatron with backend.serverRendersImages: true)',
  );
}

/** Lines to warn about, one per ignored setting. */
export function ignoredSettingWarnings(profile: ServerProfile): string[] {
  return profile.ignored.map((i) => `${profile.kind === 'skyrl' ? 'SkyRL tx' : profile.kind} ignores ${i.setting}: ${i.note}`);
}

const RANK_RE = /LoRA rank (\d+) must be between 1 and (\d+)/;
const SLOTS_RE = /Maximum number of LoRA adapters \((\d+)\) reached/;

/**
 * A create_model failure in config terms. SkyRL checks the rank and the
 * adapter slots only when the engine runs create_model
 * (skyrl/backends/jax.py: "LoRA rank R must be between 1 and M", "Maximum
 * number of LoRA adapters (N) reached"; slot 0 is the base model, so N slots
 * hold N−1 models), and its future fails with HTTP 400 at retrieve_future.
 */
export function explainCreateModelError(error: unknown, loraRank: number): unknown {
  if (!(error instanceof RemoteError)) return error;
  const rank = RANK_RE.exec(error.message);
  if (rank !== null)
    return new ConfigError(
      'backend.loraRank',
      `is ${loraRank}, above the server's limit of ${rank[2]} (the server said "${rank[0]}"); set backend.loraRank to at most ${rank[2]}, or start SkyRL with a larger max_lora_rank (--backend-config '{"max_lora_rank": ${loraRank}}')`,
      { cause: error },
    );
  const slots = SLOTS_RE.exec(error.message);
  if (slots !== null) {
    const n = Number(slots[1]);
    return new RemoteError(
      `create_model: the server has no free LoRA adapter slot (it said "${slots[0]}"): SkyRL's max_lora_adapters ${n} holds ${n - 1} models, since slot 0 is the base model; end other runs on it (their models are unloaded on close) or restart it with a larger max_lora_adapters`,
      { cause: error },
    );
  }
  return error;
}
