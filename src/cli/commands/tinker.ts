/**
 * `mrpo tinker check`: checks the Tinker-API endpoint named by the environment
 * (TINKER_BASE_URL, TINKER_API_KEY) — handshake, session, and the server
 * profile of server-profile.ts (kind, models, image rendering, wire format,
 * ignored settings) — before a long training run is pointed at it.
 */
import { ConfigError, MrpoError, UsageError } from '../../errors.js';
import { TinkerClient } from '../../backends/tinker/client.js';
import { parseTinkerBackendConfig, tinkerEndpointFromEnv, type TinkerBackendConfig } from '../../backends/tinker/config.js';
import { checkBaseModel, checkImages, probeServer } from '../../backends/tinker/server-profile.js';
import { readConfigFile } from '../../utils/config-file.js';
import { boolFlag, parseFlags, stringFlag } from '../args.js';
import type { Command } from '../command.js';

const help = `mrpo tinker — the Tinker training API (hosted Tinker or a self-hosted SkyRL tx server)

Usage: mrpo tinker check [--model NAME] [--config FILE] [--pretty]

Connects to the endpoint in the environment, runs the client handshake,
opens (and closes) a session and prints one JSON object with what it found:
the server kind (hosted Tinker or SkyRL tx, and the answers that told),
the base models it serves with their context length, whether it renders
images, the wire format and SDK version the client reports, the LoRA rank
limit when the server reports one, and the settings the server ignores.
No model is created. Exits 1 when the server cannot be reached or does not
offer --model; exits 2 when the --config's backend block would be refused
(a model the server does not serve, image prompts on a server that renders
none).

Environment:
  TINKER_API_KEY    the API key (required; SkyRL tx accepts any value, e.g. tml-dummy); never printed
  TINKER_BASE_URL   the API root (default: hosted Tinker)

Flags:
  --model NAME    require this base model (e.g. Qwen/Qwen3-VL-30B-A3B-Instruct)
  --config FILE   a training config (YAML/JSON) whose backend block (name: tinker) is checked
                  against the server: its model, images, wireFormat, sdkVersion, loraRank, serverReduction
  --pretty        indent the JSON output

Example (a SkyRL tx server on this machine):
  TINKER_BASE_URL=http://127.0.0.1:8000 TINKER_API_KEY=tml-dummy npm run -s mrpo -- tinker check --pretty
`;

export const tinkerCommand: Command = {
  name: 'tinker',
  help,
  async run(args, io) {
    const [sub, ...rest] = args;
    if (sub === '--help' || sub === '-h') {
      io.stdout.write(help);
      return 0;
    }
    if (sub !== 'check') throw new UsageError(`mrpo tinker: expected the sub-command "check", got ${sub === undefined ? 'nothing' : `"${sub}"`} (see \`mrpo tinker --help\`)`);
    const parsed = parseFlags('tinker', rest, { model: { type: 'string' }, config: { type: 'string' }, pretty: { type: 'boolean' } });
    const configPath = stringFlag(parsed, 'config');
    // Local checks first: a bad config file fails before anything is sent.
    const backend = configPath === undefined ? undefined : await backendBlockOf(configPath, io.cwd);
    const endpoint = tinkerEndpointFromEnv(io.env);
    const client = await TinkerClient.connect({
      ...endpoint,
      wireFormat: backend?.wireFormat,
      sdkVersion: backend?.sdkVersion,
      log: { warn: (m) => io.stderr.write(`mrpo tinker: warning: ${m}\n`) },
      retry: { submitDeadlineMs: 30_000 },
    });
    try {
      const profile = await probeServer(client, backend ?? { serverRendersImages: undefined }, undefined, true);
      const wanted = stringFlag(parsed, 'model') ?? backend?.model;
      const listed = wanted === undefined ? undefined : profile.models.find((m) => m.model === wanted);
      const report = {
        baseUrl: endpoint.baseUrl,
        sessionId: client.sessionId,
        auth: client.usesJwt ? 'jwt' : 'api-key',
        server: { kind: profile.kind, evidence: profile.evidence },
        supportedModels: profile.models,
        ...(wanted !== undefined ? { model: wanted, modelSupported: listed !== undefined, contextLength: listed?.maxContextLength ?? null } : {}),
        rendersImages: profile.rendersImages,
        imagesNote: profile.imagesNote,
        wireFormat: profile.wireFormat,
        sdkVersion: profile.sdkVersion,
        chunkLimits: client.limits,
        loraRankLimit: profile.loraRankLimit ?? null,
        loraRankNote: profile.loraRankNote,
        ignoredSettings: profile.ignored,
      };
      io.stdout.write(`${JSON.stringify(report, null, boolFlag(parsed, 'pretty') ? 2 : undefined)}\n`);
      if (backend !== undefined) {
        checkBaseModel(profile, backend.model);
        checkImages(profile, backend.images);
      } else if (wanted !== undefined && listed === undefined)
        throw new MrpoError(`the server does not offer ${wanted}; it offers: ${profile.models.map((m) => m.model).join(', ') || '(none listed)'}`);
      return 0;
    } finally {
      await client.close();
    }
  },
};

/** The tinker backend block of a training config file, validated as the backend would. */
async function backendBlockOf(path: string, cwd: string): Promise<TinkerBackendConfig> {
  const block = (await readConfigFile(path, cwd)).backend as { name?: unknown } | undefined;
  if (block?.name !== 'tinker') throw new ConfigError(`${path} backend.name`, 'must be "tinker" for mrpo tinker check --config');
  return parseTinkerBackendConfig(block, `${path} backend`);
}
