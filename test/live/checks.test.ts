/**
 * The live test's protocol verdicts on hand-written submission logs: a clean
 * kill-and-resume passes; a gap in seq_ids, a re-submission with other
 * content, a resumed model that does not start with load_weights, and an
 * optim_step applied twice each fail.
 */
import { describe, expect, it } from 'vitest';
import { protocolChecks } from './checks.js';
import type { RecordedSubmission } from './recording-proxy.js';

let index = 0;
function sub(route: string, modelId: string, seqId: number, bodyHash = `${route}-${modelId}-${seqId}`, status = 200): RecordedSubmission {
  return { route, modelId, seqId, bodyHash, status, index: index++ };
}

/** A model's requests for `steps` RL steps from seq `from`: sampler save, forward_backward, optim_step, checkpoint save. */
function steps(model: string, from: number, n: number): RecordedSubmission[] {
  const out: RecordedSubmission[] = [];
  let seq = from;
  for (let i = 0; i < n; i++) for (const r of ['save_weights_for_sampler', 'forward_backward', 'optim_step', 'save_weights']) out.push(sub(r, model, seq++));
  return out;
}

const verdict = (subs: RecordedSubmission[], resumedFrom = 2, last = 4) => Object.fromEntries(protocolChecks(subs, resumedFrom, last, 1).map((c) => [c.name, c.ok]));

describe('live test protocol checks', () => {
  const clean = [...steps('m1', 1, 2), sub('load_weights', 'm2', 1), ...steps('m2', 2, 2)];

  it('pass for a run killed after step 2 and resumed to step 4 (a retried request with the same body is fine)', () => {
    const retried = [...clean.slice(0, 3), clean[2], ...clean.slice(3)];
    expect(Object.values(verdict(retried))).toEqual([true, true, true, true]);
  });

  it('fail on a gap in a model’s seq_ids', () => {
    const gap = clean.filter((s) => !(s.modelId === 'm2' && s.seqId === 3));
    expect(verdict(gap)['seq_ids of every model went 1, 2, 3 … in arrival order']).toBe(false);
  });

  it('fail on a seq_id re-submitted with other content', () => {
    const other = [...clean, sub('optim_step', 'm2', 4, 'different')];
    expect(verdict(other)['a re-submitted seq_id always carried the same content']).toBe(false);
  });

  it('fail when the resumed model does not begin with load_weights', () => {
    const fresh = [...steps('m1', 1, 2), ...steps('m2', 1, 2)];
    expect(verdict(fresh)['the resumed model began with load_weights']).toBe(false);
  });

  it('fail when more optim_steps were applied after the resume than steps remained', () => {
    const twice = [...steps('m1', 1, 2), sub('load_weights', 'm2', 1), ...steps('m2', 2, 3)];
    expect(verdict(twice)['no optim_step applied twice after the resume']).toBe(false);
    // …and when fewer were (a step silently not applied).
    const once = [...steps('m1', 1, 2), sub('load_weights', 'm2', 1), ...steps('m2', 2, 1)];
    expect(verdict(once)['no optim_step applied twice after the resume']).toBe(false);
  });
});
