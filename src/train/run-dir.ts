/**
 * The run directory of docs/architecture.md ("Run directory"):
 *
 *     runs/<name>/config.json         resolved config (no secrets)
 *                 metrics.jsonl       one line per step: {"step": n, "<ns>/<key>": value, …}
 *                 eval.jsonl          one line per evaluation: {"step": n, "summary": FailureSummary, …}
 *                 samples.jsonl       a few rollouts per step with step labels and shaped advantages
 *                 checkpoints/step-N/ policy/ (the backend's files) + trainer.json
 *                 report.html
 *
 * Crash safety: a checkpoint is written to `checkpoints/.tmp-step-N-<pid>` and
 * renamed (rename is atomic); a directory without `trainer.json` is never
 * used. Log lines are appended with one write each; on resume every log is
 * cut back to the lines of steps ≤ the checkpoint's step, and a torn last line
 * (a kill mid-write) is dropped, so no line is duplicated or corrupt. Any
 * other unparsable line is an error naming the file and line, and read errors
 * other than "no such file" are raised, never taken for an empty log.
 */
import { appendFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import { writeFileAtomic } from '../utils/fs.js';
import { parseJsonl } from '../utils/jsonl.js';

export const RUN_FILES = {
  config: 'config.json',
  metrics: 'metrics.jsonl',
  evals: 'eval.jsonl',
  samples: 'samples.jsonl',
  checkpoints: 'checkpoints',
  report: 'report.html',
} as const;

const STEP_DIR = /^step-(\d+)$/;

export interface TrainerState {
  /** The last completed step. */
  readonly step: number;
  readonly algorithm: string;
  readonly seed: number;
}

export class RunDir {
  constructor(readonly path: string) {}

  file(name: keyof typeof RUN_FILES): string {
    return join(this.path, RUN_FILES[name]);
  }

  async create(): Promise<void> {
    await mkdir(join(this.path, RUN_FILES.checkpoints), { recursive: true });
  }

  async exists(): Promise<boolean> {
    try {
      return (await stat(this.file('config'))).isFile();
    } catch {
      return false;
    }
  }

  async writeJson(name: 'config', value: unknown): Promise<void> {
    await writeFileAtomic(this.file(name), `${JSON.stringify(value, null, 2)}\n`);
  }

  async readConfigJson(): Promise<unknown> {
    const p = this.file('config');
    let text: string;
    try {
      text = await readFile(p, 'utf8');
    } catch {
      throw new InputError(this.path, `not a run directory (no ${RUN_FILES.config})`);
    }
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new InputError(p, `not valid JSON (${(error as Error).message})`);
    }
  }

  /** Appends one JSON line (a single write). */
  async append(name: 'metrics' | 'evals' | 'samples', record: unknown): Promise<void> {
    await appendFile(this.file(name), `${JSON.stringify(record, finiteOrNull)}\n`);
  }

  async appendMany(name: 'metrics' | 'evals' | 'samples', records: readonly unknown[]): Promise<void> {
    if (records.length === 0) return;
    await appendFile(this.file(name), records.map((r) => `${JSON.stringify(r, finiteOrNull)}\n`).join(''));
  }

  /** Completed checkpoints, oldest first. */
  async checkpoints(): Promise<Array<{ step: number; dir: string }>> {
    let names: string[];
    try {
      names = await readdir(join(this.path, RUN_FILES.checkpoints));
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
    const out: Array<{ step: number; dir: string }> = [];
    for (const n of names) {
      const m = STEP_DIR.exec(n);
      if (m === null) continue;
      const dir = join(this.path, RUN_FILES.checkpoints, n);
      try {
        await stat(join(dir, 'trainer.json'));
        out.push({ step: Number(m[1]), dir });
      } catch {
        // incomplete (cannot happen with rename, but a hand-copied run may have one)
      }
    }
    return out.sort((a, b) => a.step - b.step);
  }

  async latestCheckpoint(): Promise<{ step: number; dir: string; state: TrainerState } | null> {
    const all = await this.checkpoints();
    const last = all[all.length - 1];
    if (last === undefined) return null;
    const state = JSON.parse(await readFile(join(last.dir, 'trainer.json'), 'utf8')) as TrainerState;
    return { ...last, state };
  }

  /**
   * Writes a checkpoint atomically: `write(policyDir)` fills `policy/` in a
   * temporary directory, then trainer.json is written and the directory renamed
   * to `step-N`. Older checkpoints beyond `keep` are removed afterwards.
   */
  async saveCheckpoint(state: TrainerState, write: (policyDir: string) => Promise<void>, keep: number): Promise<string> {
    const root = join(this.path, RUN_FILES.checkpoints);
    const tmp = join(root, `.tmp-step-${state.step}-${process.pid}`);
    const final = join(root, `step-${state.step}`);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(join(tmp, 'policy'), { recursive: true });
    await write(join(tmp, 'policy'));
    await writeFile(join(tmp, 'trainer.json'), `${JSON.stringify(state, null, 2)}\n`);
    await rm(final, { recursive: true, force: true });
    await rename(tmp, final);
    const all = await this.checkpoints();
    for (const old of all.slice(0, Math.max(0, all.length - keep))) await rm(old.dir, { recursive: true, force: true });
    return final;
  }

  /** Removes temporary checkpoint directories left by a killed run. */
  async removeTemporaries(): Promise<void> {
    const root = join(this.path, RUN_FILES.checkpoints);
    let names: string[] = [];
    try {
      names = await readdir(root);
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    for (const n of names) if (n.startsWith('.tmp-')) await rm(join(root, n), { recursive: true, force: true });
  }

  /**
   * Cuts a log back to its complete lines whose `step` is ≤ `maxStep`
   * (all lines dropped when maxStep < 0). Returns how many lines were kept.
   */
  async truncateLog(name: 'metrics' | 'evals' | 'samples', maxStep: number): Promise<number> {
    const path = this.file(name);
    const text = await readTextOrNull(path);
    if (text === null) return 0;
    const kept: string[] = [];
    for (const { text: line, value } of parseJsonl(text, { name: path, torn: 'drop' })) {
      const step = (value as { step?: unknown }).step;
      if (typeof step === 'number' && step <= maxStep) kept.push(line);
    }
    await writeFileAtomic(path, kept.map((l) => `${l}\n`).join(''));
    return kept.length;
  }
}

/** Non-finite numbers become null in the logs (JSON has no NaN); the loop counts them separately. */
function finiteOrNull(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value;
}

const isNotFound = (error: unknown): boolean => (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';

/** The file's text, or null when it does not exist; any other read error is thrown. */
async function readTextOrNull(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

/**
 * Reads a JSONL log of the run. Blank lines are skipped; a line that is not
 * JSON is an InputError naming the file and line, except the last line when
 * the file does not end in a newline: that is a torn append (a kill mid-write)
 * and is dropped (src/utils/jsonl.ts). A missing file is an empty log.
 */
export async function readLog<T = Record<string, unknown>>(path: string): Promise<T[]> {
  const text = await readTextOrNull(path);
  if (text === null) return [];
  return parseJsonl(text, { name: path, torn: 'drop' }).map((l) => l.value as T);
}
