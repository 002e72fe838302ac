// Which client_id to use with an AS: a pre-registered one (--client-id) when given, else one made by
// RFC 7591 dynamic registration, cached per AS issuer and never reused with another AS.
import * as oauth from 'oauth4webapi';
import type { ClientRecord } from '../store/types.js';
import { AppError, Code } from '../errors.js';
import { unreachable } from '../http/client.js';
import { type AuthContext, oauthErrorText, requestOptions } from './oauth.js';
import { VERSION } from '../version.js';

/** RFC 7591 §3.1: a native public client with a loopback redirect (RFC 8252 §7.3). */
export async function registerClient(ctx: AuthContext, as: oauth.AuthorizationServer, redirectUri: string): Promise<ClientRecord> {
  if (!as.registration_endpoint) {
    throw new AppError(Code.REGISTRATION_UNSUPPORTED, `the authorization server "${as.issuer}" does not offer dynamic client registration`, {
      hint: 'Register a public client with the redirect URI http://127.0.0.1/callback yourself and pass its id with --client-id.',
    });
  }
  ctx.logger.debug(`registering a client at ${as.registration_endpoint}`);
  let res: Response;
  try {
    res = await oauth.dynamicClientRegistrationRequest(
      as,
      {
        client_name: 'appwrite-mcp',
        application_type: 'native',
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
        software_id: 'appwrite-mcp',
        software_version: VERSION,
        // No `scope`: it is optional, and ASes that keep resource scopes apart reject it here.
      },
      requestOptions(ctx, as.registration_endpoint),
    );
  } catch (err) {
    throw unreachable(as.registration_endpoint, err);
  }
  let client: oauth.OmitSymbolProperties<oauth.Client>;
  try {
    client = await oauth.processDynamicClientRegistrationResponse(res);
  } catch (err) {
    throw new AppError(Code.REGISTRATION_FAILED, `client registration at ${as.registration_endpoint} failed: ${oauthErrorText(err)}`, { cause: err });
  }
  return {
    issuer: as.issuer,
    clientId: client.client_id,
    method: 'dcr',
    redirectUris: [redirectUri],
    registeredAt: Date.now(),
  };
}

export function preRegisteredClient(issuer: string, clientId: string): ClientRecord {
  return { issuer, clientId, method: 'preregistered', redirectUris: [], registeredAt: Date.now() };
}

/** The port of a cached registration's loopback redirect, so the callback server can try it first. */
export function registeredPort(client: ClientRecord | undefined): number | undefined {
  const uri = client?.redirectUris[0];
  if (!uri) return undefined;
  const port = Number(new URL(uri).port);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

/**
 * Asks the authorization endpoint, without a browser, whether it still knows `clientId` and accepts
 * the redirect URI: an AS that forgot a client (or pins the port) answers 400 with invalid_client /
 * invalid_redirect_uri instead of moving on to its login page.
 */
export async function clientStillAccepted(ctx: AuthContext, authorizationUrl: URL): Promise<boolean> {
  try {
    const res = await ctx.fetch(authorizationUrl.href, { redirect: 'manual', signal: AbortSignal.timeout(ctx.requestTimeoutMs) });
    const body = res.status >= 400 ? await res.text() : (await res.body?.cancel().catch(() => {}), '');
    if (res.status === 400 || res.status === 401) return !/invalid_client|invalid_redirect_uri|redirect_uri/i.test(body);
    return true;
  } catch {
    return true; // unreachable here means unreachable in the browser too; the flow reports it there
  }
}
