// The local cloud stand-in works: discovery, DCR, a real browser sign-in, tokens, refresh rotation,
// revocation, and the MCP resource server's challenges and tools — all with plain HTTP, headless
// Chromium and the MCP SDK client.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { decodeJwt } from 'jose';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type Cloud } from './cloud/index.js';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

type Json = Record<string, any>;

let browser: Browser;
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});
afterAll(async () => {
  await browser?.close();
});

// ---------- small OAuth client for the tests ----------

/** RFC 8414 §3.1 path-inserted metadata URL for an issuer. */
function metadataUrl(issuer: string, kind = 'oauth-authorization-server'): string {
  const url = new URL(issuer);
  return `${url.origin}/.well-known/${kind}${url.pathname}`;
}

async function getJson(url: string): Promise<Json> {
  const res = await fetch(url);
  expect(res.status, url).toBe(200);
  return res.json() as Promise<Json>;
}

async function register(metadata: Json, redirectUri: string): Promise<string> {
  const res = await fetch(metadata.registration_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'Cloud Test Client',
      redirect_uris: [redirectUri],
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    }),
  });
  const body = await res.json() as Json;
  expect(res.status, JSON.stringify(body)).toBe(201);
  expect(body.client_secret).toBeUndefined();
  return body.client_id;
}

async function tokenRequest(metadata: Json, params: Record<string, string>): Promise<{ status: number; body: Json }> {
  const res = await fetch(metadata.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params),
  });
  return { status: res.status, body: await res.json() as Json };
}

async function revoke(metadata: Json, clientId: string, token: string): Promise<number> {
  const res = await fetch(metadata.revocation_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, client_id: clientId }),
  });
  return res.status;
}

