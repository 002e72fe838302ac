// When a token is refreshed: ahead of its expiry by a margin that scales with its lifetime (short
// tokens of 30–60 s are real), by the first request inside the margin, never by every request.
import { describe, expect, it } from 'vitest';
import { expiresAtOf, isFresh, isUsable, refreshMarginMs } from '../../src/auth/freshness.js';

const S = 1000;
const jwt = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

describe('refresh margin', () => {
  it('is half the lifetime, at most a minute', () => {
    expect(refreshMarginMs(30 * S)).toBe(15 * S);
    expect(refreshMarginMs(60 * S)).toBe(30 * S);
    expect(refreshMarginMs(600 * S)).toBe(60 * S);
    expect(refreshMarginMs(3600 * S)).toBe(60 * S);
  });

  it('a 30 s token: used as is for its first 15 s, then due; a valid one is still usable', () => {
    const t = { obtainedAt: 0, expiresAt: 30 * S };
    for (let at = 0; at < 15 * S; at += 500) expect(isFresh(t, at)).toBe(true);
    expect(isFresh(t, 15 * S + 1)).toBe(false);
    expect(isUsable(t, 28 * S)).toBe(true);
    expect(isUsable(t, 29.5 * S)).toBe(false);
  });

  it('a token of unknown expiry is never due (the server says when, with a 401)', () => {
    expect(isFresh({ obtainedAt: 0, expiresAt: undefined }, 10 ** 12)).toBe(true);
  });
});

describe('expiry of a token response', () => {
  it('expires_in first; else the exp of a JWT access token; else unknown', () => {
    const now = 1_700_000_000_000;
    expect(expiresAtOf(60, jwt({ exp: 1 }), now)).toBe(now + 60 * S);
    expect(expiresAtOf(undefined, jwt({ exp: now / S + 45 }), now)).toBe(now + 45 * S);
    expect(expiresAtOf(undefined, 'opaque-token-value', now)).toBeUndefined();
    expect(expiresAtOf(undefined, jwt({ sub: 'x' }), now)).toBeUndefined();
    // An exp already past by our clock (ours is ahead of the AS's): not trusted, or every request would refresh.
    expect(expiresAtOf(undefined, jwt({ exp: now / S - 10 }), now)).toBeUndefined();
    expect(expiresAtOf(undefined, 'a.%%%.c', now)).toBeUndefined();
  });
});
