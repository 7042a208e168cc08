/**
 * The ceiling for the `mrpo serve` bench: a minimal node:http server that reads
 * each request body to the end and answers with fixed bytes (the file named by
 * argv[2], a response `mrpo serve` gave for the bench's request). Run in its own
 * process, like `mrpo serve`; prints `{"msg":"listening","url":…}` on stderr.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const bytes = readFileSync(process.argv[2]);
const server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    Buffer.concat(chunks).toString('utf8'); // the body is read and decoded, as a real handler must
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(bytes.length) });
    res.end(bytes);
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stderr.write(`${JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
