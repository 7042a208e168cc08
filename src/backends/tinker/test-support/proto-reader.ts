/**
 * TEST SUPPORT ONLY. A protobuf wire-format reader written by hand for the
 * test server, so that it does not decode requests with the client's own
 * schema (wire-proto.ts, protobufjs): a wrong field number or type in the
 * client's schema then fails here instead of being read back the same way.
 *
 * The wire format (protobuf's "Encoding" guide): a message is a run of
 * records `tag value`, tag = varint (field << 3 | wire type); wire type 0 =
 * varint (7 bits a byte, low group first, high bit = more), 1 = 8 bytes,
 * 2 = varint length + that many bytes (strings, bytes, embedded messages,
 * packed repeated scalars), 5 = 4 bytes. Negative int32/int64 are varints of
 * the 64-bit two's complement (10 bytes). A map field is a repeated embedded
 * message with key = field 1, value = field 2.
 *
 * `decodeForwardBackwardRequest` reads `tinker_public.ForwardBackwardRequest`
 * by the field numbers of the tinker SDK's descriptor
 * (`tinker/proto/tinker_public_pb2.py`, SDK 0.25+), written out below.
 * Unknown fields and unexpected wire types are errors: the point is to catch
 * a client that writes something else.
 */

export type WireValue =
  | { readonly wire: 'varint'; readonly value: bigint }
  | { readonly wire: 'i64'; readonly bytes: Uint8Array }
  | { readonly wire: 'len'; readonly bytes: Uint8Array }
  | { readonly wire: 'i32'; readonly bytes: Uint8Array };

export type WireRecord = WireValue & { readonly field: number };

/** Reads a varint at `pos`; returns it (as an unsigned 64-bit bigint) and the position after it. */
export function readVarint(bytes: Uint8Array, pos: number): [bigint, number] {
  let value = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= bytes.length) throw new Error(`truncated varint at byte ${pos}`);
    const b = bytes[pos + i];
    value |= BigInt(b & 0x7f) << BigInt(7 * i);
    if ((b & 0x80) === 0) return [BigInt.asUintN(64, value), pos + i + 1];
  }
  throw new Error(`varint at byte ${pos} is longer than 10 bytes`);
}

/** Splits a message into its records, in order (fields may repeat). */
export function readRecords(bytes: Uint8Array): WireRecord[] {
  const out: WireRecord[] = [];
  let pos = 0;
  const take = (n: number, what: string): Uint8Array => {
    if (pos + n > bytes.length) throw new Error(`truncated ${what} at byte ${pos}: ${n} bytes wanted, ${bytes.length - pos} left`);
    const slice = bytes.subarray(pos, pos + n);
    pos += n;
    return slice;
  };
  while (pos < bytes.length) {
    const [tag, next] = readVarint(bytes, pos);
    pos = next;
    const field = Number(tag >> 3n);
    const wireType = Number(tag & 7n);
    if (field === 0) throw new Error(`field number 0 at byte ${pos}`);
    if (wireType === 0) {
      const [value, after] = readVarint(bytes, pos);
      pos = after;
      out.push({ field, wire: 'varint', value });
    } else if (wireType === 1) out.push({ field, wire: 'i64', bytes: take(8, 'fixed64') });
    else if (wireType === 2) {
      const [length, after] = readVarint(bytes, pos);
      pos = after;
      out.push({ field, wire: 'len', bytes: take(Number(length), `field ${field}`) });
    } else if (wireType === 5) out.push({ field, wire: 'i32', bytes: take(4, 'fixed32') });
    else throw new Error(`field ${field}: wire type ${wireType} is not used by proto3 messages`);
  }
  return out;
}

function ofWire<K extends WireValue['wire']>(r: WireRecord, wire: K, where: string): Extract<WireRecord, { wire: K }> {
  if (r.wire !== wire) throw new Error(`${where} (field ${r.field}): wire type ${r.wire}, expected ${wire}`);
  return r as Extract<WireRecord, { wire: K }>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export const wireString = (r: WireRecord, where: string): string => utf8.decode(ofWire(r, 'len', where).bytes);
export const wireBytes = (r: WireRecord, where: string): Uint8Array => ofWire(r, 'len', where).bytes;
export const wireInt32 = (r: WireRecord, where: string): number => Number(BigInt.asIntN(32, ofWire(r, 'varint', where).value));
export const wireBool = (r: WireRecord, where: string): boolean => ofWire(r, 'varint', where).value !== 0n;

export function wireInt64(value: bigint, where: string): number {
  const n = BigInt.asIntN(64, value);
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) throw new Error(`${where}: int64 ${n} is not a safe integer`);
  return Number(n);
}

export function wireDouble(r: WireRecord, where: string): number {
  const b = ofWire(r, 'i64', where).bytes;
  return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true);
}

