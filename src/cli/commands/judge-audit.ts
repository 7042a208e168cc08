/**
 * `mrpo judge audit` (docs/judge-audit.md): reads judged JSONL files of two or
 * more judges over the same completions (the output of `mrpo judge steps`,
 * with `correct` from `mrpo judge answers` when present) and optional hand
 * labels, checks that they cover the same (id, sample) pairs with the same
 * step counts (exit 2 naming the file and line otherwise, before any output),
 * and writes the audit of src/report/audit: JSON (--out), an HTML section
 * (--html) and a summary on stdout.
 */
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { InputError, UsageError } from '../../errors.js';
import { auditJudges, type AuditCompletion, type AuditRater, type AuditVerdict } from '../../report/audit/audit.js';
import { auditHtml, auditText } from '../../report/audit/audit-report.js';
import type { StepLabel } from '../../types.js';
import { jsonlLines, type JsonRecord } from '../../utils/jsonl.js';
import { boolFlag, numberFlag, parseFlags, stringFlag } from '../args.js';
import type { CliIo } from '../command.js';
import { checkPathKind, writeFileAtomic } from '../io.js';

export const AUDIT_HELP = `mrpo judge audit — how far to trust a judge (docs/judge-audit.md)

Usage: mrpo judge audit JUDGED.jsonl JUDGED.jsonl [...] [--labels FILE] [flags]
       mrpo judge audit --retest RUN1.jsonl RUN2.jsonl   (one judge twice: test–retest κ)

Test–retest: judge the same answers twice with \`mrpo judge steps --seed 1\` and \`--seed 2\`
  (or another --temperature): the seed is part of the verdict cache key, so the second run is
  judged afresh (the audit warns when the second file came from the cache).

Inputs: judged files from \`mrpo judge steps\` over the same completions (same (id, sample)
  pairs, same steps); \`correct\` (from \`mrpo judge answers\`) is audited when present.
  --labels FILE: hand labels, JSONL {id, sample?, stepLabels: [0|1,...]} (final validity only)
  and/or {stepVerdicts: [{alignment, contribution}]} (per criterion; stepLabels must then be
  alignment ∨ contribution), optionally with "correct"; every judge is then also compared with
  them on each labelled criterion, with position bias and FFP/FAR shifts against them.
Reports per criterion (step label, alignment, contribution, answer): agreement and Cohen's κ
  (Fleiss' κ over all judges when more than two) with cluster-bootstrap 95% intervals, the
  confusion matrix, the same by step position (FFP stage) and by FFP bin; per judge: invalid
  rate by stage against the labels, FFP stage shares and FAR against the baseline, unjudged
  counts, missing/extra verdicts, and tokens and cost (the answerJudge and stepJudge cost
  fields \`mrpo judge answers|steps\` write per line).

Flags:
  --labels FILE      hand labels (the reference)
  --names LIST       judge names in file order (default: stepJudge.name, else the file name)
  --retest           the files are two runs of one judge: report test–retest κ
  --resamples N      bootstrap resamples (default 1000)
  --seed S           bootstrap seed (default 0)
  --out FILE         audit JSON
  --html FILE        HTML report section with the figures
Exit: 0 done; 2 bad usage or input (mismatched ids or step counts: the file and line are named).

Example (from a fresh clone, offline judge against the shipped hand labels):
  npm run -s mrpo -- judge answers --judge offline --in examples/eval/audit/completions.jsonl --out /tmp/audit/answers.jsonl
  npm run -s mrpo -- judge steps --judge offline --in /tmp/audit/answers.jsonl --out /tmp/audit/offline.jsonl
  npm run -s mrpo -- judge steps --judge offline --align-threshold 0.8 --in /tmp/audit/answers.jsonl --out /tmp/audit/strict.jsonl
  npm run -s mrpo -- judge audit /tmp/audit/offline.jsonl /tmp/audit/strict.jsonl --names offline,offline-0.8 \\
      --labels examples/eval/audit/labels.jsonl --out /tmp/audit/audit.json --html /tmp/audit/audit.html
`;

