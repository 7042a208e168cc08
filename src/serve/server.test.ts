import { Agent } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseShapeRequest, shape } from '../shape/index.js';
import type { LogFields, Logger, LogLevel } from './log.js';
import type { Scorer, ScoreResult } from './score.js';
import { exampleShapeRequest, expectedExample, mixedShapeRequest, sentenceTokens, TEXT_CORRECT, TEXT_WRONG } from './test-support/fixtures.js';
import { holdRequest, metricValue, postJson, startServer, until, type RunningServer } from './test-support/http.js';

const running: RunningServer[] = [];
async function start(options: Parameters<typeof startServer>[0] = {}): Promise<RunningServer> {
  const s = await startServer(options);
  running.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.server.close()));
});

/** What the library returns, as it travels through JSON. */
function libraryShape(request: unknown): unknown {
  return JSON.parse(JSON.stringify(shape(parseShapeRequest(request))));
}

function capture(): Logger & { lines: Array<{ level: LogLevel; msg: string; fields: LogFields }> } {
  const lines: Array<{ level: LogLevel; msg: string; fields: LogFields }> = [];
  return { lines, log: (level, msg, fields = {}) => lines.push({ level, msg, fields }) };
}

describe('POST /v1/shape', () => {
  it('returns exactly what the library shape() returns, for every estimator', async () => {
    const { url } = await start();
    for (const estimator of ['grpo', 'gdpo', 'mrpo'] as const) {
      const request = mixedShapeRequest(estimator);
      const reply = await postJson(`${url}/v1/shape`, request);
      expect(reply.status).toBe(200);
      expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
      expect(reply.body).toEqual(libraryShape(request));
    }
  });

  it('gives the hand-derived MRPO per-token advantages', async () => {
    const { url } = await start();
    const reply = await postJson(`${url}/v1/shape`, exampleShapeRequest());
    expect(reply.status).toBe(200);
    const body = reply.body as { groups: Array<{ completions: Array<{ rewards: { total: number }; advantage: number; tokenAdvantages: number[]; unmappedSteps: number }> }> };
    const [c0, c1] = body.groups[0].completions;
    const { total, a0, a1, w2 } = expectedExample();
    expect(c0.rewards.total).toBeCloseTo(total[0], 12);
    expect(c1.rewards.total).toBeCloseTo(total[1], 12);
    expect(c0.advantage).toBeCloseTo(a0, 12);
    expect(c1.advantage).toBeCloseTo(a1, 12);
    // c0 is correct: every token gets A_0.
    expect(c0.tokenAdvantages).toHaveLength(sentenceTokens(TEXT_CORRECT).offsets.length);
    for (const v of c0.tokenAdvantages) expect(v).toBeCloseTo(a0, 12);
    // c1 tokens: <think>, S1, " ", S2, " ", S3, </think>, <answer>, cardiomegaly, </answer>
    expect(sentenceTokens(TEXT_WRONG).pieces).toHaveLength(10);
    const a = Math.abs(a1);
    const expected = [a1, a, a1, -w2 * a, a1, a, a1, a1, a1, a1];
    expect(c1.tokenAdvantages).toHaveLength(10);
    c1.tokenAdvantages.forEach((v, t) => expect(v).toBeCloseTo(expected[t], 12));
    expect(c1.unmappedSteps).toBe(0);
  });
});

describe('bad requests', () => {
  it('answers 400 naming the JSON path of the bad field', async () => {
    const { url } = await start();
    const request = exampleShapeRequest() as { groups: Array<{ completions: Array<Record<string, unknown>> }> };
    request.groups[0].completions[1].text = 42;
    const reply = await postJson(`${url}/v1/shape`, request);
    expect(reply.status).toBe(400);
    const error = (reply.body as { error: { message: string; path: string } }).error;
    expect(error.path).toBe('$.groups[0].completions[1].text');
    expect(error.message).toContain('$.groups[0].completions[1].text');
    expect(error.message).toMatch(/string/);

    const badEstimator = await postJson(`${url}/v1/shape`, { estimator: 'ppo', groups: [] });
    expect(badEstimator.status).toBe(400);
    expect((badEstimator.body as { error: { path: string } }).error.path).toBe('$.estimator');

    const notJson = await postJson(`${url}/v1/shape`, '{"estimator": ');
    expect(notJson.status).toBe(400);
    expect(notJson.body).toMatchObject({ error: { path: '$' } });
    expect((notJson.body as { error: { message: string } }).error.message).toMatch(/not valid JSON/);

    const empty = await postJson(`${url}/v1/shape`, '');
    expect(empty.status).toBe(400);
  });

  it('answers 404 for unknown routes and 405 with Allow for a wrong method', async () => {
    const { url } = await start();
    const missing = await fetch(`${url}/v2/shape`, { method: 'POST', body: '{}' });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toContain('/v1/shape');
    const wrong = await fetch(`${url}/v1/shape`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    const wrongMetrics = await fetch(`${url}/metrics`, { method: 'POST', body: '' });
    expect(wrongMetrics.status).toBe(405);
    expect(wrongMetrics.headers.get('allow')).toBe('GET');
  });

  it('answers 413 for a body over the limit, declared or streamed, and keeps serving', async () => {
    const { url } = await start({ maxBodyBytes: 2_000 });
    const big = JSON.stringify({ estimator: 'grpo', groups: [{ completions: [{ text: 'x'.repeat(5_000), rewards: { answer: 1 } }] }] });
    const declared = await fetch(`${url}/v1/shape`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as { error: { message: string } }).error.message).toMatch(/2000 bytes/);

    // Chunked: no Content-Length, the limit is found while reading.
    const chunks = [big.slice(0, 1_500), big.slice(1_500)];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(next));
      },
    });
    const streamed = await fetch(`${url}/v1/shape`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    expect(streamed.status).toBe(413);

    const small = await postJson(`${url}/v1/shape`, { estimator: 'grpo', groups: [{ completions: [{ text: 'a', rewards: { answer: 1 } }] }] });
    expect(small.status).toBe(200);
  });
});

