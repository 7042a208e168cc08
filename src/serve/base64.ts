/**
 * The binary blocks of the compact encoding (compact.ts): base64 (RFC 4648,
 * standard alphabet, with padding) of little-endian int32 and float64 values.
 */
import { endianness } from 'node:os';

const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * The bytes of a base64 string, in a new buffer of their own (offset 0, so any typed array can view them); null
 * when the string is not base64.
 *
 * Validity is checked without a pass of our own: Node's decoder skips characters outside the alphabet and stops at
 * `=`, so it writes fewer bytes than the string's length promises exactly when the string holds anything but
 * alphabet characters followed by at most two `=` (src/serve/compact.test.ts pins this); it also takes the
 * URL-safe `-` and `_`, which are refused here.
 */
export function decodeBase64(encoded: string): Buffer | null {
  if (encoded.length % 4 !== 0) return null;
  const padding = encoded.endsWith('==') ? 2 : encoded.endsWith('=') ? 1 : 0;
  const size = (encoded.length / 4) * 3 - padding;
  const bytes = Buffer.from(new ArrayBuffer(size));
  if (bytes.write(encoded, 'base64') !== size || encoded.includes('-') || encoded.includes('_')) return null;
  return bytes;
}

/** The little-endian int32 values of bytes from decodeBase64 (length a multiple of 4), as a view on them. */
export function int32View(bytes: Buffer): Int32Array {
  if (!LITTLE_ENDIAN) bytes.swap32();
  return new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
}

/** The little-endian bytes of xs as float64 values (a copy). */
export function float64Bytes(xs: readonly number[]): Buffer {
  const bytes = Buffer.from(Float64Array.from(xs).buffer);
  if (!LITTLE_ENDIAN) bytes.swap64();
  return bytes;
}
