// Token endpoint work after sign-in: refresh (rotation-aware, RFC 8707 resource on every request),
// revocation (RFC 7009), and turning token responses into the tokens the proxy uses. Tokens are
// registered for redaction here, where they are born; sign-ins.ts registers those it reads back.
import * as oauth from 'oauth4webapi';
import { AppError, Code } from '../errors.js';
import { unreachable } from '../http/client.js';
import { registerSecret } from '../log.js';
import type { Account, SignInRecord, Tokens } from '../store/types.js';
import { clientAuth } from './client-auth.js';
import { withDpopNonceRetry } from './dpop-requests.js';
import { type AuthContext, oauthErrorCode, oauthErrorText, publicClient, requestOptions } from './oauth.js';
import { expiresAtOf } from './freshness.js';
import { splitScopes } from './scopes.js';

/**
 * The tokens in a token endpoint response. A refresh response may omit the refresh token (it then
 * stays valid, RFC 6749 §6) and the scope (unchanged, §5.1): `previous` fills them in.
 */
export function tokensFrom(res: oauth.TokenEndpointResponse, previous: { refreshToken?: string; scopes: string[] }, now = Date.now()): Tokens {
  registerSecret(res.access_token);
  registerSecret(res.refresh_token);
  registerSecret(res.id_token);
  return {
    accessToken: res.access_token,
    refreshToken: res.refresh_token ?? previous.refreshToken,
    expiresAt: expiresAtOf(res.expires_in, res.access_token, now),
    obtainedAt: now,
    scopes: res.scope !== undefined ? splitScopes(res.scope) : previous.scopes,
    tokenType: res.token_type,
  };
}

/**
 * Refresh token grant (OAuth 2.1 §4.3), with a proof by the sign-in's key when its tokens are
 * DPoP-bound (RFC 9449 §5: a public client's refresh token is bound to the key too; a nonce
 * challenge is answered once). Throws AppError GRANT_INVALID (sign in again), CLIENT_UNKNOWN
 * (register again), UNREACHABLE or TOKEN_ENDPOINT_FAILED (try again later).
 */
export async function refreshTokens(ctx: AuthContext, record: SignInRecord, refreshToken: string, clientSecret: string | undefined, now: () => number = Date.now, dpop?: oauth.DPoPHandle): Promise<Tokens> {
  const as = record.as;
  const { client, auth } = clientAuth({ client: record.client, secret: clientSecret });
  let status = 0;
  let response: oauth.TokenEndpointResponse;
  try {
    response = await withDpopNonceRetry(async () => {
      let res: Response;
      try {
        res = await oauth.refreshTokenGrantRequest(as, client, auth, refreshToken, {
          additionalParameters: record.noResource ? {} : { resource: record.resource },
          ...requestOptions(ctx, as.token_endpoint),
          DPoP: dpop,
        });
      } catch (err) {
        throw unreachable(as.token_endpoint!, err);
      }
      status = res.status;
      return oauth.processRefreshTokenResponse(as, client, res);
    });
  } catch (err) {
    if (err instanceof AppError) throw err;
    const code = oauthErrorCode(err);
    if (code === 'invalid_grant') throw new AppError(Code.GRANT_INVALID, `the authorization server refused the stored refresh token (${oauthErrorText(err)})`, { cause: err });
    if (code === 'invalid_client' || code === 'unauthorized_client') throw new AppError(Code.CLIENT_UNKNOWN, `the authorization server no longer knows this client (${oauthErrorText(err)})`, { cause: err });
    throw new AppError(Code.TOKEN_ENDPOINT_FAILED, `refreshing the access token failed (HTTP ${status}: ${oauthErrorText(err)})`, { cause: err });
  }
  return tokensFrom(response, { refreshToken, scopes: record.token.scopes }, now());
}


/** RFC 7009 revocation; never throws (logout goes on to delete local secrets whatever happens). */
/** What a revocation came to (RFC 7009): revoked, not supported by the AS, or refused with why. */
export type RevocationOutcome = 'revoked' | 'unsupported' | { failed: string; error?: string };

export async function revokeToken(ctx: AuthContext, record: SignInRecord, token: string, hint: 'refresh_token' | 'access_token', clientSecret: string | undefined): Promise<RevocationOutcome> {
  const endpoint = record.as.revocation_endpoint;
  if (!endpoint) return 'unsupported';
  let res: Response;
  try {
    const { client, auth } = clientAuth({ client: record.client, secret: clientSecret });
    res = await oauth.revocationRequest(record.as, client, auth, token, {
      additionalParameters: { token_type_hint: hint },
      ...requestOptions(ctx, endpoint),
    });
  } catch (err) {
    return { failed: unreachable(endpoint, err).message };
  }
  try {
    await oauth.processRevocationResponse(res);
    return 'revoked';
  } catch (err) {
    // `error`: the OAuth error code, e.g. unsupported_token_type (RFC 7009 §2.2.1) for a JWT access token.
    return { failed: oauthErrorText(err), error: oauthErrorCode(err) };
  }
}

/** Who signed in, from the ID token's claims (already validated by oauth4webapi) or userinfo. */
export function accountFromClaims(claims: Record<string, unknown> | undefined): Account | undefined {
  if (!claims) return undefined;
  const pick = (k: string) => (typeof claims[k] === 'string' ? (claims[k] as string) : undefined);
  const account: Account = { sub: pick('sub'), email: pick('email'), name: pick('name') };
  return account.sub || account.email ? account : undefined;
}

/** Who signed in, from userinfo; a DPoP-bound access token goes with a proof by `dpop` (RFC 9449 §7). */
export async function fetchUserinfo(ctx: AuthContext, as: oauth.AuthorizationServer, clientId: string, accessToken: string, dpop?: oauth.DPoPHandle): Promise<Account | undefined> {
  if (!as.userinfo_endpoint) return undefined;
  try {
    const info = await withDpopNonceRetry(async () => {
      const res = await oauth.userInfoRequest(as, publicClient(clientId), accessToken, { ...requestOptions(ctx, as.userinfo_endpoint), DPoP: dpop });
      return oauth.processUserInfoResponse(as, publicClient(clientId), oauth.skipSubjectCheck, res);
    });
    return accountFromClaims(info as Record<string, unknown>);
  } catch (err) {
    ctx.logger.debug(`userinfo unavailable: ${(err as Error).message}`);
    return undefined;
  }
}
