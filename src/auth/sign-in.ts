// A whole browser sign-in for one MCP server: discovery → client → authorization → kept in the
// sign-ins store. Used by `appwrite-mcp login` and, when the server asks for a token and none is
// usable, by the proxy (which runs it under a cross-process lock so that one tab opens).
import * as oauth from 'oauth4webapi';
import type { AuthChallenge } from '../authorization.js';
import { AppError, Code, errorMessage, isAppError } from '../errors.js';
import type { SecretStore } from '../store/secrets.js';
import type { RegistrationKey, SignIns } from '../store/sign-ins.js';
import type { SignIn, Target } from '../store/types.js';
import { authorizeInBrowser, newAuthorizationRequest, type PkceRequest } from './authorize.js';
import { startCallbackServer, type CallbackAddress, type CallbackServer } from './callback-server.js';
import { keptBinding, signInKey, type DpopMode, type SignInKey } from './dpop-binding.js';
import type { DpopKey } from './dpop.js';
import { assertS256, discover, probeServer, type Discovered } from './discovery.js';
import { type AuthContext, oauthErrorCode, oauthErrorText } from './oauth.js';
import { checkAuthorizationRequest, metadataDocumentClient, preRegisteredClient, registerClient, registeredPort, type RegisteredClient } from './registration.js';
import { checkIssuerPin, recordIssuerPin } from './pinning.js';
import { chooseScopes, describeScopes, narrowedScopes } from './scopes.js';
import { accountFromClaims, fetchUserinfo, tokensFrom } from './tokens.js';

export interface SignInDeps {
  ctx: AuthContext;
  signIns: SignIns;
}

export type SignInStep =
  | { kind: 'discovering'; url: string }
  | { kind: 'registering'; issuer: string }
  | { kind: 'waiting'; authorizationUrl: string; redirectUri: string }
  /** `login --device-code` (RFC 8628 §3.3): what the user opens, the code to enter there, until when. */
  | { kind: 'device-code'; userCode: string; verificationUri: string; verificationUriComplete?: string; shownAt: number; expiresAt: number; deadline: number }
  | { kind: 'exchanging' }
  | { kind: 'saved'; where: string };

/** Which client to be: `--client-id` (+ APPWRITE_MCP_CLIENT_SECRET), `--client-metadata-url`, else registered. */
export interface ClientChoice {
  clientId?: string;
  clientSecret?: string;
  clientMetadataUrl?: string;
  /** `--issuer`: the authorization server a pre-registered client belongs to (auth/pinning.ts). */
  issuer?: string;
  /** `--dpop` / `--no-dpop`: bind the tokens to a DPoP key always, never, or when both servers take it (auth/dpop-binding.ts). */
  dpop?: DpopMode;
}

export interface SignInOptions extends ClientChoice {
  target: Target;
  /** `--resource` (another RFC 8707 resource than the server's metadata names) or false (`--no-resource`: none). */
  resource?: string | false;
  /** `--authorize-param key=value`: extra authorization request parameters (e.g. prompt=login). */
  authorizeParams?: Record<string, string>;
  /** `--callback-host/-port/-path`: where the loopback redirect is received. */
  callback?: CallbackAddress;
  /** The server's 401 challenge, when a request already got one (no probe is sent then). */
  challenge?: AuthChallenge;
  /** Scopes to ask for instead of the server's (`--scope`, or the step-up union). */
  scopes?: string[];
  timeoutMs: number;
  /** Opens the authorization URL in a browser (the caller prints it as well). */
  openUrl(url: string): void | Promise<void>;
  onStep?(step: SignInStep): void;
  signal?: AbortSignal;
  /**
   * Where the user can paste the address the browser ended on, when the browser cannot reach this
   * machine's loopback: starts reading, hands each pasted line over, returns a function that stops.
   */
  pasted?(accept: (line: string) => void): () => void;
}

