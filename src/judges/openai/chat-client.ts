/**
 * The judge's chat-completions client: `POST {baseUrl}/chat/completions`
 * over node:http keep-alive (utils/http-client.ts), one JSON body out, one
 * JSON reply back. It replaces the openai SDK on the judge's hot path: the
 * SDK's per-request work (header building, debug-detail formatting even with
 * logging off, its fetch plumbing) cost the judge client about 0.6–0.8 ms of
 * CPU per item, more than the whole exchange (`npm run bench -- judge`).
 *
 * Failures are thrown in the shapes `classifyRemoteError` (utils/retry.ts)
 * reads: an HTTP error status as a `ChatHttpError` with `status`, `headers`
 * and the message `<status> <the server's error message>` (what the SDK
 * says); a socket failure as a `ConnectionError`; a missed deadline as a
 * `TimeoutError`; a 2xx reply that is not JSON as a `SyntaxError`; an abort
 * as the signal's reason.
 */
import { createHttpAgents, sendHttp, type HttpReply } from '../../utils/http-client.js';

export interface ChatReply {
  readonly choices?: ReadonlyArray<{ readonly message?: { readonly content?: string | null } | null }>;
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

/** The message of an error reply: its JSON `error.message`, else the `error` value, else the body's text (shortened). */
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
