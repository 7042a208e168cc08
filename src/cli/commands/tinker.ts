/**
 * `mrpo tinker check`: checks the Tinker-API endpoint named by the environment
 * (TINKER_BASE_URL, TINKER_API_KEY) — handshake, session, the base models the
 * server offers — before a long training run is pointed at it.
 */
import { MrpoError, UsageError } from '../../errors.js';
import { TinkerClient } from '../../backends/tinker/client.js';
import { tinkerEndpointFromEnv } from '../../backends/tinker/config.js';
import { boolFlag, parseFlags, stringFlag } from '../args.js';
import type { Command } from '../command.js';

const help = `mrpo tinker — the Tinker training API (hosted Tinker or a self-hosted SkyRL tx server)

Usage: mrpo tinker check [--model NAME] [--pretty]

Connects to the endpoint in the environment, runs the client handshake,
opens (and closes) a session and lists the base models the server offers.
Prints one JSON object; exits 1 when the server cannot be reached or does not
offer --model.

Environment:
  TINKER_API_KEY    the API key (required; SkyRL tx accepts any value, e.g. tml-dummy); never printed
  TINKER_BASE_URL   the API root (default: hosted Tinker)

Flags:
  --model NAME   require this base model (e.g. Qwen/Qwen3-VL-30B-A3B-Instruct)
  --pretty       indent the JSON output

Example (a SkyRL tx server on this machine):
  TINKER_BASE_URL=http://127.0.0.1:8000 TINKER_API_KEY=tml-dummy npm run -s mrpo -- tinker check --pretty
`;

export const tinkerCommand: Command = {
  name: 'tinker',
  summary: 'check the Tinker training API endpoint (hosted Tinker or SkyRL tx) in the environment',
  help,
  async run(args, io) {
    const [sub, ...rest] = args;
    if (sub === '--help' || sub === '-h') {
      io.stdout.write(help);
      return 0;
    }
    if (sub !== 'check') throw new UsageError(`mrpo tinker: expected the sub-command "check", got ${sub === undefined ? 'nothing' : `"${sub}"`} (see \`mrpo tinker --help\`)`);
    const parsed = parseFlags('tinker', rest, { model: { type: 'string' }, pretty: { type: 'boolean' } });
    const endpoint = tinkerEndpointFromEnv(io.env);
    const client = await TinkerClient.connect({
      ...endpoint,
      log: { warn: (m) => io.stderr.write(`mrpo tinker: warning: ${m}\n`) },
      retry: { submitDeadlineMs: 30_000 },
    });
    try {
      const models = await client.capabilities();
      const wanted = stringFlag(parsed, 'model');
      const report = {
        baseUrl: endpoint.baseUrl,
        sessionId: client.sessionId,
        auth: client.usesJwt ? 'jwt' : 'api-key',
        chunkLimits: client.limits,
        supportedModels: models,
        ...(wanted !== undefined ? { modelSupported: models.some((m) => m.model === wanted) } : {}),
      };
      io.stdout.write(`${JSON.stringify(report, null, boolFlag(parsed, 'pretty') ? 2 : undefined)}\n`);
      if (wanted !== undefined && !report.modelSupported)
        throw new MrpoError(`the server does not offer ${wanted}; it offers: ${models.map((m) => m.model).join(', ') || '(none listed)'}`);
      return 0;
    } finally {
      await client.close();
    }
  },
};
