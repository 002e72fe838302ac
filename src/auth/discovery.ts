// Finding the authorization server for an MCP server, as the MCP authorization spec lays out:
// RFC 9728 protected-resource metadata (from the 401 challenge, else the well-known URLs), then
// RFC 8414 / OpenID Connect discovery of the AS in the spec's order, with issuer equality checked.
import * as oauth from 'oauth4webapi';
import { parseAuthChallenge, type AuthChallenge, type Presentation } from '../authorization.js';
import { AppError, Code, errorMessage, isAppError } from '../errors.js';
import { parseSecureUrl } from '../net.js';
import { type AuthContext, readJsonObject, request } from './oauth.js';

export interface ResourceInfo {
  /** The PRM `resource`: what tokens are requested for (RFC 8707) and bound to. */
  resource: string;
  authorizationServers: string[];
  scopesSupported?: string[];
  metadataUrl: string;
  /** The `scope` of the server's 401 challenge, which wins over scopesSupported (MCP spec). */
  challengeScope?: string;
  /**
   * The metadata says the server takes DPoP-bound tokens: `dpop_signing_alg_values_supported`
   * (RFC 9449 §5.1 as RFC 9728 §2 carries it) or `dpop_bound_access_tokens_required`.
   */
  takesDpop?: boolean;
}

/** How a token goes on each request of a check (status --check, doctor): Bearer, or DPoP with a proof. */
export interface Presenter {
  scheme: 'Bearer' | 'DPoP';
  present(method: string, url: URL): Promise<Presentation>;
}

export const PROTOCOL_VERSION = '2025-11-25';

/**
 * A request of a check, with the token presented by `present` when there is one, and sent once more
 * with a new proof when a DPoP-bound token's answer is a nonce challenge (RFC 9449 §9).
 */
async function presented(ctx: AuthContext, url: string, init: RequestInit & { headers: Record<string, string> }, present: Presenter | undefined): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    const presentation = present && await present.present(init.method ?? 'GET', new URL(url));
    const res = await request(ctx, url, { ...init, headers: { ...init.headers, ...presentation?.headers } });
    const again = presentation?.retryWithNonce?.({ status: res.status, header: (name) => res.headers.get(name) });
    if (attempt > 1 || !again) return res;
    await res.body?.cancel().catch(() => {});
  }
}

/**
 * Sends an `initialize` (without a token unless `present` is given) to learn the server's Bearer or
 * DPoP challenge. Returns `requiresAuth: false` when the server answers without asking for a token.
 */
export async function probeServer(ctx: AuthContext, mcpUrl: string, headers: Record<string, string> = {}, present?: Presenter): Promise<{ requiresAuth: boolean; challenge?: AuthChallenge; status: number }> {
  const res = await presented(ctx, mcpUrl, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({
      jsonrpc: '2.0', id: 0, method: 'initialize',
      params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'appwrite-mcp', version: '0' } },
    }),
  }, present);
  await res.body?.cancel().catch(() => {});
  // A stateful server that let the probe through opened a session for it: end it.
  const session = res.headers.get('mcp-session-id');
  if (session) await presented(ctx, mcpUrl, { method: 'DELETE', headers: { ...headers, 'mcp-session-id': session } }, present).then((r) => r.body?.cancel(), () => {}).catch(() => {});
  const challenge = parseAuthChallenge(res.headers.get('www-authenticate'), schemeOf(present));
  const requiresAuth = res.status === 401 || res.status === 403 || challenge !== undefined;
  return { requiresAuth, challenge, status: res.status };
}

/**
 * Does the server take this token? An MCP `initialize` with it: 401/403 is no; any other answer
 * (the server got past authentication) is yes; no answer is "cannot tell" (null). The session a
 * stateful server opens for it is ended at once.
 */
