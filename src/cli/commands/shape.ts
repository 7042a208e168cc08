/** `mrpo shape`: rewards and (per-token) advantages for groups of completions, JSON in → JSON out. */
import type { Command } from '../command.js';
import { boolFlag, numberFlag, parseFlags, stringFlag } from '../args.js';
import { ConfigError } from '../../errors.js';
import { openSemanticScorer } from '../../rewards/semantic-config.js';
import { checkPathKind, parseJson, readInput, writeOutput } from '../io.js';
import { parseShapeRequest, semanticScoresFor, shape } from '../../shape/index.js';

const help = `mrpo shape — rewards and advantages for groups of completions (the shape contract)

Usage: mrpo shape [--in FILE] [--out FILE] [--pretty] [--semantic-model DIR]

Reads one JSON request (stdin when --in is omitted or "-"), writes one JSON
response (stdout when --out is omitted). The contract is in README.md,
"The shape contract":

  { "estimator": "grpo" | "gdpo" | "mrpo",
    "options"?: { "tau": 0.6, "minSteps": 4, "maxSteps": 10, "roundWeights": true,
                  "splitter": "regex" | "improved", "epsilon": 1e-4,
                  "answerWeights": { "rouge1": 0.25, "bleu1": 0.25, "semantic": 0.5 },
                  "renormalize": true },
    "groups": [ { "gold"?: { "answer": "..." },
                  "completions": [ { "text": "...", "tokenOffsets"?: [[0, 7], ...],
                                     "rewards"?: { "answer"?, "process"?, "length"? },
                                     "stepLabels"?: [1, 0, ...] } ] } ] }

Rewards that are given are used as is; absent ones are computed (answer from
gold.answer with the lexical metrics, process from stepLabels — 0 without —,
length from the steps). Invalid input exits with code 2 and names the JSON path.

Flags:
  --in FILE     request file (default: stdin)
  --out FILE    response file (default: stdout), written atomically
  --pretty      indent the JSON output
  --semantic-model DIR   local BERTScore model directory (ONNX; never downloaded) scoring the
                answer reward's semantic component; without it that weight is renormalised
                away (said on stderr)
  --semantic-layer N     its hidden layer (default 12)

Example (from a fresh clone):
  npm run -s mrpo -- shape --in example.json --pretty
`;

export const shapeCommand: Command = {
  name: 'shape',
  help,
  async run(args, io) {
    const parsed = parseFlags('shape', args, {
      in: { type: 'string' },
      out: { type: 'string' },
      pretty: { type: 'boolean' },
      'semantic-model': { type: 'string' },
      'semantic-layer': { type: 'string' },
    });
    await checkPathKind(stringFlag(parsed, 'in'), '--in', 'file', io);
    await checkPathKind(stringFlag(parsed, 'out'), '--out', 'file', io);
    const semanticModel = stringFlag(parsed, 'semantic-model');
    const layer = numberFlag(parsed, 'semantic-layer', { integer: true, min: 1 });
    if (layer !== undefined && semanticModel === undefined) throw new ConfigError('--semantic-layer', 'needs --semantic-model DIR');
    await checkPathKind(semanticModel, '--semantic-model', 'directory', io, { mustExist: true });
    const input = await readInput(stringFlag(parsed, 'in'), io);
    const request = parseShapeRequest(parseJson(input.text, input.name), input.name);
    const scorer = await openSemanticScorer(semanticModel === undefined ? undefined : { model: semanticModel, layer }, io.cwd);
    const response = shape(request, scorer === null ? {} : await semanticScoresFor(request, scorer));
    const unmapped = response.metrics['shape/unmapped_steps'];
    if (unmapped > 0)
      io.stderr.write(`mrpo shape: warning: ${unmapped} step(s) mapped to no token; their tokens keep the sequence advantage (check tokenOffsets)\n`);
    if (response.metrics['answer/computed'] > 0 && !response.answerComponents.includes('semantic'))
      io.stderr.write(
        `mrpo shape: answer reward components: ${response.answerComponents.join(' + ')} (no semantic scorer; ${request.options?.renormalize === false ? 'it scores 0, as in the reference' : 'weights renormalised over these'})\n`,
      );
    await writeOutput(stringFlag(parsed, 'out'), JSON.stringify(response, null, boolFlag(parsed, 'pretty') ? 2 : undefined) + '\n', io);
    return 0;
  },
};
