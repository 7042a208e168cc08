import { afterEach, describe, expect, it } from 'vitest';
import { startHeartbeat } from './heartbeat.js';
import { createTransport } from './http.js';
import { startScriptedServer, virtualClock, type ScriptedServer } from './test-support/scripted-server.js';

let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function manualTimer() {
  let cb: (() => void) | undefined;
  const cleared: unknown[] = [];
  return {
    setInterval: (f: () => void, ms: number) => {
      expect(ms).toBe(10_000);
      cb = f;
      return 'handle';
    },
    clearInterval: (h: unknown) => {
      cleared.push(h);
      cb = undefined;
    },
    fire: () => cb?.(),
    cleared,
  };
}

describe('session heartbeat', () => {
  it('posts session_heartbeat on each tick, warns once after 2 minutes of failures, and stops cleanly', async () => {
    server = await startScriptedServer([{ status: 200, body: {} }, { status: 500 }, { status: 500 }, { status: 200, body: {} }, { status: 500, delayMs: 30 }]);
    const clock = virtualClock();
    const timer = manualTimer();
    const warnings: string[] = [];
    const hb = startHeartbeat({
      transport: createTransport({ baseUrl: server.url, credential: async () => 'k' }),
      sessionId: 'S1',
      intervalMs: 10_000,
      timer,
      clock,
      log: { warn: (m) => warnings.push(m) },
    });
    await hb.beat(); // ok at t = 0
    await clock.sleep(60_000);
    await hb.beat(); // fails at 60 s: no warning yet
    expect(warnings).toEqual([]);
    await clock.sleep(70_000);
    await hb.beat(); // fails at 130 s: warning
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/heartbeat has failed for 130 s/);
    await hb.beat(); // ok again
    timer.fire(); // a beat in flight (the server answers after 30 ms) …
    await hb.stop(); // … is awaited by stop
    expect(server.requests).toHaveLength(5);
    expect(server.requests.every((r) => r.route === 'session_heartbeat' && JSON.parse(r.body).session_id === 'S1')).toBe(true);
    expect(timer.cleared).toEqual(['handle']);
    timer.fire();
    await hb.beat();
    expect(server.requests).toHaveLength(5); // nothing after stop
  });
});
