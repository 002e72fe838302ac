// An access token for one of the local cloud's MCP resources, obtained the way a client gets one:
// RFC 8414 metadata, dynamic client registration, authorization code + S256 PKCE with a resource
// indicator, through the real login and consent pages in headless Chromium, then the token endpoint.
// For tests that drive an MCP client straight at a server, without the proxy.
import { createHash, randomBytes } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { completeSignIn, type SignInUser } from './browser.js';
import { loopbackCallback } from './loopback-callback.js';

export interface CloudTokens { access_token: string; refresh_token?: string; scope?: string; token_type: string }

async function json(res: Response, what: string): Promise<Record<string, any>> {
  const body = await res.text();
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${body}`);
  return JSON.parse(body) as Record<string, any>;
}

/** Signs `user` in at `issuer` for `resource` (the MCP server URL) and returns the token response. */
export async function cloudTokens(
  browser: Browser, issuer: string, resource: string, user: SignInUser, scope = 'mcp:read mcp:write',
): Promise<CloudTokens> {
  const { origin, pathname } = new URL(issuer);
  const metadata = await json(await fetch(`${origin}/.well-known/oauth-authorization-server${pathname}`), 'AS metadata');

  const callback = await loopbackCallback();
  const { redirectUri } = callback;
  try {
    const { client_id: clientId } = await json(await fetch(metadata.registration_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: 'Era Test Client', redirect_uris: [redirectUri], application_type: 'native',
        token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
      }),
    }), 'registration');
    const verifier = randomBytes(32).toString('base64url');
    const state = randomBytes(16).toString('base64url');
    const authorize = new URL(metadata.authorization_endpoint);
    authorize.search = new URLSearchParams({
      response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope, state, resource,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
    }).toString();

    const { page, ok } = await completeSignIn(browser, authorize.href, user);
    await page.context().close();
    const url = await callback.received;
    if (!ok || url.searchParams.get('state') !== state || url.searchParams.get('iss') !== issuer) {
      throw new Error(`sign-in did not come back as expected: ${url.href}`);
    }
    return await json(await fetch(metadata.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code', code: url.searchParams.get('code')!, redirect_uri: redirectUri,
        client_id: clientId, code_verifier: verifier, resource,
      }),
    }), 'token') as CloudTokens;
  } finally {
    callback.close();
  }
}
