/**
 * The node:http fetch against a real local server: request method, headers
 * and body arrive as sent; status, headers and a gzip- or brotli-compressed
 * body come back as global fetch would give them; sequential requests share
 * one kept-alive socket; abort and a refused connection fail as fetch fails.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpFetch } from './http-fetch.js';

let server: Server;
let base: string;
const sockets = new Set<unknown>();
let lastRequest: { method?: string; headers: IncomingMessage['headers']; body: string } | undefined;

beforeAll(async () => {
  server = createServer((req, res) => {
    sockets.add(req.socket);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      lastRequest = { method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      if (req.url === '/json') {
        res.writeHead(201, { 'content-type': 'application/json', 'x-request-id': 'r-1' });
        res.end(JSON.stringify({ echo: lastRequest.body }));
      } else if (req.url === '/gzip') {
        res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' });
        res.end(gzipSync(Buffer.from('zipped ü text')));
      } else if (req.url === '/br') {
        res.writeHead(200, { 'content-encoding': 'br' });
        res.end(brotliCompressSync(Buffer.from('brotli text')));
      } else if (req.url === '/empty') {
        res.writeHead(204);
        res.end();
      } else if (req.url === '/cookies') {
        res.setHeader('set-cookie', ['a=1', 'b=2']);
        res.end('ok');
      } else if (req.url === '/hang') {
        // never answers
      } else {
        res.writeHead(404);
        res.end('not found');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('createHttpFetch', () => {
  it('sends method, headers and body; returns status, headers and the JSON body', async () => {
    const f = createHttpFetch();
    const res = await f(`${base}/json`, { method: 'POST', headers: { Authorization: 'Bearer k', 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(res.status).toBe(201);
    expect(res.ok).toBe(true);
    expect(res.headers.get('x-request-id')).toBe('r-1');
    expect(await res.json()).toEqual({ echo: '{"a":1}' });
    expect(lastRequest).toMatchObject({ method: 'POST', body: '{"a":1}' });
    expect(lastRequest?.headers.authorization).toBe('Bearer k');
    expect(lastRequest?.headers['content-length']).toBe('7');
  });

  it('accepts a Headers object and a byte body', async () => {
    const f = createHttpFetch();
    const headers = new Headers({ 'X-One': '1' });
    await f(new URL(`${base}/json`), { method: 'PUT', headers, body: new TextEncoder().encode('bytes') });
    expect(lastRequest).toMatchObject({ method: 'PUT', body: 'bytes' });
    expect(lastRequest?.headers['x-one']).toBe('1');
  });

  it('decompresses gzip and brotli bodies and drops the encoding header', async () => {
    const f = createHttpFetch();
    const gz = await f(`${base}/gzip`);
    expect(await gz.text()).toBe('zipped ü text');
    expect(gz.headers.get('content-encoding')).toBeNull();
    expect(await (await f(`${base}/br`)).text()).toBe('brotli text');
  });

  it('gives a null body for 204, keeps repeated headers, and passes error statuses through', async () => {
    const f = createHttpFetch();
    const empty = await f(`${base}/empty`);
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
    const cookies = await f(`${base}/cookies`);
    expect(cookies.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    const missing = await f(`${base}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('not found');
  });

  it('reuses one kept-alive socket for sequential requests', async () => {
    const f = createHttpFetch({ maxSockets: 4 });
    sockets.clear();
    for (let i = 0; i < 5; i++) await (await f(`${base}/json`, { method: 'POST', body: String(i) })).json();
    expect(sockets.size).toBe(1);
  });

  it('rejects with the signal’s AbortError when aborted, before or during the request', async () => {
    const f = createHttpFetch();
    const before = new AbortController();
    before.abort();
    await expect(f(`${base}/json`, { signal: before.signal })).rejects.toMatchObject({ name: 'AbortError' });
    const during = new AbortController();
    const pending = f(`${base}/hang`, { signal: during.signal });
    setTimeout(() => during.abort(), 20);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('fails like fetch on a refused connection: TypeError "fetch failed" with the socket error as cause', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const error = await createHttpFetch()(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('fetch failed');
    expect((error as { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
  });
});
