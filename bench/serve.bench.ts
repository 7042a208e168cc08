/**
 * `mrpo serve` (issue 6): requests/s and p50/p99 latency of `POST /v1/shape`
 * for one training batch of 64 prompts × 8 completions × ~512 tokens (MRPO,
 * think block of 6–10 long clinical sentences, an answer, BPE-like token
 * offsets, step labels), over real HTTP with keep-alive. The server runs as
 * `mrpo serve` in its own process (as deployed); this process is the client.
 * Runs at 1, 2 and 4 requests in flight (4 is the default concurrency), each
 * next to the same run against a ceiling: a bare node:http server, also in its
 * own process, that reads the body and answers with the bytes `mrpo serve`
 * gave (bench/support/ceiling-server.ts). The client is node:http with
 * keep-alive. Latency is from sending the request to the last byte of the
 * response; server CPU per request is read from /proc, for the process that
 * serves (`mrpo serve` serves from a child with V8 flags, src/cli/node-flags.ts,
 * and names its pid in the "listening" line). Then the same for the compact
 * encoding (`?encoding=compact`, its own ceiling), and at 1 in flight a server
 * without the V8 flags beside the default one.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compactResponseBytes } from '../src/serve/compact.js';
import { parseJsonBody } from '../src/serve/http.js';
import { jsonBytesWithRuns } from '../src/serve/json-runs.js';
import { parseShapeRequest, shape } from '../src/shape/index.js';
import { createRng, type Rng } from '../src/utils/rng.js';
import { quantile } from '../src/utils/stats.js';
import { bpeLikeOffsets, fmt } from './support/batch.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PROMPTS = 64;
const GROUP = 8;
const TOKENS = 512;
const SECONDS = 4;

const FINDINGS = [
  'the axial CT image through the upper abdomen shows a well-circumscribed hypodense lesion in the right hepatic lobe',
  'the frontal chest radiograph demonstrates a visceral pleural line at the left apex with no lung markings beyond it',
  'there is patchy consolidation in the left lower zone with air bronchograms and blunting of the costophrenic angle',
  'the cardiac silhouette is enlarged with a cardiothoracic ratio clearly above one half on this posteroanterior view',
  'the T2-weighted MRI shows a hyperintense lesion in the right temporal lobe with surrounding vasogenic edema',
  'the histology slide stained with hematoxylin and eosin shows nests of atypical squamous cells with keratin pearls',
  'a 2.5 cm spiculated nodule is seen near the right hilum without mediastinal lymphadenopathy on this section',
  'the kidneys are normal in size but the left collecting system is dilated down to the level of the ureter',
];
const LINKS = ['and', 'which suggests that', 'while', 'so', 'although'];
const ANSWERS = ['pneumothorax', 'left lower lobe pneumonia', 'cardiomegaly', 'hepatic cyst', 'squamous cell carcinoma', 'two', 'hydronephrosis', 'glioma'];

function sentence(rng: Rng): string {
  const s = `${FINDINGS[rng.int(FINDINGS.length)]}.`;
  return s[0].toUpperCase() + s.slice(1);
}

/** One completion of about `tokens` BPE-like tokens: 6–10 sentences, lengthened clause by clause to the target. */
function completion(rng: Rng, gold: string): { text: string; tokenOffsets: Array<[number, number]>; stepLabels: Array<0 | 1> } {
  const k = 6 + rng.int(5);
  const sentences = Array.from({ length: k }, () => sentence(rng));
  const answer = rng.next() < 0.4 ? gold : ANSWERS[rng.int(ANSWERS.length)];
  const render = () => `<think>${sentences.join(' ')}</think><answer>${answer}</answer>`;
  let text = render();
  for (let i = 0; bpeLikeOffsets(text).length < TOKENS; i++) {
    sentences[i % k] = sentences[i % k].replace(/\.$/, `, ${LINKS[rng.int(LINKS.length)]} ${FINDINGS[rng.int(FINDINGS.length)]}.`);
    text = render();
  }
  return { text, tokenOffsets: bpeLikeOffsets(text), stepLabels: sentences.map(() => (rng.next() < 0.6 ? 1 : 0) as 0 | 1) };
}

