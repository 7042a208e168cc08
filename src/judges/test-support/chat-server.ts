/**
 * A real OpenAI-compatible chat-completions server for tests and benches: a
 * `node:http` server on 127.0.0.1 (port 0) that speaks
 * `POST /v1/chat/completions` with the real request/response JSON shapes
 * (`choices[].message.content`, `finish_reason`, `usage`), a programmable
 * responder, and injectable faults: any HTTP status (500, 429 with
 * `Retry-After`, 400 for `json_schema`), hanging past the client's timeout,
 * malformed content, configurable latency, and the replies measured from
 * `transformers serve` 5.18 (docs/judge-audit.md, "Verified engines"):
 * FastAPI's `{"detail": …}` error bodies, 400 for a model it is not pinned
 * to, `text/plain` "Internal Server Error" for a failure inside the handler
 * (`TRANSFORMERS_SERVE_500`).
 *
 * Test support only: excluded from the build (tsconfig.build.json).
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The part of a chat-completions request body the responders look at. */
export interface ChatRequestBody {
  readonly model: string;
  readonly messages: ReadonlyArray<{ readonly role: string; readonly content: unknown }>;
  readonly response_format?: { readonly type: string; readonly json_schema?: unknown };
  readonly temperature?: number;
  readonly n?: number;
  readonly seed?: number;
  readonly max_tokens?: number;
  readonly max_completion_tokens?: number;
  readonly [key: string]: unknown;
}

export interface ChatRequestRecord {
  /** 0-based arrival order. */
  readonly index: number;
  readonly body: ChatRequestBody;
  readonly headers: IncomingHttpHeaders;
}

export interface TokenUsage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
}

/** What the server does with one request. */
export type ChatReply =
  /** 200 with one choice per content string. */
  | { readonly kind: 'content'; readonly content: string | readonly string[]; readonly usage?: TokenUsage; readonly finishReason?: 'stop' | 'length' }
  /** An error status with an OpenAI-style error body (or `body` verbatim) and extra headers (e.g. Retry-After). */
  | { readonly kind: 'status'; readonly status: number; readonly body?: unknown; readonly headers?: Readonly<Record<string, string>> }
  /** Never answers: the client must time out (the socket is closed when the server closes). */
  | { readonly kind: 'hang' }
  /** A raw HTTP body (e.g. a truncated JSON document). */
  | { readonly kind: 'raw'; readonly status: number; readonly body: string; readonly contentType?: string };

export type ChatResponder = (request: ChatRequestRecord) => ChatReply | Promise<ChatReply>;

export interface ChatServerOptions {
  readonly responder: ChatResponder;
  /** Delay before every reply, in ms (default 0). */
  readonly latencyMs?: number;
  /** Answer 400 to `response_format: {type: 'json_schema'}` like servers without structured outputs (default false). */
  readonly rejectJsonSchema?: boolean;
  /**
   * Serve only this model, as `transformers serve MODEL` does: another model
   * name gets its measured reply, 400 `{"detail":"Server is pinned to 'MODEL'; requested 'NAME'."}`.
   */
  readonly pinnedModel?: string;
}

/** What `transformers serve` 5.18 answers when its handler raises (a bad image, a malformed field): Starlette's plain 500. */
export const TRANSFORMERS_SERVE_500: ChatReply = { kind: 'raw', status: 500, body: 'Internal Server Error', contentType: 'text/plain; charset=utf-8' };

export interface ChatServer {
  /** Base URL for a chat client, ending in `/v1`. */
  readonly baseUrl: string;
  /** Every chat-completions request received, in arrival order. */
  readonly requests: ChatRequestRecord[];
  /** Most requests that were being handled at the same time. */
  maxInFlight(): number;
  setResponder(responder: ChatResponder): void;
  setLatency(ms: number): void;
  close(): Promise<void>;
}

/** Every text part of a request's messages, joined by newlines (for responders that read the prompt). */
export function requestText(body: ChatRequestBody): string {
  const parts: string[] = [];
  for (const message of body.messages) {
    if (typeof message.content === 'string') parts.push(message.content);
    else if (Array.isArray(message.content))
      for (const part of message.content as Array<{ type?: string; text?: string }>) if (part.type === 'text' && typeof part.text === 'string') parts.push(part.text);
  }
  return parts.join('\n');
}

/** Image URLs in a request's messages. */
export function requestImageUrls(body: ChatRequestBody): string[] {
  const urls: string[] = [];
  for (const message of body.messages)
    if (Array.isArray(message.content))
      for (const part of message.content as Array<{ type?: string; image_url?: { url?: string } }>)
        if (part.type === 'image_url' && typeof part.image_url?.url === 'string') urls.push(part.image_url.url);
  return urls;
}

