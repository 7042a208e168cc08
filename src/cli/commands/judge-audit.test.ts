/**
 * `mrpo judge audit` end to end: exactly the documented example (offline
 * judges over the shipped hand-labelled set examples/eval/audit/, as from a
 * fresh clone), κ checked against a separate computation from the files;
 * test–retest mode; bad inputs exit 2 with one line naming file and line, and
 * write nothing.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { memoryIo } from '../test-support/memory-io.js';

const repo = resolve(new URL('../../..', import.meta.url).pathname);
let dir = '';
const run = async (args: string[]) => {
  const io = memoryIo('', {}, repo);
  const code = await main(args, io);
  return { code, out: io.out(), err: io.err() };
};
const jsonl = async (p: string) => (await readFile(p, 'utf8')).split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mrpo-audit-'));
  // The commands of `mrpo judge audit --help` (docs/judge-audit.md), with the output directory changed.
  for (const args of [
    ['judge', 'answers', '--judge', 'offline', '--in', 'examples/eval/audit/completions.jsonl', '--out', join(dir, 'answers.jsonl')],
    ['judge', 'steps', '--judge', 'offline', '--in', join(dir, 'answers.jsonl'), '--out', join(dir, 'offline.jsonl')],
    ['judge', 'steps', '--judge', 'offline', '--align-threshold', '0.8', '--in', join(dir, 'answers.jsonl'), '--out', join(dir, 'strict.jsonl')],
  ]) {
    const r = await run(args);
    expect(r.code, r.err).toBe(0);
  }
});

/** Cohen's κ computed here from two label lists (independently of src/report/audit). */
function kappa(a: number[], b: number[]): number {
  const n = a.length;
  const po = a.filter((x, i) => x === b[i]).length / n;
  const pa = a.filter((x) => x === 1).length / n;
  const pb = b.filter((x) => x === 1).length / n;
  const pe = pa * pb + (1 - pa) * (1 - pb);
  return (po - pe) / (1 - pe);
}

