/**
 * Keeps secrets out of messages: every error text that may echo a request
 * (a server error body, an SDK message) passes through `redactSecrets`
 * before it reaches a log, a file or a thrown error.
 */

const BEARER = /\b(Bearer|Basic)\s+[^\s"',}]+/gi;
const KEY_LIKE = /\b(sk|rk|pk)-[A-Za-z0-9_-]{8,}/g;
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi;

/** `text` with each secret (4+ characters), bearer tokens, sk-style keys and URL credentials (`https://user:pw@`) replaced by `[redacted]`; cut to `maxLength`. */
export function redactSecrets(text: string, secrets: ReadonlyArray<string | undefined>, maxLength = 300): string {
  let out = text;
  for (const secret of secrets) if (secret !== undefined && secret.length >= 4) out = out.split(secret).join('[redacted]');
  out = out.replace(BEARER, '$1 [redacted]').replace(KEY_LIKE, '[redacted]').replace(URL_USERINFO, '$1[redacted]@');
  return out.length > maxLength ? `${out.slice(0, maxLength)}…` : out;
}