export async function checkToken(ctx: AuthContext, mcpUrl: string, present: Presenter, headers: Record<string, string>): Promise<{ accepts: boolean | null; detail: string }> {
  let res: Response;
  try {
    res = await presented(ctx, mcpUrl, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'appwrite-mcp status', version: '0' } } }),
    }, present);
  } catch (err) {
    return { accepts: null, detail: errorMessage(err) };
  }
  await res.body?.cancel().catch(() => {});
  const session = res.headers.get('mcp-session-id');
  if (session) await presented(ctx, mcpUrl, { method: 'DELETE', headers: { ...headers, 'mcp-session-id': session } }, present).then((r) => r.body?.cancel(), () => {}).catch(() => {});
  let via = '';
  if (res.status === 400 || res.status === 404 || res.status === 405) {
    // Perhaps a server of the HTTP+SSE transport (2024-11-05): its event stream is opened with a GET.
    try {
      const get = await presented(ctx, mcpUrl, { method: 'GET', headers: { ...headers, accept: 'text/event-stream' } }, present);
      await get.body?.cancel().catch(() => {});
      if ((get.headers.get('content-type') ?? '').startsWith('text/event-stream') || get.status === 401 || get.status === 403) {
        res = get;
        via = ' (GET of the HTTP+SSE event stream)';
      }
    } catch {
      // Not that either: the POST's answer stands.
    }
  }
  if (res.status === 401 || res.status === 403) {
    const challenge = parseAuthChallenge(res.headers.get('www-authenticate'), schemeOf(present));
    return { accepts: false, detail: `HTTP ${res.status}${via}${challenge?.error ? ` ${challenge.error}` : ''}${challenge?.errorDescription ? `: ${challenge.errorDescription}` : ''}` };
  }
  return { accepts: true, detail: `HTTP ${res.status}${via}` };
}

function schemeOf(present: Presenter | undefined): 'Bearer' | 'DPoP' {
  return present?.scheme ?? 'Bearer';
}

/** The well-known PRM URLs for an MCP URL: path-inserted first, then the root form (RFC 9728 §3.1). */
export function protectedResourceMetadataUrls(mcpUrl: string): string[] {
  const url = new URL(mcpUrl);
  const path = url.pathname.replace(/\/+$/, '');
  const urls = [];
  if (path) urls.push(`${url.origin}/.well-known/oauth-protected-resource${path}`);
  urls.push(`${url.origin}/.well-known/oauth-protected-resource`);
  return urls;
}

/**
 * True when the PRM `resource` identifies the server at `mcpUrl`: same origin, and its path is the
 * URL's path or a parent of it on a segment boundary (so `https://h/` covers the `/mcp` alias).
 */
export function resourceMatches(resource: string, mcpUrl: string): boolean {
  let r: URL;
  try {
    r = new URL(resource);
  } catch {
    return false;
  }
  const u = new URL(mcpUrl);
  if (r.origin !== u.origin || r.search || r.hash) return false;
  const rp = r.pathname.replace(/\/+$/, '');
  const up = u.pathname.replace(/\/+$/, '');
  return up === rp || up.startsWith(`${rp}/`);
}

/** RFC 9728: fetch and validate the protected-resource metadata for `mcpUrl`. */
export async function discoverResource(ctx: AuthContext, mcpUrl: string, challenge?: AuthChallenge): Promise<ResourceInfo> {
  const candidates: string[] = [];
  if (challenge?.resourceMetadata) candidates.push(parseSecureUrl(challenge.resourceMetadata, 'resource_metadata URL in the server\'s challenge', Code.INVALID_RESPONSE).href);
  candidates.push(...protectedResourceMetadataUrls(mcpUrl));
  const tried: string[] = [];
  for (const url of candidates) {
    const res = await request(ctx, url, { headers: { accept: 'application/json' } });
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {});
      tried.push(`${url} (${res.status})`);
      continue;
    }
    const doc = await readJsonObject(res, url, 'protected resource metadata');
    const resource = doc.resource;
    if (typeof resource !== 'string' || !resourceMatches(resource, mcpUrl)) {
      throw new AppError(Code.RESOURCE_MISMATCH, `protected resource metadata at ${url}: "resource" ${JSON.stringify(resource)} does not match the server URL "${mcpUrl}"`, { cause: doc });
    }
    const servers = doc.authorization_servers;
    if (!Array.isArray(servers) || servers.length === 0 || !servers.every((s) => typeof s === 'string')) {
      throw new AppError(Code.NO_AUTHORIZATION_SERVER, `protected resource metadata at ${url} names no "authorization_servers"`, { cause: doc });
    }
    const scopes = Array.isArray(doc.scopes_supported) ? doc.scopes_supported.filter((s): s is string => typeof s === 'string') : undefined;
    const takesDpop = (Array.isArray(doc.dpop_signing_alg_values_supported) && doc.dpop_signing_alg_values_supported.length > 0) || doc.dpop_bound_access_tokens_required === true;
    return { resource, authorizationServers: servers as string[], scopesSupported: scopes, metadataUrl: url, challengeScope: challenge?.scope, ...(takesDpop ? { takesDpop } : {}) };
  }
  throw new AppError(Code.NO_RESOURCE_METADATA, `${mcpUrl} publishes no OAuth protected resource metadata (tried ${tried.join(', ')})`);
}

