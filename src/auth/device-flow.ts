// The device authorization grant (RFC 8628) for `login --device-code`, where no browser can come
// back to this machine (SSH, containers, a server without a display): the user opens the AS's
// verification page on any device, enters the code shown here, signs in and consents, while this
// process polls the token endpoint as §3.4–3.5 say. Discovery, scope choice, client authentication
// and the store are the browser sign-in's; the sign-in is kept the same way (refresh token
// included), so the proxy then uses it as any other.
import * as oauth from 'oauth4webapi';
import type { AuthChallenge } from '../authorization.js';
import { AppError, Code, ExitCode, errorMessage } from '../errors.js';
import { unreachable } from '../http/client.js';
import { parseSecureUrl } from '../net.js';
import type { Target } from '../store/types.js';
import { loginCommand } from '../target.js';
import { formatDuration } from './authorize.js';
import { signInKey, type DpopMode } from './dpop-binding.js';
import { systemClock } from './clock.js';
import { clientAuth, type ClientCredentials } from './client-auth.js';
import { type AuthContext, oauthErrorCode, oauthErrorText, requestOptions } from './oauth.js';
import { DEVICE_GRANT_TYPES, metadataDocumentClient, preRegisteredClient, registerClient, type RegisteredClient } from './registration.js';
import { checkIssuerPin } from './pinning.js';
import { chooseScopes, describeScopes, narrowedScopes } from './scopes.js';
import { discoverForSignIn, saveGranted, type ClientChoice, type SignInDeps, type SignInResult, type SignInStep } from './sign-in.js';

export interface DeviceSignInOptions extends ClientChoice {
  target: Target;
  challenge?: AuthChallenge;
  /** Scopes to ask for instead of the server's (`--scope`): asked for as given, never narrowed. */
  scopes?: string[];
  /** `--resource` (another RFC 8707 resource than the server's metadata names) or false (`--no-resource`: none). */
  resource?: string | false;
  /** `--authorize-param`: extra parameters for the device authorization request (protected ones were refused earlier). */
  authorizeParams?: Record<string, string>;
  /** `--dpop` / `--no-dpop` (auth/dpop-binding.ts). */
  dpop?: DpopMode;
  /** `--timeout`: the longest wait for the user; the code's own `expires_in` bounds it too. */
  timeoutMs?: number;
  /** Opens `verification_uri_complete` in a browser, before the code is shown (the caller decides whether). */
  openUrl?(url: string): void | Promise<void>;
  onStep?(step: SignInStep): void;
  signal?: AbortSignal;
}

/**
 * RFC 8628 §3.5: "If no value is provided, clients MUST use 5 as the default." It is also the floor:
 * an AS that says to poll faster (0.001 s) is polled every 5 s; one that says slower, at its pace.
 */
const DEFAULT_INTERVAL_S = 5;
/** §3.5: on `slow_down`, the interval "MUST be increased by 5 seconds for this and all subsequent requests". */
const SLOW_DOWN_STEP_S = 5;
/** Longest wait between polls when the token endpoint does not answer (exponential backoff, §3.5). */
const MAX_BACKOFF_MS = 60_000;

