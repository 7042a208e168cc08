/**
 * `mrpo data build`: the reference's training and test sets (docs/reference-facts.md
 * §3e, docs/method.md §9), as items JSONL plus an image folder.
 *
 * Train: the merged MedThink open-ended rows (yes/no dropped, de-duplicated on
 * image key + whitespace/case-normalised question and answer, sources in the
 * order VQA-RAD, SLAKE, PathVQA) that also occur in the raw train splits under
 * the match key (image key, question, answer), each normalised by lower-casing,
 * collapsing whitespace and removing spaces before `?.,!;:`. SLAKE's image key
 * is `xmlab<N>_<file>`. Question and answer are MedThink's; the MedThink
 * rationale becomes `goldReasoning`.
 *
 * Test: the raw test splits of VQA-RAD, SLAKE (`q_lang == "en"` only) and
 * PathVQA with yes/no answers dropped (by the answer string, not
 * `answer_type`); no MedThink filtering. Where a MedThink test rationale
 * matches (image key, question, answer) as the reference's reasoning
 * evaluation keys it, it is attached as `goldReasoning`.
 *
 * Never silent: malformed records and unreadable images are skipped and listed
 * (`skipped.jsonl`) unless `strict`, MedThink rows without a raw match are
 * listed (`unmatched-train.jsonl`), and the counts go to `build-report.json`.
 */
import { mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InputError } from '../errors.js';
import type { Item } from '../types.js';
import { ImageStore, type StoredImage } from './build-images.js';
import { mergeMedThink, rawRows, SOURCE_NAMES, type RawRow, type RawRowsContext, type SourceName } from './build-sources.js';
import type { ImageFormat } from './images.js';
import { writeItemsJsonl } from './items-jsonl.js';
import { IdAllocator, isYesNo, normDedup, normMatch, stableId } from './normalize.js';
import type { IssueSink, RecordIssue } from './record-issues.js';
import { writeFileAtomic } from '../utils/fs.js';

export interface BuildOptions {
  readonly sources: Partial<Record<SourceName, string>>;
  /** The MedThink folder (with R-RAD, R-SLAKE, R-PathVQA). Without it only the test set is built. */
  readonly medthink?: string;
  readonly outDir: string;
  /** Downscale images above this many pixels (re-encoding them); undefined copies the original bytes. */
  readonly maxPixels?: number;
  readonly format?: ImageFormat | 'auto';
  /** Fully decode every image (default true). */
  readonly validateImages?: boolean;
  /** Fail on the first malformed record or unreadable image instead of skipping it. */
  readonly strict?: boolean;
  /** Progress and warnings (stderr in the CLI). */
  readonly log?: (line: string) => void;
}

export interface UnmatchedRow {
  readonly source: SourceName;
  readonly where: string;
  readonly image: string;
  readonly question: string;
  readonly answer: string;
  readonly reason: string;
}

type Counts = Partial<Record<SourceName, number>>;

export interface BuildReport {
  readonly train: { readonly total: number; readonly perSource: Counts };
  readonly test: { readonly total: number; readonly perSource: Counts; readonly withGoldReasoning: Counts };
  readonly raw: Partial<Record<SourceName, { train: number; test: number; testYesNo: number; testOtherLanguage: number }>>;
  readonly medthink: {
    readonly train: Partial<Record<SourceName, { read: number; yesNo: number; duplicates: number; kept: number }>>;
    readonly missingFiles: string[];
  };
  readonly unmatched: { readonly total: number; readonly perSource: Counts; readonly file: string };
  readonly skipped: { readonly total: number; readonly file: string };
  readonly images: { readonly written: number; readonly renamedByMd5: number; readonly nameCollisions: number };
  readonly files: { readonly train: string | null; readonly test: string; readonly report: string };
}

const PREVIEW = 5;

function inc(counts: Counts, source: SourceName, by = 1): void {
  counts[source] = (counts[source] ?? 0) + by;
}

function matchKey(imageKey: string, question: string, answer: string): string {
  return `${imageKey}\u0000${normMatch(question)}\u0000${normMatch(answer)}`;
}

function goldKey(imageKey: string, question: string, answer: string): string {
  return `${imageKey}\u0000${normDedup(question)}\u0000${normDedup(answer)}`;
}

