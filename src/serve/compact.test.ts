/**
 * `POST /v1/shape?encoding=compact` over real HTTP: the same values as the JSON
 * route of the same server and as in-process shape(). The test encodes offsets
 * and decodes advantages itself, with typed arrays over the bytes (this machine
 * is little-endian, as the encoding is), not with compact.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { makeRequest } from '../../bench/serve.bench.js';
import { parseShapeRequest, shape } from '../shape/index.js';
import { compactResponseBytes, encodeCompactResponse } from './compact.js';
import { exampleShapeRequest, mixedShapeRequest } from './test-support/fixtures.js';
import { postJson, startServer, type RunningServer } from './test-support/http.js';

const running: RunningServer[] = [];
async function start(): Promise<string> {
  const s = await startServer();
  running.push(s);
  return s.url;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.server.close()));
});

interface Completion {
  tokenOffsets?: unknown;
  tokenAdvantages?: unknown;
  [k: string]: unknown;
}
type Body = { groups: Array<{ completions: Completion[] }> } & Record<string, unknown>;

const b64Offsets = (pairs: ReadonlyArray<readonly [number, number]>): string => Buffer.from(Int32Array.from(pairs.flat()).buffer).toString('base64');
const fromB64Float64 = (s: string): number[] => {
  const bytes = Buffer.from(s, 'base64');
  return Array.from(new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)));
};

/** The request with every (or every other) completion's offsets as base64. */
function compactRequest(request: Record<string, unknown>, every = 1): Body {
  const copy = structuredClone(request) as Body;
  let n = 0;
  for (const g of copy.groups) for (const c of g.completions) if (Array.isArray(c.tokenOffsets) && n++ % every === 0) c.tokenOffsets = b64Offsets(c.tokenOffsets as Array<[number, number]>);
  return copy;
}

/** The compact response with its base64 advantages decoded back to numbers. */
function decoded(body: Body): Body {
  const copy = structuredClone(body);
  for (const g of copy.groups)
    for (const c of g.completions)
      if (c.tokenAdvantages !== undefined) {
        expect(typeof c.tokenAdvantages).toBe('string');
        c.tokenAdvantages = fromB64Float64(c.tokenAdvantages as string);
      }
  return copy;
}

describe('compactResponseBytes', () => {
  it('is byte for byte JSON.stringify of the base64 response, non-ASCII text, absent advantages and empty blocks included', () => {
    const response = {
      estimator: 'mrpo',
      groups: [
        { id: 'émoji 🫁', completions: [{ answer: 'pneumothorax — “left”', tokenAdvantages: [0.5, -1.25, 1e-300, -0] }, { answer: 'none' }] },
        { completions: [{ tokenAdvantages: [] }, { tokenAdvantages: [Math.PI] }] },
      ],
      metrics: { n: 3 },
    };
    const bytes = compactResponseBytes(response);
    expect(bytes.equals(Buffer.from(JSON.stringify(encodeCompactResponse(response)), 'utf8'))).toBe(true);
    // the block layout by hand: 0.5 and −1.25 as little-endian float64 (the Python client's test pins the same bytes)
    expect(bytes.toString('utf8')).toContain('"tokenAdvantages":"AAAAAAAA4D8AAAAAAAD0v');
    expect(JSON.parse(bytes.toString('utf8')).groups[1].completions[0].tokenAdvantages).toBe('');
  });
});

