/**
 * The judge's chat-completions client against a real local HTTP server: what
 * it sends (path, headers, JSON body), and how each failure is thrown so that
 * `classifyRemoteError` gives the category the retry loop needs.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyRemoteError } from './retry.js';
import { ChatHttpError, createChatClient } from './chat-client.js';

let server: Server;
let base: string;
let last: { url?: string; method?: string; headers: IncomingMessage['headers']; body: string } | undefined;
const routes: Record<string, (res: ServerResponse) => void> = {
  '/ok/chat/completions': (res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ choices: [{ message: { content: '{"verdict":"O"}' } }], usage: { prompt_tokens: 12, completion_tokens: 3 } }));
  },
  '/gzip/chat/completions': (res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    res.end(gzipSync(JSON.stringify({ choices: [{ message: { content: 'zipped' } }] })));
  },
  '/json-error/chat/completions': (res) => {
    res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' });
    res.end(JSON.stringify({ error: { message: 'Rate limit reached', type: 'requests' } }));
  },
  '/text-error/chat/completions': (res) => {
    res.writeHead(502, { 'content-type': 'text/html' });
    res.end('<html>Bad Gateway</html>');
  },
  '/empty-error/chat/completions': (res) => {
    res.writeHead(400);
    res.end();
  },
  // The replies of `transformers serve` 5.18, recorded (FastAPI/uvicorn): a wrong model name, a body that is not
  // JSON, and a failure inside the handler (e.g. an image it cannot decode).
  '/pinned/chat/completions': (res) => {
    res.writeHead(400, { 'content-type': 'application/json', 'x-request-id': 'ad4a15bd-3cd6-4ab4-aad3-e3a288f7bfe7' });
    res.end('{"detail":"Server is pinned to \'/tmp/real/tiny-qwen3\'; requested \'gpt-5-mini\'."}');
  },
  '/json-invalid/chat/completions': (res) => {
    res.writeHead(422, { 'content-type': 'application/json' });
    res.end('{"detail":[{"type":"json_invalid","loc":["body",1],"msg":"JSON decode error","input":{},"ctx":{"error":"Expecting property name enclosed in double quotes"}}]}');
  },
  '/handler-failed/chat/completions': (res) => {
    res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('Internal Server Error');
  },
  '/not-json/chat/completions': (res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"choices": [');
  },
  '/hang/chat/completions': () => undefined,
};

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      last = { url: req.url, method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      (routes[req.url ?? ''] ?? ((r: ServerResponse) => r.writeHead(404).end()))(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** The error a call throws (fails the test if it resolves). */
async function thrown(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

describe('chat-completions client', () => {
  it('posts the body as JSON to {baseUrl}/chat/completions with the bearer key, and returns the parsed reply', async () => {
    const client = createChatClient({ baseUrl: `${base}/ok/`, apiKey: 'sk-test' });
    const reply = await client.complete({ model: 'm', messages: [{ role: 'user', content: 'héllo' }] });
    expect(reply).toEqual({ choices: [{ message: { content: '{"verdict":"O"}' } }], usage: { prompt_tokens: 12, completion_tokens: 3 } });
    expect(last?.url).toBe('/ok/chat/completions');
    expect(last?.method).toBe('POST');
    expect(last?.headers.authorization).toBe('Bearer sk-test');
    expect(last?.headers['content-type']).toBe('application/json');
    expect(last?.headers['content-length']).toBe(String(Buffer.byteLength(last?.body ?? '')));
    expect(JSON.parse(last?.body ?? '')).toEqual({ model: 'm', messages: [{ role: 'user', content: 'héllo' }] });
  });

  it('sends no authorization header without a key, and reads a gzip-compressed reply', async () => {
    const reply = await createChatClient({ baseUrl: `${base}/gzip` }).complete({ model: 'm' });
    expect(reply.choices?.[0]?.message?.content).toBe('zipped');
    expect(last?.headers.authorization).toBeUndefined();
  });

  it('an error status is a ChatHttpError "<status> <server message>" with its headers: classified http N, Retry-After read', async () => {
    const rate = await thrown(createChatClient({ baseUrl: `${base}/json-error` }).complete({}));
    expect(rate).toBeInstanceOf(ChatHttpError);
    expect((rate as Error).message).toBe('429 Rate limit reached');
    expect(classifyRemoteError(rate, 0)).toMatchObject({ category: 'http 429', status: 429, retryable: true, retryAfterMs: 7000 });
    const gateway = await thrown(createChatClient({ baseUrl: `${base}/text-error` }).complete({}));
    expect((gateway as Error).message).toBe('502 <html>Bad Gateway</html>');
    expect(classifyRemoteError(gateway, 0)).toMatchObject({ category: 'http 502', retryable: true, retryAfterMs: null });
    const empty = await thrown(createChatClient({ baseUrl: `${base}/empty-error` }).complete({}));
    expect((empty as Error).message).toBe('400 status code (no body)');
    expect(classifyRemoteError(empty, 0)).toMatchObject({ category: 'http 400', retryable: false });
  });

  it("reads FastAPI's {detail} error bodies (transformers serve): a string, or validation errors as 'loc: msg'", async () => {
    const pinned = await thrown(createChatClient({ baseUrl: `${base}/pinned` }).complete({}));
    expect((pinned as Error).message).toBe("400 Server is pinned to '/tmp/real/tiny-qwen3'; requested 'gpt-5-mini'.");
    expect(classifyRemoteError(pinned, 0)).toMatchObject({ category: 'http 400', retryable: false });
    const invalid = await thrown(createChatClient({ baseUrl: `${base}/json-invalid` }).complete({}));
    expect((invalid as Error).message).toBe('422 body.1: JSON decode error');
    const failed = await thrown(createChatClient({ baseUrl: `${base}/handler-failed` }).complete({}));
    expect((failed as Error).message).toBe('500 Internal Server Error');
    expect(classifyRemoteError(failed, 0)).toMatchObject({ category: 'http 500', retryable: true });
  });

  it('a 2xx reply that is not JSON is a malformed response; a missed deadline a timeout; a refused connection a connection error', async () => {
    expect(classifyRemoteError(await thrown(createChatClient({ baseUrl: `${base}/not-json` }).complete({})), 0)).toMatchObject({ category: 'malformed response', retryable: true });
    expect(classifyRemoteError(await thrown(createChatClient({ baseUrl: `${base}/hang`, timeoutMs: 50 }).complete({})), 0)).toMatchObject({ category: 'timeout', retryable: true });
    // A port nothing listens on: bind one, note it, close it.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const refused = await thrown(createChatClient({ baseUrl: `http://127.0.0.1:${port}` }).complete({}));
    expect(classifyRemoteError(refused, 0)).toMatchObject({ category: 'connection error', retryable: true });
    expect(String((refused as Error).message)).toMatch(/ECONNREFUSED/);
  });

  it('an abort rejects with the signal reason and is classified aborted', async () => {
    const controller = new AbortController();
    const pending = createChatClient({ baseUrl: `${base}/hang` }).complete({}, controller.signal);
    setTimeout(() => controller.abort(), 20);
    const error = await thrown(pending);
    expect((error as Error).name).toBe('AbortError');
    expect(classifyRemoteError(error, 0).category).toBe('aborted');
  });
});
