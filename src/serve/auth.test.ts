import { describe, expect, it } from 'vitest';
import { createBearerCheck } from './auth.js';

describe('createBearerCheck', () => {
  it('accepts exactly "Bearer <token>"', () => {
    const check = createBearerCheck('abc.DEF-123');
    expect(check('Bearer abc.DEF-123')).toBe(true);
    expect(check('bearer abc.DEF-123')).toBe(true); // the scheme is case-insensitive (RFC 7235)
    expect(check('Bearer abc.DEF-12')).toBe(false);
    expect(check('Bearer abc.DEF-1234')).toBe(false);
    expect(check('Bearer ABC.DEF-123')).toBe(false);
    expect(check('Basic abc.DEF-123')).toBe(false);
    expect(check('abc.DEF-123')).toBe(false);
    expect(check('Bearer ')).toBe(false);
    expect(check(undefined)).toBe(false);
  });

  it('lets everything through without a token', () => {
    expect(createBearerCheck(null)(undefined)).toBe(true);
  });
});
