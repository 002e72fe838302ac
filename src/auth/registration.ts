// Which client_id to use with an AS, in the MCP spec's order: a pre-registered one (--client-id),
// else a Client ID Metadata Document URL (--client-metadata-url) when the AS accepts those, else one
// made by RFC 7591 dynamic registration, cached per AS issuer and never reused with another AS.
import type * as oauth from 'oauth4webapi';
import { AppError, Code } from '../errors.js';
import { serverText } from '../log.js';
import type { ClientAuthMethod, ClientRecord } from '../store/types.js';
import { VERSION } from '../version.js';
import { methodRegistered, methodToRequest } from './client-auth.js';
import { type AuthContext, readBody, request } from './oauth.js';

export interface RegisteredClient {
  client: ClientRecord;
  /** The client secret the AS issued, if any (kept in the secret store, never in state.json). */
  secret?: string;
}

/** RFC 8628 §3.4: the grant type of the device flow's token requests. */
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** What a browser sign-in's client is registered for (the RFC 7591 `grant_types`). */
export const BROWSER_GRANT_TYPES: readonly string[] = ['authorization_code', 'refresh_token'];
/** What `login --device-code`'s client is registered for: no redirect, so no authorization code. */
export const DEVICE_GRANT_TYPES: readonly string[] = [DEVICE_CODE_GRANT, 'refresh_token'];

/**
 * RFC 7591 §3.1: a native client, public when the AS allows it. With the authorization code grant
 * it has a loopback redirect (RFC 8252 §7.3) and `response_types: ["code"]`; without it (the device
 * flow) no redirect and no response type. The answer is read leniently where safety is not at
 * stake: a `client_secret` without `client_secret_expires_at` (required by §3.2.1, often omitted) is
 * taken as never expiring.
 */
export async function registerClient(ctx: AuthContext, as: oauth.AuthorizationServer, redirectUri: string | undefined, grantTypes: readonly string[] = BROWSER_GRANT_TYPES): Promise<RegisteredClient> {
  const endpoint = as.registration_endpoint;
  if (!endpoint) {
    throw new AppError(Code.REGISTRATION_UNSUPPORTED, `the authorization server "${as.issuer}" does not offer dynamic client registration`, {
      hint: grantTypes.includes(DEVICE_CODE_GRANT)
        ? 'Register a client allowed the device authorization grant (urn:ietf:params:oauth:grant-type:device_code) yourself and pass its id with --client-id (and its secret, if any, in APPWRITE_MCP_CLIENT_SECRET).'
        : 'Register a client with the redirect URI http://127.0.0.1/callback yourself and pass its id with --client-id (and its secret, if any, in APPWRITE_MCP_CLIENT_SECRET).',
    });
  }
  const redirects = grantTypes.includes('authorization_code');
  if (redirects && !redirectUri) throw new TypeError('registering for the authorization code grant needs a redirect URI');
  const asked: ClientAuthMethod = methodToRequest(as);
  ctx.logger.debug(`registering a client at ${endpoint} (grant_types ${grantTypes.join(' ')}, token_endpoint_auth_method ${asked})`);
  const res = await request(ctx, endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      client_name: 'appwrite-mcp',
      application_type: 'native',
      ...(redirects ? { redirect_uris: [redirectUri], response_types: ['code'] } : { response_types: [] }),
      grant_types: grantTypes,
      token_endpoint_auth_method: asked,
      software_id: 'appwrite-mcp',
      software_version: VERSION,
      // No `scope`: it is optional, and ASes that keep resource scopes apart reject it here.
    }),
  });
  let body: Record<string, unknown> | undefined;
  const text = await readBody(res, endpoint);
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  if (res.status !== 201 && res.status !== 200) {
    const detail = typeof body?.error === 'string' ? serverText(`${body.error}${typeof body.error_description === 'string' ? `: ${body.error_description}` : ''}`) : `HTTP ${res.status}`;
    throw new AppError(Code.REGISTRATION_FAILED, `client registration at ${endpoint} failed: ${detail}`, { cause: body ?? text.slice(0, 200) });
  }
  if (typeof body?.client_id !== 'string' || body.client_id === '') {
    throw new AppError(Code.REGISTRATION_FAILED, `client registration at ${endpoint} answered without a "client_id"`, { cause: body ?? text.slice(0, 200) });
  }
  const secret = typeof body.client_secret === 'string' && body.client_secret !== '' ? body.client_secret : undefined;
  const expiresAt = typeof body.client_secret_expires_at === 'number' && body.client_secret_expires_at > 0 ? body.client_secret_expires_at * 1000 : undefined;
  const authMethod = methodRegistered(as, body.token_endpoint_auth_method, secret !== undefined);
  if (authMethod !== 'none' && authMethod !== 'private_key_jwt' && !secret) {
    throw new AppError(Code.REGISTRATION_FAILED, `client registration at ${endpoint} registered ${authMethod} but returned no client_secret`, { cause: body });
  }
  return {
    client: {
      issuer: as.issuer,
      clientId: body.client_id,
      method: 'dcr',
      redirectUris: redirects ? [redirectUri!] : [],
      registeredAt: Date.now(),
      authMethod,
      ...(grantTypes.join(' ') !== BROWSER_GRANT_TYPES.join(' ') ? { grantTypes: [...grantTypes] } : {}),
      ...(secret ? { hasSecret: true } : {}),
      ...(expiresAt ? { secretExpiresAt: expiresAt } : {}),
    },
    secret,
  };
}