interface ParsedLine {
  readonly key: string;
  readonly line: number;
  readonly label: string;
  readonly completion: AuditCompletion;
  readonly steps: number | null;
  readonly judgeName?: string;
  readonly missing: number;
  readonly extra: number;
  readonly cost: LineCost | null;
  /** stepJudge.cached: the step verdicts came from the verdict cache (null: not recorded). */
  readonly stepCached: boolean | null;
}

/** What judging one line cost (answer and step judgements together), when the line records it. */
interface LineCost {
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** null: tokens were used at unknown prices. */
  readonly costUsd: number | null;
}

/** The cost fields `mrpo judge answers|steps` write in answerJudge / stepJudge; null when the line has none. */
function costOfLine(...judges: unknown[]): LineCost | null {
  let recorded = false;
  let promptTokens = 0;
  let completionTokens = 0;
  let costUsd: number | null = 0;
  for (const j of judges) {
    const o = (j ?? {}) as { promptTokens?: unknown; completionTokens?: unknown; costUsd?: unknown };
    if (typeof o.promptTokens !== 'number' || typeof o.completionTokens !== 'number') continue;
    recorded = true;
    promptTokens += o.promptTokens;
    completionTokens += o.completionTokens;
    costUsd = typeof o.costUsd === 'number' && costUsd !== null ? costUsd + o.costUsd : null;
  }
  return recorded ? { promptTokens, completionTokens, costUsd } : null;
}

interface ParsedFile {
  readonly name: string;
  readonly lines: readonly ParsedLine[];
  readonly byKey: ReadonlyMap<string, ParsedLine>;
}

const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v).slice(0, 60));

function parseVerdicts(v: unknown, where: string): AuditVerdict[] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) throw new InputError(where, `field "stepVerdicts" must be an array, got ${show(v)}`);
  if (v.length === 0) return null; // `mrpo judge steps` writes [] when unjudged
  return v.map((x, i) => {
    const o = x as { alignment?: unknown; contribution?: unknown } | null;
    if (o === null || typeof o !== 'object' || (o.alignment !== 0 && o.alignment !== 1) || (o.contribution !== 0 && o.contribution !== 1))
      throw new InputError(where, `field "stepVerdicts[${i}]" must be {alignment: 0|1, contribution: 0|1}, got ${show(x)}`);
    return { alignment: o.alignment, contribution: o.contribution };
  });
}

