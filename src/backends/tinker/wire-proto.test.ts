import { describe, expect, it } from 'vitest';
import { decodeForwardBackwardOutput, decodeSampleResponse, encodeForwardBackward } from './wire-proto.js';

// Protobuf wire bytes written by hand (tag = field << 3 | wire type; 2 = length-delimited, 0 = varint, 1 = 64-bit).
const len = (field: number, payload: number[]): number[] => [(field << 3) | 2, payload.length, ...payload];
const varint = (field: number, v: number): number[] => [(field << 3) | 0, v];
const ascii = (s: string): number[] => [...Buffer.from(s, 'ascii')];
const i32 = (...v: number[]): number[] => v.flatMap((x) => [...new Uint8Array(new Int32Array([x]).buffer)]);
const i64 = (...v: number[]): number[] => v.flatMap((x) => [...new Uint8Array(new BigInt64Array([BigInt(x)]).buffer)]);
const f32 = (...v: number[]): number[] => v.flatMap((x) => [...new Uint8Array(new Float32Array([x]).buffer)]);
const f64 = (x: number): number[] => [...new Uint8Array(new Float64Array([x]).buffer)];

describe('protobuf forward_backward request', () => {
  it('encodes ForwardBackwardRequest exactly as the schema of docs/tinker-protocol.md §4.4 lays it out', () => {
    const bytes = encodeForwardBackward({
      modelId: 'm',
      seqId: 3,
      lossFn: 'ppo',
      lossFnConfig: { clip_low_threshold: 0.8 },
      data: [{ modelInput: [{ kind: 'tokens', tokens: [1, 2] }], lossFnInputs: { target_tokens: { dtype: 'int64', data: [2, 3] } } }],
    });
    const tensor = [...len(1, i64(2, 3)), ...varint(3, 2), ...len(4, [2])]; // dense, dtype INT64 = 2, packed shape [2]
    const datum = [...len(1, len(1, len(1, i32(1, 2)))), ...len(2, [...len(1, ascii('target_tokens')), ...len(2, tensor)])];
    const expected = [
      ...len(1, ascii('m')),
      ...varint(2, 3),
      ...len(3, datum),
      ...len(4, ascii('ppo')),
      ...len(5, [...len(1, ascii('clip_low_threshold')), (2 << 3) | 1, ...f64(0.8)]),
    ];
    expect([...bytes]).toEqual(expected);
  });

  it('encodes an image chunk as raw bytes with its format and expected tokens', () => {
    const bytes = encodeForwardBackward({
      modelId: 'm',
      seqId: 1,
      lossFn: 'ppo',
      data: [{ modelInput: [{ kind: 'image', jpeg: new Uint8Array([0xff, 0xd8]), expectedTokens: 64 }], lossFnInputs: {} }],
    });
    const image = [...len(1, [0xff, 0xd8]), ...len(2, ascii('jpeg')), ...varint(3, 64)];
    expect([...bytes]).toEqual([...len(1, ascii('m')), ...varint(2, 1), ...len(3, len(1, len(2, image))), ...len(4, ascii('ppo'))]);
  });
});

describe('protobuf results', () => {
  it('splits a BatchedTensor into datums by its int64 byte offsets', () => {
    const batched = [...len(1, f32(-1, -2, -3)), ...len(2, i64(0, 4, 12)), ...varint(3, 1)]; // dtype FLOAT32 = 1
    const record = [...len(2, [...len(1, ascii('logprobs')), ...len(2, batched)]), ...varint(3, 2)];
    const metric = len(3, [...len(1, ascii('loss:sum')), (2 << 3) | 1, ...f64(1.5)]);
    const out = decodeForwardBackwardOutput(new Uint8Array([...len(2, record), ...metric]));
    expect(out.loss_fn_outputs).toEqual([{ logprobs: { data: [-1] } }, { logprobs: { data: [-2, -3] } }]);
    expect(out.metrics).toEqual({ 'loss:sum': 1.5 });
  });

  it('decodes SampleResponse sequences and NaN prompt log-probs as null', () => {
    const seq = [...varint(1, 1), ...len(2, i32(5, 7)), ...len(3, f32(-0.5, -0.25))]; // STOP_REASON_LENGTH
    const out = decodeSampleResponse(new Uint8Array([...len(1, seq), ...len(2, f32(Number.NaN, -1))]));
    expect(out).toEqual({ sequences: [{ stop_reason: 'length', tokens: [5, 7], logprobs: [-0.5, -0.25] }], prompt_logprobs: [null, -1] });
  });
});