/** A repeated int64 field: packed (one length-delimited run of varints, proto3's default) or one varint per record. */
export function wireRepeatedInt64(records: readonly WireRecord[], where: string): number[] {
  const out: number[] = [];
  for (const r of records) {
    if (r.wire === 'varint') out.push(wireInt64(r.value, where));
    else {
      const b = ofWire(r, 'len', where).bytes;
      for (let pos = 0; pos < b.length; ) {
        const [v, next] = readVarint(b, pos);
        out.push(wireInt64(v, where));
        pos = next;
      }
    }
  }
  return out;
}

/** Groups a message's records by field number, refusing any field not listed in `known`. */
function byField(bytes: Uint8Array, message: string, known: Readonly<Record<number, string>>): Map<number, WireRecord[]> {
  const fields = new Map<number, WireRecord[]>();
  for (const r of readRecords(bytes)) {
    if (known[r.field] === undefined) throw new Error(`${message}: field ${r.field} is not in the tinker SDK's schema`);
    fields.set(r.field, [...(fields.get(r.field) ?? []), r]);
  }
  return fields;
}

/** proto3: the last record of a singular field wins. */
const last = (fields: Map<number, WireRecord[]>, field: number): WireRecord | undefined => fields.get(field)?.at(-1);

/** A map entry: key = field 1 (string), value = field 2. */
function mapEntry(bytes: Uint8Array, message: string): { key: string; value: WireRecord | undefined } {
  const f = byField(bytes, message, { 1: 'key', 2: 'value' });
  const key = last(f, 1);
  return { key: key === undefined ? '' : wireString(key, `${message}.key`), value: last(f, 2) };
}

// Field numbers of tinker_public.proto as the SDK's serialized descriptor gives them.
const FB_REQUEST = { model_id: 1, seq_id: 2, data: 3, loss_fn: 4, loss_fn_config: 5, forward_only: 6 } as const;
const DATUM = { model_input: 1, loss_fn_inputs: 2 } as const;
const CHUNK = { encoded_text: 1, image: 2, dmel: 3 } as const;
const ENCODED_TEXT = { tokens: 1 } as const;
const IMAGE = { data: 1, format: 2, expected_tokens: 3 } as const;
const TENSOR = { dense: 1, sparse_csr: 2, dtype: 3, shape: 4 } as const;
/** enum DType: 0 unspecified, 1 float32, 2 int64, 3 int32, 4 bfloat16. Requests carry float32 and int64 only. */
const DTYPE_FLOAT32 = 1;
const DTYPE_INT64 = 2;

const names = (o: Readonly<Record<string, number>>): Record<number, string> => Object.fromEntries(Object.entries(o).map(([k, v]) => [v, k]));

export interface DecodedTensor {
  readonly data: number[];
  readonly dtype: 'float32' | 'int64';
  readonly shape: number[];
}

export type DecodedChunk =
  | { readonly type: 'encoded_text'; readonly tokens: number[] }
  | { readonly type: 'image'; readonly data: string; readonly format: string; readonly expected_tokens?: number };

/** The request in the shape of its JSON form (the body `forward_backward` takes without protobuf). */
export interface DecodedForwardBackward {
  readonly model_id: string;
  readonly seq_id: number;
  readonly forward_only?: true;
  readonly forward_backward_input: {
    readonly loss_fn: string;
    readonly loss_fn_config?: Record<string, number>;
    readonly data: Array<{ model_input: { chunks: DecodedChunk[] }; loss_fn_inputs: Record<string, DecodedTensor> }>;
  };
}

/** Little-endian int32 values (EncodedTextChunk.tokens: `np.array(tokens, dtype=np.int32).tobytes()`). */
function int32s(b: Uint8Array, where: string): number[] {
  if (b.length % 4 !== 0) throw new Error(`${where}: ${b.length} bytes is not a whole number of int32 values`);
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  return Array.from({ length: b.length / 4 }, (_, i) => v.getInt32(4 * i, true));
}

function decodeTensor(bytes: Uint8Array, where: string): DecodedTensor {
  const f = byField(bytes, where, names(TENSOR));
  if (f.has(TENSOR.sparse_csr)) throw new Error(`${where}: sparse_csr tensors are not supported`);
  const denseRecord = last(f, TENSOR.dense);
  if (denseRecord === undefined) throw new Error(`${where}: no dense data`);
  const dense = wireBytes(denseRecord, `${where}.dense`);
  const dtypeRecord = last(f, TENSOR.dtype);
  const dtype = dtypeRecord === undefined ? 0 : wireInt32(dtypeRecord, `${where}.dtype`);
  const size = dtype === DTYPE_FLOAT32 ? 4 : dtype === DTYPE_INT64 ? 8 : 0;
  if (size === 0) throw new Error(`${where}: dtype ${dtype} is not float32 (1) or int64 (2)`);
  if (dense.length % size !== 0) throw new Error(`${where}: ${dense.length} bytes is not a whole number of ${size}-byte values`);
  const v = new DataView(dense.buffer, dense.byteOffset, dense.length);
  const data = Array.from({ length: dense.length / size }, (_, i) =>
    size === 4 ? v.getFloat32(4 * i, true) : wireInt64(v.getBigUint64(8 * i, true), `${where}.dense`),
  );
  const shape = wireRepeatedInt64(f.get(TENSOR.shape) ?? [], `${where}.shape`);
  const count = shape.reduce((n, d) => n * d, 1);
  if (shape.length > 0 && count !== data.length) throw new Error(`${where}: shape [${shape.join(', ')}] holds ${count} values, dense has ${data.length}`);
  return { data, dtype: size === 4 ? 'float32' : 'int64', shape };
}