/** Bounds the number of image writes in flight. */
class InFlight {
  private readonly pending: Array<Promise<unknown>> = [];
  constructor(private readonly size: number) {}
  async push(work: Promise<unknown>): Promise<void> {
    this.pending.push(work);
    if (this.pending.length >= this.size) await this.pending.shift();
  }
  async drain(): Promise<void> {
    while (this.pending.length > 0) await this.pending.shift();
  }
}

/** Runs image work a few at a time while keeping row order. */
class OrderedWindow<T> {
  private readonly pending: Array<{ value: T; image: Promise<StoredImage> }> = [];
  constructor(private readonly size: number, private readonly emit: (value: T, image: StoredImage) => void) {}
  async push(value: T, image: Promise<StoredImage>): Promise<void> {
    this.pending.push({ value, image });
    if (this.pending.length >= this.size) await this.shift();
  }
  private async shift(): Promise<void> {
    const next = this.pending.shift();
    if (next) this.emit(next.value, await next.image);
  }
  async drain(): Promise<void> {
    while (this.pending.length > 0) await this.shift();
  }
}

/** What the train and test passes share. */
interface BuildContext {
  readonly options: BuildOptions;
  readonly sources: readonly SourceName[];
  readonly log: (line: string) => void;
  readonly sink: IssueSink;
  readonly store: ImageStore;
  readonly rowsContext: RawRowsContext;
  readonly raw: NonNullable<BuildReport['raw']>;
  readonly missingFiles: string[];
}

async function checkFolders(options: BuildOptions, sources: readonly SourceName[]): Promise<void> {
  const folders: Array<[string, string]> = sources.map((s) => [s, options.sources[s]!]);
  if (options.medthink !== undefined) folders.push(['medthink', options.medthink]);
  for (const [name, dir] of folders) {
    const st = await stat(dir).catch(() => undefined);
    if (st === undefined || !st.isDirectory()) throw new InputError(dir, `${name} folder not found (given as --${name})`);
  }
}

/** Train: merged MedThink rows found in the raw train splits; their images are stored as the raw rows stream past. */
async function buildTrainSet(ctx: BuildContext, medthinkDir: string) {
  const { sources, sink, store, raw, log } = ctx;
  const merged = await mergeMedThink(medthinkDir, sources, 'train', { dedup: true, sink });
  ctx.missingFiles.push(...merged.missingFiles);
  for (const f of merged.missingFiles) log(`warning: MedThink file not found: ${f} (no training items from that source)`);
  const wanted = new Set(merged.rows.map((r) => `${r.source}\u0000${matchKey(r.imageKey, r.question, r.answer)}`));

  const keyset = new Set<string>(); // source + match key of every raw train row
  const trainImages = new Set<string>(); // source + image key of every raw train row (for unmatched reasons)
  const storedImage = new Map<string, Promise<StoredImage>>(); // source + image key → the stored image of a wanted row
  const inFlight = new InFlight(16);
  for (const source of sources) {
    for await (const row of rawRows(source, ctx.options.sources[source]!, 'train', ctx.rowsContext)) {
      raw[source]!.train += 1;
      const k = `${source}\u0000${matchKey(row.imageKey, row.question, row.answer)}`;
      keyset.add(k);
      const imageId = `${source}\u0000${row.imageKey}`;
      trainImages.add(imageId);
      if (wanted.has(k) && !storedImage.has(imageId)) {
        const image = store.put(row.imageRel, row.image);
        storedImage.set(imageId, image);
        await inFlight.push(image);
      }
    }
  }
  await inFlight.drain();

  const items: Item[] = [];
  const perSource: Counts = {};
  const unmatched: UnmatchedRow[] = [];
  const unmatchedPerSource: Counts = {};
  const ids = new IdAllocator();
  for (const r of merged.rows) {
    if (!keyset.has(`${r.source}\u0000${matchKey(r.imageKey, r.question, r.answer)}`)) {
      const reason = trainImages.has(`${r.source}\u0000${r.imageKey}`)
        ? `the ${r.source} train split has image "${r.imageKey}" but no row with this question and answer (normalised)`
        : `no ${r.source} train row has image "${r.imageKey}"`;
      unmatched.push({ source: r.source, where: r.where, image: r.imageKey, question: r.question, answer: r.answer, reason });
      inc(unmatchedPerSource, r.source);
      continue;
    }
    const image = await storedImage.get(`${r.source}\u0000${r.imageKey}`)!;
    if (!image.ok) {
      sink({ where: r.where, problem: `its image "${r.imageKey}" is unusable: ${image.problem}` });
      continue;
    }
    const id = ids.take(stableId(r.source, [r.imageKey, r.question, r.answer]));
    items.push(
      r.solution.length > 0
        ? { id, image: image.path, question: r.question, answer: r.answer, goldReasoning: r.solution, source: r.source }
        : { id, image: image.path, question: r.question, answer: r.answer, source: r.source },
    );
    inc(perSource, r.source);
  }
  for (const u of unmatched.slice(0, PREVIEW)) log(`unmatched: ${u.where}: ${u.reason}`);
  return { items, perSource, unmatched, unmatchedPerSource, medthink: merged.perSource };
}

