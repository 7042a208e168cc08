import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createGate } from './gate.js';

describe('createGate', () => {
  it('runs `concurrency` at once, queues `queue` more, refuses the rest, and hands slots over in order', async () => {
    const gate = createGate(2, 1);
    const r1 = await gate.tryEnter()!;
    const r2 = await gate.tryEnter()!;
    const third = gate.tryEnter();
    expect(third).not.toBeNull();
    expect(gate.tryEnter()).toBeNull(); // 2 running + 1 waiting: full
    expect([gate.running, gate.waiting]).toEqual([2, 1]);
    let thirdIn = false;
    void third!.then(() => (thirdIn = true));
    await Promise.resolve();
    expect(thirdIn).toBe(false);
    r1();
    r1(); // releasing twice frees one slot only
    const r3 = await third!;
    expect(thirdIn).toBe(true);
    expect([gate.running, gate.waiting]).toEqual([2, 0]);
    r2();
    r3();
    expect([gate.running, gate.waiting]).toEqual([0, 0]);
  });

  it('never runs more than `concurrency` and admits exactly what fits (random schedules)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 4 }), fc.array(fc.boolean(), { maxLength: 40 }), async (concurrency, queue, ops) => {
        const gate = createGate(concurrency, queue);
        const held: Array<() => void> = [];
        let admitted = 0;
        let refused = 0;
        for (const enter of ops) {
          if (enter) {
            const fits = gate.running + gate.waiting < concurrency + queue;
            const p = gate.tryEnter();
            expect(p === null).toBe(!fits);
            if (p === null) refused++;
            else {
              admitted++;
              void p.then((release) => held.push(release));
            }
          } else held.shift()?.();
          await new Promise((r) => setImmediate(r));
          expect(gate.running).toBeLessThanOrEqual(concurrency);
        }
        while (held.length > 0 || gate.running > 0) {
          held.shift()?.();
          await new Promise((r) => setImmediate(r));
        }
        expect(gate.waiting).toBe(0);
        expect(admitted + refused).toBe(ops.filter(Boolean).length);
      }),
      { numRuns: 60 },
    );
  });

  it('rejects nonsensical sizes', () => {
    expect(() => createGate(0, 1)).toThrow(RangeError);
    expect(() => createGate(1, -1)).toThrow(RangeError);
  });
});
