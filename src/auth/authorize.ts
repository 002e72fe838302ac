// The authorization-code flow with PKCE in the user's browser (OAuth 2.1 §4.1, RFC 7636, RFC 8707,
// RFC 9207), received on a loopback callback server.
import * as oauth from 'oauth4webapi';
import { AppError, Code, ExitCode, errorMessage } from '../errors.js';
import { unreachable } from '../http/client.js';
import { clientAuth, type ClientCredentials } from './client-auth.js';
import { withDpopNonceRetry } from './dpop-requests.js';
import { type AuthContext, oauthErrorCode, oauthErrorText, requestOptions } from './oauth.js';
import { describeScopes } from './scopes.js';
import type { CallbackRequest, CallbackServer } from './callback-server.js';

export interface AuthorizeOptions {
  as: oauth.AuthorizationServer;
  /** The client, and how it authenticates at the token endpoint for the code exchange. */
  credentials: ClientCredentials;
  callback: CallbackServer;
  /** Sent on the code exchange (RFC 8707); undefined with --no-resource. */
  resource: string | undefined;
  /** The sign-in's DPoP key (oauth4webapi's handle): the code exchange carries a proof (RFC 9449 §5). */
  dpop?: oauth.DPoPHandle;
  /** How long to wait for the browser to come back. */
  timeoutMs: number;
  /** Shown to the user, and opened in the browser unless the caller decided not to. */
  onAuthorizationUrl(url: string): void | Promise<void>;
  /** What the success page calls the server. */
  serverLabel: string;
  signal?: AbortSignal;
  /**
   * Called (once at most) when the AS answers `invalid_scope`: the request to continue with in the
   * same tab, or undefined to fail.
   */
  onScopeRefused?(err: oauth.AuthorizationResponseError): Promise<PkceRequest | undefined>;
}

/**
 * The authorization request. `resource` undefined: none is sent (`--no-resource`); `params`: the
 * user's extra parameters (`--authorize-param`), which cannot replace the ones below.
 */
export function buildAuthorizationUrl(o: { as: oauth.AuthorizationServer; clientId: string; redirectUri: string; resource: string | undefined; scopes: string[]; state: string; codeChallenge: string; params?: Record<string, string>; dpopJkt?: string }): URL {
  const url = new URL(o.as.authorization_endpoint!);
  const p = url.searchParams;
  for (const [key, value] of Object.entries(o.params ?? {})) p.set(key, value);
  p.set('response_type', 'code');
  p.set('client_id', o.clientId);
  p.set('redirect_uri', o.redirectUri);
  if (o.scopes.length) p.set('scope', o.scopes.join(' '));
  p.set('state', o.state);
  p.set('code_challenge', o.codeChallenge);
  p.set('code_challenge_method', 'S256');
  if (o.resource !== undefined) p.set('resource', o.resource);
  // RFC 9449 §10: the code is bound to the key, so that it cannot be redeemed with another one.
  if (o.dpopJkt !== undefined) p.set('dpop_jkt', o.dpopJkt);
  // OpenID Connect issues a refresh token for offline_access only after explicit consent (OIDC Core §11).
  if (o.scopes.includes('offline_access') && !o.params?.prompt) p.set('prompt', 'consent');
  return url;
}

export interface PkceRequest {
  url: URL;
  state: string;
  codeVerifier: string;
  /** The scopes it asks for (none: no `scope` parameter). */
  scopes: string[];
}

export async function newAuthorizationRequest(o: Omit<Parameters<typeof buildAuthorizationUrl>[0], 'state' | 'codeChallenge'>): Promise<PkceRequest> {
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const codeChallenge = await oauth.calculatePKCECodeChallenge(codeVerifier);
  return { url: buildAuthorizationUrl({ ...o, state, codeChallenge }), state, codeVerifier, scopes: o.scopes };
}

/**
 * Runs the browser round trip and the code exchange. Returns the token endpoint response and the
 * authorization request it answers (the one passed in, or the one `onScopeRefused` made instead).
 */