describe('POST /v1/shape: offsets the scanner reads and those it leaves to JSON.parse', () => {
  it('give the same answers and the same errors', async () => {
    const url = await start();
    const request = exampleShapeRequest();
    const plain = JSON.stringify(request);
    const reference = await postJson(`${url}/v1/shape`, plain);
    expect(reference.status).toBe(200);
    expect(reference.body).toEqual(JSON.parse(JSON.stringify(shape(parseShapeRequest(request)))));
    // the same numbers written as 3.0 and 3e0 (JSON.parse reads them; the scanner gives up): the same response
    const odd = plain.replace(/"tokenOffsets":\[\[0,(\d+)\]/, (_, end: string) => `"tokenOffsets":[[0.0,${end}e0]`);
    expect(odd).not.toBe(plain);
    expect((await postJson(`${url}/v1/shape`, odd)).body).toEqual(reference.body);
    // indented JSON (whitespace inside the pairs) is scanned: the same response
    expect((await postJson(`${url}/v1/shape`, JSON.stringify(request, null, 2))).body).toEqual(reference.body);
    // a negative start and a start after its end: the schema's errors, with the pair's path
    for (const bad of ['[[-1,3]]', '[[5,2]]']) {
      const reply = await postJson(`${url}/v1/shape`, plain.replace(/"tokenOffsets":\[\[[^\]]*\]/, `"tokenOffsets":${bad.slice(0, -1)}`));
      expect(reply.status).toBe(400);
      expect((reply.body as { error: { path: string; message: string } }).error).toMatchObject({ path: '$.groups[0].completions[0].tokenOffsets[0]' });
      expect((reply.body as { error: { message: string } }).error.message).toMatch(/0 ≤ start ≤ end/);
    }
  });
});

describe('POST /v1/shape?encoding=compact', () => {
  it('gives exactly the JSON route’s values, and in-process shape()’s, for every estimator', async () => {
    const url = await start();
    for (const request of [exampleShapeRequest(), mixedShapeRequest('grpo'), mixedShapeRequest('gdpo'), mixedShapeRequest('mrpo')]) {
      const json = await postJson(`${url}/v1/shape`, request);
      const compact = await postJson(`${url}/v1/shape?encoding=compact`, compactRequest(request));
      expect([json.status, compact.status]).toEqual([200, 200]);
      expect(decoded(compact.body as Body)).toEqual(json.body);
      expect(decoded(compact.body as Body)).toEqual(JSON.parse(JSON.stringify(shape(parseShapeRequest(request)))));
      // ?encoding=json is the default
      expect((await postJson(`${url}/v1/shape?encoding=json`, request)).body).toEqual(json.body);
    }
  });

  it('accepts both offset forms in one request, and a training-size batch', async () => {
    const url = await start();
    const request = mixedShapeRequest('mrpo');
    const mixed = await postJson(`${url}/v1/shape?encoding=compact`, compactRequest(request, 2));
    expect(mixed.status).toBe(200);
    expect(decoded(mixed.body as Body)).toEqual((await postJson(`${url}/v1/shape`, request)).body);
    const big = JSON.parse(makeRequest(3).body) as Record<string, unknown>;
    const reply = await postJson(`${url}/v1/shape?encoding=compact`, compactRequest(big));
    expect(reply.status).toBe(200);
    expect(decoded(reply.body as Body)).toEqual(JSON.parse(JSON.stringify(shape(parseShapeRequest(big)))));
  });

  it('rejects bad base64, a byte count that is not 8 per token, and bad offsets, naming the field', async () => {
    const url = await start();
    const bad = (offsets: string): Body => {
      const r = compactRequest(exampleShapeRequest());
      r.groups[0].completions[1].tokenOffsets = offsets;
      return r;
    };
    const path = '$.groups[0].completions[1].tokenOffsets';
    const cases: Array<[string, string, RegExp]> = [
      ['not base64!', path, /base64/],
      // what Node's decoder would skip or stop at, and the URL-safe alphabet: refused (base64.ts counts on this)
      ['AAAA AAAAAAA', path, /base64/],
      ['AAAAAA==AAAA', path, /base64/],
      ['AAAAAAAAAA-A', path, /base64/],
      ['AAAAAAAAAA_A', path, /base64/],
      ['AAAAAAAAAAA\n', path, /base64/],
      [Buffer.alloc(12).toString('base64'), path, /8 bytes .* per token, got 12 bytes/],
      [b64Offsets([[-1, 3]]), `${path}[0]`, /0 ≤ start ≤ end/],
      [b64Offsets([[5, 2]]), `${path}[0]`, /0 ≤ start ≤ end/],
      [b64Offsets([[0, 100_000]]), `${path}[0]`, /after the end of text/],
    ];
    for (const [offsets, where, message] of cases) {
      const reply = await postJson(`${url}/v1/shape?encoding=compact`, bad(offsets));
      const error = (reply.body as { error: { message: string; path: string } }).error;
      expect(reply.status, offsets).toBe(400);
      expect(error.path).toBe(where);
      expect(error.message).toMatch(message);
    }
    // base64 offsets without the opt-in are a schema error, as before
    expect((await postJson(`${url}/v1/shape`, compactRequest(exampleShapeRequest()))).status).toBe(400);
  });

  it('rejects an unknown encoding, and compact on /v1/score', async () => {
    const url = await start();
    const unknown = await postJson(`${url}/v1/shape?encoding=msgpack`, exampleShapeRequest());
    expect(unknown.status).toBe(400);
    expect((unknown.body as { error: { message: string } }).error.message).toMatch(/unknown encoding "msgpack"/);
    const score = await postJson(`${url}/v1/score?encoding=compact`, exampleShapeRequest());
    expect(score.status).toBe(400);
    expect((score.body as { error: { message: string } }).error.message).toMatch(/\/v1\/shape only/);
  });
});
