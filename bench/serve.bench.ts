/**
 * `mrpo serve` (issue 6): requests/s and p50/p99 latency of `POST /v1/shape`
 * for one training batch of 64 prompts × 8 completions × ~512 tokens (MRPO,
 * think block of 6–10 long clinical sentences, an answer, BPE-like token
 * offsets, step labels), over real HTTP with keep-alive. The server runs as
 * `mrpo serve` in its own process (as deployed); this process is the client.
 * Two runs: one request at a time, then 4 in flight (the default concurrency).
 * Latency is from sending the request to the last byte of the response.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRng, type Rng } from '../src/utils/rng.js';
import { quantile } from '../src/utils/stats.js';
import { bpeLikeOffsets, fmt } from './support/batch.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PROMPTS = 64;
const GROUP = 8;
const TOKENS = 512;
const SECONDS = 8;

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

async function startServe(): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'serve', '--port', '0', '--judge', 'none'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString('utf8');
      const line = err.split('\n').find((l) => l.includes('"msg":"listening"'));
      if (line !== undefined) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.on('exit', (code) => reject(new Error(`mrpo serve exited (${code}): ${err.slice(-500)}`)));
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function post(url: string, body: string): Promise<{ ms: number; bytes: number }> {
  const t0 = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const bytes = (await res.arrayBuffer()).byteLength;
  if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
  return { ms: performance.now() - t0, bytes };
}

async function measure(url: string, body: string, inFlight: number): Promise<{ rps: number; p50: number; p99: number; n: number }> {
  for (let i = 0; i < 2; i++) await post(url, body); // warm-up (JIT, connection)
  const latencies: number[] = [];
  const start = performance.now();
  const deadline = start + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < deadline || latencies.length < 10) latencies.push((await post(url, body)).ms);
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  return { rps: latencies.length / elapsed, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), n: latencies.length };
}

export async function run(): Promise<void> {
  const request = makeRequest(1);
  const server = await startServe();
  try {
    const shapeUrl = `${server.url}/v1/shape`;
    const { bytes } = await post(shapeUrl, request.body);
    console.log(
      `serve/batch: ${PROMPTS}×${GROUP} completions, ${fmt(request.tokens)} tokens (${(request.tokens / request.completions).toFixed(0)}/completion), request ${(request.body.length / 2 ** 20).toFixed(1)} MiB, response ${(bytes / 2 ** 20).toFixed(1)} MiB`,
    );
    for (const inFlight of [1, 4]) {
      const m = await measure(shapeUrl, request.body, inFlight);
      const tag = `serve/shape-${PROMPTS}x${GROUP}x${TOKENS}@${inFlight}`;
      console.log(`${tag} throughput: ${m.rps.toFixed(2)} requests/s (${fmt(m.rps * request.tokens)} tokens/s, n=${m.n})`);
      console.log(`${tag} latency p50: ${m.p50.toFixed(1)} ms`);
      console.log(`${tag} latency p99: ${m.p99.toFixed(1)} ms`);
    }
  } finally {
    await server.stop();
  }
}
