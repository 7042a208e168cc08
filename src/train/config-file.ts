/**
 * Reading a training config: defaults ← config file (YAML or JSON) ← flags,
 * validated against the one schema (config.ts). Errors name the file or flag
 * and the JSON path.
 */
import { readConfigFile } from '../utils/config-file.js';
import { CONFIG_FLAGS, mergeConfig, parseFlagValue, resolveConfig, setPath, type TrainConfig } from './config.js';

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