/**
 * A completed sign-in, saved: its record and its tokens (where the secrets went:
 * `signIns.describeStore(record.store)`), and the DPoP key they are bound to, if they are.
 */
export type SignInResult = Required<SignIn> & { dpopKey?: DpopKey };

/**
 * Discovery for a sign-in: with the challenge of a 401 the proxy got, or after a probe. A server
 * that answers the probe without asking for a token needs no sign-in (AppError NO_SIGN_IN_NEEDED).
 */
export async function discoverForSignIn(ctx: AuthContext, target: Target, challenge: AuthChallenge | undefined): Promise<Discovered> {
  if (!challenge) {
    const probe = await probeServer(ctx, target.url, target.headers);
    if (!probe.requiresAuth) {
      throw new AppError(Code.NO_SIGN_IN_NEEDED, `${target.url} answered without asking for a token (HTTP ${probe.status}): it needs no sign-in, and the proxy connects to it as is`);
    }
    challenge = probe.challenge;
  }
  return discover(ctx, target.url, challenge);
}

export async function signIn(deps: SignInDeps, o: SignInOptions): Promise<SignInResult> {
  const { ctx, signIns } = deps;
  const url = o.target.url;
  o.onStep?.({ kind: 'discovering', url });
  const found = await discoverForSignIn(ctx, o.target, o.challenge);
  const { as } = found;
  assertS256(as);
  await checkIssuerPin(signIns.registrations, o, as, url);
  const scopes = chooseScopes({ requested: o.scopes, challengeScope: found.challengeScope, resourceScopes: found.scopesSupported, asScopes: as.scopes_supported });
  // Scopes the caller chose (--scope, the step-up union) are asked for as they are; the server's may be narrowed once.
  const explicitScopes = Boolean(o.scopes?.length);
  // Chosen now (a keychain probe can take seconds) so nothing stands between the code exchange and the save.
  const store = await signIns.chooseStore();
  const dpop = await signInKey(o.dpop, as, found.takesDpop, ctx.logger);

  const registration: RegistrationKey = { issuer: as.issuer, resource: found.resource };
  const cached = o.clientId || (o.clientMetadataUrl && as.client_id_metadata_document_supported === true) ? undefined : await signIns.registrations.cached(registration);
  const resource = o.resource === false ? undefined : o.resource ?? found.resource;
  if (o.resource === false) ctx.logger.warn(`--no-resource: the token will not be bound to ${found.resource} (RFC 8707): any server that trusts ${as.issuer} may accept it`);
  const callback = await startCallbackServer({ preferredPort: registeredPort(cached?.client), ...o.callback });
  const stopReading = o.pasted?.((line) => acceptPasted(ctx, callback, line));
  try {
    const authorizationRequest = (registered: RegisteredClient, asking = scopes) =>
      newAuthorizationRequest({ as, clientId: registered.client.clientId, redirectUri: callback.redirectUri, resource, scopes: asking, params: o.authorizeParams, dpopJkt: dpop?.key.thumbprint });
    const chosen = await chooseClient(deps, o, { as, registration }, cached, callback, authorizationRequest);
    const { registered } = chosen;
    let request = chosen.request;

    // An AS that refuses the server's scope (Appwrite's whole catalog over a length cap, a scope it
    // does not know) is asked once more, for its umbrella scopes or else for its default.
    let narrowed = false;
    const narrow = async (refused: PkceRequest, reason: string): Promise<PkceRequest | undefined> => {
      if (explicitScopes || narrowed) return undefined;
      narrowed = true;
      const next = narrowedScopes(refused.scopes, as.scopes_supported);
      if (!next) return undefined;
      ctx.logger.info(`the authorization server refused the requested scope (${reason}): ${describeScopes(refused.scopes)}; ${next.length ? `asking for "${next.join(' ')}" instead` : "asking with no scope instead (the authorization server's default)"}`);
      return authorizationRequest(registered, next);
    };
    if (chosen.scopeRefused) {
      // Seen by the check of a cached registration, before any browser opened.
      const next = await narrow(request, chosen.scopeRefused);
      if (!next) throw scopeRefusedError(request, chosen.scopeRefused, explicitScopes);
      request = next;
    }

    let authorized: Awaited<ReturnType<typeof authorizeInBrowser>>;
    try {
      authorized = await authorizeInBrowser(ctx, {
        as, credentials: { client: registered.client, secret: registered.secret }, callback, resource, timeoutMs: o.timeoutMs, serverLabel: url, signal: o.signal, dpop: dpop?.handle,
        onAuthorizationUrl: async (authorizationUrl) => {
          // Opened first, so that what is printed can say whether a browser opened.
          await o.openUrl(authorizationUrl);
          o.onStep?.({ kind: 'waiting', authorizationUrl, redirectUri: callback.redirectUri });
        },
        onScopeRefused: (err) => narrow(request, oauthErrorText(err)),
      }, request);
    } catch (err) {
      if (isAppError(err, Code.AUTHORIZATION_REFUSED) && oauthErrorCode(err.cause) === 'invalid_scope') {
        throw new AppError(err.code, err.message, { hint: scopeRefusedHint(explicitScopes), cause: err.cause });
      }
      throw err;
    }
    const { response } = authorized;
    o.onStep?.({ kind: 'exchanging' });

    return await saveGranted(deps, { target: o.target, found, resource, registered, response, scopes: authorized.request.scopes, store, onStep: o.onStep, dpop, dpopMode: o.dpop });
  } finally {
    stopReading?.();
    await callback.close();
  }
}

