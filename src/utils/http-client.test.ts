/**
 * The keep-alive exchange against a real local server whose sockets close
 * under the client: a kept-alive socket that the server closed while idle
 * (measured against `transformers serve` 5.18: uvicorn drops idle sockets
 * after 5 s, and a request sent at that moment got "socket hang up") is
 * resent once on a fresh socket; a fresh socket that fails is not.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
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
