/**
 * A chat-completions client: `POST {baseUrl}/chat/completions` over
 * node:http keep-alive (http-client.ts), one JSON body out, one JSON reply
 * back, for the judge endpoint (judges/openai/endpoint.ts) and the OpenAI
 * sampler (backends/openai/sampler.ts). It replaces the openai SDK: the SDK's
 * per-request work (header building, debug-detail formatting even with
 * logging off, its fetch plumbing) cost the judge client about 0.6–0.8 ms of
 * CPU per item, more than the whole exchange (`npm run bench -- judge`), and
 * the SDK drops the message of an error body that has no `error` field (a
 * FastAPI server's `{"detail": …}`, e.g. `transformers serve`), saying only
 * "400 status code (no body)".
 *
 * Failures are thrown in the shapes `classifyRemoteError` (utils/retry.ts)
 * reads: an HTTP error status as a `ChatHttpError` with `status`, `headers`
 * and the message `<status> <the server's error message>` (what the SDK
 * says); a socket failure as a `ConnectionError`; a missed deadline as a
 * `TimeoutError`; a 2xx reply that is not JSON as a `SyntaxError`; an abort
 * as the signal's reason.
 */
import { createHttpAgents, sendHttp, type HttpReply } from './http-client.js';

export interface ChatReply {
  readonly choices?: ReadonlyArray<{ readonly message?: { readonly content?: string | null } | null; readonly finish_reason?: string | null }>;
  readonly usage?: { readonly prompt_tokens?: number; readonly completion_tokens?: number } | null;
}

export interface ChatClient {
  /** Sends one chat-completions request body (already a plain JSON-able object). */
  complete(body: Readonly<Record<string, unknown>>, signal?: AbortSignal): Promise<ChatReply>;
}

export interface ChatClientOptions {
  /** e.g. `https://api.openai.com/v1` (no trailing slash needed). */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer …`; omitted for key-less local servers. */
  readonly apiKey?: string;
  /** Sockets per host (default 8). */
  readonly maxSockets?: number;
  /** Deadline of one request in ms (default 120,000). */
  readonly timeoutMs?: number;
}

/** An HTTP error status from the chat endpoint. */
export class ChatHttpError extends Error {
  override readonly name = 'ChatHttpError';
  readonly headers: { get(name: string): string | null };
  constructor(
    readonly status: number,
    reply: HttpReply,
  ) {
    super(`${status} ${errorMessage(reply)}`);
    this.headers = { get: (name) => reply.header(name) };
  }
}

/** The connection failed (refused, reset, DNS); `cause` is the socket error. */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
}

/** FastAPI's `detail`: a string, or a list of validation errors `{loc, msg}` (e.g. a body that is not JSON). */
function detailMessage(detail: unknown): string | null {
  if (typeof detail === 'string') return detail;
  if (!Array.isArray(detail)) return null;
  const parts = detail.map((d) => {
    const { msg, loc } = (d ?? {}) as { msg?: unknown; loc?: unknown };
    const where = Array.isArray(loc) ? loc.join('.') : '';
    return typeof msg === 'string' ? (where ? `${where}: ${msg}` : msg) : JSON.stringify(d);
  });
  return parts.length > 0 ? parts.join('; ') : null;
}

/**
 * The message of an error reply: its JSON `error.message`, else the `error`
 * value, else `message`, else FastAPI's `detail`, else the body's text
 * (shortened).
 */
function errorMessage(reply: HttpReply): string {
  const text = reply.body?.toString('utf8').trim() ?? '';
  if (text === '') return 'status code (no body)';
  try {
    const parsed = JSON.parse(text) as { error?: unknown; message?: unknown };
    const error = parsed?.error;
    if (error !== undefined && error !== null) {
      const m = (error as { message?: unknown }).message;
      if (typeof m === 'string') return m;
      return typeof error === 'string' ? error : JSON.stringify(error);
    }
    if (typeof parsed?.message === 'string') return parsed.message;
    const detail = detailMessage((parsed as { detail?: unknown } | null)?.detail);
    if (detail !== null) return detail;
  } catch {
    // not JSON: the text itself
  }
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

export function createChatClient(options: ChatClientOptions): ChatClient {
  const url = new URL(`${options.baseUrl.replace(/\/+$/, '')}/chat/completions`);
  const agents = createHttpAgents(Math.max(1, options.maxSockets ?? 8));
  const timeoutMs = options.timeoutMs ?? 120_000;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json',
    'accept-encoding': 'gzip, deflate, br',
    ...(options.apiKey !== undefined ? { authorization: `Bearer ${options.apiKey}` } : {}),
  };
  return {
    async complete(body, signal) {
      let reply: HttpReply;
      try {
        reply = await sendHttp(agents, url, { method: 'POST', headers, body: Buffer.from(JSON.stringify(body), 'utf8'), timeoutMs, ...(signal ? { signal } : {}) });
      } catch (error) {
        if (signal?.aborted || (error as { name?: unknown } | null)?.name === 'TimeoutError') throw error;
        throw new ConnectionError(`connection error (${(error as Error).message ?? String(error)})`, { cause: error });
      }
      if (reply.status < 200 || reply.status >= 300) throw new ChatHttpError(reply.status, reply);
      const parsed = JSON.parse(reply.body?.toString('utf8') ?? '') as unknown;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new SyntaxError('the reply is not a chat completion (a JSON object)');
      return parsed as ChatReply;
    },
  };
}
