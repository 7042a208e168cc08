/**
 * TEST SUPPORT ONLY. The test server's protobuf results, written by hand by
 * the field numbers of the tinker SDK's `tinker_public.proto` (see
 * proto-reader.ts for the wire format), so that the client's decoder
 * (wire-proto.ts) is checked against bytes it did not lay out itself.
 * Like a proto3 serializer, scalars at their default (0, "", empty) are left
 * out, except fields declared `optional` when they are given.
 */

function varint(value: bigint | number): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v === 0n ? low : low | 0x80);
  } while (v !== 0n);
  return out;
}

const tag = (field: number, wireType: number): number[] => varint((field << 3) | wireType);
const varintField = (field: number, value: number): number[] => (value === 0 ? [] : [...tag(field, 0), ...varint(value)]);
const lenField = (field: number, payload: ArrayLike<number>): number[] => [...tag(field, 2), ...varint(payload.length), ...Array.from(payload)];
const stringField = (field: number, s: string): number[] => (s === '' ? [] : lenField(field, new TextEncoder().encode(s)));
const doubleField = (field: number, x: number): number[] => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, x, true);
  return [...tag(field, 1), ...b];
};

function littleEndian(values: readonly number[], size: 4 | 8, kind: 'float' | 'int'): Uint8Array {
  const b = new Uint8Array(size * values.length);
  const v = new DataView(b.buffer);
  values.forEach((x, i) => {
    if (size === 8) v.setBigInt64(8 * i, BigInt(x), true);
    else if (kind === 'float') v.setFloat32(4 * i, x, true);
    else v.setInt32(4 * i, x, true);
  });
  return b;
}

/** DType enum values of the SDK's schema. */
const DTYPE_FLOAT32 = 1;

/**
 * ForwardBackwardOutput {1 loss_fn_output_type, 2 repeated ArrayRecord loss_fn_outputs, 3 map<string, double> metrics}
 * with one ArrayRecord {1 type_tag, 2 map<string, BatchedTensor> fields, 3 int64 num_datums}
 * whose `logprobs` BatchedTensor {1 data, 2 offsets (int64 byte offsets), 3 dtype, 4 trailing_shape} holds every datum.
 */
export function writeForwardBackwardOutput(result: { loss_fn_outputs: Array<{ logprobs: { data: number[] } }>; metrics: Record<string, number> }): Uint8Array {
  const offsets = [0];
  for (const o of result.loss_fn_outputs) offsets.push((offsets.at(-1) ?? 0) + 4 * o.logprobs.data.length);
  const batched = [
    ...lenField(1, littleEndian(result.loss_fn_outputs.flatMap((o) => o.logprobs.data), 4, 'float')),
    ...lenField(2, littleEndian(offsets, 8, 'int')),
    ...varintField(3, DTYPE_FLOAT32),
  ];
  const record = [...stringField(1, 'logprobs'), ...lenField(2, [...stringField(1, 'logprobs'), ...lenField(2, batched)]), ...varintField(3, result.loss_fn_outputs.length)];
  const metrics = Object.entries(result.metrics).flatMap(([k, x]) => lenField(3, [...stringField(1, k), ...doubleField(2, x)]));
  return new Uint8Array([...stringField(1, 'ArrayRecord'), ...lenField(2, record), ...metrics]);
}

/**
 * SampleResponse {1 repeated SampledSequence sequences, 2 optional bytes prompt_logprobs (float32, NaN = none)}
 * with SampledSequence {1 StopReason stop_reason (0 stop, 1 length), 2 bytes tokens (int32), 3 optional bytes logprobs (float32)}.
 */
export function writeSampleResponse(result: {
  sequences: Array<{ tokens: number[]; logprobs: number[]; stop_reason: string }>;
  prompt_logprobs: Array<number | null> | null;
}): Uint8Array {
  const sequences = result.sequences.flatMap((q) =>
    lenField(1, [
      ...varintField(1, q.stop_reason === 'length' ? 1 : 0),
      ...(q.tokens.length > 0 ? lenField(2, littleEndian(q.tokens, 4, 'int')) : []),
      ...lenField(3, littleEndian(q.logprobs, 4, 'float')),
    ]),
  );
  const prompt = result.prompt_logprobs === null ? [] : lenField(2, littleEndian(result.prompt_logprobs.map((x) => x ?? Number.NaN), 4, 'float'));
  return new Uint8Array([...sequences, ...prompt]);
}
