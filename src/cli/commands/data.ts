/**
 * `mrpo data build`: builds the reference's open-ended train/test sets from the
 * raw VQA-RAD, SLAKE and PathVQA downloads plus MedThink (logic in
 * src/data/build.ts; docs/reference-facts.md §3e). The JSON build report goes to
 * stdout, the per-source table and the first skipped/unmatched rows to stderr.
 */
import { UsageError } from '../../errors.js';
import { buildDatasets, formatBuildSummary } from '../../data/build.js';
import { DEFAULT_MAX_PIXELS } from '../../data/images.js';
import { boolFlag, numberFlag, parseFlags, stringFlag } from '../args.js';
import type { CliIo, Command } from '../command.js';
import { resolve } from 'node:path';
import { FORMATS, formatInfo, openFormat, type FormatOptions } from '../../data/formats.js';
import { writeItemsJsonl } from '../../data/items-jsonl.js';
import { InputError } from '../../errors.js';
import { pathExists } from '../../utils/fs.js';

const HELP = `mrpo data build — the reference's open-ended training and test sets, as items JSONL

Usage: mrpo data build --out DIR [--vqa-rad DIR] [--slake DIR] [--pathvqa DIR] [--medthink DIR] [flags]

Sources (give at least one; folder layouts expected):
  --vqa-rad DIR   VQA-RAD. Either the OSF release (project 89kps) as downloaded:
                    DIR/VQA_RAD Dataset Public.json    (one .json file: image_name, question, answer, phrase_type, …)
                    DIR/VQA_RAD Image Folder/synpic….jpg   (or DIR/images/)
                  which is what the reference uses (test = phrase_type starting with "test"),
                  or the Hugging Face dataset flaviagiammarino/vqa-rad: DIR/data/{train,test}-*.parquet
  --slake DIR     SLAKE (Hugging Face BoKelvin/SLAKE): DIR/train.json, DIR/test.json and imgs.zip
                  unzipped as DIR/imgs/xmlab<N>/source.jpg (DIR/images/xmlab<N>/ also accepted)
  --pathvqa DIR   PathVQA (Hugging Face flaviagiammarino/path-vqa): DIR/data/{train,test}-*.parquet
                  (validation is not used)
  --medthink DIR  MedThink (github Tang-xiaoxiao/Medthink, LFS content): its Medthink_Dataset/ folder
                  (or the clone holding it):
                    DIR/R-RAD/open-end/{trainset,testset}.json
                    DIR/R-SLAKE/open-end/{train,test}.json
                    DIR/R-PathVQA/open-end/{trainset,testset}.json
                    DIR/R-PathVQA/images/{Train_images,Test_images}/   (PathVQA images are renamed to these
                                                                        names by the md5 of their bytes)
                  Without it only the test set is built.

Output:
  --out DIR            writes DIR/train.jsonl, DIR/test.jsonl, DIR/images/<source>/…,
                       DIR/build-report.json, DIR/unmatched-train.jsonl (MedThink rows with no raw match)
                       and DIR/skipped.jsonl (malformed records, unreadable images, with reasons)
  --max-pixels N       downscale images above N pixels (and re-encode them); the reference's
                       processor budget is ${DEFAULT_MAX_PIXELS}. Default: copy images unchanged
  --format F           encoding for re-encoded images: auto (default), jpeg, png
  --skip-validation    do not decode every image (faster; corrupt files are then not caught)
  --strict             fail on the first malformed record or unreadable image instead of skipping it

Rules (as the reference): open-ended only — yes/no answers dropped by the answer string; SLAKE
English only (q_lang "en") in the test set; train = merged MedThink open-end rows found in the raw
train splits by (image key, question, answer), normalised (lower case, whitespace collapsed, no
space before ?.,!;:), SLAKE images keyed "xmlab<N>_<file>". Items carry the MedThink rationale as
goldReasoning (train; test when a MedThink test rationale matches).

Example (needs the raw downloads above, fetched yourself: mrpo downloads nothing, so this
cannot run from a fresh clone alone; examples/eval/items.jsonl shows the output format):
  npm run -s mrpo -- data build --vqa-rad raw/vqa-rad --slake raw/slake --pathvqa raw/path-vqa \\
    --medthink raw/Medthink_Dataset --out data/mrpo
  npm run -s mrpo -- infer --in data/mrpo/test.jsonl …   (items JSONL feed every other command)
`;

async function runBuild(args: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseFlags('data build', args, {
    'vqa-rad': { type: 'string' },
    slake: { type: 'string' },
    pathvqa: { type: 'string' },
    medthink: { type: 'string' },
    out: { type: 'string' },
    'max-pixels': { type: 'string' },
    format: { type: 'string' },
    'skip-validation': { type: 'boolean' },
    strict: { type: 'boolean' },
  });
  const out = stringFlag(parsed, 'out');
  if (out === undefined) throw new UsageError('--out DIR is required (see `mrpo data build --help`)');
  const format = stringFlag(parsed, 'format') ?? 'auto';
  if (format !== 'auto' && format !== 'jpeg' && format !== 'png') throw new UsageError(`--format must be one of auto, jpeg, png; got "${format}"`);
  const maxPixels = numberFlag(parsed, 'max-pixels', { integer: true, min: 1 });
  const dir = (name: string): string | undefined => {
    const v = stringFlag(parsed, name);
    return v === undefined ? undefined : resolve(io.cwd, v);
  };
  const sources = { 'vqa-rad': dir('vqa-rad'), slake: dir('slake'), pathvqa: dir('pathvqa') };
  if (Object.values(sources).every((v) => v === undefined))
    throw new UsageError('give at least one source folder: --vqa-rad, --slake or --pathvqa (see `mrpo data build --help`)');
  const medthink = dir('medthink');
  const report = await buildDatasets({
    sources: Object.fromEntries(Object.entries(sources).filter(([, v]) => v !== undefined)),
    ...(medthink !== undefined ? { medthink } : {}),
    outDir: resolve(io.cwd, out),
    ...(maxPixels !== undefined ? { maxPixels } : {}),
    format,
    validateImages: !boolFlag(parsed, 'skip-validation'),
    strict: boolFlag(parsed, 'strict'),
    log: (line) => io.stderr.write(`${line}\n`),
  });
  io.stderr.write(formatBuildSummary(report));
  io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return 0;
}

