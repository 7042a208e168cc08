/**
 * Bearer-token check for `mrpo serve`. Both sides are hashed with SHA-256
 * before `timingSafeEqual`, so the comparison takes the same time whatever the
 * token's length or content (a plain `===` leaks the matching prefix length
 * through timing). The token itself is never logged or echoed.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** A checker for `Authorization` header values; `null` token = no authentication required. */
export function createBearerCheck(token: string | null): (authorization: string | undefined) => boolean {
  if (token === null) return () => true;
  const expected = digest(token);
  return (authorization) => {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
    // Hash even when the header is missing or malformed, so every rejection costs the same.
    const given = digest(match ? match[1] : '');
    return timingSafeEqual(given, expected) && match !== null;
  };
}
