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

export const dataCommand: Command = {
  name: 'data',
  summary: 'data build: the open-ended train/test sets from VQA-RAD, SLAKE, PathVQA and MedThink',
  help: HELP,
  async run(args, io) {
    const [sub, ...rest] = args;
    if (sub === 'build') return runBuild(rest, io);
    throw new UsageError(sub === undefined ? 'missing sub-command: expected `mrpo data build`' : `unknown sub-command "data ${sub}"; expected: build`);
  },
};