function decodeChunk(bytes: Uint8Array, where: string): DecodedChunk {
  const f = byField(bytes, where, names(CHUNK));
  if (f.size !== 1 || (f.get([...f.keys()][0]) ?? []).length !== 1) throw new Error(`${where}: a Chunk holds exactly one of encoded_text, image, dmel`);
  const text = last(f, CHUNK.encoded_text);
  if (text !== undefined) {
    const t = byField(wireBytes(text, where), `${where}.encoded_text`, names(ENCODED_TEXT));
    const tokens = last(t, ENCODED_TEXT.tokens);
    return { type: 'encoded_text', tokens: tokens === undefined ? [] : int32s(wireBytes(tokens, `${where}.tokens`), `${where}.encoded_text.tokens`) };
  }
  const image = last(f, CHUNK.image);
  if (image === undefined) throw new Error(`${where}: dmel chunks are not supported`);
  const m = byField(wireBytes(image, where), `${where}.image`, names(IMAGE));
  const data = last(m, IMAGE.data);
  const format = last(m, IMAGE.format);
  const expected = last(m, IMAGE.expected_tokens);
  return {
    type: 'image',
    data: Buffer.from(data === undefined ? new Uint8Array() : wireBytes(data, `${where}.image.data`)).toString('base64'),
    format: format === undefined ? '' : wireString(format, `${where}.image.format`),
    ...(expected !== undefined ? { expected_tokens: wireInt32(expected, `${where}.image.expected_tokens`) } : {}),
  };
}

/** Decodes a `tinker_public.ForwardBackwardRequest` body; throws on anything the SDK's schema does not allow. */
export function decodeForwardBackwardRequest(bytes: Uint8Array): DecodedForwardBackward {
  const f = byField(bytes, 'ForwardBackwardRequest', names(FB_REQUEST));
  const one = (field: number): WireRecord | undefined => last(f, field);
  const modelId = one(FB_REQUEST.model_id);
  const seqId = one(FB_REQUEST.seq_id);
  const lossFn = one(FB_REQUEST.loss_fn);
  const forwardOnly = one(FB_REQUEST.forward_only);
  const config: Record<string, number> = {};
  for (const r of f.get(FB_REQUEST.loss_fn_config) ?? []) {
    const e = mapEntry(wireBytes(r, 'loss_fn_config'), 'loss_fn_config entry');
    config[e.key] = e.value === undefined ? 0 : wireDouble(e.value, `loss_fn_config.${e.key}`);
  }
  const data = (f.get(FB_REQUEST.data) ?? []).map((r, b) => {
    const where = `data[${b}]`;
    const d = byField(wireBytes(r, where), where, names(DATUM));
    const chunks = (d.get(DATUM.model_input) ?? []).map((c, i) => decodeChunk(wireBytes(c, `${where}.model_input[${i}]`), `${where}.model_input[${i}]`));
    const inputs: Record<string, DecodedTensor> = {};
    for (const e of d.get(DATUM.loss_fn_inputs) ?? []) {
      const entry = mapEntry(wireBytes(e, `${where}.loss_fn_inputs`), `${where}.loss_fn_inputs entry`);
      if (entry.value === undefined) throw new Error(`${where}.loss_fn_inputs.${entry.key}: no tensor`);
      inputs[entry.key] = decodeTensor(wireBytes(entry.value, `${where}.loss_fn_inputs.${entry.key}`), `${where}.loss_fn_inputs.${entry.key}`);
    }
    return { model_input: { chunks }, loss_fn_inputs: inputs };
  });
  return {
    model_id: modelId === undefined ? '' : wireString(modelId, 'model_id'),
    seq_id: seqId === undefined ? 0 : wireInt32(seqId, 'seq_id'),
    ...(forwardOnly !== undefined && wireBool(forwardOnly, 'forward_only') ? { forward_only: true as const } : {}),
    forward_backward_input: {
      loss_fn: lossFn === undefined ? '' : wireString(lossFn, 'loss_fn'),
      ...(Object.keys(config).length > 0 ? { loss_fn_config: config } : {}),
      data,
    },
  };
}
