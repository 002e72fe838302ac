// When a token is due for refresh. Access tokens of 30–60 s are real (Cloudflare's provider issues
// 60 s at least, some ASes 30 s): a fixed minute of margin would refresh those before every request,
// as mcp-remote does. The margin scales with the lifetime instead: half of it, at most a minute.
//   30 s token → refreshed with 15 s left;  60 s → 30 s left;  10 min or 1 h → 60 s left.
// A token is refreshed by the first request inside its margin, never by every request.
import type { Tokens } from '../store/types.js';

/** The most a token is refreshed ahead of its expiry. */
export const MAX_REFRESH_MARGIN_MS = 60_000;
/** A token is still worth sending with more than this left (when no refresh can be had). */
const USABLE_MARGIN_MS = 1_000;

/** How long before `expiresAt` a token of this lifetime is refreshed. */
export function refreshMarginMs(lifetimeMs: number): number {
  return Math.min(MAX_REFRESH_MARGIN_MS, Math.max(0, lifetimeMs) / 2);
}

/** Not due for refresh yet (a token of unknown expiry is used until the server refuses it). */
export function isFresh(tokens: Pick<Tokens, 'expiresAt' | 'obtainedAt'>, now: number): boolean {
  if (tokens.expiresAt === undefined) return true;
  return tokens.expiresAt - now > refreshMarginMs(tokens.expiresAt - tokens.obtainedAt);
}

/** Still valid for a request sent now. */
export function isUsable(tokens: Pick<Tokens, 'expiresAt'>, now: number): boolean {
  return tokens.expiresAt === undefined || tokens.expiresAt > now + USABLE_MARGIN_MS;
}

/**
 * When an access token expires: `expires_in` (RFC 6749 §5.1), else the `exp` of a JWT access token
 * (RFC 9068), so that an AS that leaves out the RECOMMENDED `expires_in` still gets early refreshes.
 * An `exp` already past by our clock (a skewed clock) is ignored rather than trusted.
 */
export function expiresAtOf(expiresIn: unknown, accessToken: string, now: number): number | undefined {
  if (typeof expiresIn === 'number') return now + expiresIn * 1000;
  const parts = accessToken.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const { exp } = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof exp === 'number' && exp * 1000 > now ? exp * 1000 : undefined;
  } catch {
    return undefined; // not a JWT after all
  }
}
