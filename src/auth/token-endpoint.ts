// The port through which everything after sign-in reaches the authorization server's token and
// revocation endpoints: the proxy's refreshes, `token`, `logout`, doctor. The real one (tokens.ts,
// over oauth4webapi) is loaded only when first used, so a proxy with a valid token starts without it.
import type { DPoPHandle } from 'oauth4webapi';
import type { SignInRecord, Tokens } from '../store/types.js';
import type { AuthContext } from './oauth.js';
import type { RevocationOutcome } from './tokens.js';

export type { RevocationOutcome };

export interface TokenEndpoint {
  /**
   * The refresh token grant (OAuth 2.1 §4.3) at the sign-in's AS, with proofs by `dpop` when the
   * sign-in's tokens are bound to a DPoP key (RFC 9449 §5). Throws AppError OAUTH_INVALID_GRANT
   * (sign in again), OAUTH_INVALID_CLIENT (register again), HTTP_UNREACHABLE or
   * OAUTH_TOKEN_ENDPOINT_FAILED (try again later).
   */
  refresh(record: SignInRecord, refreshToken: string, clientSecret: string | undefined, dpop?: DPoPHandle): Promise<Tokens>;
  /** RFC 7009 revocation; never throws (logout deletes the local secrets whatever happens). */
  revoke(record: SignInRecord, token: string, hint: 'refresh_token' | 'access_token', clientSecret: string | undefined): Promise<RevocationOutcome>;
}

/** The token endpoint of auth/tokens.ts, imported on first use. */
export function oauthTokenEndpoint(ctx: AuthContext, now: () => number = Date.now): TokenEndpoint {
  const tokens = () => import('./tokens.js');
  return {
    refresh: async (record, refreshToken, clientSecret, dpop) => (await tokens()).refreshTokens(ctx, record, refreshToken, clientSecret, now, dpop),
    revoke: async (record, token, hint, clientSecret) => (await tokens()).revokeToken(ctx, record, token, hint, clientSecret),
  };
}
