/**
 * Progress for item-by-item CLI jobs (infer, judge): a cli-progress bar on
 * stderr, drawn only when stderr is a terminal so that pipes and logs stay
 * clean; and Ctrl-C handling that aborts in-flight requests while keeping
 * every finished line written.
 */
import { setMaxListeners } from 'node:events';
import cliProgress from 'cli-progress';
import type { CliIo } from './command.js';

export interface JobProgress {
  increment(): void;
  stop(): void;
}

export function startJobProgress(io: CliIo, label: string, total: number): JobProgress {
  const stream = io.stderr as NodeJS.WritableStream & { isTTY?: boolean };
  if (!stream.isTTY || total === 0) return { increment: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    { stream, format: `${label} [{bar}] {value}/{total} {percentage}% | eta {eta_formatted}`, hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return { increment: () => bar.increment(), stop: () => bar.stop() };
}

/** Aborts `controller` on Ctrl-C while `work` runs, so in-flight requests stop and finished lines stay written. */
export async function withInterrupt<T>(controller: AbortController, work: () => Promise<T>): Promise<T> {
  // Every request in flight listens to the signal (bounded by --concurrency): no leak, so no MaxListenersExceededWarning.
  setMaxListeners(0, controller.signal);
  // `on`, not `once`: a second SIGINT (tsx relays Ctrl-C to the child again when the child is slow to
  // acknowledge it) would otherwise kill the process before the summary and the output are closed.
  const onSigint = (): void => {
    if (!controller.signal.aborted) controller.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSigint);
  try {
    return await work();
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