function parseLine(r: JsonRecord, where: string, lineNo: number, isLabels: boolean): ParsedLine {
  if (typeof r.id !== 'string' && typeof r.id !== 'number') throw new InputError(where, `field "id" must be a string, got ${show(r.id)}`);
  const sample = r.sample ?? 0;
  if (typeof sample !== 'number') throw new InputError(where, `field "sample" must be a number, got ${show(sample)}`);
  if (r.correct !== undefined && r.correct !== null && typeof r.correct !== 'boolean') throw new InputError(where, `field "correct" must be true, false or null, got ${show(r.correct)}`);
  let stepLabels: StepLabel[] | null = null;
  if (r.stepLabels !== undefined && r.stepLabels !== null) {
    if (!Array.isArray(r.stepLabels) || !r.stepLabels.every((l) => l === 0 || l === 1))
      throw new InputError(where, `field "stepLabels" must be an array of 0/1 (or null when unjudged), got ${show(r.stepLabels)}`);
    stepLabels = r.stepLabels as StepLabel[];
  }
  const verdicts = parseVerdicts(r.stepVerdicts, where);
  if (stepLabels !== null && verdicts !== null) {
    if (stepLabels.length !== verdicts.length) throw new InputError(where, `"stepLabels" has ${stepLabels.length} labels but "stepVerdicts" ${verdicts.length}`);
    // Final validity is Alignment ∨ Contribution (docs/method.md §3): a file that says otherwise was edited by hand and is ambiguous.
    const bad = verdicts.findIndex((v, i) => stepLabels[i] !== (v.alignment === 1 || v.contribution === 1 ? 1 : 0));
    if (bad >= 0)
      throw new InputError(where, `"stepLabels[${bad}]" is ${stepLabels[bad]} but "stepVerdicts[${bad}]" is ${JSON.stringify(verdicts[bad])} (a step is valid when alignment or contribution is 1)`);
  }
  if (isLabels && stepLabels === null && verdicts === null) throw new InputError(where, 'a hand label needs "stepLabels" or "stepVerdicts"');
  const sj = (r.stepJudge ?? {}) as { name?: unknown; missing?: unknown; extra?: unknown; cached?: unknown };
  return {
    key: JSON.stringify([String(r.id), sample]),
    line: lineNo,
    label: `id ${JSON.stringify(String(r.id))}${sample === 0 ? '' : ` (sample ${sample})`}`,
    completion: { correct: typeof r.correct === 'boolean' ? r.correct : null, stepLabels, verdicts },
    steps: stepLabels?.length ?? verdicts?.length ?? null,
    ...(typeof sj.name === 'string' ? { judgeName: sj.name } : {}),
    missing: typeof sj.missing === 'number' ? sj.missing : 0,
    extra: typeof sj.extra === 'number' ? sj.extra : 0,
    cost: costOfLine(r.answerJudge, r.stepJudge),
    stepCached: typeof sj.cached === 'boolean' ? sj.cached : null,
  };
}

