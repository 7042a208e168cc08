/**
 * Judge throughput (issue 3): judged items per second against the local
 * chat-completions test server at 50 ms latency and concurrency 32 (ideal:
 * 32 / 0.05 s = 640 items/s; the ratio to it is printed), and verdict-cache
 * hits per second (a rerun over a warm SQLite cache, no requests). The
 * server runs in a child process, as a remote judge would; the client's CPU
 * per item is printed too (its ceiling on one core is 1000 / that).
 *
 * The ceiling is measured in the same run: a minimal client (node:http with a
 * keep-alive agent, nothing else) posting the same request bodies to the same
 * server at the same concurrency; the bench prints its rate and CPU per item
 * and mrpo's ratio to it. Every item has its own image (distinct PNGs), so
 * preparing data URLs is part of what is measured.
 */
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { openVerdictCache } from '../src/judges/cache.js';
import { createJudgeEndpoint } from '../src/judges/openai/endpoint.js';
import { createOpenAIStepJudge } from '../src/judges/openai/step-judge.js';
import { stepPrompt, stepSchema } from '../src/judges/prompts.js';
import type { Item } from '../src/types.js';

const LATENCY_MS = 50;
const CONCURRENCY = 32;
const ITEMS = 1280;

export async function run(): Promise<void> {
  // Distinct 64×64 images (one grey level and one marked pixel each), so no two items share a data URL.
  const images = await Promise.all(
    Array.from({ length: ITEMS }, async (_, i) => {
      const raw = Buffer.alloc(64 * 64 * 3, 40 + (i % 200));
      raw[(i % (64 * 64)) * 3] = 255;
      const png = await sharp(raw, { raw: { width: 64, height: 64, channels: 3 } }).png().toBuffer();
      return `data:image/png;base64,${png.toString('base64')}`;
    }),
  );
  const items: Item[] = Array.from({ length: ITEMS }, (_, i) => ({
    id: `q${i}`,
    image: images[i],
    question: `What is abnormal in case ${i}?`,
    answer: 'pneumothorax',
    goldReasoning: 'Chest X-ray. The right lung shows a pleural line without lung markings beyond it: pneumothorax.',
    source: 'bench',
  }));
  const steps = ['This is a chest X-ray.', 'The right lung shows a pleural line.', 'This is a pneumothorax.', 'The answer is pneumothorax.'];

  const here = dirname(fileURLToPath(import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'judge-bench-server.ts'), String(LATENCY_MS)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [baseUrl] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  const dir = mkdtempSync(join(tmpdir(), 'mrpo-judge-bench-'));
  try {
    const cache = openVerdictCache(join(dir, 'judge.sqlite'));
    const options = { baseUrl, model: 'bench-judge', concurrency: CONCURRENCY, cache };
    const endpoint = createJudgeEndpoint(options);
    const judge = createOpenAIStepJudge(endpoint);
    // Warm-up: connections, JIT.
    await Promise.all(items.slice(0, CONCURRENCY).map((item) => judge.judgeSteps({ item: { ...item, question: `warm ${item.question}` }, steps })));

    let t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const results = await Promise.all(items.map((item) => judge.judgeSteps({ item, steps })));
    let seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const judged = results.filter((r) => r.kind === 'judged').length;
    const rate = judged / seconds;
    const ideal = CONCURRENCY / (LATENCY_MS / 1000);
    console.log(`judge/items_per_s (latency ${LATENCY_MS} ms, concurrency ${CONCURRENCY}, ${ITEMS} items): ${rate.toFixed(1)} items/s`);
    console.log(`judge/ratio_to_ideal (ideal ${ideal}/s): ${(rate / ideal).toFixed(3)} ratio`);
    const cpuPerItem = (cpu.user + cpu.system) / 1000 / judged;
    console.log(`judge/client_cpu_per_item: ${cpuPerItem.toFixed(2)} ms`);

    // The ceiling: the same bodies (as the endpoint builds them) from a bare node:http keep-alive client.
    const bodies = items.map((item) => {
      const prompt = stepPrompt({ question: `ceiling ${item.question}`, goldAnswer: item.answer, goldReasoning: item.goldReasoning ?? '', steps });
      const schema = stepSchema(steps.length);
      return JSON.stringify({
        model: 'bench-judge',
        messages: [
          { role: 'system', content: prompt.system },
          { role: 'user', content: [{ type: 'text', text: prompt.user }, { type: 'image_url', image_url: { url: item.image } }] },
        ],
        response_format: { type: 'json_schema', json_schema: { name: schema.name, schema: schema.schema, strict: true } },
      });
    });
    const ceiling = await bareClient(`${baseUrl.replace(/\/+$/, '')}/chat/completions`, bodies, CONCURRENCY);
    console.log(`judge/ceiling_items_per_s (bare node:http keep-alive client, same server and bodies): ${ceiling.rate.toFixed(1)} items/s`);
    console.log(`judge/ceiling_cpu_per_item: ${ceiling.cpuPerItem.toFixed(2)} ms`);
    console.log(`judge/ratio_to_ceiling: ${(rate / ceiling.rate).toFixed(3)} ratio`);
    console.log(`judge/cpu_ratio_to_ceiling (mrpo CPU per item ÷ ceiling's): ${(cpuPerItem / ceiling.cpuPerItem).toFixed(2)} ratio`);

    const warm = createJudgeEndpoint(options);
    const rerun = createOpenAIStepJudge(warm);
    t0 = performance.now();
    const hits = await Promise.all(items.map((item) => rerun.judgeSteps({ item, steps })));
    seconds = (performance.now() - t0) / 1000;
    if (warm.meter.snapshot().requests !== 0 || hits.some((h) => h.kind !== 'judged')) throw new Error('the cache rerun sent requests');
    console.log(`judge/cache_hits_per_s (SQLite, ${ITEMS} items): ${(ITEMS / seconds).toFixed(0)} hits/s`);
    cache.close();
  } finally {
    child.stdin?.end();
    await once(child, 'exit');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Posts every body with `concurrency` in flight over one keep-alive agent; reads each reply whole. */
async function bareClient(url: string, bodies: readonly string[], concurrency: number): Promise<{ rate: number; cpuPerItem: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL(url);
  const post = (body: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = request(target, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.on('data', () => undefined);
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`ceiling client: HTTP ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(body);
    });
  await Promise.all(bodies.slice(0, concurrency).map(post)); // warm-up: sockets, JIT
  let next = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) await post(bodies[next++]);
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  agent.destroy();
  return { rate: bodies.length / seconds, cpuPerItem: (cpu.user + cpu.system) / 1000 / bodies.length };
}
