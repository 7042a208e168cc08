/**
 * The keep-alive exchange against real local servers: what goes out and
 * comes back (method, headers, body; gzip and brotli bodies decoded; 204 with
 * a null body; repeated headers joined), one kept-alive socket for
 * sequential requests, abort before and during a request; and sockets that
 * close under the client: a kept-alive socket that the server closed while idle
 * (measured against `transformers serve` 5.18: uvicorn drops idle sockets
 * after 5 s, and a request sent at that moment got "socket hang up") is
 * resent once on a fresh socket; a fresh socket that fails is not.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpAgents, sendHttp } from './http-client.js';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

/**
 * A server that answers `ok <n>` to the n-th request, except that it drops
 * the socket without a reply for the requests whose numbers are in `dropAt`
 * (as a server does that closes an idle connection just as a request arrives).
 * Counts the connections it accepted.
 */
async function startDroppingServer(dropAt: ReadonlySet<number>): Promise<{ url: URL; connections: () => number }> {
  let requests = 0;
  let connections = 0;
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests += 1;
      if (dropAt.has(requests)) {
        (req.socket as Socket).destroy();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`ok ${requests}`);
    });
  });
  server.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: new URL(`http://127.0.0.1:${port}/v1/chat/completions`), connections: () => connections };
}

const post = { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.from('{}') };

describe('sendHttp over kept-alive sockets', () => {
  it('resends once, on a new socket, a request whose kept-alive socket the server dropped before replying', async () => {
    const { url, connections } = await startDroppingServer(new Set([2]));
    const agents = createHttpAgents(1);
    expect((await sendHttp(agents, url, post)).body?.toString()).toBe('ok 1');
    // The second request goes out on the kept-alive socket of the first; the server drops it (its request 2)
    // and the resend on a fresh socket is the server's request 3.
    const reply = await sendHttp(agents, url, post);
    expect(reply.status).toBe(200);
    expect(reply.body?.toString()).toBe('ok 3');
    expect(connections()).toBe(2);
  });

  it('does not resend when the socket was fresh, nor a second time', async () => {
    const fresh = await startDroppingServer(new Set([1]));
    await expect(sendHttp(createHttpAgents(1), fresh.url, post)).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(fresh.connections()).toBe(1);
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    // Request 1 answered; 2 (kept-alive socket) and 3 (its one resend, fresh socket) dropped: the error comes back.
    const twice = await startDroppingServer(new Set([2, 3]));
    const agents = createHttpAgents(1);
    expect((await sendHttp(agents, twice.url, post)).body?.toString()).toBe('ok 1');
    await expect(sendHttp(agents, twice.url, post)).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(twice.connections()).toBe(2);
  });
});

describe('sendHttp exchanges', () => {
  async function startPlainServer(): Promise<{ base: string; sockets: Set<unknown>; last: () => { method?: string; headers: Record<string, unknown>; body: string } | undefined }> {
    const sockets = new Set<unknown>();
    let last: { method?: string; headers: Record<string, unknown>; body: string } | undefined;
    server = createServer((req, res) => {
      sockets.add(req.socket);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        last = { method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        if (req.url === '/json') res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ echo: last.body }));
        else if (req.url === '/gzip') res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(Buffer.from('zipped ü text')));
        else if (req.url === '/br') res.writeHead(200, { 'content-encoding': 'br' }).end(brotliCompressSync(Buffer.from('brotli text')));
        else if (req.url === '/empty') res.writeHead(204).end();
        else if (req.url === '/cookies') {
          res.setHeader('set-cookie', ['a=1', 'b=2']);
          res.end('ok');
        } else if (req.url !== '/hang') res.writeHead(404).end('not found');
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sockets, last: () => last };
  }

  it('sends method, headers and body (content-length set); returns status, headers and the decoded body', async () => {
    const { base, last } = await startPlainServer();
    const agents = createHttpAgents();
    const reply = await sendHttp(agents, new URL(`${base}/json`), { method: 'POST', headers: { authorization: 'Bearer k' }, body: Buffer.from('{"a":1}') });
    expect(reply.status).toBe(201);
    expect(reply.header('Content-Type')).toBe('application/json');
    expect(JSON.parse(reply.body?.toString() ?? '')).toEqual({ echo: '{"a":1}' });
    expect(last()).toMatchObject({ method: 'POST', body: '{"a":1}', headers: { authorization: 'Bearer k', 'content-length': '7' } });
    expect((await sendHttp(agents, new URL(`${base}/gzip`), { method: 'GET', headers: {} })).body?.toString()).toBe('zipped ü text');
    expect((await sendHttp(agents, new URL(`${base}/br`), { method: 'GET', headers: {} })).body?.toString()).toBe('brotli text');
    const empty = await sendHttp(agents, new URL(`${base}/empty`), { method: 'GET', headers: {} });
    expect([empty.status, empty.body]).toEqual([204, null]);
    expect((await sendHttp(agents, new URL(`${base}/cookies`), { method: 'GET', headers: {} })).header('set-cookie')).toBe('a=1, b=2');
    const missing = await sendHttp(agents, new URL(`${base}/nope`), { method: 'GET', headers: {} });
    expect([missing.status, missing.body?.toString()]).toEqual([404, 'not found']);
  });

  it('reuses one kept-alive socket for sequential requests', async () => {
    const { base, sockets } = await startPlainServer();
    const agents = createHttpAgents(4);
    for (let i = 0; i < 5; i++) await sendHttp(agents, new URL(`${base}/json`), { method: 'POST', headers: {}, body: Buffer.from(String(i)) });
    expect(sockets.size).toBe(1);
  });

  it('rejects with the signal’s AbortError when aborted, before or during the request', async () => {
    const { base } = await startPlainServer();
    const agents = createHttpAgents();
    const before = new AbortController();
    before.abort();
    await expect(sendHttp(agents, new URL(`${base}/json`), { method: 'GET', headers: {}, signal: before.signal })).rejects.toMatchObject({ name: 'AbortError' });
    const during = new AbortController();
    const pending = sendHttp(agents, new URL(`${base}/hang`), { method: 'GET', headers: {}, signal: during.signal });
    setTimeout(() => during.abort(), 20);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });
});
