/** Ctrl-C handling of item-by-item CLI jobs (infer, judge). */
import { afterEach, describe, expect, it } from 'vitest';
import { withInterrupt } from './job-progress.js';

const warnings: Error[] = [];
const onWarning = (w: Error): void => void warnings.push(w);
afterEach(() => {
  process.removeListener('warning', onWarning);
  warnings.length = 0;
});

describe('withInterrupt', () => {
  it('lets every in-flight request listen to the abort signal without a MaxListenersExceededWarning', async () => {
    process.on('warning', onWarning);
    const controller = new AbortController();
    let aborted = 0;
    await withInterrupt(controller, async () => {
      // infer/judge keep 2 × --concurrency requests in flight, each listening to the signal (the HTTP client adds its own listener).
      for (let i = 0; i < 64; i++) controller.signal.addEventListener('abort', () => void (aborted += 1));
      controller.abort(new Error('interrupted'));
    });
    await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    expect(aborted).toBe(64);
    expect(warnings.map((w) => w.name)).not.toContain('MaxListenersExceededWarning');
  });

  it('keeps handling SIGINT until the work ends: a repeated one (tsx relays Ctrl-C a second time) must not kill the process', async () => {
    const controller = new AbortController();
    const before = process.listenerCount('SIGINT');
    let during = -1;
    await withInterrupt(controller, async () => {
      process.emit('SIGINT', 'SIGINT');
      expect(controller.signal.aborted).toBe(true);
      during = process.listenerCount('SIGINT'); // still ours: without a listener, a real second SIGINT is fatal
      process.emit('SIGINT', 'SIGINT');
    });
    expect(during).toBe(before + 1);
    expect(process.listenerCount('SIGINT')).toBe(before); // removed afterwards
  });
});
