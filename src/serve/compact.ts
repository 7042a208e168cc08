/**
 * The opt-in compact encoding of `POST /v1/shape?encoding=compact`, for
 * trainers that send large batches: parsing 272k nested `[start, end]` pairs
 * was a third of a request, and writing 272k per-token numbers another
 * (docs/performance.md, `serve`). The request and response are the JSON of the
 * shape contract with two fields encoded as base64 of little-endian binary:
 *
 * - in: a completion's `tokenOffsets` may be a base64 string of int32 values
 *   `start₀, end₀, start₁, end₁, …` (8 bytes per token) instead of the array of
 *   pairs (both forms may be mixed in one request);
 * - out: every `tokenAdvantages` is a base64 string of float64 values, one per
 *   token: exactly the numbers of the JSON response, not rounded.
 *
 * Everything else, validation and errors included, is the JSON route's.
 *
 * Offsets are decoded straight into the Int32Array that shape() reads (no pairs
 * are built), and advantages are encoded from a Float64Array copy in one pass.
 */
import { decodeBase64, float64Bytes, int32View } from './base64.js';
import { HttpError } from './http.js';
import { interleaveAscii, piecesAround, uniquePlaceholder } from './json-runs.js';

/**
 * The flat `start₀, end₀, start₁, …` values of a base64 int32 string, decoded into a new Int32Array;
 * `path` names the field in errors.
 */
export function decodeOffsets(encoded: string, path: string): Int32Array {
  const bytes = decodeBase64(encoded);
  if (bytes === null) throw new HttpError(400, 'expected base64 (RFC 4648, with padding) of little-endian int32 start, end values', { path });
  if (bytes.length % 8 !== 0) throw new HttpError(400, `expected 8 bytes (int32 start, int32 end) per token, got ${bytes.length} bytes`, { path });
  return int32View(bytes);
}

/** Base64 of the little-endian float64 values of xs. */
export function encodeFloat64(xs: readonly number[]): string {
  return float64Bytes(xs).toString('base64');
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Replaces (in place) every base64 `tokenOffsets` of a parsed compact request by its flat Int32Array; anything that is not
 * the shape of a shape request is left for the schema to reject.
 */
export function decodeCompactRequest(body: unknown): unknown {
  if (!isRecord(body) || !Array.isArray(body.groups)) return body;
  body.groups.forEach((group: unknown, g) => {
    if (!isRecord(group) || !Array.isArray(group.completions)) return;
    group.completions.forEach((completion: unknown, c) => {
      if (isRecord(completion) && typeof completion.tokenOffsets === 'string')
        completion.tokenOffsets = decodeOffsets(completion.tokenOffsets, `$.groups[${g}].completions[${c}].tokenOffsets`);
    });
  });
  return body;
}

interface WithGroups {
  readonly groups: ReadonlyArray<{ readonly completions: ReadonlyArray<{ readonly tokenAdvantages?: readonly number[] }> }>;
}

/** A copy of a shape response with every `tokenAdvantages` as base64 float64 (key order kept). */
export function encodeCompactResponse<T extends WithGroups>(response: T): unknown {
  return {
    ...response,
    groups: response.groups.map((group) => ({
      ...group,
      completions: group.completions.map((c) => (c.tokenAdvantages === undefined ? c : { ...c, tokenAdvantages: encodeFloat64(c.tokenAdvantages) })),
    })),
  };
}

/**
 * The UTF-8 bytes of `JSON.stringify(encodeCompactResponse(response))`, assembled without running the 10⁶ base64
 * characters through JSON.stringify (they need no escaping): the response is stringified with a placeholder per
 * block, and each block's base64 is written between quotes where its placeholder was. Should the response itself
 * contain the placeholder text, the pieces do not add up and the plain route is taken.
 */
export function compactResponseBytes<T extends WithGroups>(response: T): Buffer {
  const blocks: string[] = [];
  const placeholder = uniquePlaceholder('f64');
  const skeleton = {
    ...response,
    groups: response.groups.map((group) => ({
      ...group,
      completions: group.completions.map((c) => {
        if (c.tokenAdvantages === undefined) return c;
        blocks.push(`"${encodeFloat64(c.tokenAdvantages)}"`);
        return { ...c, tokenAdvantages: placeholder };
      }),
    })),
  };
  const parts = piecesAround(skeleton, placeholder, blocks.length);
  return parts === null ? Buffer.from(JSON.stringify(encodeCompactResponse(response)), 'utf8') : interleaveAscii(parts, blocks);
}