async function readAuditFile(path: string, name: string, io: CliIo, isLabels: boolean): Promise<ParsedFile> {
  let text: string;
  try {
    text = await readFile(resolve(io.cwd, path), 'utf8');
  } catch (error) {
    throw new InputError(name, (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : 'cannot read file');
  }
  const lines: ParsedLine[] = [];
  const byKey = new Map<string, ParsedLine>();
  for (const { value, line } of jsonlLines(text, { name, objects: true })) {
    const where = `${name} line ${line}`;
    const p = parseLine(value, where, line, isLabels);
    const earlier = byKey.get(p.key);
    if (earlier !== undefined) throw new InputError(where, `${p.label} is already on line ${earlier.line} (each (id, sample) must be unique)`);
    byKey.set(p.key, p);
    lines.push(p);
  }
  if (lines.length === 0) throw new InputError(name, 'no records (expected judged JSONL lines from `mrpo judge steps`)');
  return { name, lines, byKey };
}

/** Same (id, sample) pairs and step counts as the first file, else an InputError naming the file and line. */
function checkAligned(first: ParsedFile, other: ParsedFile): void {
  for (const l of other.lines) {
    const f = first.byKey.get(l.key);
    if (f === undefined) throw new InputError(`${other.name} line ${l.line}`, `${l.label} is not in ${first.name}`);
    if (f.steps !== null && l.steps !== null && f.steps !== l.steps)
      throw new InputError(`${other.name} line ${l.line}`, `${l.label} has ${l.steps} steps but ${f.steps} in ${first.name} line ${f.line} (judged over different completions or splitters)`);
  }
  for (const f of first.lines)
    if (!other.byKey.has(f.key)) throw new InputError(`${first.name} line ${f.line}`, `${f.label} has no line in ${other.name}`);
}

function raterOf(file: ParsedFile, name: string, order: readonly string[]): AuditRater {
  const lines = order.map((k) => file.byKey.get(k) as ParsedLine);
  const costs = lines.flatMap((l) => (l.cost === null ? [] : [l.cost]));
  return {
    name,
    completions: lines.map((l) => l.completion),
    missing: lines.reduce((s, l) => s + l.missing, 0),
    extra: lines.reduce((s, l) => s + l.extra, 0),
    cost:
      costs.length === 0
        ? null
        : {
            lines: costs.length,
            promptTokens: costs.reduce((s, c) => s + c.promptTokens, 0),
            completionTokens: costs.reduce((s, c) => s + c.completionTokens, 0),
            costUsd: costs.some((c) => c.costUsd === null) ? null : costs.reduce((s, c) => s + (c.costUsd as number), 0),
          },
  };
}

export async function runJudgeAudit(args: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseFlags(
    'judge audit',
    args,
    {
      labels: { type: 'string' },
      names: { type: 'string' },
      retest: { type: 'boolean' },
      resamples: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      html: { type: 'string' },
    },
    true,
  );
  const files = parsed.positionals;
  const retest = boolFlag(parsed, 'retest');
  const labelsPath = stringFlag(parsed, 'labels');
  if (retest && files.length !== 2) throw new UsageError(`--retest takes exactly two judged files (two runs of one judge), got ${files.length}`);
  if (files.length < 2 && !(files.length === 1 && labelsPath !== undefined))
    throw new UsageError('give two or more judged files (or one judged file and --labels FILE)');
  const names = stringFlag(parsed, 'names')?.split(',').map((s) => s.trim());
  if (names !== undefined && names.length !== files.length) throw new UsageError(`--names lists ${names.length} names for ${files.length} files`);
  if (names !== undefined && new Set(names).size !== names.length) throw new UsageError('--names must be distinct');
  const resamples = numberFlag(parsed, 'resamples', { integer: true, min: 1 }) ?? 1000;
  const seed = numberFlag(parsed, 'seed', { integer: true, min: 0 }) ?? 0;
  const out = stringFlag(parsed, 'out');
  const html = stringFlag(parsed, 'html');
  await checkPathKind(out, '--out', 'file', io);
  await checkPathKind(html, '--html', 'file', io);

  const judged: ParsedFile[] = [];
  for (const f of files) judged.push(await readAuditFile(f, f, io, false));
  const labels = labelsPath === undefined ? null : await readAuditFile(labelsPath, labelsPath, io, true);
  for (const other of [...judged.slice(1), ...(labels === null ? [] : [labels])]) checkAligned(judged[0], other);

  const order = judged[0].lines.map((l) => l.key);
  const defaultNames = judged.map((f) => f.lines[0].judgeName ?? basename(f.name));
  const finalNames = names ?? (retest ? defaultNames.map((n, i) => `${n} run ${i + 1}`) : undefined) ?? defaultNames.map((n, i) => (defaultNames.indexOf(n) !== i || defaultNames.lastIndexOf(n) !== i ? `${n} (${basename(judged[i].name)})` : n));
  if (new Set(finalNames).size !== finalNames.length) throw new UsageError('two judged files have the same judge name and file name; give --names');
  if (retest && names === undefined && defaultNames[0] !== defaultNames[1])
    io.stderr.write(`mrpo judge audit: --retest, but the files name different judges (${defaultNames.join(', ')})\n`);
  // A rerun with the same settings is served from the verdict cache: the "retest" would agree with itself by construction.
  const judgedLines = judged[1]?.lines.filter((l) => l.completion.verdicts !== null || l.completion.stepLabels !== null) ?? [];
  if (retest && judgedLines.length > 0 && judgedLines.every((l) => l.stepCached === true))
    io.stderr.write(
      `mrpo judge audit: --retest: every step verdict in ${judged[1].name} came from the verdict cache, so it repeats the first run by construction; judge again with another --seed (or --temperature, or --no-cache)\n`,
    );
  const result = auditJudges(
    judged.map((f, i) => raterOf(f, finalNames[i], order)),
    labels === null ? null : raterOf(labels, 'hand labels', order),
    { resamples, seed, mode: retest ? 'retest' : 'judges' },
  );
  if (out !== undefined) await writeFileAtomic(resolve(io.cwd, out), `${JSON.stringify(result, null, 2)}\n`);
  if (html !== undefined) await writeFileAtomic(resolve(io.cwd, html), await auditHtml(result, files));
  io.stdout.write(auditText(result));
  return 0;
}