describe('bearer token', () => {
  const token = 's3cret-token-value';

  it('requires the token on every route but /healthz, and never logs it', async () => {
    const logger = capture();
    const { url } = await start({ token, logger });
    const request = exampleShapeRequest();
    expect((await postJson(`${url}/v1/shape`, request)).status).toBe(401);
    const wrong = await postJson(`${url}/v1/shape`, request, { authorization: 'Bearer s3cret-token-valuf' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toBe('Bearer');
    expect((await postJson(`${url}/v1/shape`, request, { authorization: `Basic ${token}` })).status).toBe(401);
    expect((await postJson(`${url}/v1/shape`, request, { authorization: `Bearer ${token}x` })).status).toBe(401);
    const ok = await postJson(`${url}/v1/shape`, request, { authorization: `Bearer ${token}` });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual(libraryShape(request));
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    expect((await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await fetch(`${url}/nowhere`)).status).toBe(401);
    expect((await fetch(`${url}/nowhere`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    const requests = logger.lines.filter((l) => l.msg === 'request');
    expect(requests).toHaveLength(10);
    expect(requests.map((l) => l.fields.status)).toEqual([401, 401, 401, 401, 200, 401, 200, 401, 404, 200]);
    for (const line of requests) {
      expect(Object.keys(line.fields).sort()).toEqual(['method', 'ms', 'route', 'status']);
      expect(typeof line.fields.ms).toBe('number');
    }
    expect(JSON.stringify(logger.lines)).not.toContain(token);
    expect(requests[8].fields.route).toBe('other'); // unknown paths are not echoed into logs or metric labels
  });
});

describe('GET /metrics', () => {
  it('counts requests by route and status, latency and completions in Prometheus text', async () => {
    const { url } = await start();
    for (let i = 0; i < 3; i++) expect((await postJson(`${url}/v1/shape`, exampleShapeRequest())).status).toBe(200);
    expect((await postJson(`${url}/v1/shape`, '[')).status).toBe(400);
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(metricValue(text, 'mrpo_serve_requests_total{route="/v1/shape",status="200"}')).toBe(3);
    expect(metricValue(text, 'mrpo_serve_requests_total{route="/v1/shape",status="400"}')).toBe(1);
    expect(metricValue(text, 'mrpo_serve_request_duration_seconds_count{route="/v1/shape"}')).toBe(4);
    expect(metricValue(text, 'mrpo_serve_request_duration_seconds_bucket{le="+Inf",route="/v1/shape"}')).toBe(4);
    expect(metricValue(text, 'mrpo_serve_completions_total{route="/v1/shape"}')).toBe(6);
    expect(metricValue(text, 'mrpo_serve_in_flight')).toBe(0);
    expect(metricValue(text, 'mrpo_serve_queued')).toBe(0);
    expect(metricValue(text, 'mrpo_serve_step_judgements_total{outcome="unjudged"}')).toBe(0);
    expect(text).toContain('# TYPE mrpo_serve_request_duration_seconds histogram');
  });
});

/** A scorer whose every call waits until `release()`: holds concurrency slots for as long as a test needs. */
function blockingScorer(): Scorer & { calls: number; release: () => void } {
  let open: () => void = () => {};
  const gate = new Promise<void>((r) => (open = r));
  const scorer = {
    judgeName: 'blocking',
    calls: 0,
    release: () => open(),
    async score(json: unknown): Promise<ScoreResult> {
      scorer.calls++;
      await gate;
      const response = shape(parseShapeRequest(json, 'request body'));
      return { response: response as unknown as ScoreResult['response'], outcomes: {} as ScoreResult['outcomes'], completions: 0 };
    },
  };
  return scorer;
}

/** Opens a raw connection that declares `Content-Length: 1000` and sends one byte of the body. */
function slowUpload(url: string): Promise<Socket> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(target.port), target.hostname, () => {
      socket.write(`POST /v1/shape HTTP/1.1\r\nhost: ${target.host}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{`);
      resolve(socket);
    });
    socket.on('error', reject);
  });
}

describe('bounded concurrency', () => {
  it('answers 429 with Retry-After when slots and queue are full, and completes every accepted request', async () => {
    const scorer = blockingScorer();
    const { url } = await start({ concurrency: 1, queue: 1, retryAfterSeconds: 2, scorer });
    const gauges = async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return { inFlight: metricValue(text, 'mrpo_serve_in_flight'), queued: metricValue(text, 'mrpo_serve_queued') };
    };
    const request = exampleShapeRequest();
    const first = postJson(`${url}/v1/score`, request); // takes the slot, waits in the scorer
    await until(async () => (await gauges()).inFlight === 1);
    const second = postJson(`${url}/v1/score`, request); // waits in the queue
    await until(async () => (await gauges()).queued === 1);

    const refused = await postJson(`${url}/v1/shape`, request);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('2');
    expect((refused.body as { error: { message: string } }).error.message).toMatch(/busy/);

    scorer.release();
    const [a, b] = await Promise.all([first, second]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(a.body).toEqual(libraryShape(request));
    expect(b.body).toEqual(libraryShape(request));
    expect(await gauges()).toEqual({ inFlight: 0, queued: 0 });
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(metricValue(text, 'mrpo_serve_requests_total{route="/v1/shape",status="429"}')).toBe(1);
    expect(metricValue(text, 'mrpo_serve_requests_total{route="/v1/score",status="200"}')).toBe(2);
  });

  it('reads the body before taking a slot: slow uploads do not block other POSTs', async () => {
    const { url, server } = await start({ concurrency: 4, queue: 0 });
    const sockets = await Promise.all([0, 1, 2, 3, 4, 5].map(() => slowUpload(url)));
    try {
      await until(() => server.inFlight === 6);
      const reply = await postJson(`${url}/v1/shape`, exampleShapeRequest());
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual(libraryShape(exampleShapeRequest()));
      expect(sockets.every((s) => !s.destroyed)).toBe(true); // the slow uploads are still open
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  it('answers 408 to a body not complete within bodyTimeoutMs, and closes the connection', async () => {
    const { url } = await start({ bodyTimeoutMs: 100 });
    const socket = await slowUpload(url);
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString('utf8')));
    await new Promise((r) => socket.on('close', r));
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toMatch(/not received within 100 ms/);
  });
});

describe('a client that goes away', () => {
  it('frees its slot and is logged as 499 (client closed request), not a server failure', async () => {
    const logger = capture();
    const { url, server } = await start({ concurrency: 1, queue: 0, logger });
    const held = holdRequest(`${url}/v1/shape`, exampleShapeRequest());
    await until(() => server.inFlight === 1);
    held.abort();
    await until(() => server.inFlight === 0);
    expect(logger.lines.filter((l) => l.msg === 'request').map((l) => l.fields.status)).toEqual([499]);
    expect(logger.lines.filter((l) => l.level === 'error')).toEqual([]);
    // The only slot is free again.
    expect((await postJson(`${url}/v1/shape`, exampleShapeRequest())).status).toBe(200);
  });
});

describe('graceful shutdown', () => {
  it('stops accepting, finishes the request in flight, then resolves close()', async () => {
    const { url, server } = await start();
    const request = exampleShapeRequest();
    // An idle keep-alive connection must not hold the shutdown up.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const agent = new Agent({ keepAlive: true });
    const held = holdRequest(`${url}/v1/shape`, request, {}, agent);
    await until(() => server.inFlight === 1);

    let closed = false;
    const closing = server.close().then(() => (closed = true));
    await until(() => !server.server.listening);
    // New connections are refused; a request on a connection already open gets a clean 503 (not a reset).
    const port = Number(new URL(url).port);
    await expect(new Promise((resolve, reject) => connect(port, '127.0.0.1', () => resolve('connected')).on('error', reject))).rejects.toThrow(/ECONNREFUSED/);
    const late = await fetch(`${url}/healthz`, { headers: { connection: 'close' } }).then((r) => r.status, () => 'refused');
    expect([503, 'refused']).toContain(late);
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(false); // still draining

    const reply = await held.finish();
    expect(reply.status).toBe(200);
    expect(reply.headers.connection).toBe('close'); // the client asked for keep-alive; the server is closing
    agent.destroy();
    expect(reply.body).toEqual(libraryShape(request));
    await closing;
    expect(closed).toBe(true);
    expect(server.inFlight).toBe(0);
    await server.close(); // idempotent
  });

  it('cuts connections still open after the drain timeout', async () => {
    const logger = capture();
    const { url, server } = await start({ drainTimeoutMs: 100, logger });
    const held = holdRequest(`${url}/v1/shape`, exampleShapeRequest());
    await until(() => server.inFlight === 1);
    const reply = held.finish.bind(held);
    await server.close(); // resolves although the body never completes
    expect(logger.lines.map((l) => l.msg)).toContain('drain timeout: closing connections with requests still in flight');
    await expect(reply()).rejects.toThrow();
  });
});