const CONVERT_HELP = `mrpo data convert — any benchmark in its published layout → items JSONL

Usage: mrpo data convert --format NAME PATH --out items.jsonl [--images DIR] [--questions FILE]
                         [--split S] [--choices] [--limit N]
       mrpo data convert --in NAME:PATH --out items.jsonl [...]

Formats (PATH as published; nothing is downloaded, fetch the data yourself):
${FORMATS.map((f) => `  ${f.name.padEnd(14)} ${f.path}\n  ${''.padEnd(14)} ${f.describe}`).join('\n')}

Flags:
  --out FILE         items JSONL to write (replaced atomically); in-memory images (parquet) go
                     to <out folder>/images/
  --images DIR       images folder (VQA-Med, PMC-VQA) or the MIMIC-CXR-JPG root (MIMIC-CXR-VQA)
  --questions FILE   VQA-Med 2021 questions file
  --split S          split of a folder format (default test)
  --choices          PMC-VQA: append the options A–D to the question (multiple choice)
  --limit N          only the first N items
Every item gets answerType (open | closed) and, where the benchmark accepts several answers,
answers: [...]. The summary (items, open, closed) goes to stderr.

Example (from a fresh clone: the 4-item example file, converted as is):
  npm run -s mrpo -- data convert --format items examples/eval/items.jsonl --out /tmp/mrpo-items.jsonl
`;

async function runConvert(args: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseFlags('data convert', args, {
    format: { type: 'string' },
    in: { type: 'string' },
    out: { type: 'string' },
    images: { type: 'string' },
    questions: { type: 'string' },
    split: { type: 'string' },
    choices: { type: 'boolean' },
    limit: { type: 'string' },
  }, true);
  const out = stringFlag(parsed, 'out');
  if (out === undefined) throw new UsageError('--out FILE is required (see `mrpo data convert --help`)');
  let format = stringFlag(parsed, 'format');
  let path = parsed.positionals[0];
  const inFlag = stringFlag(parsed, 'in');
  if (inFlag !== undefined) {
    const cut = inFlag.indexOf(':');
    if (cut <= 0) throw new UsageError(`--in must be FORMAT:PATH (e.g. vqa-med-2019:raw/All_QA_Pairs_val.txt), got "${inFlag}"`);
    if (format !== undefined || path !== undefined) throw new UsageError('give either --in FORMAT:PATH or --format NAME PATH, not both');
    format = inFlag.slice(0, cut);
    path = inFlag.slice(cut + 1);
  }
  if (format === undefined) throw new UsageError('--format NAME is required (see `mrpo data convert --help` for the formats)');
  if (path === undefined) throw new UsageError('the input PATH is required: mrpo data convert --format NAME PATH --out FILE');
  if (parsed.positionals.length > 1) throw new UsageError(`expected one input PATH, got ${parsed.positionals.length}: ${parsed.positionals.join(' ')}`);
  formatInfo(format);
  const limit = numberFlag(parsed, 'limit', { integer: true, min: 1 }) ?? Number.POSITIVE_INFINITY;
  const abs = (p: string | undefined): string | undefined => (p === undefined ? undefined : resolve(io.cwd, p));
  const options: FormatOptions = {
    ...(abs(stringFlag(parsed, 'images')) !== undefined ? { images: abs(stringFlag(parsed, 'images')) } : {}),
    ...(abs(stringFlag(parsed, 'questions')) !== undefined ? { questions: abs(stringFlag(parsed, 'questions')) } : {}),
    ...(stringFlag(parsed, 'split') !== undefined ? { split: stringFlag(parsed, 'split') } : {}),
    ...(boolFlag(parsed, 'choices') ? { choices: true } : {}),
  };
  for (const key of ['images', 'questions'] as const) {
    const p = options[key];
    if (p !== undefined && !(await pathExists(p))) throw new InputError(p, `--${key}: not found`);
  }
  const inPath = resolve(io.cwd, path);
  const outPath = resolve(io.cwd, out);
  if (inPath === outPath) throw new UsageError('the input and --out must be different files');
  const dataset = await openFormat(format, inPath, options);
  const counts = { open: 0, closed: 0 };
  // Read (and so validate) everything before the output is written: a bad row leaves nothing behind.
  const items = [];
  for await (const item of dataset.items()) {
    if (items.length >= limit) break;
    items.push(item);
    counts[item.answerType ?? 'open'] += 1;
  }
  if (items.length === 0) throw new InputError(path, `no items (format ${format})`);
  const written = await writeItemsJsonl(outPath, items);
  io.stderr.write(`mrpo data convert: ${format} ${path} → ${out}: ${written} items (${counts.open} open, ${counts.closed} closed)\n`);
  return 0;
}

export const dataCommand: Command = {
  name: 'data',
  help: `${HELP}\n${CONVERT_HELP}`,
  async run(args, io) {
    const [sub, ...rest] = args;
    if (sub === 'build') return runBuild(rest, io);
    if (sub === 'convert') return runConvert(rest, io);
    throw new UsageError(sub === undefined ? 'missing sub-command: expected `mrpo data build` or `mrpo data convert`' : `unknown sub-command "data ${sub}"; expected: build, convert`);
  },
};
