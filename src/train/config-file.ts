/**
 * Reading a training config: defaults ← config file (YAML or JSON) ← flags,
 * validated against the one schema (config.ts). Errors name the file or flag
 * and the JSON path.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../errors.js';
import { CONFIG_FLAGS, mergeConfig, parseFlagValue, resolveConfig, setPath, type TrainConfig } from './config.js';

export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(path, code === 'ENOENT' ? 'config file not found' : `cannot read config file (${code ?? String(error)})`);
  }
  let value: unknown;
  try {
    value = parseYaml(text); // YAML is a superset of JSON
  } catch (error) {
    throw new ConfigError(path, `not valid YAML or JSON (${(error as Error).message.split('\n')[0]})`);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`${path} $`, 'expected a mapping of config keys');
  return value as Record<string, unknown>;
}

/** Flag values (flag name → raw text) as a partial config object. */
export function configFromFlags(values: Readonly<Record<string, string | undefined>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of CONFIG_FLAGS) {
    const raw = values[f.flag];
    if (raw !== undefined) setPath(out, f.path, parseFlagValue(f, raw));
  }
  return out;
}

/** defaults ← file ← flags. */
export async function loadTrainConfig(options: {
  file?: string;
  flags?: Readonly<Record<string, string | undefined>>;
  base?: Record<string, unknown>;
}): Promise<TrainConfig> {
  let raw: Record<string, unknown> = options.base ?? {};
  if (options.file !== undefined) raw = mergeConfig(raw, await readConfigFile(options.file));
  raw = mergeConfig(raw, configFromFlags(options.flags ?? {}));
  return resolveConfig(raw, options.file ?? 'config');
}
