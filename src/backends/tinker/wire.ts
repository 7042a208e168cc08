/**
 * Wire format of the Tinker API (docs/tinker-protocol.md §3–§5): request bodies and
 * the validated shapes of responses. `WireFormat` switches between JSON (SDK
 * ≤ 0.24; SkyRL tx) and protobuf for `forward_backward` requests and for
 * forward_backward/sample results (SDK ≥ 0.25; wire-proto.ts); sample
 * requests and every other call are JSON in both.
 *
 * Internally a model input is a list of `InputChunk`s (token runs and JPEG
 * images as bytes); only the codec knows that JSON wants base64 and
 * `{type: "encoded_text"}` objects.
 */
import { z } from 'zod';
import { RemoteError } from '../../errors.js';
import type { InputChunk } from './render/chat.js';

export type WireFormat = 'json' | 'protobuf';

/** A dense 1-D tensor of `loss_fn_inputs` (§4.3). */
export interface DenseTensor {
  readonly dtype: 'int64' | 'float32';
  readonly data: readonly number[];
}

/** One training example on the wire (§4.1): inputs and per-position tensors of equal length. */
export interface Datum {
  readonly modelInput: readonly InputChunk[];
  readonly lossFnInputs: Readonly<Record<string, DenseTensor>>;
}

export type LossFn = 'importance_sampling' | 'ppo' | 'cross_entropy';

export interface AdamParams {
  readonly learning_rate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weight_decay: number;
  readonly grad_clip_norm: number;
}

export interface SampleParamsWire {
  readonly max_tokens: number;
  readonly temperature: number;
  readonly top_k: number;
  readonly top_p: number;
  readonly stop: readonly number[];
  readonly seed: number;
}

// ---- JSON encoding ------------------------------------------------------

type JsonChunk =
  | { type: 'encoded_text'; tokens: number[] }
  | { type: 'image'; data: string; format: 'jpeg'; expected_tokens: number };

export function chunksToJson(chunks: readonly InputChunk[]): { chunks: JsonChunk[] } {
  return {
    chunks: chunks.map((c): JsonChunk =>
      c.kind === 'tokens'
        ? { type: 'encoded_text', tokens: [...c.tokens] }
        : { type: 'image', data: Buffer.from(c.jpeg).toString('base64'), format: 'jpeg', expected_tokens: c.expectedTokens },
    ),
  };
}

function tensorToJson(t: DenseTensor): { data: number[]; dtype: string; shape: number[] } {
  return { data: [...t.data], dtype: t.dtype, shape: [t.data.length] };
}

export function datumToJson(d: Datum): Record<string, unknown> {
  const inputs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(d.lossFnInputs)) inputs[k] = tensorToJson(v);
  return { model_input: chunksToJson(d.modelInput), loss_fn_inputs: inputs };
}

/** Estimated request bytes of a datum, the SDK's rule for chunk limits (§3.2): 4 B/token, tensor bytes, image bytes. */
export function estimateDatumBytes(d: Datum): number {
  let bytes = 0;
  for (const c of d.modelInput) bytes += c.kind === 'tokens' ? 4 * c.tokens.length : c.jpeg.byteLength;
  for (const t of Object.values(d.lossFnInputs)) bytes += (t.dtype === 'int64' ? 8 : 4) * t.data.length;
  return bytes;
}

// ---- responses ----------------------------------------------------------

export const ClientConfigResponse = z
  .object({
    pjwt_auth_enabled: z.boolean().optional(),
    fwdbwd_max_chunk_len: z.number().int().positive().optional(),
    fwdbwd_max_chunk_bytes_count: z.number().int().positive().optional(),
    billing_exception_max_pause_duration_sec: z.number().positive().optional(),
    /** SDK 0.23–0.24 switch forward_backward to protobuf when this is true; the client does the same. */
    proto_write_fwdbwd: z.boolean().optional(),
  })
  .passthrough();

export const CreateSessionResponse = z
  .object({
    session_id: z.string().min(1),
    info_message: z.string().nullish(),
    warning_message: z.string().nullish(),
    error_message: z.string().nullish(),
  })
  .passthrough();

export const AuthTokenResponse = z.object({ jwt: z.string().min(1) }).passthrough();

/** An untyped future (hosted: request_id; SkyRL adds future_id, status). */
export const FutureResponse = z.object({ request_id: z.union([z.string(), z.number()]).transform(String), model_id: z.string().optional() }).passthrough();

export const CreateModelResult = z.object({ model_id: z.string().min(1) }).passthrough();

export const GetInfoResponse = z
  .object({
    model_id: z.string().optional(),
    model_data: z.object({ tokenizer_id: z.string().nullish(), model_name: z.string().nullish(), arch: z.string().nullish() }).partial().passthrough().optional(),
    model_name: z.string().nullish(),
    lora_rank: z.number().nullish(),
  })
  .passthrough();

const TensorJson = z.object({ data: z.array(z.number()), dtype: z.string().optional(), shape: z.array(z.number()).optional() }).passthrough();

export const ForwardBackwardResult = z
  .object({
    loss_fn_output_type: z.string().optional(),
    loss_fn_outputs: z.array(z.record(z.string(), TensorJson)),
    metrics: z.record(z.string(), z.number()).optional().default({}),
  })
  .passthrough();
export type ForwardBackwardResult = z.infer<typeof ForwardBackwardResult>;

export const OptimStepResult = z.object({ metrics: z.record(z.string(), z.number()).nullish() }).passthrough();

export const SaveWeightsResult = z.object({ path: z.string().min(1) }).passthrough();
export const SaveForSamplerResult = z.object({ path: z.string().nullish(), sampling_session_id: z.string().nullish() }).passthrough();
export const LoadWeightsResult = z.object({ path: z.string().nullish(), model_id: z.string().nullish() }).passthrough();

export const SampleResult = z
  .object({
    sequences: z.array(
      z
        .object({
          stop_reason: z.enum(['stop', 'length']),
          tokens: z.array(z.number().int()),
          logprobs: z.array(z.number()).nullish(),
        })
        .passthrough(),
    ),
    prompt_logprobs: z.array(z.number().nullable()).nullish(),
  })
  .passthrough();
export type SampleResult = z.infer<typeof SampleResult>;

/** Parses a response with `schema`, turning a mismatch into a RemoteError naming the route and the field. */
export function parseResponse<T extends z.ZodTypeAny>(schema: T, value: unknown, route: string): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue === undefined ? '' : issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  throw new RemoteError(`${route}: unexpected response from the training service at $${path}: ${issue?.message ?? 'invalid'}`);
}
