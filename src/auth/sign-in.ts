// A whole browser sign-in for one MCP server: discovery → registration → authorization → kept in
// the sign-ins store. Used by `appwrite-mcp login` and, when no usable sign-in exists, by the proxy
// (which runs it under a cross-process lock so that however many copies ask, one tab opens).
import * as oauth from 'oauth4webapi';
import type { BearerChallenge } from '../authorization.js';
import { AppError, Code } from '../errors.js';
import type { SignIns } from '../store/sign-ins.js';
import type { ClientRecord, SignInRecord, Target, Tokens } from '../store/types.js';
import { authorizeInBrowser, newAuthorizationRequest } from './authorize.js';
import { startCallbackServer } from './callback-server.js';
import { assertS256, discoverAuthorizationServer, discoverResource, probeServer } from './discovery.js';
import type { AuthContext } from './oauth.js';
import { clientStillAccepted, preRegisteredClient, registerClient, registeredPort } from './registration.js';
import { chooseScopes } from './scopes.js';
import { accountFromClaims, fetchUserinfo, tokensFrom } from './tokens.js';

export interface SignInDeps {
  ctx: AuthContext;
  signIns: SignIns;
}

export type SignInStep =
  | { kind: 'discovering'; url: string }
  | { kind: 'registering'; issuer: string }
  | { kind: 'waiting'; authorizationUrl: string; redirectUri: string }
  | { kind: 'exchanging' }
  | { kind: 'saved'; where: string };

export interface SignInOptions {
  target: Target;
  /** The server's 401 challenge, when a request already got one (no probe is sent then). */
  challenge?: BearerChallenge;
  /** Scopes to ask for instead of the server's (`--scope`, or the step-up union). */
  scopes?: string[];
  clientId?: string;
  timeoutMs: number;
  /** Opens the authorization URL in a browser (the caller prints it as well). */
  openUrl(url: string): void | Promise<void>;
  onStep?(step: SignInStep): void;
  signal?: AbortSignal;
}

export interface SignInResult {
  record: SignInRecord;
  tokens: Tokens;
  /** Where the secrets went, for the user. */
  where: string;
}

export async function signIn(deps: SignInDeps, o: SignInOptions): Promise<SignInResult> {
  const { ctx, signIns } = deps;
  const url = o.target.url;
  o.onStep?.({ kind: 'discovering', url });
  let challenge = o.challenge;
  if (!challenge) {
    const probe = await probeServer(ctx, url, o.target.headers);
    if (!probe.requiresAuth) {
      throw new AppError(Code.NO_SIGN_IN_NEEDED, `${url} answered without asking for a token (HTTP ${probe.status}): it needs no sign-in, and the proxy connects to it as is`);
    }
    challenge = probe.challenge;
  }
  const resource = await discoverResource(ctx, url, challenge);
  const issuer = resource.authorizationServers[0]!;
  const as = await discoverAuthorizationServer(ctx, issuer);
  assertS256(as);
  const scopes = chooseScopes({
    requested: o.scopes,
    challengeScope: resource.challengeScope,
    resourceScopes: resource.scopesSupported,
    asScopes: as.scopes_supported,
  });
  // Chosen now (a keychain probe can take seconds) so nothing stands between the code exchange and the save.
  const store = await signIns.chooseStore();

  const cached = o.clientId ? undefined : await signIns.client(as.issuer);
  const callback = await startCallbackServer({ preferredPort: registeredPort(cached) });
  try {
    const authorizationRequest = (client: ClientRecord) =>
      newAuthorizationRequest({ as, clientId: client.clientId, redirectUri: callback.redirectUri, resource: resource.resource, scopes });
    let client: ClientRecord;
    let request;
    if (o.clientId) {
      client = preRegisteredClient(as.issuer, o.clientId);
      request = await authorizationRequest(client);
    } else {
      client = cached ?? (o.onStep?.({ kind: 'registering', issuer: as.issuer }), await registerClient(ctx, as, callback.redirectUri));
      request = await authorizationRequest(client);
      if (cached && !(await clientStillAccepted(ctx, request.url))) {
        // The AS forgot the cached client (or will not take this redirect port): register anew.
        ctx.logger.debug(`the cached client for ${as.issuer} was refused; registering a new one`);
        o.onStep?.({ kind: 'registering', issuer: as.issuer });
        client = await registerClient(ctx, as, callback.redirectUri);
        request = await authorizationRequest(client);
      }
      if (client !== cached) await signIns.saveClient(client);
    }

    const response = await authorizeInBrowser(ctx, {
      as, client, callback, resource: resource.resource, scopes, timeoutMs: o.timeoutMs, serverLabel: url, signal: o.signal,
      onAuthorizationUrl: async (authorizationUrl) => {
        o.onStep?.({ kind: 'waiting', authorizationUrl, redirectUri: callback.redirectUri });
        await o.openUrl(authorizationUrl);
      },
    }, request);
    o.onStep?.({ kind: 'exchanging' });

    const tokens = tokensFrom(response, { scopes });
    const claims = accountFromClaims(oauth.getValidatedIdTokenClaims(response) as Record<string, unknown> | undefined);
    // Saved before anything else is awaited; only then, when the ID token did not say who this is, userinfo.
    let record = await signIns.saveSignIn({ target: o.target, resource: resource.resource, as, client, account: claims, tokens }, store);
    if (!claims) {
      const account = await fetchUserinfo(ctx, as, client.clientId, tokens.accessToken);
      if (account) record = await signIns.saveAccount(record, account);
    }
    o.onStep?.({ kind: 'saved', where: store.describe() });
    return { record, tokens, where: store.describe() };
  } finally {
    await callback.close();
  }
}
