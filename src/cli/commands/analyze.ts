/**
 * `mrpo analyze`: reasoning-failure analysis of judged traces (issue 3,
 * docs/method.md §8–§9). Reads one or several judged JSONL files, computes the FFP/FAR
 * summary of each (`summarizeFailures`) plus accuracy per source, writes the
 * summary JSON and/or the self-contained HTML report.
 */
import { basename, extname } from 'node:path';
import { summarizeFailures, type FailureSummary } from '../../algo/failure.js';
import { UsageError } from '../../errors.js';
import { accuracyBySource, parseJudgedJsonl } from '../../report/judged.js';
import { renderReport, type ReportRun } from '../../report/report.js';
import { parseFlags, stringFlag, stringsFlag } from '../args.js';
import type { Command } from '../command.js';
import { readInput, writeOutput } from '../io.js';

const HELP = `mrpo analyze — where reasoning breaks: FFP/FAR summary and report (docs/method.md §8)

Usage: mrpo analyze --in judged.jsonl [--label NAME] [--in b.jsonl --label NAME2 ...]
                    [--json out.json] [--html report.html] [--title TEXT]

Input: JSONL, one trace per line: {"id": "...", "correct": true|false, "stepLabels": [1,1,0,...]}
  plus optional "source" (benchmark name, for accuracy per benchmark); any other fields
  are ignored, so the output of \`mrpo judge steps\` is accepted as is. Lines with
  "correct": null (answer unjudged) or "stepLabels": null (steps unjudged) are counted,
  reported on stderr and left out of the FFP/FAR summary.

Flags:
  --in FILE       judged JSONL (repeatable; '-' or omitted = stdin)
  --label NAME    label of the matching --in (repeatable, same order; default: file name)
  --json FILE     write the summary JSON here ('-' = stdout). Default: stdout when --html is not given
  --html FILE     write the self-contained HTML report (inline SVG charts, no network needed)
  --title TEXT    report title (default "mrpo reasoning-failure report")

Output JSON (one input): {"traces", "withFailure", "stageShare": {"early","mid","late"},
  "bins": [{"lo","hi","count","incorrectRate","far": {"all","correct","incorrect"}}] x5, ...,
  "unjudged": {"answers","steps"}, "accuracyBySource": [...]}. Several inputs: {"<label>": {...}, ...}.
  "accuracy" counts every record with an answer verdict (also those without step labels);
  the FFP/FAR fields only records with both verdicts.

Example:
  printf '%s\\n' '{"id":"a","correct":false,"stepLabels":[1,0,0,1]}' '{"id":"b","correct":true,"stepLabels":[1,1,1]}' \\
    | npm run -s mrpo -- analyze --html /tmp/report.html --json -
`;

export const analyzeCommand: Command = {
  name: 'analyze',
  help: HELP,
  async run(args, io) {
    const parsed = parseFlags('analyze', args, {
      in: { type: 'string', multiple: true },
      label: { type: 'string', multiple: true },
      json: { type: 'string' },
      html: { type: 'string' },
      title: { type: 'string' },
    });
    const inputs = stringsFlag(parsed, 'in');
    if (inputs.length === 0) inputs.push('-');
    const given = stringsFlag(parsed, 'label');
    if (given.length > 0 && given.length !== inputs.length)
      throw new UsageError(`got ${inputs.length} --in and ${given.length} --label; give one --label per --in, in the same order, or none`);
    if (inputs.filter((p) => p === '-').length > 1) throw new UsageError('--in - (stdin) can be given only once');
    const labels = given.length > 0 ? given : inputs.map((p) => (p === '-' ? 'stdin' : basename(p, extname(p))));
    const duplicate = labels.find((l, i) => labels.indexOf(l) !== i);
    if (duplicate !== undefined) throw new UsageError(`label "${duplicate}" is used for two inputs; give distinct --label values`);
    const jsonPath = stringFlag(parsed, 'json');
    const htmlPath = stringFlag(parsed, 'html');
    if (jsonPath === '-' && htmlPath === '-') throw new UsageError('--json and --html cannot both go to stdout');

    const runs: Array<ReportRun & { readonly json: Record<string, unknown> }> = [];
    for (let i = 0; i < inputs.length; i++) {
      const { text, name } = await readInput(inputs[i], io);
      const file = parseJudgedJsonl(text, name);
      // FFP/FAR need both verdicts; accuracy needs only the answer's, so it counts records without step labels too.
      const answered = file.traces.filter((t) => t.correct !== null);
      const summary = {
        ...summarizeFailures(file.complete),
        accuracy: answered.length === 0 ? null : answered.filter((t) => t.correct === true).length / answered.length,
      };
      const bySource = accuracyBySource(file.traces);
      const unjudged = { answers: file.unjudgedAnswers, steps: file.unjudgedSteps };
      const label = labels[i];
      if (unjudged.answers > 0 || unjudged.steps > 0)
        io.stderr.write(
          `warning: ${label} (${name}): ${unjudged.answers} record(s) with an unjudged answer and ${unjudged.steps} with unjudged steps left out of the FFP/FAR summary\n`,
        );
      io.stderr.write(`${describeRun(label, summary)}\n`);
      runs.push({ label, summary, accuracyBySource: bySource, unjudged, json: { ...summary, unjudged, accuracyBySource: bySource } });
    }

    const json = runs.length === 1 ? runs[0].json : Object.fromEntries(runs.map((r) => [r.label, r.json]));
    if (jsonPath !== undefined || htmlPath === undefined) await writeOutput(jsonPath, `${JSON.stringify(json, null, 2)}\n`, io);
    if (htmlPath !== undefined) {
      const html = await renderReport({
        title: stringFlag(parsed, 'title') ?? 'mrpo reasoning-failure report',
        subtitle: `Inputs: ${runs
          .map((r, i) => {
            const source = inputs[i] === '-' ? 'stdin' : inputs[i];
            return r.label === source ? source : `${r.label} = ${source}`;
          })
          .join('; ')}`,
        runs: runs.map(({ json: _json, ...run }) => run),
      });
      await writeOutput(htmlPath, html, io);
      if (htmlPath !== '-') io.stderr.write(`report written to ${htmlPath}\n`);
    }
    return 0;
  },
};

function pct(x: number | null | undefined): string {
  return x === null || x === undefined ? 'n/a' : `${(x * 100).toFixed(1)}%`;
}

function describeRun(label: string, s: FailureSummary): string {
  return (
    `${label}: ${s.traces} traces, accuracy ${pct(s.accuracy)}, ${s.withFailure} with a failure ` +
    `(early ${pct(s.stageShare.early)}, mid ${pct(s.stageShare.mid)}, late ${pct(s.stageShare.late)}), ` +
    `FAR correct ${pct(s.far.correct)} / incorrect ${pct(s.far.incorrect)}`
  );
}
