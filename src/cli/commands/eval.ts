/**
 * `mrpo eval` (issue 10): the benchmark table in one command. A suite file
 * names the benchmarks (local copies, any `mrpo data convert` format), the
 * models and the judge; eval runs inference, answer and step judging for every
 * (model, benchmark), resumable at item level, and writes the table for every
 * scoring convention with bootstrap intervals (results.json, results.md,
 * report.html). Logic in src/cli/eval/.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODEL_FAMILIES } from '../../backends/openai/prompt.js';
import { judgePrices, formatJudgeStats } from '../../judges/meter.js';
import { ConfigError, RemoteError, UsageError } from '../../errors.js';
import { checkJudgeConfig, createEvalJudges, createEvalModel, type EvalModel } from '../eval/models.js';
import { renderHtml, renderMarkdown, scoreTables } from '../eval/render.js';
import { estimateJudgeCost, readJudgedIds, readJudgedRows } from '../eval/results.js';
import { loadBenchmark, pairFiles, runPairs, type LoadedBenchmark } from '../eval/runner.js';
import { readSuite, resolveSuitePaths, parseSuite, type Suite } from '../eval/suite.js';
import { buildTables, modelFailureSummary, type JudgedRow } from '../eval/tables.js';
import { redactSecrets } from '../../utils/redact.js';
import { boolFlag, numberFlag, parseFlags, stringFlag } from '../args.js';
import type { CliIo, Command } from '../command.js';
import { writeFileAtomic } from '../io.js';
import { startJobProgress, withInterrupt } from '../job-progress.js';
import { BUNDLED_WARM_START } from './demo.js';

const PAPER_SUITE = resolve(dirname(fileURLToPath(import.meta.url)), '../../../assets/eval-suites/paper.yaml');

const HELP = `mrpo eval — the benchmark table in one command (every scoring convention side by side)

Usage: mrpo eval --suite FILE|paper [--out DIR] [--sample N] [--benchmarks A,B] [--dry-run]
       mrpo eval --suite paper --data DIR [--base-url URL --model NAME --family F]

The suite (YAML or JSON; relative paths from its folder):
  name: my-eval
  sample: 200                  # items per benchmark (seeded sample); default all
  seed: 0
  conventions: [exact, f1, bleu1, rouge1, reward, judge]    # default all six
  bootstrap: { resamples: 1000, seed: 0 }
  benchmarks:                  # format: any of \`mrpo data convert\`, or synthetic
    - { name: vqa-rad, group: id, format: vqa-rad, path: raw/vqa-rad }
    - { name: vqa-med-2019, group: ood, format: vqa-med-2019, path: raw/…/All_QA_Pairs_val.txt }
    - { name: toy, group: id, format: synthetic, size: 32, seed: 7 }
    # also: images, questions, split, choices, sample, questionTypes: all|open|closed
  models:                      # several side by side
    - { name: qwen, kind: openai, baseUrl: "http://127.0.0.1:8000/v1", model: Qwen/Qwen2.5-VL-7B-Instruct,
        family: qwen2.5-vl, apiKeyEnv: MY_KEY }     # also maxTokens, temperature, concurrency, timeoutSec
    - { name: warm-start, kind: embedded, checkpoint: bundled }   # the embedded CPU policy
  judge: { kind: offline }     # or { kind: openai, baseUrl, model, apiKeyEnv, priceIn, priceOut, cache }

Conventions (each the best match over the accepted answers): exact = normalised exact match,
  f1 = token F1, bleu1 = NLTK BLEU-1, rouge1 = ROUGE-1 F, reward = the reference's answer
  reward, judge = answer-judge accuracy. Plus FFP stage shares and FAR per benchmark.

Flags:
  --suite FILE|paper   the suite; \`paper\` = the paper's benchmarks (assets/eval-suites/paper.yaml)
  --data DIR           with --suite paper: folder holding the data sets (default ./data)
  --base-url, --model, --family   with --suite paper: the model to evaluate (replaces the preset's)
  --out DIR            output folder (default runs/eval-<suite name>); rerun the same command to resume
  --sample N           items per benchmark (overrides the suite)
  --benchmarks A,B     run only these benchmarks of the suite
  --dry-run            validate the suite, read the benchmarks, print the plan and the cost estimate
Output: DIR/results.json (every cell: value, lo, hi, n), DIR/results.md, DIR/report.html,
  DIR/runs/<model>/<benchmark>.{completions,judged}.jsonl; the all-questions tables on stdout.
  Before it starts: the plan and the judge cost estimate (stderr); at the end, the judge spend.
Exit: 0 done; 1 inference failed for some items (rerun to retry), or a model or judge endpoint
  refused (wrong key, model or URL: fix it, rerun to resume); 2 bad suite or data (the
  message names file, line and field); 130 interrupted (rerun to resume).

Example (from a fresh clone, offline: the embedded policy and the offline judges):
  npm run -s mrpo -- eval --suite examples/eval/suite.yaml --out /tmp/mrpo-eval-suite
`;

async function loadSuite(parsed: ReturnType<typeof parseFlags>, io: CliIo): Promise<Suite> {
  const suiteArg = stringFlag(parsed, 'suite');
  if (suiteArg === undefined) throw new UsageError('--suite FILE (or --suite paper) is required (see `mrpo eval --help`)');
  const modelFlags = ['base-url', 'model', 'family'].filter((f) => stringFlag(parsed, f) !== undefined);
  if (suiteArg !== 'paper') {
    if (modelFlags.length > 0 || stringFlag(parsed, 'data') !== undefined) throw new UsageError(`--${modelFlags[0] ?? 'data'} is for --suite paper only; list models in the suite file`);
    return readSuite(suiteArg, io.cwd);
  }
  const suite = resolveSuitePaths(parseSuite(await readFile(PAPER_SUITE, 'utf8'), 'paper.yaml'), resolve(io.cwd, stringFlag(parsed, 'data') ?? 'data'), io.cwd);
  if (modelFlags.length === 0) return suite;
  const model = stringFlag(parsed, 'model');
  const family = stringFlag(parsed, 'family');
  if (model === undefined || family === undefined) throw new UsageError('with --suite paper give --model NAME and --family F (and --base-url URL) together');
  if (!(MODEL_FAMILIES as readonly string[]).includes(family)) throw new UsageError(`--family must be one of ${MODEL_FAMILIES.join(', ')}, got "${family}"`);
  const base = suite.models[0];
  if (base === undefined || base.kind !== 'openai') throw new ConfigError('paper.yaml', 'expected an openai model');
  return { ...suite, models: [{ ...base, model, family, baseUrl: stringFlag(parsed, 'base-url') ?? base.baseUrl, name: 'policy' }] };
}

export const evalCommand: Command = {
  name: 'eval',
  help: HELP,
  async run(args, io) {
    const parsed = parseFlags('eval', args, {
      suite: { type: 'string' },
      data: { type: 'string' },
      'base-url': { type: 'string' },
      model: { type: 'string' },
      family: { type: 'string' },
      out: { type: 'string' },
      sample: { type: 'string' },
      benchmarks: { type: 'string' },
      'dry-run': { type: 'boolean' },
    });
    let suite = await loadSuite(parsed, io);
    const sample = numberFlag(parsed, 'sample', { integer: true, min: 1 });
    if (sample !== undefined) suite = { ...suite, sample, benchmarks: suite.benchmarks.map(({ sample: _s, ...b }) => b as Suite['benchmarks'][number]) };
    const only = stringFlag(parsed, 'benchmarks');
    if (only !== undefined) {
      const names = only.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
      const unknown = names.find((n) => !suite.benchmarks.some((b) => b.name === n));
      if (unknown !== undefined) throw new UsageError(`--benchmarks: "${unknown}" is not in the suite (${suite.benchmarks.map((b) => b.name).join(', ')})`);
      suite = { ...suite, benchmarks: suite.benchmarks.filter((b) => names.includes(b.name)) };
    }
    const out = resolve(io.cwd, stringFlag(parsed, 'out') ?? join('runs', `eval-${suite.name}`));

    // Everything is validated before the first output is written: models (keys), every benchmark's data.
    checkJudgeConfig(suite.judge, io.env);
    const models: EvalModel[] = suite.models.map((m) => createEvalModel(m, io.env, { bundledCheckpoint: BUNDLED_WARM_START, seed: suite.seed }));
    for (const m of suite.models)
      if (m.kind === 'embedded' && m.checkpoint !== 'bundled' && !existsSync(m.checkpoint)) throw new ConfigError(m.checkpoint, `model "${m.name}": checkpoint folder not found`);
    const benchmarks: LoadedBenchmark[] = [];
    for (const b of suite.benchmarks) benchmarks.push(await loadBenchmark(b, suite));

    let pending = 0;
    let answerCalls = 0;
    let stepCalls = 0;
    for (const m of models)
      for (const b of benchmarks) {
        const ids = new Set(b.items.map((i) => i.id));
        const done = await readJudgedIds(pairFiles(out, m.name, b.entry.name).judged, ids);
        for (const item of b.items)
          if (!done.has(item.id)) {
            pending += 1;
            answerCalls += item.answers?.length ?? 1;
            if (item.goldReasoning !== undefined && item.goldReasoning.trim() !== '') stepCalls += 1; // no rationale, no step call
          }
      }
    const total = models.length * benchmarks.reduce((a, b) => a + b.items.length, 0);
    io.stderr.write(
      `mrpo eval: ${models.length} model(s) × ${benchmarks.length} benchmark(s): ${benchmarks.map((b) => `${b.entry.name} ${b.items.length}/${b.available}`).join(', ')} items; ` +
        `${pending} of ${total} (model, item) pairs to run${total > pending ? ` (${total - pending} already judged in ${out})` : ''}\n`,
    );
    if (suite.judge.kind === 'offline') io.stderr.write('mrpo eval: judge: offline (deterministic lexical approximation), no cost\n');
    else {
      const prices = judgePrices(suite.judge);
      const e = estimateJudgeCost(stepCalls, answerCalls, prices);
      io.stderr.write(
        `mrpo eval: judge estimate: ≈${e.calls} calls, ≈${e.promptTokens} prompt + ${e.completionTokens} completion tokens, ${e.usd === null ? 'cost unknown (no prices: set priceIn/priceOut)' : `≈$${e.usd.toFixed(2)}`} ` +
          '(at most: one answer call per accepted answer, one step call per item with a gold rationale, ~1,300 prompt and 300 completion tokens a call; cached verdicts cost nothing)\n',
      );
    }
    if (boolFlag(parsed, 'dry-run')) {
      io.stdout.write(`${JSON.stringify({ out, sample: suite.sample ?? null, benchmarks: benchmarks.map((b) => ({ name: b.entry.name, group: b.entry.group, items: b.items.length, available: b.available })), models: suite.models.map((m) => m.name), judge: suite.judge.kind, pending }, null, 2)}\n`);
      return 0;
    }

    const judges = createEvalJudges(suite.judge, io.env);
    await mkdir(out, { recursive: true });
    await writeFileAtomic(join(out, 'suite.json'), `${JSON.stringify(suite, null, 2)}\n`);
    const controller = new AbortController();
    const progress = startJobProgress(io, 'eval', pending);
    let result;
    try {
      result = await withInterrupt(controller, () =>
        runPairs({
          out,
          models,
          benchmarks,
          judges,
          splitter: suite.splitter,
          signal: controller.signal,
          onStart: (p) => io.stderr.write(`mrpo eval: ${p.model} on ${p.benchmark}: ${p.items} items${p.alreadyJudged > 0 ? `, ${p.alreadyJudged} already judged` : ''}${p.alreadyCompleted > 0 ? `, ${p.alreadyCompleted} completions to judge` : ''}\n`),
          onItem: () => progress.increment(),
        }),
      );
    } finally {
      progress.stop();
      for (const m of models) await m.close();
      judges.close();
    }
    io.stderr.write(`mrpo eval: judge spend: ${formatJudgeStats(judges.meter.snapshot())}\n`);
    for (const m of models) {
      const s = m.stats();
      io.stderr.write(`mrpo eval: model ${m.name}: requests ${s.requests}, retries ${s.retries}, tokens ${s.promptTokens} in / ${s.completionTokens} out\n`);
    }

    const rows: Record<string, Record<string, JudgedRow[]>> = {};
    for (const m of models) {
      rows[m.name] = {};
      for (const b of benchmarks) rows[m.name]![b.entry.name] = await readJudgedRows(pairFiles(out, m.name, b.entry.name).judged, new Set(b.items.map((i) => i.id)));
    }
    const tables = buildTables({
      conventions: suite.conventions,
      models: models.map((m) => m.name),
      benchmarks: benchmarks.map((b) => ({ name: b.entry.name, group: b.entry.group, items: b.items.length })),
      rows,
      bootstrap: suite.bootstrap,
    });
    const judgedCount = Object.values(tables.judged).reduce((a, byB) => a + Object.values(byB).reduce((x, y) => x + y, 0), 0);
    const notes = [
      `suite ${suite.name}; judge ${judges.name}; ${judgedCount} of ${total} (model, item) pairs judged`,
      ...(judgedCount < total ? ['INCOMPLETE: rerun the same command to finish; cells count only the items judged so far'] : []),
    ];
    const title = `mrpo eval: ${suite.name}`;
    await writeFileAtomic(join(out, 'results.json'), `${JSON.stringify({ suite: suite.name, judge: judges.name, complete: judgedCount === total, ...tables }, null, 2)}\n`);
    await writeFileAtomic(join(out, 'results.md'), renderMarkdown(tables, title, notes));
    const runs = models.map((m) => {
      const all = benchmarks.flatMap((b) => rows[m.name]?.[b.entry.name] ?? []);
      return {
        label: m.name,
        summary: modelFailureSummary(all),
        accuracyBySource: benchmarks.map((b) => {
          const r = (rows[m.name]?.[b.entry.name] ?? []).filter((x) => x.correct !== null);
          const correct = r.filter((x) => x.correct === true).length;
          return { source: b.entry.name, traces: r.length, correct, accuracy: r.length === 0 ? 0 : correct / r.length };
        }),
      };
    });
    await writeFileAtomic(join(out, 'report.html'), await renderHtml(tables, title, runs, notes));
    for (const t of scoreTables(tables).filter((x) => x.title.endsWith('all questions'))) {
      io.stdout.write(`\n${t.title}\n${[t.header, ...t.rows].map((r) => r.join(' | ')).join('\n')}\n`);
    }
    io.stdout.write(`\nresults: ${join(out, 'results.md')} · ${join(out, 'results.json')} · ${join(out, 'report.html')}\n`);

    const secrets = [...[...suite.models, suite.judge].map((e) => ('apiKeyEnv' in e && e.apiKeyEnv !== undefined ? io.env[e.apiKeyEnv] : undefined)), io.env.MRPO_INFER_API_KEY, io.env.MRPO_JUDGE_API_KEY, io.env.OPENAI_API_KEY];
    const failed = Object.values(result.failures).reduce((a, f) => a + f.count, 0);
    for (const [reason, f] of Object.entries(result.failures)) io.stderr.write(`mrpo eval: ${reason}: ${f.count} item(s), e.g. ${redactSecrets(f.example, secrets)}\n`);
    for (const r of result.refused) io.stderr.write(`mrpo eval: ${r.endpoint} refused (${r.category}), e.g. ${redactSecrets(r.example, secrets)}\n`);
    if (result.interrupted) {
      io.stderr.write('mrpo eval: interrupted; rerun the same command to resume\n');
      return 130;
    }
    if (result.refused.length > 0) {
      const what = result.refused.map((r) => `${r.endpoint} (${r.category})`).join(', ');
      throw new RemoteError(
        `stopped: ${what} refused every request; its remaining items were not tried. Check that endpoint's baseUrl, model and apiKeyEnv in the suite, then rerun the same command to resume`,
      );
    }
    if (failed > 0) throw new RemoteError(`${failed} item(s) failed at inference; rerun the same command to retry them`);
    return 0;
  },
};
