/**
 * Judge throughput (issue 3): judged items per second against the local
 * chat-completions test server at 50 ms latency and concurrency 32 (ideal:
 * 32 / 0.05 s = 640 items/s; the ratio to it is printed), and verdict-cache
 * hits per second (a rerun over a warm SQLite cache, no requests). The
 * server runs in a child process, as a remote judge would; the client's CPU
 * per item is printed too (its ceiling on one core is 1000 / that).
 *
 * The ceiling is measured in the same run: a minimal client (node:http with a
 * keep-alive agent, nothing else) posting the request bodies the endpoint
 * would build (prepared beforehand) to the same server at the same
 * concurrency; the bench prints its rate and CPU per item and mrpo's ratio to
 * it. The two run in interleaved rounds after a warm-up each (JIT and
 * sockets), and every item has its own image (distinct PNGs), so preparing
 * data URLs is part of what is measured for mrpo. Cache hits are compared
 * with a bare prepared SQLite lookup of the same rows.
 */
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import Database from 'better-sqlite3';
import { openVerdictCache } from '../src/judges/cache.js';
import { createJudgeEndpoint } from '../src/judges/openai/endpoint.js';
import { createOpenAIStepJudge } from '../src/judges/openai/step-judge.js';
import { stepPrompt, stepSchema } from '../src/judges/prompts.js';
import type { StepJudgement } from '../src/judges/judge.js';
import type { Item } from '../src/types.js';
import { main } from '../src/cli/main.js';
import { memoryIo } from '../src/cli/test-support/memory-io.js';

const LATENCY_MS = 50;
const CONCURRENCY = 32;
const ITEMS = 1280;
const WARM_UP = 256;
const ROUNDS = 3;

/** Distinct 64×64 PNG data URLs (one grey level and one marked pixel each), so no two items share an image. */
async function distinctImages(n: number, offset: number): Promise<string[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, j) => {
      const i = offset + j;
      const raw = Buffer.alloc(64 * 64 * 3, 40 + (i % 200));
      raw[(Math.floor(i / 200) % (64 * 64)) * 3] = 255;
      raw[(Math.floor(i / 200) % (64 * 64)) * 3 + 1] = i % 256;
      const png = await sharp(raw, { raw: { width: 64, height: 64, channels: 3 } }).png().toBuffer();
      return `data:image/png;base64,${png.toString('base64')}`;
    }),
  );
}

function makeItems(images: readonly string[], tag: string): Item[] {
  return images.map((image, i) => ({
    id: `${tag}${i}`,
    image,
    question: `What is abnormal in case ${tag}${i}?`,
    answer: 'pneumothorax',
    goldReasoning: 'Chest X-ray. The right lung shows a pleural line without lung markings beyond it: pneumothorax.',
    source: 'bench',
  }));
}

const STEPS = ['This is a chest X-ray.', 'The right lung shows a pleural line.', 'This is a pneumothorax.', 'The answer is pneumothorax.'];

/** The request bodies as the endpoint builds them, for the ceiling client. */
function ceilingBodies(items: readonly Item[]): string[] {
  return items.map((item) => {
    const prompt = stepPrompt({ question: item.question, goldAnswer: item.answer, goldReasoning: item.goldReasoning ?? '', steps: STEPS });
    const schema = stepSchema(STEPS.length);
    return JSON.stringify({
      model: 'bench-judge',
      messages: [
        { role: 'system', content: prompt.system },
        { role: 'user', content: [{ type: 'text', text: prompt.user }, { type: 'image_url', image_url: { url: item.image } }] },
      ],
      response_format: { type: 'json_schema', json_schema: { name: schema.name, schema: schema.schema, strict: true } },
    });
  });
}

