/**
 * HTTP plumbing for `mrpo serve`: the error type every handler throws for a
 * 4xx/5xx answer, the size-limited body reader and the JSON writer. The error
 * body is always `{ "error": { "message", "path"? } }`, where `path` is the
 * JSON path of the bad field (`$.groups[0].completions[1].text`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MrpoError } from '../errors.js';
import { parseWithFlatOffsets } from './json-offsets.js';
import { jsonBytesWithRuns } from './json-runs.js';

export class HttpError extends MrpoError {
  override readonly name: string = 'HttpError';
  readonly status: number;
  readonly path: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  constructor(status: number, message: string, options: { path?: string; headers?: Readonly<Record<string, string>> } = {}) {
    super(message);
    this.status = status;
    this.path = options.path;
    this.headers = options.headers ?? {};
  }
}

export function errorBody(message: string, path?: string): { error: { message: string; path?: string } } {
  return { error: path === undefined ? { message } : { message, path } };
}

/**
 * Reads the whole body (bytes), refusing (413) a declared or actual size over
 * `limitBytes`. On refusal the rest of the body is not read; the server then
 * closes the connection after the response. With `timeoutMs`, a body not
 * complete by then is refused with 408 (a slow client cannot hold the request).
 */
export async function readBody(req: IncomingMessage, limitBytes: number, timeoutMs?: number): Promise<Buffer> {
  if (timeoutMs === undefined) return readBodyUnbounded(req, limitBytes);
  let timer: NodeJS.Timeout | undefined;
  const reading = readBodyUnbounded(req, limitBytes);
  reading.catch(() => {}); // after a timeout the read is abandoned; the connection is closed with the 408
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      req.pause();
      reject(new HttpError(408, `request body not received within ${timeoutMs} ms`, { headers: { connection: 'close' } }));
    }, timeoutMs);
  });
  try {
    return await Promise.race([reading, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function readBodyUnbounded(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limitBytes) throw tooLarge(limitBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      const buffer = chunk as Buffer;
      size += buffer.length;
      if (size > limitBytes) throw tooLarge(limitBytes);
      chunks.push(buffer);
    }
  } catch (error) {
    if (error instanceof HttpError) throw error;
    // The client went away mid-body (or the request timed out): a client error, not a server failure.
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new HttpError(400, `request body could not be read (${code})`, { headers: { connection: 'close' } });
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
}

function tooLarge(limitBytes: number): HttpError {
  return new HttpError(413, `request body is larger than the limit of ${limitBytes} bytes`, { headers: { connection: 'close' } });
}

/**
 * Parses a JSON body (UTF-8); a syntax error is a 400 at path `$`. With `flatOffsets` (the /v1/shape route),
 * completions' `[start, end]` token offsets (and with `base64`, base64 ones: compact.ts) come back as flat
 * Int32Arrays when they are in the plain form (json-offsets.ts); the values and errors are otherwise those of
 * JSON.parse.
 */
export function parseJsonBody(bytes: Buffer, flatOffsets?: { readonly base64: boolean }): unknown {
  if (flatOffsets !== undefined) {
    const fast = parseWithFlatOffsets(bytes, flatOffsets);
    if (fast !== undefined) return fast;
  }
  const text = bytes.toString('utf8');
  if (text.trim() === '') throw new HttpError(400, 'request body is empty; expected a JSON object', { path: '$' });
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new HttpError(400, `request body is not valid JSON (${(error as Error).message})`, { path: '$' });
  }
}

/**
 * Writes `body` as JSON: the bytes of `JSON.stringify(body)` in UTF-8, produced by jsonBytesWithRuns (per-token
 * advantages are written run by run, straight into the response buffer).
 */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  sendJsonBytes(res, status, jsonBytesWithRuns(body), headers);
}

/** Writes bytes that already are a JSON document (compact.ts's response). */
export function sendJsonBytes(res: ServerResponse, status: number, bytes: Buffer, headers: Readonly<Record<string, string>> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(bytes.length), ...headers });
  res.end(bytes);
}

export function sendText(res: ServerResponse, status: number, text: string, contentType: string, headers: Readonly<Record<string, string>> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}