export async function authorizeInBrowser(ctx: AuthContext, o: AuthorizeOptions, request: PkceRequest): Promise<{ response: oauth.TokenEndpointResponse; request: PkceRequest }> {
  const { client, auth } = clientAuth(o.credentials);
  await o.onAuthorizationUrl(request.url.href);

  const timeout = AbortSignal.timeout(o.timeoutMs);
  const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
  let current = request;
  let retried = false;
  let callback: CallbackRequest;
  let params: URLSearchParams;
  for (;;) {
    try {
      callback = await o.callback.next(signal);
    } catch (err) {
      if (timeout.aborted) {
        throw new AppError(Code.SIGN_IN_TIMEOUT, `no sign-in came back from the browser within ${formatDuration(o.timeoutMs)}`, {
          hint: 'The sign-in link has expired with it: run the command again for a new one (--timeout sets the wait).',
          exitCode: ExitCode.timeout,
        });
      }
      throw err;
    }
    // A request without this sign-in's `state` was not sent by the browser tab we opened (a stale
    // tab, or a forgery by a local process or a web page): answer it and keep waiting for ours.
    const state = callback.params.get('state');
    if (state !== current.state) {
      ctx.logger.warn(`ignored a request to the sign-in callback ${state === null ? 'without "state"' : 'with a "state" this sign-in did not send'}; still waiting for the browser`);
      callback.respond({ ok: false, title: 'Not this sign-in', message: 'This page does not belong to the sign-in appwrite-mcp is waiting for (it may be an old tab). Finish signing in in the tab appwrite-mcp opened.' });
      continue;
    }
    try {
      params = validateCallback(o.as, client, callback.params, current.state);
      break;
    } catch (err) {
      // The AS refused the scope (a length cap, a scope it does not know): once, the same tab goes
      // on to a narrower request (its own PKCE verifier and state) instead of ending on an error.
      if (!retried && o.onScopeRefused && oauthErrorCode(err) === 'invalid_scope') {
        retried = true;
        const next = await o.onScopeRefused(err as oauth.AuthorizationResponseError).catch((cause: unknown) => {
          callback.respond({ ok: false, title: 'Sign-in failed', message: `${capitalize(errorMessage(cause))}. You can close this tab.` });
          throw cause;
        });
        if (next) {
          callback.redirect(next.url.href);
          current = next;
          continue;
        }
      }
      const problem = err instanceof AppError ? err : callbackProblem(err, current);
      callback.respond({ ok: false, title: problem.code === Code.ACCESS_DENIED ? 'Sign-in cancelled' : 'Sign-in failed', message: `${capitalize(problem.message)}. You can close this tab.` });
      throw problem;
    }
  }

  try {
    // A DPoP nonce challenge (RFC 9449 §8) is answered once, with a new proof carrying the nonce.
    const response = await withDpopNonceRetry(async () => {
      let res: Response;
      try {
        res = await oauth.authorizationCodeGrantRequest(o.as, client, auth, params, o.callback.redirectUri, current.codeVerifier, {
          additionalParameters: o.resource === undefined ? {} : { resource: o.resource },
          ...requestOptions(ctx, o.as.token_endpoint),
          DPoP: o.dpop,
        });
      } catch (err) {
        throw unreachable(o.as.token_endpoint!, err);
      }
      return oauth.processAuthorizationCodeResponse(o.as, client, res);
    }).catch((err: unknown) => {
      if (err instanceof AppError) throw err;
      throw new AppError(Code.TOKEN_EXCHANGE_FAILED, `the token exchange failed: ${oauthErrorText(err)}`, { cause: err });
    });
    callback.respond({ ok: true, title: 'Signed in', message: `appwrite-mcp is signed in to ${o.serverLabel}. You can close this tab and go back to your MCP client.` });
    return { response, request: current };
  } catch (err) {
    callback.respond({ ok: false, title: 'Sign-in failed', message: `${capitalize((err as Error).message)}. You can close this tab.` });
    throw err;
  }
}

/**
 * Checks the authorization response beyond `state` (already matched): RFC 9207 `iss` (required
 * when the AS advertises it, compared whenever present), then an `error` from the AS.
 */
function validateCallback(as: oauth.AuthorizationServer, client: oauth.Client, params: URLSearchParams, state: string): URLSearchParams {
  const iss = params.get('iss');
  if (iss !== null && iss !== as.issuer) {
    throw new AppError(Code.CALLBACK_REJECTED, `the browser came back with "iss" ${JSON.stringify(iss)}, not the authorization server this sign-in used (${as.issuer}); refusing it (RFC 9207 mix-up protection)`);
  }
  if (iss === null && as.authorization_response_iss_parameter_supported === true) {
    throw new AppError(Code.CALLBACK_REJECTED, `the browser came back without "iss", which ${as.issuer} promises to send (RFC 9207); refusing it`);
  }
  return oauth.validateAuthResponse(as, client, params, state);
}

function callbackProblem(err: unknown, request: PkceRequest): AppError {
  if (err instanceof oauth.AuthorizationResponseError) {
    if (err.error === 'access_denied') {
      return new AppError(Code.ACCESS_DENIED, 'access was denied at the authorization server', { hint: 'Run the command again and choose Allow to sign in.', exitCode: ExitCode.denied, cause: err });
    }
    if (err.error === 'invalid_scope') {
      return new AppError(Code.AUTHORIZATION_REFUSED, `the authorization server refused the scope asked for (${describeScopes(request.scopes)}): ${oauthErrorText(err)}`, { cause: err });
    }
    return new AppError(Code.AUTHORIZATION_REFUSED, `the authorization server refused: ${oauthErrorText(err)}`, { cause: err });
  }
  return new AppError(Code.CALLBACK_REJECTED, `the authorization response is invalid: ${(err as Error).message}`, { cause: err });
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  return `${Math.round(s / 60)} min`;
}