export async function deviceSignIn(deps: SignInDeps, o: DeviceSignInOptions): Promise<SignInResult> {
  const { ctx, signIns } = deps;
  o.onStep?.({ kind: 'discovering', url: o.target.url });
  const found = await discoverForSignIn(ctx, o.target, o.challenge);
  const { as } = found;
  await checkIssuerPin(signIns.registrations, o, as, o.target.url);
  if (!as.device_authorization_endpoint) {
    throw new AppError(Code.DEVICE_FLOW_UNSUPPORTED, `the authorization server "${as.issuer}" does not offer the device authorization grant (its metadata has no "device_authorization_endpoint")`, {
      hint: `Sign in with the browser instead; if that browser cannot reach this machine (SSH, WSL, a container), run \`${loginCommand(o.target)} --no-browser\`, open the URL it prints anywhere, and paste back the address the browser ends on.`,
    });
  }
  const scopes = chooseScopes({ requested: o.scopes, challengeScope: found.challengeScope, resourceScopes: found.scopesSupported, asScopes: as.scopes_supported });
  const explicitScopes = Boolean(o.scopes?.length);
  const resource = o.resource === false ? undefined : o.resource ?? found.resource;
  if (o.resource === false) ctx.logger.warn(`--no-resource: the token will not be bound to ${found.resource} (RFC 8707): any server that trusts ${as.issuer} may accept it`);
  // Chosen now (a keychain probe can take seconds) so nothing stands between the tokens and the save.
  const store = await signIns.chooseStore();
  const dpop = await signInKey(o.dpop, as, found.takesDpop, ctx.logger);

  let { registered, cached } = await chooseClient(deps, o, as, found.resource);
  let asking = scopes;
  let narrowed = false;
  let authorization: oauth.DeviceAuthorizationResponse;
  for (;;) {
    const answer = await requestDeviceCode(ctx, as, registered, resource, asking, o.authorizeParams);
    if ('response' in answer) {
      authorization = answer.response;
      break;
    }
    const { error } = answer;
    const code = oauthErrorCode(error);
    // A cached registration the AS forgot (a restart): register anew, once.
    if (cached && (code === 'invalid_client' || code === 'unauthorized_client')) {
      ctx.logger.debug(`${as.issuer} refused the cached client ${registered.client.clientId} (${oauthErrorText(error)}); registering a new one`);
      await signIns.registrations.forget({ issuer: as.issuer, resource: found.resource, purpose: 'device' }, registered.client.clientId).catch((err) => ctx.logger.debug(`could not forget the refused client: ${errorMessage(err)}`));
      registered = await register(deps, o, as, found.resource);
      cached = false;
      continue;
    }
    // The server's scope refused (a length cap, a scope it does not know): asked once more, narrower, as the browser sign-in does.
    if (code === 'invalid_scope' && !explicitScopes && !narrowed) {
      narrowed = true;
      const next = narrowedScopes(asking, as.scopes_supported);
      if (next) {
        ctx.logger.info(`the authorization server refused the requested scope (${oauthErrorText(error)}): ${describeScopes(asking)}; ${next.length ? `asking for "${next.join(' ')}" instead` : "asking with no scope instead (the authorization server's default)"}`);
        asking = next;
        continue;
      }
    }
    throw deviceAuthorizationError(as, registered, asking, error, explicitScopes);
  }

  const shown = checkDeviceAuthorization(as, authorization);
  const startedAt = (ctx.clock ?? systemClock).now();
  const expiresAt = startedAt + authorization.expires_in * 1000;
  const deadline = o.timeoutMs === undefined ? expiresAt : Math.min(expiresAt, startedAt + o.timeoutMs);
  // Opened first, so that what is printed can say whether a browser opened.
  if (shown.verificationUriComplete) await o.openUrl?.(shown.verificationUriComplete);
  o.onStep?.({ kind: 'device-code', ...shown, shownAt: startedAt, expiresAt, deadline });

  const response = await pollForTokens(ctx, as, registered, resource, authorization, { startedAt, expiresAt, deadline, userCode: shown.userCode, target: o.target, signal: o.signal, dpop: dpop?.handle });
  o.onStep?.({ kind: 'exchanging' });
  return saveGranted(deps, { target: o.target, found, resource, registered, response, scopes: asking, store, onStep: o.onStep, dpop, dpopMode: o.dpop });
}

/**
 * The client, in the MCP spec's order as for the browser: pre-registered (`--client-id`, which
 * must be allowed the device grant) → a Client ID Metadata Document the AS takes (its document
 * must list the device grant) → the device registration cached for this AS → a new registration
 * for the device grant. A device registration is cached apart from the browser's, which has a
 * redirect and no device grant.
 */
async function chooseClient(deps: SignInDeps, o: DeviceSignInOptions, as: oauth.AuthorizationServer, resource: string): Promise<{ registered: RegisteredClient; cached: boolean }> {
  if (o.clientId) return { registered: preRegisteredClient(as, o.clientId, o.clientSecret), cached: false };
  if (o.clientMetadataUrl && as.client_id_metadata_document_supported === true) return { registered: metadataDocumentClient(as, o.clientMetadataUrl), cached: false };
  const cached = await deps.signIns.registrations.cached({ issuer: as.issuer, resource, purpose: 'device' });
  if (cached) return { registered: cached, cached: true };
  return { registered: await register(deps, o, as, resource), cached: false };
}

async function register(deps: SignInDeps, o: DeviceSignInOptions, as: oauth.AuthorizationServer, resource: string): Promise<RegisteredClient> {
  o.onStep?.({ kind: 'registering', issuer: as.issuer });
  const fresh = await registerClient(deps.ctx, as, undefined, DEVICE_GRANT_TYPES);
  await deps.signIns.registrations.save({ issuer: as.issuer, resource, purpose: 'device' }, fresh.client, fresh.secret);
  return fresh;
}