/**
 * AS metadata URLs in the MCP spec's order: for an issuer with a path, RFC 8414 path-inserted,
 * OIDC path-inserted, OIDC path-appended; without a path, RFC 8414 then OIDC.
 */
export function authorizationServerMetadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, '');
  if (!path) {
    return [`${url.origin}/.well-known/oauth-authorization-server`, `${url.origin}/.well-known/openid-configuration`];
  }
  return [
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
    `${url.origin}/.well-known/openid-configuration${path}`,
    `${url.origin}${path}/.well-known/openid-configuration`,
  ];
}

/** RFC 8414 / OIDC discovery with the issuer equality check (RFC 8414 §3.3). */
export async function discoverAuthorizationServer(ctx: AuthContext, issuer: string): Promise<oauth.AuthorizationServer> {
  const issuerUrl = parseSecureUrl(issuer, 'authorization server', Code.INVALID_RESPONSE);
  const tried: string[] = [];
  for (const url of authorizationServerMetadataUrls(issuer)) {
    const res = await request(ctx, url, { headers: { accept: 'application/json' } });
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {});
      tried.push(`${url} (${res.status})`);
      continue;
    }
    let as: oauth.AuthorizationServer;
    try {
      as = await oauth.processDiscoveryResponse(issuerUrl, res);
    } catch (err) {
      const e = err as { code?: string; cause?: unknown };
      if (e.code === oauth.JSON_ATTRIBUTE_COMPARISON) {
        const got = (e.cause as { body?: { issuer?: unknown } } | undefined)?.body?.issuer;
        throw new AppError(Code.ISSUER_MISMATCH, `authorization server metadata at ${url}: "issuer" ${JSON.stringify(got)} does not match the expected issuer "${issuer}"`, { cause: e.cause });
      }
      // Reading the body failed (too large, cut off, too slow): that error names the URL and the cap.
      if (e.cause instanceof AppError) throw e.cause;
      throw new AppError(Code.INVALID_RESPONSE, `authorization server metadata at ${url} is invalid: ${(err as Error).message}`, { cause: err });
    }
    for (const endpoint of ['authorization_endpoint', 'token_endpoint'] as const) {
      if (!as[endpoint]) throw new AppError(Code.INVALID_RESPONSE, `authorization server metadata at ${url} has no "${endpoint}"`, { cause: as });
    }
    // Every URL we will fetch or open in the browser follows the same rule as the issuer: https, or
    // plain http on a loopback address only (a login form must never travel in clear).
    for (const endpoint of ENDPOINT_FIELDS) {
      const value = as[endpoint];
      if (value !== undefined) parseSecureUrl(String(value), `authorization server metadata at ${url}: "${endpoint}"`, Code.INVALID_RESPONSE);
    }
    return as;
  }
  throw new AppError(Code.NO_AS_METADATA, `no authorization server metadata found for issuer "${issuer}" (tried ${tried.join(', ')})`);
}

