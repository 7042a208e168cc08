/**
 * The one reader of config files (`train`, `demo`, `experiment`, `serve`,
 * `judge` `--config FILE`): YAML or JSON (YAML is a superset), a mapping of
 * settings at the top level, an empty file as no settings. Errors are one
 * line naming the file, as `path` was given.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../errors.js';

export async function readConfigFile(path: string, cwd: string = process.cwd()): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(resolve(cwd, path), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(path, code === 'ENOENT' ? 'config file not found' : `cannot read config file (${code ?? String(error)})`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (error) {
    throw new ConfigError(path, `not valid YAML or JSON (${(error as Error).message.split('\n')[0]})`);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(path, 'expected a mapping of settings at the top level', { jsonPath: '$' });
  return value as Record<string, unknown>;
}