/** RFC 8628 §3.1–3.2: the device authorization request; an OAuth error answer is handed back, not thrown. */
async function requestDeviceCode(
  ctx: AuthContext,
  as: oauth.AuthorizationServer,
  registered: RegisteredClient,
  resource: string | undefined,
  scopes: string[],
  extra: Record<string, string> | undefined,
): Promise<{ response: oauth.DeviceAuthorizationResponse } | { error: unknown }> {
  const endpoint = as.device_authorization_endpoint!;
  const { client, auth } = clientAuth(credentialsOf(registered));
  const parameters = new URLSearchParams(extra);
  if (resource !== undefined) parameters.set('resource', resource);
  if (scopes.length) parameters.set('scope', scopes.join(' '));
  ctx.logger.debug(`device authorization request to ${endpoint} as client ${registered.client.clientId} (scope ${describeScopes(scopes)})`);
  let res: Response;
  try {
    res = await oauth.deviceAuthorizationRequest(as, client, auth, parameters, requestOptions(ctx, endpoint));
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw unreachable(endpoint, err);
  }
  try {
    return { response: await oauth.processDeviceAuthorizationResponse(as, client, res) };
  } catch (err) {
    if (err instanceof oauth.ResponseBodyError) return { error: err };
    throw new AppError(Code.INVALID_RESPONSE, `the device authorization endpoint ${endpoint} answered something else than a device code (HTTP ${res.status}): ${oauthErrorText(err)}`, { cause: err });
  }
}

function deviceAuthorizationError(as: oauth.AuthorizationServer, registered: RegisteredClient, scopes: string[], error: unknown, explicitScopes: boolean): AppError {
  const code = oauthErrorCode(error);
  const detail = oauthErrorText(error);
  if (code === 'invalid_scope') {
    return new AppError(Code.SCOPE_REFUSED, `the authorization server refused the scope asked for (${describeScopes(scopes)}): ${detail}`, {
      hint: explicitScopes
        ? 'Scopes given with --scope are asked for as they are, never narrowed: ask for fewer or other scopes, or leave out --scope to ask for what the server asks for.'
        : 'The narrower request was refused too: pass the scopes this authorization server takes with --scope.',
      cause: error,
    });
  }
  if (code === 'unauthorized_client' || code === 'invalid_client') {
    return new AppError(Code.AUTHORIZATION_REFUSED, `${as.issuer} does not let client ${registered.client.clientId} use the device authorization grant (${detail})`, {
      hint: registered.client.method === 'dcr'
        ? undefined
        : 'The client must be registered with the grant type urn:ietf:params:oauth:grant-type:device_code; leave out --client-id to let appwrite-mcp register one.',
      cause: error,
    });
  }
  return new AppError(Code.AUTHORIZATION_REFUSED, `the authorization server refused the device authorization request: ${detail}`, { cause: error });
}

/**
 * What the user is shown, checked: the URLs they open follow the rule of every URL appwrite-mcp
 * opens (https, or http on a loopback address), and the code is printable text of sane length
 * (it is written to a terminal).
 */
function checkDeviceAuthorization(as: oauth.AuthorizationServer, a: oauth.DeviceAuthorizationResponse): { userCode: string; verificationUri: string; verificationUriComplete?: string } {
  const where = `the device authorization response of ${as.issuer}`;
  if (a.user_code.length === 0 || a.user_code.length > 64 || /\p{C}/u.test(a.user_code)) {
    throw new AppError(Code.INVALID_RESPONSE, `${where} has a "user_code" that cannot be shown (${a.user_code.length} characters, or control characters)`, { cause: { user_code_length: a.user_code.length } });
  }
  if (!(a.expires_in > 0)) throw new AppError(Code.INVALID_RESPONSE, `${where} has "expires_in" ${a.expires_in}: the code would expire at once`);
  const verificationUri = parseSecureUrl(a.verification_uri, `"verification_uri" in ${where}`, Code.INVALID_RESPONSE).href;
  const verificationUriComplete = a.verification_uri_complete === undefined
    ? undefined
    : parseSecureUrl(a.verification_uri_complete, `"verification_uri_complete" in ${where}`, Code.INVALID_RESPONSE).href;
  return { userCode: a.user_code, verificationUri, ...(verificationUriComplete ? { verificationUriComplete } : {}) };
}

interface PollBounds {
  startedAt: number;
  /** When the code expires (its `expires_in`). */
  expiresAt: number;
  /** When polling ends: the code's expiry, or `--timeout` when that comes first. */
  deadline: number;
  userCode: string;
  target: Target;
  signal?: AbortSignal;
  /** The sign-in's DPoP key: every poll carries a proof (RFC 9449 §5). */
  dpop?: oauth.DPoPHandle;
}

/**
 * RFC 8628 §3.4–3.5: the token request with the device code, every `interval` seconds (5 when the
 * AS names none); `authorization_pending` → again; `slow_down` → again, 5 s further apart from now
 * on; `access_denied` and `expired_token` end it. A request that gets no answer (or a 5xx, 429)
 * backs off exponentially and polling goes on. Never past the deadline: a poll that would start
 * after it is not sent. A DPoP nonce challenge (RFC 9449 §8) is answered at once, by the same poll
 * with a new proof: it is not a poll of its own.
 */