/** A loopback redirect_uri listener that resolves with the first callback URL it receives. */
async function callbackServer(): Promise<{ redirectUri: string; callback: Promise<URL>; close(): Promise<void> }> {
  let resolve!: (url: URL) => void;
  const callback = new Promise<URL>((r) => { resolve = r; });
  const server: Server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html', connection: 'close' }).end('<h1 id="result">done</h1>');
    resolve(new URL(req.url!, `http://${req.headers.host}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    redirectUri: `http://127.0.0.1:${port}/callback`,
    callback,
    // Not waiting for 'close': Chromium may still open a connection (e.g. for a favicon) afterwards.
    close: async () => { server.close(); server.closeAllConnections(); server.unref(); },
  };
}

interface SignIn { clientId: string; metadata: Json; redirectUri: string; tokens: Json; state: string; callback: URL }

/**
 * Register a client, then authorization code + PKCE through the real login and consent pages.
 * The client registers one loopback port and is redirected to another (native clients match
 * loopback redirect URIs port-agnostically).
 */
async function signIn(
  context: BrowserContext,
  issuer: string,
  resource: string,
  opts: { scope?: string; consent?: 'allow' | 'deny'; wrongPasswordFirst?: boolean; clientId?: string } = {},
): Promise<SignIn> {
  const metadata = await getJson(metadataUrl(issuer));
  const listener = await callbackServer();
  try {
    const clientId = opts.clientId ?? await register(metadata, 'http://127.0.0.1:1/callback');
    const verifier = randomBytes(32).toString('base64url');
    const state = randomBytes(16).toString('base64url');
    const url = new URL(metadata.authorization_endpoint);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: listener.redirectUri,
      scope: opts.scope ?? 'openid email profile offline_access mcp:read mcp:write',
      state,
      resource,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();

    const page = await context.newPage();
    await page.goto(url.href);
    if (await page.locator('input[name="login"]').count()) {
      if (opts.wrongPasswordFirst) {
        await page.fill('input[name="login"]', 'dev@appwrite.test');
        await page.fill('input[name="password"]', 'wrong');
        await page.click('#submit');
        await expect(page.locator('.error').textContent()).resolves.toContain('Wrong email or password');
      }
      await page.fill('input[name="login"]', 'dev@appwrite.test');
      await page.fill('input[name="password"]', 'correct-horse');
      await page.click('#submit');
    }
    if (await page.locator('#allow').count() || await page.locator('#allow').waitFor({ timeout: 2000 }).then(() => true, () => false)) {
      await expect(page.locator('main').textContent()).resolves.toContain('Cloud Test Client');
      await page.click(opts.consent === 'deny' ? '#deny' : '#allow');
    }
    let timer: NodeJS.Timeout | undefined;
    const callback = await Promise.race([
      listener.callback,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no callback; the browser is at ${page.url()}`)), 5000);
      }),
    ]).finally(() => clearTimeout(timer));
    // The page is left to its context: page.close() right after the redirect sometimes never returns.
    const code = callback.searchParams.get('code');
    const tokens = code
      ? (await tokenRequest(metadata, {
        grant_type: 'authorization_code', code, redirect_uri: listener.redirectUri, client_id: clientId, code_verifier: verifier, resource,
      })).body
      : {};
    return { clientId, metadata, redirectUri: listener.redirectUri, tokens, state, callback };
  } finally {
    await listener.close();
  }
}

async function mcpClient(url: string, token: string, capabilities = {}): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  const client = new Client({ name: 'cloud-test', version: '1.0.0' }, { capabilities });
  await client.connect(transport);
  return { client, transport };
}

const textOf = (result: any): string => result.content[0].text;

async function rawMcpPost(url: string, token: string | undefined, body: unknown, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

// ---------- the tests ----------

describe('local cloud', { timeout: 15_000 }, () => {
  let cloud: Cloud;
  let context: BrowserContext;
  beforeAll(async () => {
    cloud = await startCloud();
    context = await browser.newContext();
  });
  afterAll(async () => {
    await context?.close();
    await cloud?.stop();
  });

  it('publishes RFC 8414, OIDC and RFC 9728 metadata at the spec URLs', async () => {
    const mcpOrigin = new URL(cloud.mcpUrl).origin;
    for (const issuer of [cloud.issuer, cloud.projectIssuer('demo-project')]) {
      const docs = await Promise.all([
        getJson(metadataUrl(issuer)),
        getJson(metadataUrl(issuer, 'openid-configuration')),
        getJson(`${issuer}/.well-known/openid-configuration`),
      ]);
      for (const doc of docs) {
        expect(doc.issuer).toBe(issuer);
        expect(doc).toMatchObject({
          authorization_endpoint: `${issuer}/auth`,
          token_endpoint: `${issuer}/token`,
          registration_endpoint: `${issuer}/reg`,
          revocation_endpoint: `${issuer}/token/revocation`,
          jwks_uri: `${issuer}/jwks`,
          code_challenge_methods_supported: ['S256'],
          authorization_response_iss_parameter_supported: true,
        });
        expect(doc.scopes_supported).toEqual(expect.arrayContaining(['openid', 'offline_access', 'email', 'profile', 'mcp:read', 'mcp:write', 'mcp:admin']));
        expect(doc.grant_types_supported).toContain('refresh_token');
        expect(doc.token_endpoint_auth_methods_supported).toContain('none');
      }
    }
    expect(cloud.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/oauth2\/console$/);

    const root = await getJson(`${mcpOrigin}/.well-known/oauth-protected-resource`);
    expect(root).toEqual(expect.objectContaining({
      resource: cloud.mcpUrl, authorization_servers: [cloud.issuer], scopes_supported: ['mcp:read', 'mcp:write'], bearer_methods_supported: ['header'],
    }));
    expect((await getJson(`${mcpOrigin}/.well-known/oauth-protected-resource/mcp`)).resource).toBe(cloud.mcpUrl);
    const project = await getJson(`${mcpOrigin}/.well-known/oauth-protected-resource/demo-project/mcp`);
    expect(project).toMatchObject({ resource: cloud.projectMcpUrl('demo-project'), authorization_servers: [cloud.projectIssuer('demo-project')] });
  });

  it('refuses authorization requests without S256 PKCE', async () => {
    const metadata = await getJson(metadataUrl(cloud.issuer));
    const clientId = await register(metadata, 'http://127.0.0.1:1/callback');
    const base = { response_type: 'code', client_id: clientId, redirect_uri: 'http://127.0.0.1:5555/callback', state: 's', resource: cloud.mcpUrl };
    const withoutS256: Record<string, string>[] = [{}, { code_challenge: 'x'.repeat(43), code_challenge_method: 'plain' }];
    for (const pkce of withoutS256) {
      const res = await fetch(`${metadata.authorization_endpoint}?${new URLSearchParams({ ...base, ...pkce })}`, { redirect: 'manual' });
      const location = new URL(res.headers.get('location')!);
      expect(location.searchParams.get('error')).toBe('invalid_request');
    }
  });

  it('signs in through the real pages and issues a resource-bound JWT, ID token and refresh token', async () => {
    cloud.resetStats();
    const result = await signIn(context, cloud.issuer, cloud.mcpUrl, { wrongPasswordFirst: true });
    expect(result.callback.searchParams.get('state')).toBe(result.state);
    expect(result.callback.searchParams.get('iss')).toBe(cloud.issuer);
    expect(result.tokens).toMatchObject({ token_type: 'Bearer', scope: expect.stringContaining('mcp:read') });
    expect(result.tokens.refresh_token).toBeTruthy();

    const claims = await cloud.verifyAccessToken(result.tokens.access_token);
    expect(claims).toMatchObject({ aud: cloud.mcpUrl, sub: cloud.user.sub, iss: cloud.issuer, client_id: result.clientId });
    expect(claims.scope.split(' ').sort()).toEqual(['mcp:read', 'mcp:write']);
    expect(decodeJwt(result.tokens.id_token)).toMatchObject({ email: cloud.user.email, name: cloud.user.name });
    expect(cloud.stats).toMatchObject({ registrations: 1, authorizationCodeGrants: 1, authorizeRequests: 1 });
    expect(await cloud.tokenStatus(result.tokens.access_token)).toBe('active');
    expect(await cloud.tokenStatus(result.tokens.refresh_token)).toBe('active');
  });

  it('ends a denied consent with access_denied, state and iss at the redirect_uri', async () => {
    const denied = await signIn(context, cloud.issuer, cloud.mcpUrl, { consent: 'deny' });
    expect(Object.fromEntries(denied.callback.searchParams)).toMatchObject({
      error: 'access_denied', state: denied.state, iss: cloud.issuer,
    });
  });

  it('rotates refresh tokens and refuses a spent one (which also revokes the grant)', async () => {
    const { metadata, clientId, tokens } = await signIn(context, cloud.issuer, cloud.mcpUrl);
    cloud.resetStats();
    const first = await tokenRequest(metadata, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: clientId });
    expect(first.status).toBe(200);
    expect(first.body.refresh_token).not.toBe(tokens.refresh_token);
    // No `resource` on the refresh: the grant remembers it, and the new access token is a JWT for it.
    expect((await cloud.verifyAccessToken(first.body.access_token)).aud).toBe(cloud.mcpUrl);
    expect(await cloud.tokenStatus(tokens.refresh_token)).toBe('revoked');

    const replay = await tokenRequest(metadata, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: clientId });
    expect(replay).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(cloud.stats).toMatchObject({ refreshGrants: 1, refreshFailures: 1 });
    expect(await cloud.tokenStatus(first.body.refresh_token)).toBe('revoked');
  });

  it('revokes access tokens (JWT) and refresh tokens (RFC 7009)', async () => {
    const { metadata, clientId, tokens } = await signIn(context, cloud.issuer, cloud.mcpUrl);
    cloud.resetStats();
    expect(await revoke(metadata, clientId, tokens.access_token)).toBe(200);
    expect(await cloud.tokenStatus(tokens.access_token)).toBe('revoked');
    expect((await rawMcpPost(cloud.mcpUrl, tokens.access_token, { jsonrpc: '2.0', id: 1, method: 'ping' })).status).toBe(401);

    // Revoking the access token leaves the grant alone; revoking the refresh token ends it.
    const refreshed = await tokenRequest(metadata, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: clientId });
    expect(refreshed.status).toBe(200);
    expect(await revoke(metadata, clientId, refreshed.body.refresh_token)).toBe(200);
    expect(await cloud.tokenStatus(refreshed.body.refresh_token)).toBe('revoked');
    expect(await cloud.tokenStatus(refreshed.body.access_token)).toBe('revoked');
    const after = await tokenRequest(metadata, { grant_type: 'refresh_token', refresh_token: refreshed.body.refresh_token, client_id: clientId });
    expect(after.body.error).toBe('invalid_grant');
    expect(cloud.stats.revocations).toBe(2);
    expect(await cloud.tokenStatus('never-issued')).toBe('unknown');
  });

  it('challenges requests without a valid token (RFC 6750 / RFC 9728)', async () => {
    const prm = `${new URL(cloud.mcpUrl).origin}/.well-known/oauth-protected-resource`;
    cloud.resetStats();
    const none = await rawMcpPost(cloud.mcpUrl, undefined, { jsonrpc: '2.0', id: 1, method: 'ping' });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe(`Bearer scope="mcp:read mcp:write", resource_metadata="${prm}"`);

    const bad = await rawMcpPost(`${cloud.mcpUrl}mcp`, 'not-a-jwt', { jsonrpc: '2.0', id: 1, method: 'ping' });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token", .*resource_metadata="[^"]+\/oauth-protected-resource\/mcp"/);
    expect(cloud.stats).toMatchObject({ mcpRequests: 2, mcpUnauthorized: 2 });
  });

  it('serves tools on the stateless root layout, with 403 step-up for admin_action', async () => {
    const { tokens } = await signIn(context, cloud.issuer, cloud.mcpUrl);
    const { client } = await mcpClient(cloud.mcpUrl, tokens.access_token);
    try {
      const tools = (await client.listTools()).tools.map((t) => t.name);
      expect(tools).toEqual(expect.arrayContaining(['echo', 'whoami', 'admin_action', 'slow', 'ask_user']));
      expect((await client.listResources()).resources).toHaveLength(1);
      expect((await client.listPrompts()).prompts).toHaveLength(1);
      const big = 'x'.repeat(3 * 1024 * 1024);
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: big } }))).toBe(big);
      const me = JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {} })));
      expect(me).toMatchObject({ sub: cloud.user.sub, aud: cloud.mcpUrl, scope: 'mcp:read mcp:write' });
      const progress: number[] = [];
      await client.callTool({ name: 'slow', arguments: { steps: 3, delayMs: 5 } }, undefined, { onprogress: (p) => progress.push(p.progress) });
      expect(progress).toEqual([1, 2, 3]);
    } finally {
      await client.close();
    }
    const headers = cloud.lastMcpRequestHeaders().at(-1)!;
    expect(headers.authorization).toBe(`Bearer ${tokens.access_token}`);
    expect(headers['mcp-protocol-version']).toBeTruthy();

    const denied = await rawMcpPost(cloud.mcpUrl, tokens.access_token, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'admin_action', arguments: {} } });
    expect(denied.status).toBe(403);
    expect(denied.headers.get('www-authenticate')).toMatch(/^Bearer error="insufficient_scope", .*scope="mcp:read mcp:write mcp:admin"/);

    const admin = await signIn(context, cloud.issuer, cloud.mcpUrl, { scope: 'offline_access mcp:read mcp:write mcp:admin' });
    const allowed = await mcpClient(`${cloud.mcpUrl}mcp`, admin.tokens.access_token);
    expect(textOf(await allowed.client.callTool({ name: 'admin_action', arguments: {} }))).toBe('admin ok');
    await allowed.client.close();
  });

  it('serves sessions, elicitation, DELETE and 404-after-drop on the per-project layout', async () => {
    const projectUrl = cloud.projectMcpUrl('demo-project');
    const { tokens } = await signIn(context, cloud.projectIssuer('demo-project'), projectUrl);
    expect((await cloud.verifyAccessToken(tokens.access_token)).aud).toBe(projectUrl);
    // Audience binding: a project token is no good at the root layout, and the other way round.
    expect((await rawMcpPost(cloud.mcpUrl, tokens.access_token, { jsonrpc: '2.0', id: 1, method: 'ping' })).status).toBe(401);

    const { client, transport } = await mcpClient(projectUrl, tokens.access_token, { elicitation: {} });
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { answer: 'Ada' } }));
    const answer = JSON.parse(textOf(await client.callTool({ name: 'ask_user', arguments: { question: 'Name?' } })));
    expect(answer).toEqual({ action: 'accept', content: { answer: 'Ada' } });
    const sessionId = transport.sessionId!;
    expect(sessionId).toBeTruthy();

    cloud.dropMcpSessions();
    const stale = await rawMcpPost(projectUrl, tokens.access_token, { jsonrpc: '2.0', id: 2, method: 'ping' }, {
      'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18',
    });
    expect(stale.status).toBe(404);
    await client.close();

    cloud.resetStats();
    const second = await mcpClient(projectUrl, tokens.access_token);
    await second.transport.terminateSession();
    expect(cloud.stats.sessionDeletes).toBe(1);
    await second.client.close();
  });

  it('takes the authorization server down and back up on the same port with its state', async () => {
    const { metadata, clientId, tokens } = await signIn(context, cloud.issuer, cloud.mcpUrl);
    await cloud.stopAuthServer();
    await expect(fetch(metadata.token_endpoint, { method: 'POST' })).rejects.toThrow();
    await cloud.startAuthServer();
    const refreshed = await tokenRequest(metadata, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: clientId });
    expect(refreshed.status).toBe(200);
  });
});

describe('local cloud with tampering and short-lived tokens', { timeout: 15_000 }, () => {
  it('misbehaves as asked and lets tokens expire', async () => {
    const cloud = await startCloud({
      accessTokenTtl: 2,
      projects: ['p1'],
      tamper: { noS256: true, metadataIssuerMismatch: true, prmResourceMismatch: true, wrongIss: true, wrongState: true, noRevocation: true },
    });
    const context = await browser.newContext();
    try {
      for (const url of [metadataUrl(cloud.issuer), metadataUrl(cloud.issuer, 'openid-configuration'), `${cloud.projectIssuer('p1')}/.well-known/openid-configuration`]) {
        const doc = await getJson(url);
        expect(doc.issuer).not.toBe(cloud.issuer);
        expect(doc.code_challenge_methods_supported).not.toContain('S256');
        expect(doc.revocation_endpoint).toBeUndefined();
      }
      const prm = await getJson(`${new URL(cloud.mcpUrl).origin}/.well-known/oauth-protected-resource`);
      expect(prm.resource).not.toBe(cloud.mcpUrl);

      const result = await signIn(context, cloud.issuer, cloud.mcpUrl);
      expect(result.callback.searchParams.get('iss')).not.toBe(cloud.issuer);
      expect(result.callback.searchParams.get('state')).not.toBe(result.state);

      const ping = { jsonrpc: '2.0', id: 1, method: 'ping' };
      expect((await rawMcpPost(cloud.mcpUrl, result.tokens.access_token, ping)).status).not.toBe(401);
      await new Promise((r) => setTimeout(r, 2500));
      const expired = await rawMcpPost(cloud.mcpUrl, result.tokens.access_token, ping);
      expect(expired.status).toBe(401);
      expect(expired.headers.get('www-authenticate')).toContain('error="invalid_token"');
    } finally {
      await context.close();
      await cloud.stop();
    }
  });
});
