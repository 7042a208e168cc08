/**
 * Session heartbeat (docs/tinker-protocol.md §1.3 step 5): `session_heartbeat`
 * every 10 s, 10 s timeout, no retries, a warning after 2 minutes without a
 * successful beat (the server ends silent sessions: SkyRL after 300 s). The
 * timer is injected; `stop()` clears it and waits for a beat in flight, so
 * nothing outlives the client.
 */
import type { Clock, Transport } from './http.js';
import type { Logger } from './calls.js';

/** The two timer functions the heartbeat uses (Node's by default). */
export interface IntervalTimer {
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export const nodeIntervalTimer: IntervalTimer = {
  setInterval: (callback, ms) => {
    const handle = setInterval(callback, ms);
    handle.unref(); // a heartbeat alone must not keep the process alive
    return handle;
  },
  clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval>),
};

export interface Heartbeat {
  /** Sends one beat now (used by tests and after long pauses). */
  beat(): Promise<void>;
  stop(): Promise<void>;
}

export interface HeartbeatOptions {
  readonly transport: Transport;
  readonly sessionId: string;
  readonly intervalMs: number;
  readonly timer: IntervalTimer;
  readonly clock: Clock;
  readonly log: Logger;
  /** Warn after this long without a successful beat. */
  readonly warnAfterMs?: number;
}

export function startHeartbeat(options: HeartbeatOptions): Heartbeat {
  const { transport, sessionId, clock, log } = options;
  const warnAfterMs = options.warnAfterMs ?? 120_000;
  const body = JSON.stringify({ session_id: sessionId, type: 'session_heartbeat' });
  let lastOk = clock.now();
  let warned = false;
  let stopped = false;
  const inFlight = new Set<Promise<void>>();

  const beat = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    const p = (async () => {
      let ok = false;
      try {
        const response = await transport.post('session_heartbeat', body, { timeoutMs: Math.min(10_000, options.intervalMs) });
        ok = response.status >= 200 && response.status < 300;
      } catch {
        ok = false;
      }
      if (ok) {
        lastOk = clock.now();
        warned = false;
      } else if (!warned && clock.now() - lastOk > warnAfterMs) {
        warned = true;
        log.warn(`session heartbeat has failed for ${Math.round((clock.now() - lastOk) / 1000)} s; the training service may end the session`);
      }
    })();
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    return p;
  };

  const handle = options.timer.setInterval(() => void beat(), options.intervalMs);
  return {
    beat,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      options.timer.clearInterval(handle);
      await Promise.all([...inFlight]);
    },
  };
}