describe('mrpo judge audit', () => {
  it('audits the offline judges against the shipped hand labels (the documented example)', async () => {
    const r = await run(['judge', 'audit', join(dir, 'offline.jsonl'), join(dir, 'strict.jsonl'), '--names', 'offline,offline-0.8', '--labels', 'examples/eval/audit/labels.jsonl', '--out', join(dir, 'audit.json'), '--html', join(dir, 'audit.html')]);
    expect(r.code, r.err).toBe(0);
    const audit = JSON.parse(await readFile(join(dir, 'audit.json'), 'utf8'));
    expect(audit.completions).toBe(30);
    expect(audit.reference).toBe('hand labels');
    const judged = await jsonl(join(dir, 'offline.jsonl'));
    const hand = new Map((await jsonl(resolve(repo, 'examples/eval/audit/labels.jsonl'))).map((l) => [l.id, l]));
    const a = judged.flatMap((j) => j.stepLabels as number[]);
    const b = judged.flatMap((j) => hand.get(j.id).stepLabels as number[]);
    expect(a).toHaveLength(162);
    const vs = audit.criteria.label.vsReference[0];
    expect(vs.raters).toEqual(['offline', 'hand labels']);
    expect(vs.units).toBe(162);
    expect(vs.kappa).toBeCloseTo(kappa(a, b), 12);
    expect(vs.kappaCI.lo).toBeLessThan(vs.kappa);
    expect(vs.kappaCI.hi).toBeGreaterThan(vs.kappa);
    // Per criterion: the shipped labels carry alignment and contribution, so both are audited against them too.
    for (const criterion of ['alignment', 'contribution'] as const) {
      const c = audit.criteria[criterion].vsReference[0];
      expect(c.units).toBe(162);
      const mine = judged.flatMap((j) => (j.stepVerdicts as Array<Record<string, number>>).map((v) => v[criterion]));
      const theirs = judged.flatMap((j) => (hand.get(j.id).stepVerdicts as Array<Record<string, number>>).map((v) => v[criterion]));
      expect(c.kappa).toBeCloseTo(kappa(mine, theirs), 12);
    }
    // The labelling guide's counts: 41 of 162 steps aligned, 13 of them contributing.
    const handVerdicts = [...hand.values()].flatMap((h) => h.stepVerdicts as Array<{ alignment: number; contribution: number }>);
    expect(handVerdicts.filter((v) => v.alignment === 1)).toHaveLength(41);
    expect(handVerdicts.filter((v) => v.contribution === 1)).toHaveLength(13);
    expect(r.out).toMatch(/contribution:\n {2}offline vs offline-0\.8: 162 units[^\n]*\n {2}offline vs hand labels: 162 units/);
    const answers = audit.criteria.answer.vsReference[0];
    expect(answers.kappa).toBeCloseTo(kappa(judged.map((j) => (j.correct ? 1 : 0)), judged.map((j) => (hand.get(j.id).correct ? 1 : 0))), 12);
    expect(audit.positionBias.map((p: { judge: string }) => p.judge)).toEqual(['offline', 'offline-0.8']);
    // The offline judges make no calls: every line records 0 tokens and $0.
    expect(audit.counts[0]).toMatchObject({ judge: 'offline', completions: 30, unjudgedSteps: 0, cost: { lines: 30, promptTokens: 0, completionTokens: 0, costUsd: 0 } });
    expect(r.out).toContain('offline: unjudged steps 0, unjudged answers 0, missing 0, extra 0, tokens 0 in / 0 out, cost $0.0000');
    expect(r.out).toMatch(/offline vs hand labels: 162 units, agreement \d\.\d{3}, Cohen κ -?\d\.\d{3} \[/);
    const html = await readFile(join(dir, 'audit.html'), 'utf8');
    expect(html).toContain('Judge audit');
    expect(html).toContain('<svg');
    // κ by step position, one figure per step criterion.
    for (const c of ['final validity (alignment ∨ contribution)', 'alignment', 'contribution']) expect(html).toContain(`κ of ${c} by step position`);
  });

  it('reports test–retest κ for two runs of one judge (identical runs → κ 1)', async () => {
    const r = await run(['judge', 'audit', '--retest', join(dir, 'offline.jsonl'), join(dir, 'offline.jsonl'), '--resamples', '50']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/test–retest κ 1\.000/);
  });

  it('sums the cost the judged lines record (answer and step judgements), and says when a model had no prices', async () => {
    const base = (await jsonl(join(dir, 'offline.jsonl'))).slice(0, 3);
    // As `mrpo judge answers|steps` with a remote judge write them: tokens and dollars per line.
    const priced = base.map((l, i) => ({
      ...l,
      answerJudge: { name: 'remote', promptTokens: 100, completionTokens: 10, cached: false, costUsd: 0.001 },
      stepJudge: { ...l.stepJudge, name: 'remote', promptTokens: 1000 * (i + 1), completionTokens: 50, cached: false, costUsd: 0.01 * (i + 1) },
    }));
    const unpriced = base.map((l) => ({ ...l, stepJudge: { name: 'local', promptTokens: 7, completionTokens: 3, cached: false, costUsd: null } }));
    const legacy = base.map(({ answerJudge: _a, stepJudge: _s, ...l }) => l); // files from before cost was recorded
    await writeFile(join(dir, 'priced.jsonl'), priced.map((o) => JSON.stringify(o)).join('\n'));
    await writeFile(join(dir, 'unpriced.jsonl'), unpriced.map((o) => JSON.stringify(o)).join('\n'));
    await writeFile(join(dir, 'legacy.jsonl'), legacy.map((o) => JSON.stringify(o)).join('\n'));
    const out = join(dir, 'cost.json');
    const r = await run(['judge', 'audit', join(dir, 'priced.jsonl'), join(dir, 'unpriced.jsonl'), join(dir, 'legacy.jsonl'), '--names', 'remote,local,old', '--resamples', '20', '--out', out]);
    expect(r.code, r.err).toBe(0);
    const counts = JSON.parse(await readFile(out, 'utf8')).counts;
    // By hand: tokens in 3 × 100 + (1000 + 2000 + 3000) = 6300, out 3 × 10 + 3 × 50 = 180, dollars 3 × 0.001 + 0.01 + 0.02 + 0.03 = 0.063.
    expect(counts[0].cost).toMatchObject({ lines: 3, promptTokens: 6300, completionTokens: 180 });
    expect(counts[0].cost.costUsd).toBeCloseTo(0.063, 12);
    expect(counts[1].cost).toEqual({ lines: 3, promptTokens: 21, completionTokens: 9, costUsd: null });
    expect(counts[2].cost).toBeNull();
    expect(r.out).toContain('remote: unjudged steps 0, unjudged answers 0, missing 0, extra 0, tokens 6300 in / 180 out, cost $0.0630');
    expect(r.out).toContain('local: unjudged steps 0, unjudged answers 0, missing 0, extra 0, tokens 21 in / 9 out, cost unknown (no prices for the model)');
    expect(r.out).toContain('old: unjudged steps 0, unjudged answers 0, missing 0, extra 0, cost not recorded');
  });

  it('rejects mismatched ids and step counts with exit 2, one line naming the file and line, writing nothing', async () => {
    const lines = (await readFile(join(dir, 'offline.jsonl'), 'utf8')).trim().split('\n');
    const other = lines.map((l) => JSON.parse(l));
    other[4] = { ...other[4], id: 'not-there' };
    await writeFile(join(dir, 'bad-id.jsonl'), other.map((o) => JSON.stringify(o)).join('\n'));
    const shorter = lines.map((l) => JSON.parse(l));
    shorter[2] = { ...shorter[2], stepLabels: shorter[2].stepLabels.slice(1), stepVerdicts: shorter[2].stepVerdicts.slice(1) };
    await writeFile(join(dir, 'bad-steps.jsonl'), shorter.map((o) => JSON.stringify(o)).join('\n'));
    const out = join(dir, 'never.json');
    const a = await run(['judge', 'audit', join(dir, 'offline.jsonl'), join(dir, 'bad-id.jsonl'), '--out', out]);
    expect(a.code).toBe(2);
    expect(a.err.trim().split('\n')).toHaveLength(1);
    expect(a.err).toContain(`${join(dir, 'bad-id.jsonl')} line 5: id "not-there" is not in ${join(dir, 'offline.jsonl')}`);
    const b = await run(['judge', 'audit', join(dir, 'offline.jsonl'), join(dir, 'bad-steps.jsonl'), '--out', out]);
    expect(b.code).toBe(2);
    expect(b.err).toContain(`${join(dir, 'bad-steps.jsonl')} line 3: id "synthetic-test-0-2" has 5 steps but 6 in ${join(dir, 'offline.jsonl')} line 3`);
    // Per-criterion labels that contradict the final validity (valid = alignment ∨ contribution).
    const hand = (await readFile(resolve(repo, 'examples/eval/audit/labels.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    hand[1].stepVerdicts[2] = { alignment: 0, contribution: 0 }; // its stepLabels[2] is 1
    await writeFile(join(dir, 'bad-labels.jsonl'), hand.map((o) => JSON.stringify(o)).join('\n'));
    const d = await run(['judge', 'audit', join(dir, 'offline.jsonl'), '--labels', join(dir, 'bad-labels.jsonl'), '--out', out]);
    expect(d.code).toBe(2);
    expect(d.err.trim().split('\n')).toHaveLength(1);
    expect(d.err).toContain(`${join(dir, 'bad-labels.jsonl')} line 2: "stepLabels[2]" is 1 but "stepVerdicts[2]" is {"alignment":0,"contribution":0}`);
    const c = await run(['judge', 'audit', join(dir, 'offline.jsonl')]);
    expect(c.code).toBe(2);
    expect(c.err).toContain('give two or more judged files');
    expect(existsSync(out)).toBe(false);
  });
});
