// Token endpoint work after sign-in: refresh (rotation-aware, RFC 8707 resource on every request),
// revocation (RFC 7009), and turning token responses into what the store keeps.
import * as oauth from 'oauth4webapi';
import type { Account, AsEndpoints, TokenSet } from '../store/types.js';
import { registerSecret } from '../log.js';
import { authorizationServerFrom } from './discovery.js';
import { type AuthContext, UnreachableError } from './http.js';
import { oauthErrorCode, oauthErrorText, publicClient, requestOptions } from './oauth.js';
import { RefreshError } from './refresh-error.js';

export function tokenSetFrom(res: oauth.TokenEndpointResponse, previous?: TokenSet, now = Date.now()): TokenSet {
  const tokens: TokenSet = {
    accessToken: res.access_token,
    // RFC 6749 §6: a refresh response may omit the refresh token, which then stays valid.
    refreshToken: res.refresh_token ?? previous?.refreshToken,
    expiresAt: typeof res.expires_in === 'number' ? now + res.expires_in * 1000 : undefined,
    obtainedAt: now,
    idToken: res.id_token ?? previous?.idToken,
    scope: res.scope ?? previous?.scope,
    tokenType: res.token_type,
  };
  registerSecret(tokens.accessToken);
  registerSecret(tokens.refreshToken);
  registerSecret(tokens.idToken);
  return tokens;
}

/** Refresh token grant (OAuth 2.1 §4.3). The caller saves the rotated refresh token at once. */
export async function refreshTokens(ctx: AuthContext, endpoints: AsEndpoints, clientId: string, resource: string, current: TokenSet): Promise<TokenSet> {
  if (!current.refreshToken) throw new RefreshError('invalid_grant', 'no refresh token is stored');
  const as = authorizationServerFrom(endpoints);
  const client = publicClient(clientId);
  let res: Response;
  try {
    res = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), current.refreshToken, {
      additionalParameters: { resource },
      ...requestOptions(ctx, endpoints.tokenEndpoint),
    });
  } catch (err) {
    throw new RefreshError('unreachable', new UnreachableError(endpoints.tokenEndpoint, err).message, err);
  }
  try {
    return tokenSetFrom(await oauth.processRefreshTokenResponse(as, client, res), current);
  } catch (err) {
    const code = oauthErrorCode(err);
    if (code === 'invalid_grant') throw new RefreshError('invalid_grant', `the authorization server refused the stored refresh token (${oauthErrorText(err)})`, err);
    if (code === 'invalid_client' || code === 'unauthorized_client') throw new RefreshError('invalid_client', `the authorization server no longer knows this client (${oauthErrorText(err)})`, err);
    throw new RefreshError('server_error', `refreshing the access token failed (${res.status}: ${oauthErrorText(err)})`, err);
  }
}

export type RevocationOutcome = 'revoked' | 'unsupported' | { failed: string };

/** RFC 7009 revocation; never throws (logout goes on to delete local secrets whatever happens). */
export async function revokeToken(ctx: AuthContext, endpoints: AsEndpoints, clientId: string, token: string, hint: 'refresh_token' | 'access_token'): Promise<RevocationOutcome> {
  if (!endpoints.revocationEndpoint) return 'unsupported';
  const as = authorizationServerFrom(endpoints);
  try {
    const res = await oauth.revocationRequest(as, publicClient(clientId), oauth.None(), token, {
      additionalParameters: { token_type_hint: hint },
      ...requestOptions(ctx, endpoints.revocationEndpoint),
    });
    await oauth.processRevocationResponse(res);
    return 'revoked';
  } catch (err) {
    if (err instanceof TypeError || (err as { name?: string }).name === 'TimeoutError') return { failed: new UnreachableError(endpoints.revocationEndpoint, err).message };
    return { failed: oauthErrorText(err) };
  }
}

/** Who signed in, from the ID token's claims (already validated by oauth4webapi) or userinfo. */
export function accountFromClaims(claims: Record<string, unknown> | undefined): Account | undefined {
  if (!claims) return undefined;
  const pick = (k: string) => (typeof claims[k] === 'string' ? (claims[k] as string) : undefined);
  const account: Account = { sub: pick('sub'), email: pick('email'), name: pick('name') };
  return account.sub || account.email ? account : undefined;
}

export async function fetchUserinfo(ctx: AuthContext, endpoints: AsEndpoints, clientId: string, accessToken: string, expectedSub?: string): Promise<Account | undefined> {
  if (!endpoints.userinfoEndpoint) return undefined;
  try {
    const as = authorizationServerFrom(endpoints);
    const res = await oauth.userInfoRequest(as, publicClient(clientId), accessToken, requestOptions(ctx, endpoints.userinfoEndpoint));
    const info = await oauth.processUserInfoResponse(as, publicClient(clientId), expectedSub ?? oauth.skipSubjectCheck, res);
    return accountFromClaims(info as Record<string, unknown>);
  } catch (err) {
    ctx.logger.debug(`userinfo unavailable: ${(err as Error).message}`);
    return undefined;
  }
}