async function pollForTokens(ctx: AuthContext, as: oauth.AuthorizationServer, registered: RegisteredClient, resource: string | undefined, authorization: oauth.DeviceAuthorizationResponse, bounds: PollBounds): Promise<oauth.TokenEndpointResponse> {
  const endpoint = as.token_endpoint!;
  const { client, auth } = clientAuth(credentialsOf(registered));
  const clock = ctx.clock ?? systemClock;
  let intervalMs = pollIntervalMs(authorization.interval);
  let backoffMs = 0;
  let warned = false;
  let nonceRetry = false;
  const trouble = (what: string) => {
    backoffMs = Math.min(Math.max(backoffMs * 2, intervalMs), MAX_BACKOFF_MS);
    const line = `${what}; asking again in ${Math.round((intervalMs + backoffMs) / 1000)} s (until the code expires)`;
    if (warned) ctx.logger.debug(line);
    else ctx.logger.warn(line);
    warned = true;
  };
  for (;;) {
    const wait = intervalMs + backoffMs;
    const now = clock.now();
    if (!nonceRetry && now + wait > bounds.deadline) {
      await clock.sleep(bounds.deadline - now, bounds.signal);
      throw pollingEnded(bounds);
    }
    if (!nonceRetry) await clock.sleep(wait, bounds.signal);
    const retried = nonceRetry;
    nonceRetry = false;
    let res: Response;
    try {
      res = await oauth.deviceCodeGrantRequest(as, client, auth, authorization.device_code, { additionalParameters: resource === undefined ? {} : { resource }, ...requestOptions(ctx, endpoint), DPoP: bounds.dpop });
    } catch (err) {
      trouble(`the token endpoint did not answer (${errorMessage(err instanceof AppError ? err : unreachable(endpoint, err))})`);
      continue;
    }
    if (res.status >= 500 || res.status === 429) {
      await res.body?.cancel().catch(() => {});
      trouble(`the token endpoint ${endpoint} answered HTTP ${res.status}`);
      continue;
    }
    try {
      return await oauth.processDeviceCodeResponse(as, client, res);
    } catch (err) {
      backoffMs = 0;
      warned = false;
      if (bounds.dpop && !retried && oauth.isDPoPNonceError(err)) {
        nonceRetry = true;
        continue;
      }
      switch (oauthErrorCode(err)) {
        case 'authorization_pending':
          continue;
        case 'slow_down':
          intervalMs += SLOW_DOWN_STEP_S * 1000;
          ctx.logger.debug(`the authorization server asked to slow down: polling every ${intervalMs / 1000} s from now on`);
          continue;
        case 'access_denied':
          throw new AppError(Code.ACCESS_DENIED, 'access was denied at the authorization server', {
            hint: `Run \`${loginCommand(bounds.target)} --device-code\` again and choose Allow to sign in.`, exitCode: ExitCode.denied, cause: err,
          });
        case 'expired_token':
          throw codeExpired(bounds);
        default:
          throw new AppError(Code.TOKEN_EXCHANGE_FAILED, `the token endpoint ${endpoint} refused the device code: ${oauthErrorText(err)}`, { cause: err });
      }
    }
  }
}

/** How far apart polls go: the AS's `interval`, never under the 5 s default. */
export function pollIntervalMs(interval: number | undefined): number {
  return Math.max(interval ?? DEFAULT_INTERVAL_S, DEFAULT_INTERVAL_S) * 1000;
}

/** The wait ran out without an answer: the code's lifetime (it expired), or `--timeout`. */
function pollingEnded(b: PollBounds): AppError {
  if (b.deadline >= b.expiresAt) return codeExpired(b);
  return new AppError(Code.SIGN_IN_TIMEOUT, `the sign-in with the code ${b.userCode} was not approved within ${formatDuration(b.deadline - b.startedAt)}`, {
    hint: `Run \`${loginCommand(b.target)} --device-code\` again for a new code (--timeout sets the wait).`,
    exitCode: ExitCode.timeout,
  });
}

function codeExpired(b: PollBounds): AppError {
  return new AppError(Code.DEVICE_CODE_EXPIRED, `the code ${b.userCode} expired before the sign-in was approved`, {
    hint: `Run \`${loginCommand(b.target)} --device-code\` again for a new code.`,
    exitCode: ExitCode.timeout,
  });
}

function credentialsOf(registered: RegisteredClient): ClientCredentials {
  return { client: registered.client, secret: registered.secret };
}
