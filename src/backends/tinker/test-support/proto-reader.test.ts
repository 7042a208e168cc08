import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeForwardBackwardOutput, decodeSampleResponse, encodeForwardBackward } from '../wire-proto.js';
import { decodeForwardBackwardRequest, readRecords, readVarint, wireInt32 } from './proto-reader.js';
import { writeForwardBackwardOutput, writeSampleResponse } from './proto-writer.js';

// Protobuf bytes written out by hand. A tag byte is (field << 3) | wire type: 0 varint, 1 fixed64, 2 length-delimited.
// Field numbers are those of the tinker SDK's tinker_public.proto (ForwardBackwardRequest: 1 model_id, 2 seq_id,
// 3 data, 4 loss_fn, 5 loss_fn_config, 6 forward_only; Datum: 1 model_input, 2 loss_fn_inputs; Chunk: 1 encoded_text,
// 2 image; ImageChunk: 1 data, 2 format, 3 expected_tokens; Tensor: 1 dense, 2 sparse_csr, 3 dtype, 4 shape).
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
const bytes = (...parts: Array<number | number[]>): Uint8Array => new Uint8Array(parts.flat());

describe('proto-reader varints', () => {
  it('reads the varints of the protobuf encoding guide', () => {
    expect(readVarint(bytes(0x01), 0)).toEqual([1n, 1]);
    expect(readVarint(bytes(0x96, 0x01), 0)).toEqual([150n, 2]); // 0x16 + (1 << 7) = 22 + 128
    expect(readVarint(bytes(0xac, 0x02), 0)).toEqual([300n, 2]); // 0x2c + (2 << 7) = 44 + 256
    expect(readVarint(bytes(0xff, 0xff, 0xff, 0xff, 0x0f), 0)).toEqual([2n ** 32n - 1n, 5]);
    // int32 −1 is sent as the 64-bit two's complement: nine 0xff and 0x01.
    const minusOne = readRecords(bytes(0x10, Array(9).fill(0xff), 0x01))[0];
    expect(wireInt32(minusOne, 'seq_id')).toBe(-1);
  });

  it('refuses truncated and over-long input', () => {
    expect(() => readVarint(bytes(0x96), 0)).toThrow(/truncated varint/);
    expect(() => readVarint(bytes(Array(10).fill(0x80), 0x01), 0)).toThrow(/longer than 10 bytes/);
    expect(() => readRecords(bytes(0x0a, 0x05, ascii('abc')))).toThrow(/truncated field 1/); // length 5, 3 bytes left
    expect(() => readRecords(bytes(0x0b))).toThrow(/wire type 3/); // start-group: not proto3
  });
});