export function makeRequest(seed: number): { body: string; tokens: number; completions: number } {
  const rng = createRng(seed);
  let tokens = 0;
  const groups = Array.from({ length: PROMPTS }, () => {
    const gold = ANSWERS[rng.int(ANSWERS.length)];
    const completions = Array.from({ length: GROUP }, () => completion(rng, gold));
    for (const c of completions) tokens += c.tokenOffsets.length;
    return { gold: { answer: gold }, completions };
  });
  return { body: JSON.stringify({ estimator: 'mrpo', groups }), tokens, completions: PROMPTS * GROUP };
}

/**
 * A server in a child process that prints `{"msg":"listening","url":…}` on stderr once it accepts connections.
 * `pid` is the process that serves: `mrpo serve` runs in a child of the started process (src/cli/node-flags.ts)
 * and names it in that line.
 */
async function startChild(args: string[], env: Record<string, string> = {}, cwd = root): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let err = '';
  let pid = child.pid!;
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString('utf8');
      const line = err.split('\n').find((l) => l.includes('"msg":"listening"'));
      if (line === undefined) return;
      const listening = JSON.parse(line) as { url: string; pid?: number };
      pid = listening.pid ?? pid;
      resolve(listening.url);
    });
    child.on('exit', (code) => reject(new Error(`${args[0]} exited (${code}): ${err.slice(-500)}`)));
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    url,
    pid,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** CPU seconds a process has used (Linux /proc; NaN elsewhere). */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (USER_HZ = 100)
  } catch {
    return Number.NaN;
  }
}

