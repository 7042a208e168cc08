/**
 * A recording HTTP proxy for the live conformance test: it stands between
 * `mrpo train` and the real Tinker server named by TINKER_BASE_URL, forwards
 * every request unchanged, and records each submission's route, model,
 * seq_id and content hash (protobuf forward_backward bodies are decoded with
 * the client's own schema), so the test can check ordering and that nothing
 * was applied twice, from what actually went over the wire.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeForwardBackwardRequest } from '../../src/backends/tinker/test-support/proto-reader.js';

export interface RecordedSubmission {
  readonly route: string;
  readonly modelId?: string;
  readonly seqId?: number;
  readonly bodyHash: string;
  readonly status: number;
  /** Position in arrival order. */
  readonly index: number;
}

export interface RecordingProxy {
  readonly url: string;
  readonly submissions: RecordedSubmission[];
  close(): Promise<void>;
}

/** Routes whose body carries a model's `seq_id` (the ordered requests of docs/tinker-protocol.md §1.4). */
const ORDERED_ROUTES = new Set(['forward', 'forward_backward', 'optim_step', 'save_weights', 'save_weights_for_sampler', 'load_weights']);

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function describe(route: string, contentType: string, body: Buffer): { modelId?: string; seqId?: number } {
  if (!ORDERED_ROUTES.has(route) || body.byteLength === 0) return {};
  try {
    if (contentType.includes('application/x-protobuf')) {
      // Read by the hand-written reader, not by the client's own schema.
      const m = decodeForwardBackwardRequest(body);
      return { modelId: m.model_id, seqId: m.seq_id };
    }
    const j = JSON.parse(body.toString('utf8')) as { model_id?: unknown; seq_id?: unknown };
    return { modelId: typeof j.model_id === 'string' ? j.model_id : undefined, seqId: typeof j.seq_id === 'number' ? j.seq_id : undefined };
  } catch {
    return {};
  }
}

/** Starts the proxy on 127.0.0.1 in front of `target` (a base URL such as http://127.0.0.1:8000). */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const base = new URL(target);
  const submissions: RecordedSubmission[] = [];
  let index = 0;
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const path = req.url ?? '/';
      const route = path.replace(/^.*\/api\/v1\//, '').replace(/\?.*$/, '');
      const upstream = new URL(base.pathname.replace(/\/$/, '') + path, base);
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) {
        if (v === undefined || k === 'host' || k === 'content-length' || k === 'connection') continue;
        headers.set(k, Array.isArray(v) ? v.join(', ') : v);
      }
      const myIndex = index++;
      let response: Response;
      try {
        response = await fetch(upstream, { method: req.method, headers, body: body.byteLength > 0 ? body : undefined });
      } catch (error) {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ detail: `proxy: upstream unreachable: ${(error as Error).message}` }));
        return;
      }
      const out = Buffer.from(await response.arrayBuffer());
      if (req.method === 'POST' && ORDERED_ROUTES.has(route)) {
        submissions.push({ route, ...describe(route, req.headers['content-type'] ?? '', body), bodyHash: createHash('sha256').update(body).digest('hex'), status: response.status, index: myIndex });
      }
      const outHeaders: Record<string, string> = {};
      response.headers.forEach((v, k) => {
        if (k !== 'content-length' && k !== 'transfer-encoding' && k !== 'content-encoding' && k !== 'connection') outHeaders[k] = v;
      });
      res.writeHead(response.status, outHeaders);
      res.end(out);
    })().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    submissions,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