/**
 * A pasted line: the whole address of the callback (with its `state`, so every check applies), not
 * the code alone, which would skip the `state` and `iss` checks.
 */
function acceptPasted(ctx: AuthContext, callback: CallbackServer, line: string): void {
  const text = line.trim();
  if (!text) return;
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    // not an address
  }
  if (!url || (!url.searchParams.has('code') && !url.searchParams.has('error'))) {
    ctx.logger.warn(`that is not the address of the sign-in callback: paste the whole address your browser ended on (it starts with ${callback.redirectUri}?code=); the code alone is not enough, the address also carries the proof that it belongs to this sign-in`);
    return;
  }
  const tell = (page: { ok: boolean; title: string; message: string }) => (page.ok ? ctx.logger.info(`${page.title}: ${page.message}`) : ctx.logger.warn(`${page.title}: ${page.message}`));
  callback.deliver({ params: url.searchParams, respond: tell, redirect: (to) => ctx.logger.warn(`the authorization server wants another round: open ${to} and paste the address it ends on`) });
}

function scopeRefusedHint(explicit: boolean): string {
  return explicit
    ? 'Scopes given with --scope are asked for as they are, never narrowed: ask for fewer or other scopes, or leave out --scope to ask for what the server asks for.'
    : 'The narrower request was refused too: pass the scopes this authorization server takes with --scope.';
}

function scopeRefusedError(request: PkceRequest, detail: string, explicit: boolean): AppError {
  return new AppError(Code.SCOPE_REFUSED, `the authorization server refused the scope asked for (${describeScopes(request.scopes)}): ${detail}`, { hint: scopeRefusedHint(explicit) });
}

/**
 * The client for this sign-in, in the MCP spec's order: pre-registered → Client ID Metadata
 * Document (when the AS supports them) → the cached registration → a new registration. A cached
 * registration is checked first (unless this process made it) and replaced once when the AS no
 * longer takes it, rather than opening a tab that would be stuck on the AS's error page.
 */