describe('decodeForwardBackwardRequest', () => {
  // Datum: one text chunk (int32 tokens 1 and 258), one image chunk (2 JPEG bytes, "jpeg", 64 tokens),
  // target_tokens int64 [2, −1] and weights float32 [0.5, 1], each with the packed shape [2].
  const text = [0x0a, 0x0a, 0x0a, 0x08, 0x01, 0x00, 0x00, 0x00, 0x02, 0x01, 0x00, 0x00]; // Chunk{1: {1: 8 bytes}}; 258 = 0x0102
  const image = [0x12, 0x0c, 0x0a, 0x02, 0xff, 0xd8, 0x12, 0x04, ascii('jpeg'), 0x18, 0x40].flat(); // Chunk{2: {1, 2, 3: 64}}
  const targets = [0x0a, 0x10, 0x02, 0, 0, 0, 0, 0, 0, 0, Array(8).fill(0xff), 0x18, 0x02, 0x22, 0x01, 0x02].flat(); // dtype 2 = int64
  const weights = [0x0a, 0x08, 0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x80, 0x3f, 0x18, 0x01, 0x22, 0x01, 0x02]; // 0.5f, 1.0f; dtype 1
  const entry = (key: string, tensor: number[]): number[] => [0x12, 2 + key.length + 2 + tensor.length, 0x0a, key.length, ...ascii(key), 0x12, tensor.length, ...tensor];
  const datum = [0x0a, text.length, ...text, 0x0a, image.length, ...image, ...entry('target_tokens', targets), ...entry('weights', weights)];
  // loss_fn_config entry {1: "clip", 2: double 0.8 = 0x3fe999999999999a, little-endian}
  const config = [0x2a, 0x0f, 0x0a, 0x04, ascii('clip'), 0x11, 0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xe9, 0x3f].flat();
  const request = [0x0a, 0x02, ascii('m1'), 0x10, 0xac, 0x02, 0x1a, datum.length, datum, 0x22, 0x03, ascii('ppo'), config].flat();

  it('reads every field by the SDK field numbers into the JSON body shape', () => {
    expect(decodeForwardBackwardRequest(bytes(request))).toEqual({
      model_id: 'm1',
      seq_id: 300,
      forward_backward_input: {
        loss_fn: 'ppo',
        loss_fn_config: { clip: 0.8 },
        data: [
          {
            model_input: {
              chunks: [
                { type: 'encoded_text', tokens: [1, 258] },
                { type: 'image', data: Buffer.from([0xff, 0xd8]).toString('base64'), format: 'jpeg', expected_tokens: 64 },
              ],
            },
            loss_fn_inputs: {
              target_tokens: { data: [2, -1], dtype: 'int64', shape: [2] },
              weights: { data: [0.5, 1], dtype: 'float32', shape: [2] },
            },
          },
        ],
      },
    });
  });

  it('accepts an unpacked repeated shape and reports forward_only', () => {
    const tensor = [0x0a, 0x04, 0x00, 0x00, 0x80, 0x3f, 0x18, 0x01, 0x20, 0x01]; // shape as one varint record (field 4, wire 0)
    const chunk = [0x0a, 0x06, 0x0a, 0x04, 0x07, 0x00, 0x00, 0x00]; // Chunk{1: EncodedTextChunk{1: int32 7}}
    const d = [0x0a, chunk.length, ...chunk, ...entry('w', tensor)];
    const out = decodeForwardBackwardRequest(bytes(0x1a, d.length, d, 0x30, 0x01));
    expect(out.forward_only).toBe(true);
    expect(out.forward_backward_input.data[0].model_input.chunks).toEqual([{ type: 'encoded_text', tokens: [7] }]);
    expect(out.forward_backward_input.data[0].loss_fn_inputs.w).toEqual({ data: [1], dtype: 'float32', shape: [1] });
  });

  it('refuses what the schema does not allow', () => {
    expect(() => decodeForwardBackwardRequest(bytes(0x38, 0x01))).toThrow(/field 7 is not in the tinker SDK's schema/);
    expect(() => decodeForwardBackwardRequest(bytes(0x08, 0x01))).toThrow(/model_id \(field 1\): wire type varint, expected len/);
    const one = (tensor: number[]): Uint8Array => {
      const d = entry('t', tensor);
      return bytes(0x1a, d.length, d);
    };
    expect(() => decodeForwardBackwardRequest(one([0x0a, 0x04, 0, 0, 0, 0, 0x18, 0x03]))).toThrow(/dtype 3 is not float32/); // int32
    expect(() => decodeForwardBackwardRequest(one([0x0a, 0x04, 0, 0, 0, 0, 0x18, 0x01, 0x22, 0x01, 0x02]))).toThrow(/shape \[2\] holds 2 values, dense has 1/);
    expect(() => decodeForwardBackwardRequest(one([0x12, 0x00, 0x18, 0x01]))).toThrow(/sparse_csr/);
    expect(() => decodeForwardBackwardRequest(one([0x0a, 0x03, 0, 0, 0, 0x18, 0x01]))).toThrow(/3 bytes is not a whole number/);
  });

  it('reads what the client encodes (two independent implementations agree)', () => {
    const body = encodeForwardBackward({
      modelId: 'm1',
      seqId: 300,
      lossFn: 'ppo',
      lossFnConfig: { clip: 0.8 },
      data: [
        {
          modelInput: [
            { kind: 'tokens', tokens: [1, 258] },
            { kind: 'image', jpeg: new Uint8Array([0xff, 0xd8]), expectedTokens: 64 },
          ],
          lossFnInputs: { target_tokens: { dtype: 'int64', data: [2, -1] }, weights: { dtype: 'float32', data: [0.5, 1] } },
        },
      ],
    });
    expect(decodeForwardBackwardRequest(body)).toEqual(decodeForwardBackwardRequest(bytes(request)));
  });
});

describe('proto-writer', () => {
  it('writes ForwardBackwardOutput as laid out by hand, and the client reads it', () => {
    const result = { loss_fn_outputs: [{ logprobs: { data: [-1] } }, { logprobs: { data: [0.5, -2] } }], metrics: { 'loss:sum': 1.5 } };
    // BatchedTensor {1: float32 −1, 0.5, −2; 2: int64 byte offsets 0, 4, 12; 3: dtype 1}: 2+12 + 2+24 + 2 = 42 bytes.
    const f32 = [0x00, 0x00, 0x80, 0xbf, 0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x00, 0xc0];
    const offsets = [[0, 0, 0, 0, 0, 0, 0, 0], [4, 0, 0, 0, 0, 0, 0, 0], [12, 0, 0, 0, 0, 0, 0, 0]].flat();
    const batched = [0x0a, 0x0c, f32, 0x12, 0x18, offsets, 0x18, 0x01].flat();
    // fields entry {1: "logprobs", 2: batched}: 2+8 + 2+42 = 54; ArrayRecord {1: "logprobs", 2: entry, 3: 2 datums}: 10 + 56 + 2 = 68.
    const record = [0x0a, 0x08, ascii('logprobs'), 0x12, 0x36, 0x0a, 0x08, ascii('logprobs'), 0x12, 0x2a, batched, 0x18, 0x02].flat();
    // metrics entry {1: "loss:sum", 2: double 1.5 = 0x3ff8000000000000}: 10 + 9 = 19.
    const metric = [0x1a, 0x13, 0x0a, 0x08, ascii('loss:sum'), 0x11, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f].flat();
    const expected = [0x0a, 0x0b, ascii('ArrayRecord'), 0x12, 0x44, record, metric].flat();
    const written = writeForwardBackwardOutput(result);
    expect([...written]).toEqual(expected);
    expect(decodeForwardBackwardOutput(written)).toEqual({ loss_fn_outputs: [{ logprobs: { data: [-1] } }, { logprobs: { data: [0.5, -2] } }], metrics: { 'loss:sum': 1.5 } });
  });

  it('writes SampleResponse as laid out by hand (NaN for a missing prompt log-prob), and the client reads it', () => {
    const result = { sequences: [{ stop_reason: 'length', tokens: [5, 300], logprobs: [-0.5, -0.25] }], prompt_logprobs: [null, -1] };
    // SampledSequence {1: 1 (length), 2: int32 5, 300 = 0x012c, 3: float32 −0.5, −0.25}: 2 + 10 + 10 = 22 bytes.
    const seq = [0x08, 0x01, 0x12, 0x08, 0x05, 0x00, 0x00, 0x00, 0x2c, 0x01, 0x00, 0x00, 0x1a, 0x08, 0x00, 0x00, 0x00, 0xbf, 0x00, 0x00, 0x80, 0xbe];
    const prompt = [0x12, 0x08, 0x00, 0x00, 0xc0, 0x7f, 0x00, 0x00, 0x80, 0xbf]; // quiet NaN 0x7fc00000, −1.0f
    const written = writeSampleResponse(result);
    expect([...written]).toEqual([0x0a, 0x16, ...seq, ...prompt]);
    expect(decodeSampleResponse(written)).toEqual({ sequences: [{ stop_reason: 'length', tokens: [5, 300], logprobs: [-0.5, -0.25] }], prompt_logprobs: [null, -1] });
  });
});

describe('independence of the test server', () => {
  it('reaches none of the Tinker client modules (wire-proto.ts, render/image.ts, …) by any chain of imports', () => {
    const here = dirname(fileURLToPath(import.meta.url));
    const client = resolve(here, '..');
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gm)) visit(resolve(dirname(file), m[1].replace(/\.js$/, '.ts')));
    };
    visit(join(here, 'server.ts'));
    const clientFiles = [...seen].filter((f) => f.startsWith(`${client}/`) && !f.startsWith(`${here}/`));
    expect(clientFiles).toEqual([]);
    expect(seen.has(join(here, 'proto-reader.ts')) && seen.has(join(here, 'vision-tokens.ts'))).toBe(true);
  });
});
