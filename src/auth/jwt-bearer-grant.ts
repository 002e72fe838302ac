// The JWT bearer grant (RFC 7523 §2.1) with the workload's identity token as the assertion: how a
// workload signs in under MCP's workload identity federation (SEP-1933). No browser, no client
// secret, no registration: the authorization server trusts the token's issuer. The request carries
// `resource` (RFC 8707) and the scopes, and, when the sign-in uses DPoP, a proof (RFC 9449 §5).
//
// A refusal is final for this token: the grant is not retried and no other grant is tried
// (SEP-1933; the conformance suite's auth/wif-jwt-bearer counts a second request as a failure).
// The only second request is the one a DPoP nonce challenge asks for (RFC 9449 §8).
import * as oauth from 'oauth4webapi';
import { AppError, Code } from '../errors.js';
import { unreachable } from '../http/client.js';
import { withDpopNonceRetry } from './dpop-requests.js';
import { type AuthContext, oauthErrorCode, oauthErrorText, requestOptions } from './oauth.js';
import type { WorkloadClaims } from './workload-identity.js';

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export interface JwtBearerGrantOptions {
  as: oauth.AuthorizationServer;
  /** The client id the workload is known by at the AS (sent in the body; no client secret); none: no client_id is sent (SEP-1933 needs none). */
  clientId?: string;
  /** The workload's identity token, and what it says (for error messages: never the token). */
  assertion: { jwt: string; claims: WorkloadClaims };
  /** RFC 8707 resource: the MCP server. Undefined with --no-resource. */
  resource?: string;
  scopes: string[];
  /** oauth4webapi's DPoP handle of the sign-in's key (dpop.ts), when the sign-in uses DPoP. */
  dpop?: oauth.DPoPHandle;
}

/**
 * Exchanges the workload's token for an access token. Throws AppError UNREACHABLE, or
 * TOKEN_EXCHANGE_FAILED with the AS's error and what to check.
 */
export async function jwtBearerGrant(ctx: AuthContext, o: JwtBearerGrantOptions): Promise<oauth.TokenEndpointResponse> {
  const endpoint = o.as.token_endpoint;
  if (!endpoint) throw new AppError(Code.INVALID_RESPONSE, `authorization server ${o.as.issuer} has no token endpoint`);
  // Without a client id, the request carries none: oauth4webapi's client object is then only local.
  const client: oauth.Client = { client_id: o.clientId ?? 'workload', token_endpoint_auth_method: 'none' };
  const auth: oauth.ClientAuth = o.clientId === undefined ? () => {} : oauth.None();
  const params: Record<string, string> = { assertion: o.assertion.jwt };
  if (o.resource !== undefined) params.resource = o.resource;
  if (o.scopes.length) params.scope = o.scopes.join(' ');
  return withDpopNonceRetry(async () => {
    let res: Response;
    try {
      res = await oauth.genericTokenEndpointRequest(o.as, client, auth, JWT_BEARER, params, { ...requestOptions(ctx, endpoint), DPoP: o.dpop });
    } catch (err) {
      throw unreachable(endpoint, err);
    }
    try {
      return await oauth.processGenericTokenEndpointResponse(o.as, client, res);
    } catch (err) {
      if (oauth.isDPoPNonceError(err)) throw err; // withDpopNonceRetry sends it once more
      throw refusal(o, endpoint, res.status, err);
    }
  });
}

function refusal(o: JwtBearerGrantOptions, endpoint: string, status: number, err: unknown): AppError {
  const code = oauthErrorCode(err);
  const { iss, sub, aud } = o.assertion.claims;
  const token = `the workload identity token (iss ${iss ?? '(none)'}, sub ${sub ?? '(none)'}, aud ${aud.join(' ') || '(none)'})`;
  let hint: string | undefined;
  if (code === 'invalid_grant') {
    hint = audienceNamesAs(o.assertion.claims, o.as)
      ? `Check that ${o.as.issuer} trusts the issuer ${iss ?? '(none)'} and this subject.`
      : `Its audience should name the authorization server (${o.as.issuer} or ${endpoint}): set it where the platform issues the token.`;
  } else if (code === 'unauthorized_client') {
    hint = `The authorization server does not let ${o.clientId === undefined ? 'a request without --client-id' : `client ${o.clientId}`} use the JWT bearer grant.`;
  } else if (code === 'unsupported_grant_type') {
    hint = `${o.as.issuer} does not accept the JWT bearer grant (${JWT_BEARER}).`;
  }
  return new AppError(Code.TOKEN_EXCHANGE_FAILED, `the authorization server at ${endpoint} refused ${token} (HTTP ${status}: ${oauthErrorText(err)})`, { hint, cause: err });
}

/** RFC 7523 §3: the assertion's `aud` identifies the AS, by its issuer or its token endpoint. */
export function audienceNamesAs(claims: WorkloadClaims, as: oauth.AuthorizationServer): boolean {
  const names = [as.issuer, as.token_endpoint].filter((n): n is string => typeof n === 'string').flatMap((n) => [n, n.replace(/\/+$/, '')]);
  return claims.aud.some((a) => names.includes(a) || names.includes(a.replace(/\/+$/, '')));
}