/** Test: raw test splits, yes/no dropped, SLAKE English only; MedThink test rationales attached where they match. */
async function buildTestSet(ctx: BuildContext) {
  const { sources, sink, store, raw, log, options } = ctx;
  const gold = new Map<string, string>();
  if (options.medthink !== undefined) {
    const mergedTest = await mergeMedThink(options.medthink, sources, 'test', { dedup: false, sink });
    ctx.missingFiles.push(...mergedTest.missingFiles);
    for (const f of mergedTest.missingFiles) log(`warning: MedThink file not found: ${f} (test items from that source get no goldReasoning)`);
    // Keyed as the reference's reasoning evaluation keys its gold map; the last row wins, as a dict would.
    for (const r of mergedTest.rows) if (r.solution.trim().length > 0) gold.set(`${r.source}\u0000${goldKey(r.imageKey, r.question, r.answer)}`, r.solution);
  }
  const items: Item[] = [];
  const perSource: Counts = {};
  const withGold: Counts = {};
  const ids = new IdAllocator();
  for (const source of sources) {
    const window = new OrderedWindow<RawRow>(16, (row, image) => {
      if (!image.ok) {
        sink({ where: `${row.where} field "${row.imageField}"`, problem: image.problem });
        return;
      }
      const id = ids.take(stableId(source, [row.imageKey, row.question, row.answer]));
      const g = gold.get(`${source}\u0000${goldKey(row.imageKey, row.question, row.answer)}`);
      items.push(
        g === undefined
          ? { id, image: image.path, question: row.question, answer: row.answer, source }
          : { id, image: image.path, question: row.question, answer: row.answer, goldReasoning: g, source },
      );
      inc(perSource, source);
      if (g !== undefined) inc(withGold, source);
    });
    for await (const row of rawRows(source, options.sources[source]!, 'test', ctx.rowsContext)) {
      raw[source]!.test += 1;
      if (source === 'slake' && row.qLang !== 'en') {
        raw[source]!.testOtherLanguage += 1;
        continue;
      }
      if (isYesNo(row.answer)) {
        raw[source]!.testYesNo += 1;
        continue;
      }
      await window.push(row, store.put(row.imageRel, row.image));
    }
    await window.drain();
  }
  return { items, perSource, withGold };
}

function jsonLines(rows: readonly unknown[]): string {
  return rows.map((r) => `${JSON.stringify(r)}\n`).join('');
}

/** The MedThink folder itself, or a clone of its repository (which holds `Medthink_Dataset/`). */
async function medthinkRoot(dir: string): Promise<string> {
  const inner = join(dir, 'Medthink_Dataset');
  const st = await stat(inner).catch(() => undefined);
  return st?.isDirectory() ? inner : dir;
}