/** A client registered beforehand (`--client-id`, its secret in APPWRITE_MCP_CLIENT_SECRET). */
export function preRegisteredClient(as: oauth.AuthorizationServer, clientId: string, secret: string | undefined): RegisteredClient {
  const authMethod: ClientAuthMethod = secret === undefined ? 'none' : methodRegistered(as, undefined, true);
  return { client: { issuer: as.issuer, clientId, method: 'preregistered', redirectUris: [], registeredAt: Date.now(), authMethod, ...(secret ? { hasSecret: true } : {}) }, secret };
}

/**
 * A Client ID Metadata Document (MCP 2025-11-25, SEP-991): the client id is an https URL whose
 * document lists the client's metadata; the AS fetches it, nothing is registered.
 */
export function metadataDocumentClient(as: oauth.AuthorizationServer, url: string): RegisteredClient {
  return { client: { issuer: as.issuer, clientId: url, method: 'cimd', redirectUris: [], registeredAt: Date.now(), authMethod: 'none' } };
}

/** The port of a cached registration's loopback redirect, so the callback server can try it first. */
export function registeredPort(client: ClientRecord | undefined): number | undefined {
  const uri = client?.redirectUris[0];
  if (!uri) return undefined;
  const port = Number(new URL(uri).port);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

export type AuthorizationCheck =
  | { ok: true }
  /** `scopeRefused`: the AS refused the request's scope (`invalid_scope`, or 414 URI Too Long), not the client. */
  | { ok: false; status: number; detail: string; scopeRefused: boolean };

/**
 * Asks the authorization endpoint, without a browser, whether it takes this authorization request:
 * an AS that forgot a client (or will not take the redirect) answers with an error page of its own
 * (4xx, no redirect) instead of its login page or a redirect back to us; the browser would be stuck
 * there. Only a redirect or a page (2xx) counts as accepted, except a redirect back to this
 * request's redirect URI (its `state`) carrying `error=invalid_scope`: a refused scope, like an
 * error page that names `invalid_scope` or a 414.
 */
export async function checkAuthorizationRequest(ctx: AuthContext, authorizationUrl: URL): Promise<AuthorizationCheck> {
  let res: Response;
  try {
    res = await ctx.fetch(authorizationUrl.href, { redirect: 'manual', signal: AbortSignal.timeout(ctx.requestTimeoutMs) });
  } catch {
    return { ok: true }; // unreachable here means unreachable in the browser too; the flow reports it there
  }
  if (res.status < 400) {
    await res.body?.cancel().catch(() => {});
    const refused = scopeRefusedByRedirect(authorizationUrl, res.headers.get('location'));
    return refused === undefined ? { ok: true } : { ok: false, status: res.status, detail: refused, scopeRefused: true };
  }
  const text = await res.text().catch(() => '');
  return { ok: false, status: res.status, detail: errorDetail(text), scopeRefused: res.status === 414 || /\binvalid_scope\b/.test(text) };
}

/** `invalid_scope[: description]` when `location` sends the browser back to us with that error, else undefined. */
function scopeRefusedByRedirect(authorizationUrl: URL, location: string | null): string | undefined {
  const redirectUri = authorizationUrl.searchParams.get('redirect_uri');
  if (!location || !redirectUri) return undefined;
  const to = URL.parse(location, authorizationUrl.href);
  if (!to || `${to.origin}${to.pathname}` !== redirectUri) return undefined;
  const p = to.searchParams;
  if (p.get('error') !== 'invalid_scope' || p.get('state') !== authorizationUrl.searchParams.get('state')) return undefined;
  const description = p.get('error_description');
  return description ? `invalid_scope: ${serverText(description)}` : 'invalid_scope';
}

/** `error: error_description` from a JSON error body, else the page's first words. */
function errorDetail(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: unknown; error_description?: unknown };
    if (typeof body.error === 'string') return serverText(typeof body.error_description === 'string' ? `${body.error}: ${body.error_description}` : body.error);
  } catch {
    // an HTML or text page
  }
  const words = text.replace(/<(head|style|script)\b[^>]*>[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  return serverText(words.length > 160 ? `${words.slice(0, 160)}…` : words);
}
