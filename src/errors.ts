/**
 * One error hierarchy for mrpo. Every error says what input was wrong, where,
 * and what was expected; the CLI maps the class to an exit code
 * (UsageError/InputError → 2, everything else → 1) and never prints a stack
 * trace unless `--debug` is given.
 */
export class MrpoError extends Error {
  override readonly name: string = 'MrpoError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Bad command-line usage: unknown flag, missing argument. Exit code 2. */
export class UsageError extends MrpoError {
  override readonly name: string = 'UsageError';
}

/**
 * Invalid input data: a file, a record, a JSON document. `where` names the
 * place (`example.json $.groups[0].completions[1].text`,
 * `train.jsonl line 212`). Exit code 2.
 */
export class InputError extends MrpoError {
  override readonly name: string = 'InputError';
  readonly where: string;
  /** JSON path of the first bad value (`$.groups[0].completions[1].text`), for JSON inputs. */
  readonly jsonPath?: string;
  constructor(where: string, problem: string, options?: { cause?: unknown; jsonPath?: string }) {
    super(where ? `${where}: ${problem}` : problem, options);
    this.where = where;
    if (options?.jsonPath !== undefined) this.jsonPath = options.jsonPath;
  }
}

/** Invalid configuration (config file or flags). Exit code 2. */
export class ConfigError extends InputError {
  override readonly name: string = 'ConfigError';
}

/** A name that is not in a registry; the message lists the valid names. */
export class UnknownNameError extends MrpoError {
  override readonly name: string = 'UnknownNameError';
  constructor(kind: string, given: string, valid: readonly string[]) {
    super(`unknown ${kind} "${given}"; expected one of: ${valid.join(', ')}`);
  }
}

/** A remote service (judge endpoint, training service) failed after retries. Exit code 1. */
export class RemoteError extends MrpoError {
  override readonly name: string = 'RemoteError';
}

/** Exit code the CLI uses for an error. */
export function exitCodeFor(error: unknown): 1 | 2 {
  return error instanceof UsageError || error instanceof InputError || error instanceof UnknownNameError ? 2 : 1;
}