/** What a sign-in needs to know about a server's authorization. */
export interface Discovered {
  /** RFC 8707 resource: the PRM `resource`, or (2025-03-26 servers) the server URL. */
  resource: string;
  as: oauth.AuthorizationServer;
  /** The challenge's `scope`, then the PRM `scopes_supported` (MCP "Scope Selection Strategy"). */
  challengeScope?: string;
  scopesSupported?: string[];
  /** True for a server without protected-resource metadata (2025-03-26 discovery). */
  legacy: boolean;
  /** The server shows it takes DPoP-bound tokens: a DPoP challenge in its 401, or its metadata says so. */
  takesDpop: boolean;
}

/** The whole discovery for `mcpUrl`: RFC 9728, then RFC 8414 / OIDC; the 2025-03-26 way when there is no RFC 9728 metadata. */
export async function discover(ctx: AuthContext, mcpUrl: string, challenge: AuthChallenge | undefined): Promise<Discovered> {
  let resource: ResourceInfo;
  try {
    resource = await discoverResource(ctx, mcpUrl, challenge);
  } catch (err) {
    if (!isAppError(err, Code.NO_RESOURCE_METADATA)) throw err;
    ctx.logger.debug(`${errorMessage(err)}; trying the 2025-03-26 discovery`);
    const as = await discoverLegacyAuthorizationServer(ctx, mcpUrl);
    return { resource: mcpUrl, as, challengeScope: challenge?.scope, legacy: true, takesDpop: challenge?.dpop === true };
  }
  const as = await discoverAuthorizationServer(ctx, resource.authorizationServers[0]!);
  return {
    resource: resource.resource, as, challengeScope: resource.challengeScope, scopesSupported: resource.scopesSupported, legacy: false,
    takesDpop: challenge?.dpop === true || resource.takesDpop === true,
  };
}

/**
 * MCP 2025-03-26 ("Authorization", 2.3), for servers that publish no protected-resource metadata:
 * the authorization server lives at the MCP server's origin. Its RFC 8414 metadata at
 * `<origin>/.well-known/oauth-authorization-server` (issuer checked: RFC 8414 §3.3 says metadata whose
 * issuer differs from the URL it was fetched for MUST NOT be used), else the default endpoints
 * `/authorize`, `/token` and `/register` (2.3.3), with PKCE S256 as the spec requires.
 */
export async function discoverLegacyAuthorizationServer(ctx: AuthContext, mcpUrl: string): Promise<oauth.AuthorizationServer> {
  const origin = new URL(mcpUrl).origin;
  const url = `${origin}/.well-known/oauth-authorization-server`;
  const res = await request(ctx, url, { headers: { accept: 'application/json' } });
  if (res.status === 200) {
    await res.body?.cancel().catch(() => {});
    return discoverAuthorizationServer(ctx, origin);
  }
  await res.body?.cancel().catch(() => {});
  ctx.logger.debug(`no authorization server metadata at ${url} (${res.status}); using the 2025-03-26 default endpoints at ${origin}`);
  return {
    issuer: origin,
    authorization_endpoint: `${origin}/authorize`,
    token_endpoint: `${origin}/token`,
    registration_endpoint: `${origin}/register`,
    code_challenge_methods_supported: ['S256'],
  };
}

/** OAuth 2.1 / MCP: PKCE with S256 is mandatory; refuse an AS that does not advertise it. */
export function assertS256(as: oauth.AuthorizationServer): void {
  const methods = as.code_challenge_methods_supported;
  if (!Array.isArray(methods) || !methods.includes('S256')) {
    throw new AppError(
      Code.PKCE_UNSUPPORTED,
      `authorization server "${as.issuer}" does not advertise PKCE S256 (code_challenge_methods_supported: ${JSON.stringify(methods ?? null)}); refusing to sign in without it`,
      { cause: methods },
    );
  }
}

/** The metadata fields that hold URLs appwrite-mcp fetches or opens. */
const ENDPOINT_FIELDS = [
  'authorization_endpoint', 'token_endpoint', 'registration_endpoint', 'revocation_endpoint', 'userinfo_endpoint',
  'jwks_uri', 'device_authorization_endpoint', 'introspection_endpoint',
] as const;