/** One POST over a keep-alive node:http agent; resolves after the last response byte. */
function post(agent: Agent, url: string, body: Buffer): Promise<{ ms: number; bytes: Buffer }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}`));
        else resolve({ ms: performance.now() - t0, bytes: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface Measured {
  rps: number;
  p50: number;
  p99: number;
  n: number;
  /** Server CPU seconds per request. */
  cpu: number;
}

async function measure(url: string, pid: number, body: Buffer, inFlight: number): Promise<Measured> {
  // A fresh agent per run: sockets left idle while the other server is measured may be closed by their server.
  const agent = new Agent({ keepAlive: true, maxSockets: inFlight });
  for (let i = 0; i < 2; i++) await post(agent, url, body); // warm-up (JIT, connection)
  const latencies: number[] = [];
  const cpu0 = cpuSeconds(pid);
  const start = performance.now();
  const deadline = start + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < deadline || latencies.length < 8) latencies.push((await post(agent, url, body)).ms);
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const cpu = (cpuSeconds(pid) - cpu0) / latencies.length;
  agent.destroy();
  return { rps: latencies.length / elapsed, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), n: latencies.length, cpu };
}

/** CPU seconds per call of f, after two warm-up calls (median of 9). */
function cpuPerCall(f: () => unknown): number {
  for (let i = 0; i < 2; i++) f();
  const each: number[] = [];
  for (let i = 0; i < 9; i++) {
    const c0 = process.cpuUsage();
    f();
    const c1 = process.cpuUsage(c0);
    each.push((c1.user + c1.system) / 1e6);
  }
  return quantile(each, 0.5);
}

interface CompactableRequest {
  groups: Array<{ completions: Array<{ tokenOffsets?: unknown }> }>;
}

/** The request with every completion's offsets as base64 of little-endian int32 start, end values. */
function compactRequest(request: CompactableRequest): CompactableRequest {
  for (const g of request.groups)
    for (const c of g.completions) if (Array.isArray(c.tokenOffsets)) c.tokenOffsets = Buffer.from(Int32Array.from((c.tokenOffsets as number[][]).flat()).buffer).toString('base64');
  return request;
}

export async function run(): Promise<void> {
  const req = makeRequest(1);
  const body = Buffer.from(req.body, 'utf8');
  const serve = await startChild([join(root, 'src/cli/main.ts'), 'serve', '--port', '0', '--judge', 'none']);
  const dir = await mkdtemp(join(tmpdir(), 'mrpo-serve-bench-'));
  let ceiling: Awaited<ReturnType<typeof startChild>> | null = null;
  let compactCeiling: Awaited<ReturnType<typeof startChild>> | null = null;
  try {
    const shapeUrl = `${serve.url}/v1/shape`;
    const first = new Agent({ keepAlive: false });
    const { bytes } = await post(first, shapeUrl, body);
    first.destroy();
    const inProcess = Buffer.from(JSON.stringify(shape(parseShapeRequest(JSON.parse(req.body)))), 'utf8');
    if (!bytes.equals(inProcess)) throw new Error('mrpo serve answered other bytes than JSON.stringify of the in-process shape()');
    await writeFile(join(dir, 'response.json'), bytes);
    ceiling = await startChild([join(root, 'bench/support/ceiling-server.ts'), join(dir, 'response.json')]);
    console.log(
      `serve/batch: ${PROMPTS}×${GROUP} completions, ${fmt(req.tokens)} tokens (${(req.tokens / req.completions).toFixed(0)}/completion), request ${(body.length / 2 ** 20).toFixed(1)} MiB, response ${(bytes.length / 2 ** 20).toFixed(1)} MiB (same bytes as in-process shape())`,
    );
    console.log(`# ceiling: a bare node:http server in its own process that reads the body and returns those bytes; same client, runs interleaved`);
    // The same work without HTTP, in this process, as the server does it: parse, validation, shape() and the response bytes.
    const inProcCpu = cpuPerCall(() => jsonBytesWithRuns(shape(parseShapeRequest(parseJsonBody(body, { base64: false })))));
    console.log(`serve/shape in-process (parse + shape + serialize, no HTTP): ${(inProcCpu * 1000).toFixed(0)} ms CPU per request = ${fmt(req.tokens / inProcCpu)} tokens per CPU-second`);
    for (const inFlight of [1, 2, 4]) {
      const m = await measure(shapeUrl, serve.pid, body, inFlight);
      const c = await measure(`${ceiling.url}/v1/shape`, ceiling.pid, body, inFlight);
      const tag = `serve/shape-${PROMPTS}x${GROUP}x${TOKENS}@${inFlight}`;
      console.log(`${tag} throughput: ${m.rps.toFixed(2)} requests/s = ${fmt(m.rps * req.tokens)} tokens/s (n=${m.n}); ceiling ${fmt(c.rps * req.tokens)} tokens/s; ratio ${(m.rps / c.rps).toFixed(3)}`);
      console.log(`${tag} latency p50: ${m.p50.toFixed(1)} ms (ceiling ${c.p50.toFixed(1)} ms)`);
      console.log(`${tag} latency p99: ${m.p99.toFixed(1)} ms (ceiling ${c.p99.toFixed(1)} ms)`);
      console.log(`${tag} server CPU per request: ${(m.cpu * 1000).toFixed(0)} ms = ${fmt(req.tokens / m.cpu)} tokens per server CPU-second (ceiling ${(c.cpu * 1000).toFixed(0)} ms)`);
    }
    // The opt-in compact encoding (compact.ts): base64 int32 offsets in, base64 float64 advantages out; its own ceiling.
    const compactBody = Buffer.from(JSON.stringify(compactRequest(JSON.parse(req.body) as CompactableRequest)), 'utf8');
    const compactUrl = `${serve.url}/v1/shape?encoding=compact`;
    const first2 = new Agent({ keepAlive: false });
    const { bytes: compactBytes } = await post(first2, compactUrl, compactBody);
    first2.destroy();
    await writeFile(join(dir, 'response-compact.json'), compactBytes);
    compactCeiling = await startChild([join(root, 'bench/support/ceiling-server.ts'), join(dir, 'response-compact.json')]);
    console.log(`serve/batch compact: request ${(compactBody.length / 2 ** 20).toFixed(1)} MiB, response ${(compactBytes.length / 2 ** 20).toFixed(1)} MiB`);
    const compactCpu = cpuPerCall(() => compactResponseBytes(shape(parseShapeRequest(parseJsonBody(compactBody, { base64: true })))));
    console.log(`serve/shape compact in-process (no HTTP): ${(compactCpu * 1000).toFixed(0)} ms CPU per request = ${fmt(req.tokens / compactCpu)} tokens per CPU-second`);
    for (const inFlight of [1, 2, 4]) {
      const m = await measure(compactUrl, serve.pid, compactBody, inFlight);
      const c = await measure(`${compactCeiling.url}/v1/shape`, compactCeiling.pid, compactBody, inFlight);
      const tag = `serve/shape-${PROMPTS}x${GROUP}x${TOKENS}@${inFlight} compact`;
      console.log(`${tag}: ${fmt(m.rps * req.tokens)} tokens/s, p50 ${m.p50.toFixed(1)} ms, p99 ${m.p99.toFixed(1)} ms, server CPU ${(m.cpu * 1000).toFixed(0)} ms/request = ${fmt(req.tokens / m.cpu)} tokens per server CPU-second; ceiling ${fmt(c.rps * req.tokens)} tokens/s (p50 ${c.p50.toFixed(1)} ms); ratio ${(m.rps / c.rps).toFixed(3)}`);
    }
    // `mrpo serve` runs with --max-semi-space-size=64 by default (src/cli/node-flags.ts); here without it, interleaved.
    const plain = await startChild([join(root, 'src/cli/main.ts'), 'serve', '--port', '0', '--judge', 'none'], { MRPO_SERVE_NODE_OPTIONS: '' });
    try {
      for (const [name, b, query] of [['json', body, ''], ['compact', compactBody, '?encoding=compact']] as const) {
        const m = await measure(`${plain.url}/v1/shape${query}`, plain.pid, b, 1);
        const d = await measure(`${serve.url}/v1/shape${query}`, serve.pid, b, 1);
        const tag = `serve/shape-${PROMPTS}x${GROUP}x${TOKENS}@1 ${name} without V8 flags (MRPO_SERVE_NODE_OPTIONS='')`;
        console.log(`${tag}: ${fmt(m.rps * req.tokens)} tokens/s, p50 ${m.p50.toFixed(1)} ms, server CPU ${(m.cpu * 1000).toFixed(0)} ms/request (default, same moment: ${fmt(d.rps * req.tokens)} tokens/s, ${(d.cpu * 1000).toFixed(0)} ms/request)`);
      }
    } finally {
      await plain.stop();
    }
    // MRPO_BENCH_BASELINE=<another checkout>: its `mrpo serve` measured the same way, interleaved (before/after a change).
    const baselineRoot = process.env.MRPO_BENCH_BASELINE;
    if (baselineRoot !== undefined && baselineRoot !== '') {
      const base = await startChild([join(baselineRoot, 'src/cli/main.ts'), 'serve', '--port', '0', '--judge', 'none'], {}, baselineRoot);
      try {
        for (const inFlight of [1, 4]) {
          const b = await measure(`${base.url}/v1/shape`, base.pid, body, inFlight);
          const m = await measure(shapeUrl, serve.pid, body, inFlight);
          console.log(`serve/shape-${PROMPTS}x${GROUP}x${TOKENS}@${inFlight} baseline ${baselineRoot}: ${fmt(b.rps * req.tokens)} tokens/s, p50 ${b.p50.toFixed(1)} ms, p99 ${b.p99.toFixed(1)} ms, server CPU ${(b.cpu * 1000).toFixed(0)} ms/request (this checkout, same moment: ${fmt(m.rps * req.tokens)} tokens/s, p50 ${m.p50.toFixed(1)} ms, ${(m.cpu * 1000).toFixed(0)} ms/request)`);
        }
      } finally {
        await base.stop();
      }
    }
  } finally {
    await serve.stop();
    await ceiling?.stop();
    await compactCeiling?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
