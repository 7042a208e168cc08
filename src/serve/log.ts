/**
 * Structured logs for `mrpo serve`: one JSON object per line on a stream
 * (stderr in the CLI). Callers pass only what is safe to log — route, status,
 * duration, sizes — never bodies, headers or tokens; the request logger in
 * `server.ts` is the only writer of per-request lines.
 */
import { redactSecrets } from '../utils/redact.js';

export type LogLevel = 'info' | 'warn' | 'error';

export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

export interface Logger {
  log(level: LogLevel, msg: string, fields?: LogFields): void;
}

/** A logger that drops everything (tests, embedding). */
export const nullLogger: Logger = { log() {} };

/**
 * A JSON-lines logger: `{"time":"…","level":"info","msg":"request","route":"/v1/shape",…}`. Every string field
 * passes through `redactSecrets` with `secrets` (the serve token, the judge's API key): a last guard, should an
 * error message carry a server's words.
 */
export function createJsonLogger(stream: NodeJS.WritableStream, clock: () => Date = () => new Date(), secrets: ReadonlyArray<string | undefined> = []): Logger {
  return {
    log(level, msg, fields = {}) {
      const record: Record<string, unknown> = { time: clock().toISOString(), level, msg };
      for (const [key, value] of Object.entries(fields))
        if (value !== undefined) record[key] = typeof value === 'string' ? redactSecrets(value, secrets, Number.POSITIVE_INFINITY) : value;
      stream.write(`${JSON.stringify(record)}\n`);
    },
  };
}
