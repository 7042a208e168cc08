/**
 * The Python example's client part (python/mrpo_trl/client.py, standard
 * library only) against a real `mrpo serve`, with the machine's python3: its
 * incremental-decoding offsets (a byte-level toy tokenizer that cuts an emoji
 * in two tokens), its UTF-16 conversion and the padded advantage matrix must
 * give the per-token advantages derived here by hand.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { expectedExample } from './test-support/fixtures.js';
import { startServer, type RunningServer } from './test-support/http.js';

const root = new URL('../../', import.meta.url).pathname;
const client = join(root, 'python/mrpo_trl/client.py');
const trainer = join(root, 'python/mrpo_trl/trainer.py');
const run = promisify(execFile);

// The demo batch of mrpo_client.py (DEMO_TEXTS, labels [1,1] and [1,0,1], gold "pneumothorax").
const LUNGS = '\u{1FAC1}'; // beyond U+FFFF: 2 UTF-16 code units, 1 Python character, 4 UTF-8 bytes
const TEXTS = [
  '<think>The image is a chest X-ray. There is a left pneumothorax.</think><answer>pneumothorax</answer>',
  `<think>${LUNGS} The image is a chest X-ray. The heart is enlarged. This suggests cardiomegaly.</think><answer>cardiomegaly</answer>`,
];

/** The toy tokenizer's tokens as UTF-16 spans: one per piece, the emoji as an empty span then its 2 units. */
function toyTokenSpans(text: string): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  for (const m of text.matchAll(/<[^>]+>|\w+|[^\w\s]|\s+/gu)) {
    const s = m.index;
    if (m[0] === LUNGS) spans.push([s, s], [s, s + 2]);
    else spans.push([s, s + m[0].length]);
  }
  return spans;
}

function expectedTokenAdvantages(): number[][] {
  const { a0, a1, w2 } = expectedExample(); // same rewards as the serve fixtures: the emoji changes no reward
  const a = Math.abs(a1);
  const c1 = TEXTS[1];
  const steps = [`${LUNGS} The image is a chest X-ray.`, 'The heart is enlarged.', 'This suggests cardiomegaly.'].map((s) => {
    const start = c1.indexOf(s);
    return [start, start + s.length] as const;
  });
  const values = [a, -w2 * a, a]; // MRPO, incorrect answer: valid +|A|, invalid step 2 of 3: −1.65|A|
  return [
    toyTokenSpans(TEXTS[0]).map(() => a0), // correct: A_0 everywhere
    toyTokenSpans(c1).map(([s, e]) => {
      const k = e > s ? steps.findIndex(([from, to]) => s >= from && e <= to) : -1;
      return k >= 0 ? values[k] : a1;
    }),
  ];
}

let server: RunningServer | undefined;
const dir = mkdtempSync(join(tmpdir(), 'mrpo-py-'));
afterAll(async () => {
  await server?.server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('python/mrpo_trl/client.py', () => {
  // python3 is part of this project's machines (and .ci/run installs it): a missing one fails, never skips.
  it('has python3', () => {
    expect(spawnSync('python3', ['--version']).status, 'python3 is required for the TRL example test').toBe(0);
  });

  it('receives the hand-derived per-token advantages from the service (standard library only)', async () => {
    const token = 'py-client-token';
    server = await startServer({ token });
    const expected = expectedTokenAdvantages();
    const c1 = expected[1];
    // Sanity of the hand derivation: the emoji's first half and the spaces between steps keep A_1.
    expect(c1.filter((v) => v === expectedExample().a1).length).toBeGreaterThan(4);
    const width = Math.max(...expected.map((r) => r.length)) + 3;
    const matrix = expected.map((r) => [...r, ...new Array<number>(width - r.length).fill(0)]);
    const file = join(dir, 'expected.json');
    writeFileSync(file, JSON.stringify({ tokenAdvantages: expected, width, matrix }));

    const { stdout } = await run('python3', [client, '--url', server.url, '--check', file], { env: { PATH: process.env.PATH ?? '', MRPO_SERVE_TOKEN: token }, timeout: 60_000 });
    expect(stdout).toMatch(/^ok: 2 completions, \d+ tokens match/);

    // The same check with a wrong expectation must fail (the comparison is real).
    const wrong = expected.map((r) => r.map((v, t) => (t === 3 ? v + 0.5 : v)));
    writeFileSync(file, JSON.stringify({ tokenAdvantages: wrong }));
    await expect(run('python3', [client, '--url', server.url, '--check', file], { env: { PATH: process.env.PATH ?? '', MRPO_SERVE_TOKEN: token } })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/completion 0 token 3/),
    });

    // Without the token the client reports the service's 401 message: one line, exit 1, no traceback.
    await expect(run('python3', [client, '--url', server.url, '--check', file], { env: { PATH: process.env.PATH ?? '' } })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^mrpo_client\.py: HTTP 401: missing or wrong bearer token[^\n]*\n$/),
    });
  });

  it('says in one line when the service cannot be reached (no traceback)', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await expect(run('python3', [client, '--url', `http://127.0.0.1:${port}`], { env: { PATH: process.env.PATH ?? '' } })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(new RegExp(`^mrpo_client\\.py: cannot reach http://127\\.0\\.0\\.1:${port} \\(.*refused.*\\); is \`mrpo serve\` running\\?\\n$`)),
    });
  });

  it('the trainer sketch is valid Python', async () => {
    await run('python3', ['-c', 'import ast, sys; ast.parse(open(sys.argv[1], encoding="utf-8").read())', trainer]);
  });
});
