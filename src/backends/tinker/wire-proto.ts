/**
 * The protobuf wire format of the Tinker API (SDK ≥ 0.25; docs/tinker-protocol.md
 * §4.4): `forward_backward` requests as `tinker_public.ForwardBackwardRequest`
 * (`Content-Type: application/x-protobuf`), and `ForwardBackwardOutput` /
 * `SampleResponse` results when `retrieve_future` is asked for protobuf.
 * Encoding and decoding are done by protobufjs from the schema below, which
 * the protocol notes reconstructed from the SDK's serialized descriptor —
 * not checked against the live hosted service. No zstd compression (Node 20
 * has no zstd; the server only asks for it with `proto_compress_fwdbwd`).
 *
 * Byte arrays are little-endian: token chunks int32, dense tensors by dtype
 * (int64 for `target_tokens`, float32 otherwise), `BatchedTensor.offsets`
 * int64 byte offsets (num_datums + 1 of them) into `data`.
 */
import protobuf from 'protobufjs';
import { RemoteError } from '../../errors.js';
import type { InputChunk } from './render/chat.js';
import type { Datum, DenseTensor } from './wire.js';

export const PROTO_CONTENT_TYPE = 'application/x-protobuf';

export const TINKER_PROTO_SCHEMA = `
syntax = "proto3";
package tinker_public;
enum StopReason { STOP_REASON_STOP = 0; STOP_REASON_LENGTH = 1; }
enum DType { DTYPE_UNSPECIFIED = 0; DTYPE_FLOAT32 = 1; DTYPE_INT64 = 2; DTYPE_INT32 = 3; DTYPE_BFLOAT16 = 4; }
message ForwardBackwardRequest {
  string model_id = 1; int32 seq_id = 2; repeated Datum data = 3;
  string loss_fn = 4; map<string, double> loss_fn_config = 5; bool forward_only = 6; }
message Datum { repeated Chunk model_input = 1; map<string, Tensor> loss_fn_inputs = 2; }
message Chunk { oneof chunk { EncodedTextChunk encoded_text = 1; ImageChunk image = 2; DmelChunk dmel = 3; } }
message EncodedTextChunk { bytes tokens = 1; }
message ImageChunk { bytes data = 1; string format = 2; optional int32 expected_tokens = 3; }
message DmelChunk { bytes dmel = 1; }
message Tensor { oneof encoding { bytes dense = 1; SparseCsr sparse_csr = 2; } DType dtype = 3; repeated int64 shape = 4; }
message SparseCsr { bytes values = 1; bytes crow_indices = 2; bytes col_indices = 3; }
message ForwardBackwardOutput { string loss_fn_output_type = 1; repeated ArrayRecord loss_fn_outputs = 2; map<string, double> metrics = 3; }
message ArrayRecord { string type_tag = 1; map<string, BatchedTensor> fields = 2; int64 num_datums = 3; }
message BatchedTensor { bytes data = 1; bytes offsets = 2; DType dtype = 3; repeated int64 trailing_shape = 4; }
message SampleResponse { repeated SampledSequence sequences = 1; optional bytes prompt_logprobs = 2;
                         optional TopkPromptLogprobs topk_prompt_logprobs = 3; int32 prompt_cache_hit_tokens = 4; }
message SampledSequence { StopReason stop_reason = 1; bytes tokens = 2; optional bytes logprobs = 3; }
message TopkPromptLogprobs { bytes token_ids = 1; bytes logprobs = 2; uint32 k = 3; uint32 prompt_length = 4; }
`;

const root = protobuf.parse(TINKER_PROTO_SCHEMA, { keepCase: true }).root;
root.resolveAll(); // before any encode: proto3 packed-by-default repeated scalars are only known once resolved
export const ForwardBackwardRequestType = root.lookupType('tinker_public.ForwardBackwardRequest');
export const ForwardBackwardOutputType = root.lookupType('tinker_public.ForwardBackwardOutput');
export const SampleResponseType = root.lookupType('tinker_public.SampleResponse');

export const DTYPE = { float32: 1, int64: 2, int32: 3, bfloat16: 4 } as const;

export function int32Bytes(values: readonly number[]): Uint8Array {
  const view = new DataView(new ArrayBuffer(4 * values.length));
  values.forEach((v, i) => view.setInt32(4 * i, v, true));
  return new Uint8Array(view.buffer);
}

export function float32Bytes(values: readonly number[]): Uint8Array {
  const view = new DataView(new ArrayBuffer(4 * values.length));
  values.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return new Uint8Array(view.buffer);
}

