// The authorization-code flow with PKCE in the user's browser (OAuth 2.1 §4.1, RFC 7636, RFC 8707,
// RFC 9207), received on a one-shot loopback callback server.
import * as oauth from 'oauth4webapi';
import type { ClientRecord } from '../store/types.js';
import { ExitCode, UserError } from '../errors.js';
import type { AuthContext } from './http.js';
import { UnreachableError } from './http.js';
import { oauthErrorCode, oauthErrorText, publicClient, requestOptions } from './oauth.js';
import type { CallbackServer } from './callback-server.js';

export interface AuthorizeOptions {
  as: oauth.AuthorizationServer;
  client: ClientRecord;
  callback: CallbackServer;
  resource: string;
  scopes: string[];
  /** How long to wait for the browser to come back. */
  timeoutMs: number;
  /** Shown to the user, and opened in the browser unless the caller decided not to. */
  onAuthorizationUrl(url: string): void | Promise<void>;
  /** What the success page calls the server. */
  serverLabel: string;
  signal?: AbortSignal;
}

export function buildAuthorizationUrl(o: { as: oauth.AuthorizationServer; clientId: string; redirectUri: string; resource: string; scopes: string[]; state: string; codeChallenge: string }): URL {
  const url = new URL(o.as.authorization_endpoint!);
  const p = url.searchParams;
  p.set('response_type', 'code');
  p.set('client_id', o.clientId);
  p.set('redirect_uri', o.redirectUri);
  if (o.scopes.length) p.set('scope', o.scopes.join(' '));
  p.set('state', o.state);
  p.set('code_challenge', o.codeChallenge);
  p.set('code_challenge_method', 'S256');
  p.set('resource', o.resource);
  // OpenID Connect issues a refresh token for offline_access only after explicit consent (OIDC Core §11).
  if (o.scopes.includes('offline_access')) p.set('prompt', 'consent');
  return url;
}

export interface PkceRequest {
  url: URL;
  state: string;
  codeVerifier: string;
}

export async function newAuthorizationRequest(o: Omit<Parameters<typeof buildAuthorizationUrl>[0], 'state' | 'codeChallenge'>): Promise<PkceRequest> {
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const codeChallenge = await oauth.calculatePKCECodeChallenge(codeVerifier);
  return { url: buildAuthorizationUrl({ ...o, state, codeChallenge }), state, codeVerifier };
}

/** Runs the browser round trip and the code exchange; returns the token endpoint response. */
export async function authorizeInBrowser(ctx: AuthContext, o: AuthorizeOptions, request: PkceRequest): Promise<oauth.TokenEndpointResponse> {
  const client = publicClient(o.client.clientId);
  await o.onAuthorizationUrl(request.url.href);

  const timeout = AbortSignal.timeout(o.timeoutMs);
  const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
  let callback;
  try {
    callback = await o.callback.next(signal);
  } catch (err) {
    if (timeout.aborted) {
      throw new UserError(`no sign-in came back from the browser within ${formatDuration(o.timeoutMs)}`, {
        hint: 'Open the URL above to finish signing in, or run the command again (--timeout sets the wait).',
        exitCode: ExitCode.timeout,
      });
    }
    throw err;
  }

  let params: URLSearchParams;
  try {
    // Checks `state`, and `iss` as RFC 9207 and the MCP spec require (mandatory when the AS
    // advertises authorization_response_iss_parameter_supported, compared whenever present).
    params = oauth.validateAuthResponse(o.as, client, callback.params, request.state);
  } catch (err) {
    const denied = oauthErrorCode(err) === 'access_denied';
    const message = denied ? 'access was denied at the authorization server' : describeCallbackError(err, callback.params);
    callback.respond({ ok: false, title: denied ? 'Sign-in cancelled' : 'Sign-in failed', message: `${capitalize(message)}. You can close this tab.` });
    throw new UserError(message, {
      hint: denied ? 'Run the command again and choose Allow to sign in.' : 'Run the command again; if it keeps failing, report the authorization server\'s behaviour.',
      exitCode: denied ? ExitCode.denied : ExitCode.failure,
      cause: err,
    });
  }

  try {
    const res = await oauth.authorizationCodeGrantRequest(o.as, client, oauth.None(), params, o.callback.redirectUri, request.codeVerifier, {
      additionalParameters: { resource: o.resource },
      ...requestOptions(ctx, o.as.token_endpoint),
    }).catch((err: unknown) => { throw new UnreachableError(o.as.token_endpoint!, err); });
    const tokens = await oauth.processAuthorizationCodeResponse(o.as, client, res);
    callback.respond({ ok: true, title: 'Signed in', message: `appwrite-mcp is signed in to ${o.serverLabel}. You can close this tab and go back to your MCP client.` });
    return tokens;
  } catch (err) {
    const message = err instanceof UnreachableError ? err.message : `the token exchange failed: ${oauthErrorText(err)}`;
    callback.respond({ ok: false, title: 'Sign-in failed', message: `${capitalize(message)}. You can close this tab.` });
    throw new UserError(message, { cause: err });
  }
}

function describeCallbackError(err: unknown, params: URLSearchParams): string {
  if (err instanceof oauth.AuthorizationResponseError) return `the authorization server refused: ${oauthErrorText(err)}`;
  const msg = (err as Error).message ?? String(err);
  if (/"state"/.test(msg)) return `the browser came back with a different "state" than this sign-in sent (${JSON.stringify(params.get('state'))}); it may be a stale tab or a forged redirect`;
  if (/"iss"/.test(msg)) return `the browser came back with "iss" ${JSON.stringify(params.get('iss'))}, not the authorization server this sign-in used (RFC 9207 mix-up protection)`;
  return `the authorization response is invalid: ${msg}`;
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  return `${Math.round(s / 60)} min`;
}
