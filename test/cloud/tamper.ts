// Deliberate misbehaviour of the authorization server, for client negative tests. Applied as a
// layer over oidc-provider's finished responses so the normal code path stays untouched.
import type { KoaMiddleware } from 'oidc-provider';

export interface Tamper {
  noS256?: boolean;
  metadataIssuerMismatch?: boolean;
  prmResourceMismatch?: boolean;
  wrongIss?: boolean;
  wrongState?: boolean;
  noRevocation?: boolean;
  /**
   * Device code polls (RFC 8628 §3.5) the token endpoint answers with these errors, one per poll and
   * in order, instead of `authorization_pending` (e.g. `['slow_down']`, `['expired_token']`).
   */
  devicePollErrors?: string[];
  /** The `interval` (seconds) the device authorization response says to poll at (e.g. 0.001). */
  deviceInterval?: number;
  /** Token responses without `expires_in` (RECOMMENDED only, RFC 6749 §5.1): the JWT's `exp` says it. */
  noExpiresIn?: boolean;
  /**
   * Revocation as better-auth's OAuth provider (the successor of its MCP plugin) does it: a JWT
   * access token is refused with 400 `unsupported_token_type` ("self-contained", nothing stored to
   * delete), a refresh token is revoked (200). Reproduced from better-auth/better-auth
   * packages/oauth-provider/src/revoke.ts (revokeJwtAccessToken, revokeEndpoint). Applied in
   * jwt-revocation.ts.
   */
  betterAuthRevocation?: boolean;
  /**
   * The discovery documents name the token endpoint at this origin (same path): a front that relays
   * to the AS, as a gateway would. A test that must stand between the clients and the token endpoint
   * (the chaos test's relay) does it this way: loopback destinations never go through HTTP(S)_PROXY.
   */
  tokenEndpointOrigin?: string;
}

const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export const WRONG_ISSUER = 'http://127.0.0.1:1/v1/oauth2/impostor';
export const WRONG_RESOURCE = 'http://127.0.0.1:1/other';

export function tamperMiddleware(tamper: Tamper): KoaMiddleware {
  return async (ctx, next) => {
    await next();
    if (ctx.oidc?.route === 'discovery') {
      const metadata = ctx.body as Record<string, unknown>;
      if (tamper.noS256) metadata.code_challenge_methods_supported = ['plain'];
      if (tamper.metadataIssuerMismatch) metadata.issuer = WRONG_ISSUER;
      if (tamper.noRevocation) delete metadata.revocation_endpoint;
      if (tamper.tokenEndpointOrigin) metadata.token_endpoint = `${tamper.tokenEndpointOrigin}${new URL(String(metadata.token_endpoint)).pathname}`;
      return;
    }
    if (tamper.noExpiresIn && ctx.oidc?.route === 'token' && ctx.body && typeof ctx.body === 'object') delete (ctx.body as { expires_in?: number }).expires_in;
    if (tamper.deviceInterval !== undefined && ctx.oidc?.route === 'device_authorization' && ctx.body && typeof ctx.body === 'object') {
      (ctx.body as { interval?: number }).interval = tamper.deviceInterval;
      return;
    }
    if (tamper.devicePollErrors?.length && ctx.oidc?.route === 'token' && ctx.oidc.params?.grant_type === DEVICE_CODE_GRANT
      && (ctx.body as { error?: unknown } | undefined)?.error === 'authorization_pending') {
      const error = tamper.devicePollErrors.shift()!;
      ctx.body = { error, error_description: `tampered: ${error} instead of authorization_pending` };
      return;
    }
    if ((tamper.wrongIss || tamper.wrongState) && isAuthorizationResponse(ctx)) {
      const location = new URL(ctx.response.get('location'));
      if (tamper.wrongIss) location.searchParams.set('iss', WRONG_ISSUER);
      if (tamper.wrongState) location.searchParams.set('state', `tampered-${location.searchParams.get('state') ?? ''}`);
      ctx.response.set('location', location.href);
    }
  };
}

/** A redirect to the client's redirect_uri carrying a code or an error (not one to our own pages). */
function isAuthorizationResponse(ctx: Parameters<KoaMiddleware>[0]): boolean {
  const redirectUri = ctx.oidc?.params?.redirect_uri;
  const location = ctx.response.get('location');
  if (ctx.status < 300 || ctx.status > 399 || typeof redirectUri !== 'string' || !location.startsWith(redirectUri)) return false;
  const params = new URL(location).searchParams;
  return params.has('code') || params.has('error');
}