/** Number of steps in a step-judge request: lines that start with `Step <n>:`. */
export function countPromptSteps(body: ChatRequestBody): number {
  return (requestText(body).match(/^Step \d+:/gm) ?? []).length;
}

/** A step-judge reply `{"step1": {...}, …}` with the given bits per step. */
export function stepVerdictsContent(verdicts: ReadonlyArray<readonly [0 | 1, 0 | 1]>): string {
  const out: Record<string, { alignment: number; contribution: number }> = {};
  verdicts.forEach(([alignment, contribution], i) => {
    out[`step${i + 1}`] = { alignment, contribution };
  });
  return JSON.stringify(out);
}

function roughTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function errorBody(status: number, message: string): unknown {
  return { error: { message, type: status >= 500 ? 'server_error' : 'invalid_request_error', param: null, code: null } };
}

export async function startChatServer(options: ChatServerOptions): Promise<ChatServer> {
  let responder = options.responder;
  let latencyMs = options.latencyMs ?? 0;
  const requests: ChatRequestRecord[] = [];
  let completionId = 0;
  let inFlight = 0;
  let maxInFlight = 0;

  const server = createServer((req, res) => {
    void (async () => {
      if (req.method !== 'POST' || !(req.url ?? '').replace(/\?.*$/, '').endsWith('/v1/chat/completions')) {
        sendJson(res, 404, errorBody(404, `no route ${req.method} ${req.url}`));
        return;
      }
      let body: ChatRequestBody;
      try {
        body = JSON.parse(await readBody(req)) as ChatRequestBody;
      } catch {
        sendJson(res, 400, errorBody(400, 'request body is not JSON'));
        return;
      }
      const record: ChatRequestRecord = { index: requests.length, body, headers: req.headers };
      requests.push(record);
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      res.once('close', () => {
        inFlight -= 1;
      });
      if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
      if (options.pinnedModel !== undefined && body.model !== options.pinnedModel) {
        sendJson(res, 400, { detail: `Server is pinned to '${options.pinnedModel}'; requested '${body.model}'.` }, { 'x-request-id': `req-${record.index}` });
        return;
      }
      if (options.rejectJsonSchema && body.response_format?.type === 'json_schema') {
        sendJson(res, 400, errorBody(400, "response_format type 'json_schema' is not supported"));
        return;
      }
      let reply: ChatReply;
      try {
        reply = await responder(record);
      } catch (error) {
        sendJson(res, 500, errorBody(500, `responder failed: ${(error as Error).message}`));
        return;
      }
      switch (reply.kind) {
        case 'hang':
          return; // the client times out; close() destroys the socket
        case 'raw':
          res.writeHead(reply.status, { 'content-type': reply.contentType ?? 'application/json' });
          res.end(reply.body);
          return;
        case 'status':
          sendJson(res, reply.status, reply.body ?? errorBody(reply.status, `injected HTTP ${reply.status}`), reply.headers);
          return;
        case 'content': {
          const contents = typeof reply.content === 'string' ? [reply.content] : reply.content;
          const usage = reply.usage ?? {
            prompt_tokens: roughTokens(requestText(body)),
            completion_tokens: contents.reduce((s, c) => s + roughTokens(c), 0),
          };
          completionId += 1;
          sendJson(res, 200, {
            id: `chatcmpl-test-${completionId}`,
            object: 'chat.completion',
            created: 1_700_000_000,
            model: body.model,
            system_fingerprint: null,
            choices: contents.map((content, index) => ({
              index,
              message: { role: 'assistant', content, refusal: null },
              logprobs: null,
              finish_reason: reply.finishReason ?? 'stop',
            })),
            usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
          });
          return;
        }
      }
    })().catch(() => {
      if (!res.headersSent) sendJson(res, 500, errorBody(500, 'test server failure'));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    maxInFlight: () => maxInFlight,
    setResponder(next) {
      responder = next;
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The statuses at which the key-echo tests make the server echo the API key (a client error, an auth error, a server error). */
export const KEY_ECHO_STATUSES = [400, 401, 500] as const;

/**
 * A reply that echoes the credentials the client sent, as careless servers do: the key (and the whole
 * Authorization header) in an OpenAI-style error body, and in response headers.
 */
export function keyEchoReply(record: ChatRequestRecord, status: number): ChatReply {
  const authorization = String(record.headers.authorization ?? '');
  const key = authorization.replace(/^Bearer\s+/i, '');
  return {
    kind: 'status',
    status,
    body: { error: { message: `Incorrect API key provided: ${key}. Header was "${authorization}".`, type: status >= 500 ? 'server_error' : 'invalid_request_error', param: key, code: 'invalid_api_key' } },
    headers: { 'x-echoed-key': key, 'www-authenticate': `Bearer realm="${key}"`, 'x-request-id': `req-${key}` },
  };
}
