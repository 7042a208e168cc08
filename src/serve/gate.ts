/**
 * Bounded concurrency for `mrpo serve`: at most `concurrency` requests run at
 * once and at most `queue` more wait for a slot; beyond that `tryEnter`
 * refuses at once (the server answers 429 with Retry-After). A request that
 * got in — running or queued — is never dropped: its slot is handed to it as
 * soon as one frees up.
 */
export interface Gate {
  /** A promise of a release function, or null when both the slots and the queue are full. */
  tryEnter(): Promise<() => void> | null;
  /** Requests holding a slot. */
  readonly running: number;
  /** Requests waiting for a slot. */
  readonly waiting: number;
}

export function createGate(concurrency: number, queue: number): Gate {
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) throw new RangeError(`concurrency must be an integer ≥ 1, got ${concurrency}`);
  if (!(Number.isInteger(queue) && queue >= 0)) throw new RangeError(`queue must be an integer ≥ 0, got ${queue}`);
  let running = 0;
  const waiters: Array<() => void> = [];

  const release = (): void => {
    const next = waiters.shift();
    if (next) next(); // hand the slot over: `running` stays the same
    else running--;
  };
  const releaseOnce = (): (() => void) => {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      release();
    };
  };

  return {
    tryEnter() {
      if (running < concurrency) {
        running++;
        return Promise.resolve(releaseOnce());
      }
      if (waiters.length >= queue) return null;
      return new Promise((resolve) => waiters.push(() => resolve(releaseOnce())));
    },
    get running() {
      return running;
    },
    get waiting() {
      return waiters.length;
    },
  };
}
