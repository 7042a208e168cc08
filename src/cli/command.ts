/**
 * The shape of one `mrpo` sub-command. Each command lives in its own file in
 * `src/cli/commands/` and is listed, with its one-line summary, in the static registry in `main.ts`
 * (which imports the module only when the command runs).
 */
export interface CliIo {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

export interface Command {
  /** Name as typed after `mrpo` (sub-sub-commands such as `judge steps` are handled inside). */
  readonly name: string;
  /** Full `--help` text: usage, flags, defaults and an example that works from a fresh clone. */
  readonly help: string;
  /** Runs the command; returns the exit code. Throws MrpoError subclasses for failures. */
  run(args: readonly string[], io: CliIo): Promise<number>;
}