export async function buildDatasets(given: BuildOptions): Promise<BuildReport> {
  const options: BuildOptions = given.medthink === undefined ? given : { ...given, medthink: await medthinkRoot(given.medthink) };
  const log = options.log ?? (() => {});
  const outDir = resolve(options.outDir);
  const sources = SOURCE_NAMES.filter((s) => options.sources[s] !== undefined);
  if (sources.length === 0) throw new InputError('data build', 'no source folder given (expected at least one of --vqa-rad, --slake, --pathvqa)');
  await checkFolders(options, sources);

  const skipped: RecordIssue[] = [];
  const sink: IssueSink = (issue) => {
    if (options.strict) throw new InputError(issue.where, issue.problem);
    skipped.push(issue);
    if (skipped.length <= PREVIEW) log(`skipped: ${issue.where}: ${issue.problem}`);
  };
  const store = new ImageStore({
    root: join(outDir, 'images'),
    ...(options.maxPixels !== undefined ? { maxPixels: options.maxPixels } : {}),
    format: options.format ?? 'auto',
    validate: options.validateImages ?? true,
  });
  const renamed = { count: 0 };
  const raw: NonNullable<BuildReport['raw']> = {};
  for (const s of sources) raw[s] = { train: 0, test: 0, testYesNo: 0, testOtherLanguage: 0 };
  const ctx: BuildContext = {
    options,
    sources,
    log,
    sink,
    store,
    raw,
    missingFiles: [],
    rowsContext: { sink, renamed, osfCache: new Map(), ...(options.medthink !== undefined ? { medthinkDir: options.medthink } : {}) },
  };

  if (options.medthink === undefined) log('no --medthink folder: building the test set only (the training set needs MedThink rationales)');
  const train = options.medthink === undefined ? null : await buildTrainSet(ctx, options.medthink);
  const test = await buildTestSet(ctx);

  // Outputs. The lists are always written (empty when there is nothing), so no stale list from an earlier run survives.
  await mkdir(outDir, { recursive: true });
  const trainFile = train === null ? null : join(outDir, 'train.jsonl');
  if (trainFile !== null && train !== null) await writeItemsJsonl(trainFile, train.items);
  const testFile = join(outDir, 'test.jsonl');
  await writeItemsJsonl(testFile, test.items);
  const unmatchedFile = join(outDir, 'unmatched-train.jsonl');
  await writeFileAtomic(unmatchedFile, jsonLines(train?.unmatched ?? []));
  const skippedFile = join(outDir, 'skipped.jsonl');
  await writeFileAtomic(skippedFile, jsonLines(skipped));
  const reportFile = join(outDir, 'build-report.json');
  const report: BuildReport = {
    train: { total: train?.items.length ?? 0, perSource: train?.perSource ?? {} },
    test: { total: test.items.length, perSource: test.perSource, withGoldReasoning: test.withGold },
    raw,
    medthink: { train: train?.medthink ?? {}, missingFiles: ctx.missingFiles },
    unmatched: { total: train?.unmatched.length ?? 0, perSource: train?.unmatchedPerSource ?? {}, file: unmatchedFile },
    skipped: { total: skipped.length, file: skippedFile },
    images: { written: store.written, renamedByMd5: renamed.count, nameCollisions: store.collisions },
    files: { train: trainFile, test: testFile, report: reportFile },
  };
  await writeFileAtomic(reportFile, `${JSON.stringify(report, null, 2)}\n`);
  return report;
}


/** The human summary printed to stderr after a build. */
export function formatBuildSummary(report: BuildReport): string {
  const lines: string[] = [];
  const sources = SOURCE_NAMES.filter((s) => report.raw[s] !== undefined);
  lines.push('source     raw-train  raw-test  medthink-kept  train  unmatched  test  test-with-gold');
  for (const s of sources) {
    const r = report.raw[s]!;
    const mt = report.medthink.train[s];
    lines.push(
      [
        s.padEnd(9),
        String(r.train).padStart(10),
        String(r.test).padStart(9),
        String(mt?.kept ?? '-').padStart(14),
        String(report.train.perSource[s] ?? 0).padStart(6),
        String(report.unmatched.perSource[s] ?? 0).padStart(10),
        String(report.test.perSource[s] ?? 0).padStart(5),
        String(report.test.withGoldReasoning[s] ?? 0).padStart(15),
      ].join(' '),
    );
  }
  lines.push(`train: ${report.train.total} items${report.files.train ? ` → ${report.files.train}` : ' (not built: no MedThink folder)'}`);
  lines.push(`test: ${report.test.total} items → ${report.files.test}`);
  if (report.unmatched.total > 0) lines.push(`unmatched MedThink rows: ${report.unmatched.total} (listed in ${report.unmatched.file})`);
  if (report.skipped.total > 0) lines.push(`skipped records: ${report.skipped.total} (listed with reasons in ${report.skipped.file})`);
  if (report.images.nameCollisions > 0) lines.push(`image name collisions: ${report.images.nameCollisions} (distinct images kept under distinct names)`);
  return `${lines.join('\n')}\n`;
}