interface Measured {
  readonly rate: number;
  readonly cpuPerItem: number;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function run(): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'judge-bench-server.ts'), String(LATENCY_MS)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [baseUrl] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  const dir = mkdtempSync(join(tmpdir(), 'mrpo-judge-bench-'));
  try {
    const cache = openVerdictCache(join(dir, 'judge.sqlite'));
    const options = { baseUrl, model: 'bench-judge', concurrency: CONCURRENCY, cache };
    const endpoint = createJudgeEndpoint(options);
    const judge = createOpenAIStepJudge(endpoint);
    const url = `${baseUrl.replace(/\/+$/, '')}/chat/completions`;

    // Warm-up of both clients (connections, JIT) on items of their own, then ROUNDS interleaved rounds, each
    // on items (and images) not seen before; the medians are reported.
    const warm = makeItems(await distinctImages(WARM_UP, 0), 'warm');
    await Promise.all(warm.map((item) => judge.judgeSteps({ item, steps: STEPS })));
    await bareClient(url, ceilingBodies(warm), CONCURRENCY);
    const mrpo: Measured[] = [];
    const ceiling: Measured[] = [];
    const judgedItems: Item[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const items = makeItems(await distinctImages(ITEMS, WARM_UP + round * ITEMS), `r${round}-`);
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const results = await Promise.all(items.map((item) => judge.judgeSteps({ item, steps: STEPS })));
      const seconds = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const judged = results.filter((r) => r.kind === 'judged').length;
      if (judged !== items.length) throw new Error(`only ${judged} of ${items.length} items were judged`);
      mrpo.push({ rate: judged / seconds, cpuPerItem: (cpu.user + cpu.system) / 1000 / judged });
      // The ceiling: the same bodies (the other round's items, so neither side sees an image twice) from a bare client.
      ceiling.push(await bareClient(url, ceilingBodies(makeItems(await distinctImages(ITEMS, WARM_UP + (ROUNDS + round) * ITEMS), `c${round}-`)), CONCURRENCY));
      judgedItems.push(...items);
    }
    const rate = median(mrpo.map((m) => m.rate));
    const cpuPerItem = median(mrpo.map((m) => m.cpuPerItem));
    const ceilingRate = median(ceiling.map((m) => m.rate));
    const ceilingCpu = median(ceiling.map((m) => m.cpuPerItem));
    const ideal = CONCURRENCY / (LATENCY_MS / 1000);
    const each = (ms: Measured[], f: (m: Measured) => number, digits: number): string => ms.map((m) => f(m).toFixed(digits)).join(', ');
    console.log(`# ${ROUNDS} interleaved rounds of ${ITEMS} items with distinct images (medians; rounds in brackets), after ${WARM_UP} warm-up items each`);
    console.log(`judge/items_per_s (latency ${LATENCY_MS} ms, concurrency ${CONCURRENCY}): ${rate.toFixed(1)} items/s [${each(mrpo, (m) => m.rate, 1)}]`);
    console.log(`judge/ratio_to_ideal (ideal ${ideal}/s): ${(rate / ideal).toFixed(3)} ratio`);
    console.log(`judge/client_cpu_per_item: ${cpuPerItem.toFixed(2)} ms [${each(mrpo, (m) => m.cpuPerItem, 2)}]`);
    console.log(`judge/ceiling_items_per_s (bare node:http keep-alive client, same server, same kind of bodies): ${ceilingRate.toFixed(1)} items/s [${each(ceiling, (m) => m.rate, 1)}]`);
    console.log(`judge/ceiling_cpu_per_item: ${ceilingCpu.toFixed(2)} ms [${each(ceiling, (m) => m.cpuPerItem, 2)}]`);
    console.log(`judge/ratio_to_ceiling: ${(rate / ceilingRate).toFixed(3)} ratio`);
    console.log(`judge/cpu_ratio_to_ceiling (mrpo CPU per item ÷ ceiling's): ${(cpuPerItem / ceilingCpu).toFixed(2)} ratio`);

    // Cache hits: a new endpoint (as a rerun would have; warmed by one discarded rerun) over every round's items,
    // against a bare prepared lookup of the same rows.
    cache.close();
    let rerunCache = openVerdictCache(join(dir, 'judge.sqlite'));
    let rerun = createJudgeEndpoint({ ...options, cache: rerunCache });
    let rerunJudge = createOpenAIStepJudge(rerun);
    // The caller bounds its fan-out as `mrpo judge` does (2 × concurrency calls at a time).
    const bounded = async (list: readonly Item[]): Promise<StepJudgement[]> => {
      const out: StepJudgement[] = new Array(list.length);
      let next = 0;
      await Promise.all(
        Array.from({ length: 2 * CONCURRENCY }, async () => {
          while (next < list.length) {
            const i = next++;
            out[i] = await rerunJudge.judgeSteps({ item: list[i], steps: STEPS });
          }
        }),
      );
      return out;
    };
    await bounded(warm);
    await bounded(judgedItems); // one discarded rerun: the hit path warm (JIT), as the request path was
    const hitRates: number[] = [];
    const hitCpu: number[] = [];
    let hits: StepJudgement[] = [];
    let t0 = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // As a rerun in a new process: the cache file opened afresh (its first lookups read it into memory).
      rerunCache.close();
      rerunCache = openVerdictCache(join(dir, 'judge.sqlite'));
      rerun = createJudgeEndpoint({ ...options, cache: rerunCache });
      rerunJudge = createOpenAIStepJudge(rerun);
      t0 = performance.now();
      const cpu0 = process.cpuUsage();
      hits = await bounded(judgedItems);
      hitRates.push(judgedItems.length / ((performance.now() - t0) / 1000));
      const cpu = process.cpuUsage(cpu0);
      hitCpu.push((cpu.user + cpu.system) / judgedItems.length);
    }
    const hitRate = median(hitRates);
    if (rerun.meter.snapshot().requests !== 0 || hits.some((h) => h.kind !== 'judged')) throw new Error('the cache rerun sent requests');
    rerunCache.close();
    const db = new Database(join(dir, 'judge.sqlite'), { readonly: true });
    const keys = db.prepare<[], { model: string; prompt_version: string; input_hash: string }>('SELECT model, prompt_version, input_hash FROM verdicts').all();
    const lookup = db.prepare<[string, string, string], string>('SELECT value FROM verdicts WHERE model = ? AND prompt_version = ? AND input_hash = ?').pluck();
    t0 = performance.now();
    const bareCpu0 = process.cpuUsage();
    let found = 0;
    for (const k of keys) if (lookup.get(k.model, k.prompt_version, k.input_hash) !== undefined) found += 1;
    const bareRate = found / ((performance.now() - t0) / 1000);
    const bareCpuUsed = process.cpuUsage(bareCpu0);
    const bareCpu = (bareCpuUsed.user + bareCpuUsed.system) / found;
    db.close();
    console.log(`judge/cache_hits_per_s (SQLite file opened afresh, new endpoint, ${judgedItems.length} items, ${2 * CONCURRENCY} at a time; ${ROUNDS} rounds, median): ${hitRate.toFixed(0)} hits/s [${hitRates.map((r) => r.toFixed(0)).join(', ')}]`);
    console.log(`judge/cache_hit_cpu (the process's CPU per hit, median; a loaded machine slows the hits/s above, not this): ${median(hitCpu).toFixed(1)} µs [${hitCpu.map((c) => c.toFixed(1)).join(', ')}]`);
    console.log(`judge/cache_ceiling_lookups_per_s (bare prepared better-sqlite3 SELECT of the same ${found} rows): ${bareRate.toFixed(0)} lookups/s, ${bareCpu.toFixed(1)} µs CPU each`);
    console.log(`judge/cache_ratio_to_ceiling: ${(hitRate / bareRate).toFixed(3)} ratio`);

    // `mrpo judge steps` over the same lines, all cached (a rerun), run in this process (start-up not included:
    // commands are loaded when they run), against a minimal program that reads the same JSONL, adds a field to
    // each line and writes them back in one write.
    const lines = judgedItems.map((item) => JSON.stringify({ ...item, completion: STEPS.join(' '), prediction: item.answer, steps: STEPS, correct: true }));
    const inPath = join(dir, 'answers.jsonl');
    writeFileSync(inPath, `${lines.join('\n')}\n`);
    const cliRates: number[] = [];
    const floorRates: number[] = [];
    for (let round = 0; round < ROUNDS + 1; round++) {
      const outPath = join(dir, `judged-${round}.jsonl`);
      t0 = performance.now();
      const io = memoryIo('', {}, dir);
      const code = await main(['judge', 'steps', '--in', inPath, '--out', outPath, '--base-url', baseUrl, '--model', 'bench-judge', '--cache', join(dir, 'judge.sqlite'), '--concurrency', String(CONCURRENCY)], io);
      const cliSeconds = (performance.now() - t0) / 1000;
      if (code !== 0 || !io.err().includes(`judged ${lines.length} (cached ${lines.length})`)) throw new Error(`mrpo judge rerun: exit ${code}: ${io.err()}`);
      t0 = performance.now();
      const copied = readFileSync(inPath, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.stringify({ ...(JSON.parse(l) as object), stepLabels: [1, 1, 1, 1] }));
      writeFileSync(join(dir, `floor-${round}.jsonl`), `${copied.join('\n')}\n`);
      const floorSeconds = (performance.now() - t0) / 1000;
      if (round > 0) {
        cliRates.push(lines.length / cliSeconds);
        floorRates.push(lines.length / floorSeconds);
      }
    }
    const cliRate = median(cliRates);
    const floorRate = median(floorRates);
    console.log(`judge/cli_rerun_lines_per_s (mrpo judge steps in-process over ${lines.length} cached lines, --out file; ${ROUNDS} rounds after one discarded, median): ${cliRate.toFixed(0)} lines/s [${cliRates.map((r) => r.toFixed(0)).join(', ')}]`);
    console.log(`judge/cli_ceiling_lines_per_s (read the JSONL, parse, add a field, stringify, one write): ${floorRate.toFixed(0)} lines/s`);
    console.log(`judge/cli_ratio_to_ceiling: ${(cliRate / floorRate).toFixed(3)} ratio`);
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