export function int64Bytes(values: readonly number[]): Uint8Array {
  const view = new DataView(new ArrayBuffer(8 * values.length));
  values.forEach((v, i) => view.setBigInt64(8 * i, BigInt(v), true));
  return new Uint8Array(view.buffer);
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads `count` values of `dtype` from little-endian bytes (bf16: the high half of a float32). */
export function readTyped(bytes: Uint8Array, dtype: number): number[] {
  const v = view(bytes);
  const out: number[] = [];
  switch (dtype) {
    case DTYPE.float32:
      for (let i = 0; i + 4 <= bytes.byteLength; i += 4) out.push(v.getFloat32(i, true));
      break;
    case DTYPE.int64:
      for (let i = 0; i + 8 <= bytes.byteLength; i += 8) out.push(Number(v.getBigInt64(i, true)));
      break;
    case DTYPE.int32:
      for (let i = 0; i + 4 <= bytes.byteLength; i += 4) out.push(v.getInt32(i, true));
      break;
    case DTYPE.bfloat16:
      for (let i = 0; i + 2 <= bytes.byteLength; i += 2) {
        const f = new DataView(new ArrayBuffer(4));
        f.setUint16(0, 0, true);
        f.setUint16(2, v.getUint16(i, true), true);
        out.push(f.getFloat32(0, true));
      }
      break;
    default:
      throw new RemoteError(`protobuf result: unsupported tensor dtype ${dtype}`);
  }
  return out;
}

function chunkToProto(c: InputChunk): Record<string, unknown> {
  return c.kind === 'tokens'
    ? { encoded_text: { tokens: int32Bytes(c.tokens) } }
    : { image: { data: c.jpeg, format: 'jpeg', expected_tokens: c.expectedTokens } };
}

function tensorToProto(t: DenseTensor): Record<string, unknown> {
  const dense = t.dtype === 'int64' ? int64Bytes(t.data) : float32Bytes(t.data);
  return { dense, dtype: t.dtype === 'int64' ? DTYPE.int64 : DTYPE.float32, shape: [t.data.length] };
}

/** The body of a protobuf `forward_backward` request. */
export function encodeForwardBackward(request: {
  readonly modelId: string;
  readonly seqId: number;
  readonly data: readonly Datum[];
  readonly lossFn: string;
  readonly lossFnConfig?: Readonly<Record<string, number>>;
}): Uint8Array {
  const message = ForwardBackwardRequestType.fromObject({
    model_id: request.modelId,
    seq_id: request.seqId,
    data: request.data.map((d) => ({
      model_input: d.modelInput.map(chunkToProto),
      loss_fn_inputs: Object.fromEntries(Object.entries(d.lossFnInputs).map(([k, t]) => [k, tensorToProto(t)])),
    })),
    loss_fn: request.lossFn,
    loss_fn_config: request.lossFnConfig ?? {},
  });
  return ForwardBackwardRequestType.encode(message).finish();
}

interface DecodedFbOutput {
  readonly loss_fn_outputs: Array<Record<string, { data: number[] }>>;
  readonly metrics: Record<string, number>;
}

/** A protobuf ForwardBackwardOutput in the JSON result's shape (one record per datum). */
export function decodeForwardBackwardOutput(bytes: Uint8Array): DecodedFbOutput {
  const raw = ForwardBackwardOutputType.toObject(ForwardBackwardOutputType.decode(bytes), { longs: Number, defaults: true }) as {
    loss_fn_outputs: Array<{ fields: Record<string, { data: Uint8Array; offsets: Uint8Array; dtype: number; trailing_shape: number[] }>; num_datums: number }>;
    metrics: Record<string, number>;
  };
  const outputs: Array<Record<string, { data: number[] }>> = [];
  for (const record of raw.loss_fn_outputs) {
    const records: Array<Record<string, { data: number[] }>> = Array.from({ length: record.num_datums }, () => ({}));
    for (const [name, t] of Object.entries(record.fields)) {
      const offsets = readTyped(t.offsets, DTYPE.int64);
      if (offsets.length !== record.num_datums + 1) throw new RemoteError(`protobuf forward_backward result: field ${name} has ${offsets.length} offsets for ${record.num_datums} datums`);
      for (let i = 0; i < record.num_datums; i++) records[i][name] = { data: readTyped(t.data.subarray(offsets[i], offsets[i + 1]), t.dtype) };
    }
    outputs.push(...records);
  }
  return { loss_fn_outputs: outputs, metrics: raw.metrics };
}

/** A protobuf SampleResponse in the JSON result's shape (NaN prompt log-probs become null). */
export function decodeSampleResponse(bytes: Uint8Array): {
  sequences: Array<{ stop_reason: 'stop' | 'length'; tokens: number[]; logprobs: number[] | null }>;
  prompt_logprobs: Array<number | null> | null;
} {
  const raw = SampleResponseType.toObject(SampleResponseType.decode(bytes), { defaults: false }) as {
    sequences?: Array<{ stop_reason?: number; tokens?: Uint8Array; logprobs?: Uint8Array }>;
    prompt_logprobs?: Uint8Array;
  };
  return {
    sequences: (raw.sequences ?? []).map((s) => ({
      stop_reason: s.stop_reason === 1 ? 'length' : 'stop',
      tokens: s.tokens ? readTyped(s.tokens, DTYPE.int32) : [],
      logprobs: s.logprobs ? readTyped(s.logprobs, DTYPE.float32) : null,
    })),
    prompt_logprobs: raw.prompt_logprobs ? readTyped(raw.prompt_logprobs, DTYPE.float32).map((x) => (Number.isNaN(x) ? null : x)) : null,
  };
}
