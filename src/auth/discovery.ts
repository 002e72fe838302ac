// Finding the authorization server for an MCP server, as the MCP authorization spec lays out:
// RFC 9728 protected-resource metadata (from the 401 challenge, else the well-known URLs), then
// RFC 8414 / OpenID Connect discovery of the AS in the spec's order, with issuer equality checked.
import * as oauth from 'oauth4webapi';
import { parseBearerChallenge, type BearerChallenge } from '../authorization.js';
import { AppError, Code } from '../errors.js';
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
}

export const PROTOCOL_VERSION = '2025-11-25';

/**
 * Sends an unauthenticated `initialize` to learn the server's Bearer challenge.
 * Returns `requiresAuth: false` when the server answers without asking for a token.
 */
export async function probeServer(ctx: AuthContext, mcpUrl: string, headers: Record<string, string> = {}): Promise<{ requiresAuth: boolean; challenge?: BearerChallenge; status: number }> {
  const res = await request(ctx, mcpUrl, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({
      jsonrpc: '2.0', id: 0, method: 'initialize',
      params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'appwrite-mcp', version: '0' } },
    }),
  });
  await res.body?.cancel().catch(() => {});
  const challenge = parseBearerChallenge(res.headers.get('www-authenticate'));
  const requiresAuth = res.status === 401 || res.status === 403 || challenge !== undefined;
  return { requiresAuth, challenge, status: res.status };
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
export async function discoverResource(ctx: AuthContext, mcpUrl: string, challenge?: BearerChallenge): Promise<ResourceInfo> {
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
    return { resource, authorizationServers: servers as string[], scopesSupported: scopes, metadataUrl: url, challengeScope: challenge?.scope };
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
