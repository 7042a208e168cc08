/**
 * The verdicts of the live conformance test over what the recording proxy saw
 * (pure: recorded submissions in, checks out), so they can be unit-tested.
 */
import type { RecordedSubmission } from './recording-proxy.js';

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** The checks over what the proxy saw (pure: the recorded submissions in, verdicts out). */
export function protocolChecks(subs: readonly RecordedSubmission[], resumedFrom: number, lastStep: number, samplesPerStep: number): Check[] {
  const checks: Check[] = [];
  const byModel = new Map<string, RecordedSubmission[]>();
  for (const s of subs) if (s.modelId !== undefined && s.seqId !== undefined) byModel.set(s.modelId, [...(byModel.get(s.modelId) ?? []), s]);
  // seq_ids: in first-arrival order they go 1, 2, 3 … for every model; a repeat carries the same content.
  const orderProblems: string[] = [];
  const contentProblems: string[] = [];
  for (const [model, list] of byModel) {
    const firstSeen: number[] = [];
    const hashes = new Map<number, string>();
    for (const s of list) {
      const seq = s.seqId as number;
      const h = hashes.get(seq);
      if (h === undefined) {
        hashes.set(seq, s.bodyHash);
        firstSeen.push(seq);
      } else if (h !== s.bodyHash && s.route !== 'save_weights') contentProblems.push(`${model} seq ${seq} (${s.route})`);
    }
    const expected = firstSeen.map((_, i) => i + 1);
    if (firstSeen.join(',') !== expected.join(',')) orderProblems.push(`${model}: ${firstSeen.join(',')}`);
  }
  checks.push({ name: 'seq_ids of every model went 1, 2, 3 … in arrival order', ok: orderProblems.length === 0, detail: orderProblems.join('; ') || `${byModel.size} models` });
  checks.push({ name: 'a re-submitted seq_id always carried the same content', ok: contentProblems.length === 0, detail: contentProblems.join('; ') || `${subs.length} submissions` });
  // The resumed run: its model begins with load_weights, and it applies exactly the optim_steps of the remaining steps.
  const models = [...byModel.keys()];
  const resumed = models.at(-1);
  const resumedSubs = resumed === undefined ? [] : (byModel.get(resumed) ?? []);
  checks.push({
    name: 'the resumed model began with load_weights',
    ok: resumedSubs[0]?.route === 'load_weights' && resumedSubs[0]?.seqId === 1,
    detail: resumedSubs[0] === undefined ? 'no model' : `${resumedSubs[0].route} seq ${resumedSubs[0].seqId}`,
  });
  const applied = new Set(resumedSubs.filter((s) => s.route === 'optim_step' && s.status < 300).map((s) => s.seqId));
  const want = (lastStep - resumedFrom) * samplesPerStep;
  checks.push({ name: 'no optim_step applied twice after the resume', ok: applied.size === want, detail: `${applied.size} distinct optim_step seq_ids on the resumed model for ${lastStep - resumedFrom} steps (want ${want})` });
  return checks;
}
