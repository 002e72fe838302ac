import { serverText } from '../log.js';
import type { Account } from '../store/types.js';

/** Who signed in, as the server said (on one line: the server's text cannot start a line of ours). */
export function describeAccount(account: Account | undefined): string {
  if (!account) return 'unknown (the server did not say)';
  if (account.email && account.sub && account.email !== account.sub) return serverText(`${account.email} (${account.sub})`);
  return serverText(account.email ?? account.sub ?? 'unknown');
}

export function describeDuration(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 90) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m} min`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h`;
  return `${Math.round(h / 24)} days`;
}

export function describeExpiry(expiresAt: number | undefined, hasRefreshToken: boolean, now = Date.now()): string {
  const refresh = hasRefreshToken ? 'refreshed automatically' : 'no refresh token: sign in again then';
  if (expiresAt === undefined) return `no expiry given (${refresh})`;
  const left = expiresAt - now;
  const when = new Date(expiresAt).toISOString();
  if (left > 0) return `access token expires in ${describeDuration(left)} (${when}); ${refresh}`;
  return `access token expired ${describeDuration(left)} ago (${when}); ${hasRefreshToken ? 'it will be refreshed on next use' : 'sign in again'}`;
}
