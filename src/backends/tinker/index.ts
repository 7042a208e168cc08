/**
 * The Tinker-API backend (issue 5): a PolicyBackend over hosted Tinker or a
 * self-hosted SkyRL tx server, its client, and the tokenization, chat
 * rendering and image rules it uses. See README "Scale-out: the Tinker API".
 */
export { createTinkerBackend, createTinkerBackendFromConfig, TinkerBackend, CHECKPOINT_FILE, type TinkerBackendDeps } from './backend.js';
export {
  TinkerBackendConfigSchema,
  parseTinkerBackendConfig,
  tinkerEndpointFromEnv,
  HOSTED_TINKER_BASE_URL,
  type TinkerBackendConfig,
  type TinkerBackendConfigInput,
  type TinkerEndpoint,
} from './config.js';
export { TinkerClient, DEFAULT_SDK_VERSION, type TinkerClientOptions, type LoraSpec, type SupportedModel } from './client.js';
export { detectServerKind, probeServer, type ServerProfile, type ServerKind, type IgnoredSetting } from './server-profile.js';
export { TrainingModel, type ForwardBackwardOutput, type Pending } from './training-model.js';
export { SamplingSession, type SampleRequest } from './sampling-session.js';
export { RequestFailedError, FutureExpiredError, DEFAULT_RETRY_POLICY, type RetryPolicy, type Logger } from './calls.js';
export { advantageScale_B_T, rlDatum, sftDatum, type ServerReduction } from './datums.js';
export { loadTokenizer, createTextTokenizer, type TextTokenizer, type DecodedTokens } from './render/tokenizer.js';
export { createRenderer, RENDERER_NAMES, chunkLength, type ChatRenderer, type RendererName, type InputChunk } from './render/chat.js';
export { smartResize, imageTokenCount, toJpeg, QWEN3_VL_RESIZE, QWEN2_VL_RESIZE, type VisionResizeRule } from './render/image.js';
export type { WireFormat, Datum, LossFn } from './wire.js';
