/** Flag parsing for sub-commands over node:util parseArgs, with errors that name the flag. */
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';

export type FlagSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string; default?: string | boolean }>;

export interface ParsedArgs {
  readonly values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  readonly positionals: string[];
}

export function parseFlags(command: string, args: readonly string[], flags: FlagSpec, allowPositionals = false): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({ args: [...args], options: flags, strict: true, allowPositionals });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (error) {
    throw new UsageError(`${(error as Error).message.replace(/\. To specify .*$/s, '')} (see \`mrpo ${command} --help\`)`);
  }
}

export function stringFlag(parsed: ParsedArgs, name: string): string | undefined {
  const v = parsed.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function stringsFlag(parsed: ParsedArgs, name: string): string[] {
  const v = parsed.values[name];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}

export function boolFlag(parsed: ParsedArgs, name: string): boolean {
  return parsed.values[name] === true;
}

/** A numeric flag, validated; `--steps abc` names the flag and what was expected. */
export function numberFlag(
  parsed: ParsedArgs,
  name: string,
  options: { integer?: boolean; min?: number; max?: number } = {},
): number | undefined {
  const raw = stringFlag(parsed, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  const kind = options.integer ? 'an integer' : 'a number';
  if (raw.trim() === '' || !Number.isFinite(value) || (options.integer && !Number.isInteger(value)))
    throw new UsageError(`--${name} must be ${kind}, got "${raw}"`);
  if (options.min !== undefined && value < options.min) throw new UsageError(`--${name} must be ≥ ${options.min}, got ${value}`);
  if (options.max !== undefined && value > options.max) throw new UsageError(`--${name} must be ≤ ${options.max}, got ${value}`);
  return value;
}
