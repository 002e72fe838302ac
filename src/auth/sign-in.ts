// A whole browser sign-in for one MCP server: discovery → registration → authorization → store.
// Used by `appwrite-mcp login` and, when no usable sign-in exists, by the proxy. Runs under a
// cross-process lock so that however many copies ask at once, one browser tab opens.
import * as oauth from 'oauth4webapi';
import type { ClientRecord, SecretStore, ServerState, TokenSet } from '../store/types.js';
import { openSecretStore, openSecretStoreOfKind, secretKeyFor, type StorePreference } from '../store/secrets.js';
import { loadState, updateState } from '../store/state.js';
import { UserError } from '../errors.js';
import { type AuthContext } from './http.js';
import { assertS256, discoverAuthorizationServer, discoverResource, endpointsOf, probeServer } from './discovery.js';
import { chooseScopes, splitScopes } from './scopes.js';
import { clientStillAccepted, preRegisteredClient, registerClient, registeredPort } from './registration.js';
import { startCallbackServer } from './callback-server.js';
import { authorizeInBrowser, newAuthorizationRequest } from './authorize.js';
import { accountFromClaims, fetchUserinfo, tokenSetFrom } from './tokens.js';

export type { StorePreference };

export interface SignInDeps {
  ctx: AuthContext;
  /** Config dir holding state.json, the lock files and (as a fallback) secrets.json. */
  dir: string;
  storePreference: StorePreference;
  keychainTimeoutMs: number;
}

export type SignInStep =
  | { kind: 'discovering'; url: string }
  | { kind: 'registering'; issuer: string }
  | { kind: 'waiting'; authorizationUrl: string; redirectUri: string }
  | { kind: 'exchanging' }
  | { kind: 'saved'; where: string };

export interface SignInOptions {
  url: string;
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
  server: ServerState;
  tokens: TokenSet;
  store: SecretStore;
}

export async function signIn(deps: SignInDeps, o: SignInOptions): Promise<SignInResult> {
  const { ctx } = deps;
  o.onStep?.({ kind: 'discovering', url: o.url });
  const probe = await probeServer(ctx, o.url);
  if (!probe.requiresAuth) {
    throw new UserError(`${o.url} answered without asking for a token (HTTP ${probe.status}); there is nothing to sign in to`, {
      hint: 'Check the URL: an Appwrite MCP server asks for OAuth sign-in.',
    });
  }
  const resource = await discoverResource(ctx, o.url, probe.challenge);
  const issuer = resource.authorizationServers[0]!;
  const as = await discoverAuthorizationServer(ctx, issuer);
  assertS256(as);
  const scopes = chooseScopes({
    requested: o.scopes,
    challengeScope: resource.challengeScope,
    resourceScopes: resource.scopesSupported,
    asScopes: as.scopes_supported,
  });

  const state = await loadState(deps.dir);
  const cached = o.clientId ? undefined : state.clients[as.issuer];
  const callback = await startCallbackServer({ preferredPort: registeredPort(cached) });
  try {
    let client: ClientRecord;
    let request;
    if (o.clientId) {
      client = preRegisteredClient(as.issuer, o.clientId);
      request = await newAuthorizationRequest({ as, clientId: client.clientId, redirectUri: callback.redirectUri, resource: resource.resource, scopes });
    } else {
      client = cached ?? (o.onStep?.({ kind: 'registering', issuer: as.issuer }), await registerClient(ctx, as, callback.redirectUri));
      request = await newAuthorizationRequest({ as, clientId: client.clientId, redirectUri: callback.redirectUri, resource: resource.resource, scopes });
      if (cached && !(await clientStillAccepted(ctx, request.url))) {
        // The AS forgot the cached client (or will not take this redirect port): register anew.
        ctx.logger.debug(`the cached client for ${as.issuer} was refused; registering a new one`);
        o.onStep?.({ kind: 'registering', issuer: as.issuer });
        client = await registerClient(ctx, as, callback.redirectUri);
        request = await newAuthorizationRequest({ as, clientId: client.clientId, redirectUri: callback.redirectUri, resource: resource.resource, scopes });
      }
      if (client !== cached) await updateState(deps.dir, (s) => { s.clients[as.issuer] = client; });
    }

    const response = await authorizeInBrowser(ctx, {
      as, client, callback, resource: resource.resource, scopes, timeoutMs: o.timeoutMs, serverLabel: o.url, signal: o.signal,
      onAuthorizationUrl: async (url) => {
        o.onStep?.({ kind: 'waiting', authorizationUrl: url, redirectUri: callback.redirectUri });
        await o.openUrl(url);
      },
    }, request);
    o.onStep?.({ kind: 'exchanging' });

    const tokens = tokenSetFrom(response);
    const endpoints = endpointsOf(as);
    const account = accountFromClaims(oauth.getValidatedIdTokenClaims(response) as Record<string, unknown> | undefined)
      ?? (await fetchUserinfo(ctx, endpoints, client.clientId, tokens.accessToken));
    const store = await openSecretStore({ prefer: deps.storePreference, dir: deps.dir, logger: ctx.logger, timeoutMs: deps.keychainTimeoutMs });
    const secretKey = secretKeyFor(resource.resource, as.issuer);
    await store.set(secretKey, tokens);
    const now = Date.now();
    const server: ServerState = {
      url: o.url,
      resource: resource.resource,
      issuer: as.issuer,
      as: endpoints,
      clientId: client.clientId,
      registration: client.method,
      scopes: tokens.scope ? splitScopes(tokens.scope) : scopes,
      expiresAt: tokens.expiresAt,
      hasRefreshToken: Boolean(tokens.refreshToken),
      account,
      secretStore: store.kind,
      secretKey,
      signedInAt: now,
      updatedAt: now,
    };
    let previous: ServerState | undefined;
    await updateState(deps.dir, (s) => {
      previous = s.servers[o.url];
      s.servers[o.url] = server;
    });
    if (previous && (previous.secretStore !== server.secretStore || previous.secretKey !== server.secretKey)) {
      // Signed in again into another store (or for another issuer): do not leave the old secrets behind.
      await openSecretStoreOfKind(previous.secretStore, { dir: deps.dir, logger: ctx.logger, timeoutMs: deps.keychainTimeoutMs })
        .delete(previous.secretKey)
        .catch((err) => ctx.logger.warn(`could not delete the previous secrets (${(err as Error).message})`));
    }
    o.onStep?.({ kind: 'saved', where: store.describe() });
    return { server, tokens, store };
  } finally {
    await callback.close();
  }
}
