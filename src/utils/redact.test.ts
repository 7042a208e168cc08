import { describe, expect, it } from 'vitest';
import { redactSecrets } from './redact.js';

describe('redactSecrets', () => {
  it('removes given secrets, bearer tokens and sk- keys', () => {
    const key = 'local-secret-123';
    const text = `401 {"error":"bad header Bearer ${key}","also":"${key}","other":"sk-abcdefghijklmnop"}`;
    const out = redactSecrets(text, [key]);
    expect(out).not.toContain(key);
    expect(out).not.toContain('sk-abcdefghijklmnop');
    expect(out).toContain('Bearer [redacted]');
  });
  it('removes credentials from URLs', () => {
    expect(redactSecrets('endpoint http://bob:hunter2@host:8000/v1 refused', [])).toBe('endpoint http://[redacted]@host:8000/v1 refused');
  });
  it('cuts long text', () => {
    expect(redactSecrets('a'.repeat(50), [], 10)).toBe(`${'a'.repeat(10)}…`);
  });
});