async function chooseClient(
  deps: SignInDeps,
  o: SignInOptions,
  { as, registration }: { as: oauth.AuthorizationServer; registration: RegistrationKey },
  cached: RegisteredClient | undefined,
  callback: CallbackServer,
  authorizationRequest: (registered: RegisteredClient) => Promise<PkceRequest>,
): Promise<{ registered: RegisteredClient; request: PkceRequest; scopeRefused?: string }> {
  const { ctx, signIns } = deps;
  if (o.clientId) {
    const registered = preRegisteredClient(as, o.clientId, o.clientSecret);
    return { registered, request: await authorizationRequest(registered) };
  }
  if (o.clientMetadataUrl && as.client_id_metadata_document_supported === true) {
    const registered = metadataDocumentClient(as, o.clientMetadataUrl);
    return { registered, request: await authorizationRequest(registered) };
  }
  const register = async () => {
    o.onStep?.({ kind: 'registering', issuer: as.issuer });
    const fresh = await registerClient(ctx, as, callback.redirectUri);
    await signIns.registrations.save(registration, fresh.client, fresh.secret);
    return fresh;
  };
  if (!cached) {
    const registered = await register();
    return { registered, request: await authorizationRequest(registered) };
  }
  let request = await authorizationRequest(cached);
  if (signIns.registrations.madeHere(cached.client.clientId)) return { registered: cached, request };
  const check = await checkAuthorizationRequest(ctx, request.url);
  if (check.ok) return { registered: cached, request };
  // It took the client but not the scope: the caller narrows the scope (or fails), no new registration.
  if (check.scopeRefused) return { registered: cached, request, scopeRefused: check.status >= 400 ? `HTTP ${check.status}: ${check.detail}` : check.detail };
  // The AS forgot the cached client (a restart), or will not take this redirect port: register anew, once.
  ctx.logger.debug(`${as.issuer} refused the cached client ${cached.client.clientId} (HTTP ${check.status}: ${check.detail}); registering a new one`);
  await signIns.registrations.forget(registration, cached.client.clientId).catch((err) => ctx.logger.debug(`could not forget the refused client: ${errorMessage(err)}`));
  const registered = await register();
  request = await authorizationRequest(registered);
  return { registered, request };
}

/**
 * Saves what a grant that signed a person in returned (browser or device code). Saved before anything
 * else is awaited; only then, when the ID token did not say who this is, userinfo.
 */
export async function saveGranted(
  deps: SignInDeps,
  o: {
    target: Target; found: Discovered; resource: string | undefined; registered: RegisteredClient;
    response: oauth.TokenEndpointResponse; scopes: string[]; store: SecretStore; onStep?(step: SignInStep): void;
    /** The key the tokens were asked for with (their binding is kept with them), and how it was chosen. */
    dpop?: SignInKey; dpopMode?: DpopMode;
  },
): Promise<SignInResult> {
  const { ctx, signIns } = deps;
  const { as } = o.found;
  const tokens = tokensFrom(o.response, { scopes: o.scopes });
  const dpop = o.dpop && keptBinding(o.dpop, o.response, o.dpopMode, as.issuer);
  const claims = accountFromClaims(oauth.getValidatedIdTokenClaims(o.response) as Record<string, unknown> | undefined);
  let record = await signIns.records.save({ target: o.target, resource: o.resource ?? o.found.resource, noResource: o.resource === undefined, as, client: o.registered.client, clientSecret: o.registered.secret, account: claims, tokens, dpop }, o.store);
  if (o.registered.client.method === 'preregistered') await recordIssuerPin(signIns.registrations, { clientId: o.registered.client.clientId }, as);
  if (!claims) {
    const account = await fetchUserinfo(ctx, as, o.registered.client.clientId, tokens.accessToken, tokens.tokenType === 'dpop' ? o.dpop?.handle : undefined);
    if (account) record = await signIns.records.saveAccount(record, account);
  }
  o.onStep?.({ kind: 'saved', where: o.store.describe() });
  return { record, tokens, ...(o.dpop ? { dpopKey: o.dpop.key } : {}) };
}

export type { RegisteredClient };
