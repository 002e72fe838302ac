// DPoP and workload identity end to end against the local cloud's DPoP corner (test/cloud/dpop.ts):
// oidc-provider binding tokens to the key (nonces required), an MCP server (SDK) that takes
// DPoP-bound tokens only, a workload identity provider. The client side is src/auth/dpop.ts,
// dpop-requests.ts, workload-identity.ts and jwt-bearer-grant.ts over oauth4webapi, driven by hand:
// the wiring into sign-in and the proxy comes later. What it shows: a copied token (access or
// refresh) is refused without the key; the nonce dances at both servers take one retry each.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import * as oauth from 'oauth4webapi';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DpopKey } from '../../src/auth/dpop.js';
import { DpopResourceSigner, withDpopNonceRetry } from '../../src/auth/dpop-requests.js';
import { jwtBearerGrant } from '../../src/auth/jwt-bearer-grant.js';
import { WorkloadTokenReader } from '../../src/auth/workload-identity.js';
import { requestOptions } from '../../src/auth/oauth.js';
import { HttpClient } from '../../src/http/client.js';
import { silentLogger } from '../../src/log.js';
import { startDpopCloud, type DpopCloud } from '../cloud/dpop.js';
import { completeSignIn, launchChromium } from '../helpers/browser.js';
import { loopbackCallback } from '../helpers/loopback-callback.js';

let cloud: DpopCloud;
let as: oauth.AuthorizationServer;
/** Every request the client side made to the authorization server, and its status. */
const asCalls: Array<{ url: string; status: number }> = [];
const http = new HttpClient({});
const ctx = {
  fetch: (async (url: string, init: RequestInit) => {
    const res = await http.fetch(url, init);
    asCalls.push({ url: String(url), status: res.status });
    return res;
  }) as typeof fetch,
  logger: silentLogger,
  requestTimeoutMs: 10_000,
};

beforeAll(async () => {
  cloud = await startDpopCloud();
  const issuer = new URL(cloud.issuer);
  as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', [oauth.allowInsecureRequests]: true }));
});
afterAll(async () => { await cloud?.stop(); });

/** Client credentials with a DPoP proof: a token bound to `key`. */
async function machineToken(key: DpopKey, dpop = key.handle()): Promise<oauth.TokenEndpointResponse> {
  const client = { client_id: cloud.machineClient.clientId };
  return withDpopNonceRetry(async () => {
    const res = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(cloud.machineClient.clientSecret), { resource: cloud.mcpUrl, scope: 'mcp:read mcp:write' }, { ...requestOptions(ctx, as.token_endpoint), DPoP: dpop });
    return oauth.processClientCredentialsResponse(as, client, res);
  });
}

const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'dpop-test', version: '1' } } };
const WHOAMI = { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'whoami', arguments: {} } };

/** POST to the MCP server with raw headers; the answer's status, challenge and body. */
async function post(headers: Record<string, string>, message: object = INITIALIZE) {
  const res = await fetch(cloud.mcpUrl, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify(message),
  });
  return { res, status: res.status, challenge: res.headers.get('www-authenticate') ?? '', body: messageOf(await res.text()) };
}

/** The JSON body, or the JSON-RPC message in an SSE answer (the server answers as Appwrite's does). */
function messageOf(text: string): Record<string, any> {
  const data = /^data: (.*)$/m.exec(text);
  return JSON.parse(data ? data[1]! : text) as Record<string, any>;
}

/** A request the way the proxy will make it: signed, and sent once more for a nonce challenge. */
async function call(signer: DpopResourceSigner, token: string, message: object = INITIALIZE) {
  for (let attempt = 1; ; attempt++) {
    const signed = await signer.sign(token, 'POST', new URL(cloud.mcpUrl));
    const answer = await post(signed.headers, message);
    const retry = signed.retryWithNonce({ status: answer.status, header: (n) => answer.res.headers.get(n) });
    if (attempt === 1 && retry) continue;
    return { ...answer, attempts: attempt };
  }
}

describe('DPoP-bound tokens at the local cloud', () => {
  it('client credentials: the AS asks for its nonce once, then binds the token to the key; the MCP server asks for its own, then serves', async () => {
    const { key } = await DpopKey.generate();
    asCalls.length = 0;
    const tokens = await machineToken(key);
    expect(asCalls.map((c) => c.status)).toEqual([400, 200]); // use_dpop_nonce, then the tokens (RFC 9449 §8)
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    expect(decodeJwt(tokens.access_token).cnf).toEqual({ jkt: key.thumbprint });

    const signer = new DpopResourceSigner(key);
    const before = cloud.mcpRequests().length;
    const init = await call(signer, tokens.access_token);
    expect(init).toMatchObject({ status: 200, attempts: 2 });
    expect(init.body.result.serverInfo.name).toBe('appwrite-cloud-stand-in');
    const whoami = await call(signer, tokens.access_token, WHOAMI);
    expect(whoami).toMatchObject({ status: 200, attempts: 1 });
    expect(JSON.parse(whoami.body.result.content[0].text)).toMatchObject({ sub: cloud.machineClient.clientId, client_id: cloud.machineClient.clientId });
    expect(cloud.mcpRequests().slice(before).map((r) => [r.status, r.error ?? 'ok'])).toEqual([[401, 'use_dpop_nonce'], [200, 'ok'], [200, 'ok']]);
    expect(cloud.mcpRequests().at(-1)!.jkt).toBe(key.thumbprint);
  });

  it('refuses a copied access token without the key: as Bearer, with a proof by another key, a proof for another request or token, a replayed proof', async () => {
    const { key } = await DpopKey.generate();
    const { access_token: token } = await machineToken(key);
    const signer = new DpopResourceSigner(key);
    expect((await call(signer, token)).status).toBe(200); // the holder of the key gets in (and the nonce is known now)
    const nonce = cloud.mcpRequests().at(-1)!.nonce;
    expect(nonce).toEqual(expect.any(String));

    const bearer = await post({ authorization: `Bearer ${token}` });
    expect(bearer.status).toBe(401);
    expect(bearer.challenge).toMatch(/^DPoP error="invalid_token", error_description="this server takes DPoP-bound tokens only/);

    const { key: thief } = await DpopKey.generate();
    const stolen = await call(new DpopResourceSigner(thief), token);
    expect(stolen).toMatchObject({ status: 401, attempts: 1 }); // refused before any nonce talk
    expect(stolen.challenge).toMatch(/error="invalid_dpop_proof", error_description="the proof is signed by another key than the one the token is bound to"/);

    const url = new URL(cloud.mcpUrl);
    const thiefWithNonce = await thief.proof({ method: 'POST', url, accessToken: token, nonce });
    expect((await post({ authorization: `DPoP ${token}`, dpop: thiefWithNonce })).challenge).toMatch(/signed by another key/);
    const forGet = await key.proof({ method: 'GET', url, accessToken: token, nonce });
    expect((await post({ authorization: `DPoP ${token}`, dpop: forGet })).challenge).toMatch(/htm 'GET' is not the request's method POST/);
    const elsewhere = await key.proof({ method: 'POST', url: new URL('/other', url), accessToken: token, nonce });
    expect((await post({ authorization: `DPoP ${token}`, dpop: elsewhere })).challenge).toMatch(/htu .* is not the request's URL/);
    const { access_token: other } = await machineToken(key);
    const forOther = await key.proof({ method: 'POST', url, accessToken: other, nonce });
    expect((await post({ authorization: `DPoP ${token}`, dpop: forOther })).challenge).toMatch(/ath is not the hash of the access token sent/);
    const once = await key.proof({ method: 'POST', url, accessToken: token, nonce });
    expect((await post({ authorization: `DPoP ${token}`, dpop: once })).status).toBe(200);
    expect((await post({ authorization: `DPoP ${token}`, dpop: once })).challenge).toMatch(/this DPoP proof was used before/);
  });

  it('a stale nonce costs one retry with the new one', async () => {
    const { key } = await DpopKey.generate();
    const { access_token: token } = await machineToken(key);
    const signer = new DpopResourceSigner(key);
    expect(await call(signer, token)).toMatchObject({ status: 200, attempts: 2 });
    expect(await call(signer, token)).toMatchObject({ status: 200, attempts: 1 });
    cloud.rotateMcpNonce();
    const after = await call(signer, token);
    expect(after).toMatchObject({ status: 200, attempts: 2 });
    expect(cloud.mcpRequests().at(-2)).toMatchObject({ status: 401, error: 'use_dpop_nonce', description: 'the nonce in the DPoP proof is stale' });
  });

  it('the AS gives no token to a client that sends no proof (dpop_bound_access_tokens)', async () => {
    const client = { client_id: cloud.machineClient.clientId };
    const res = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(cloud.machineClient.clientSecret), { resource: cloud.mcpUrl }, requestOptions(ctx, as.token_endpoint));
    await expect(oauth.processClientCredentialsResponse(as, client, res)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(cloud.grantErrors().at(-1)).toEqual({ grantType: 'client_credentials', error: 'invalid_grant', detail: 'DPoP proof JWT not provided' });
  });
});

describe('refresh tokens of a public client are bound to its key', () => {
  let browser: Browser;
  beforeAll(async () => { browser = await launchChromium(); });
  afterAll(async () => { await browser?.close(); });

  /** DCR, then the code flow with PKCE, `resource` and `dpop_jkt` (RFC 9449 §10) through the cloud's pages. */
  async function signIn(key: DpopKey) {
    const callback = await loopbackCallback();
    const { redirectUri } = callback;
    try {
      const registered = await (await fetch(as.registration_endpoint!, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ redirect_uris: [redirectUri], application_type: 'native', token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], dpop_bound_access_tokens: true }),
      })).json() as { client_id: string; dpop_bound_access_tokens?: boolean };
      expect(registered.dpop_bound_access_tokens).toBe(true);
      const client: oauth.Client = { client_id: registered.client_id, token_endpoint_auth_method: 'none' };
      const verifier = oauth.generateRandomCodeVerifier();
      const state = oauth.generateRandomState();
      const url = new URL(as.authorization_endpoint!);
      url.search = new URLSearchParams({
        response_type: 'code', client_id: client.client_id, redirect_uri: redirectUri, scope: 'mcp:read offline_access', state, resource: cloud.mcpUrl,
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', dpop_jkt: key.thumbprint,
      }).toString();
      const { page, ok } = await completeSignIn(browser, url.href, cloud.user);
      await page.context().close();
      expect(ok).toBe(true);
      const params = oauth.validateAuthResponse(as, client, await callback.received, state);
      return { client, params, redirectUri, verifier };
    } finally {
      callback.close();
    }
  }

  function exchange(s: Awaited<ReturnType<typeof signIn>>, dpop: oauth.DPoPHandle) {
    return withDpopNonceRetry(async () => {
      const res = await oauth.authorizationCodeGrantRequest(as, s.client, oauth.None(), s.params, s.redirectUri, s.verifier, { additionalParameters: { resource: cloud.mcpUrl }, ...requestOptions(ctx, as.token_endpoint), DPoP: dpop });
      return oauth.processAuthorizationCodeResponse(as, s.client, res);
    });
  }

  function refresh(client: oauth.Client, refreshToken: string, dpop?: oauth.DPoPHandle) {
    return withDpopNonceRetry(async () => {
      const res = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshToken, { additionalParameters: { resource: cloud.mcpUrl }, ...requestOptions(ctx, as.token_endpoint), DPoP: dpop });
      return oauth.processRefreshTokenResponse(as, client, res);
    });
  }

  it('code flow with dpop_jkt: the code only for the key; the refresh token only with a proof by the key, even after a restart', async () => {
    const { key, stored } = await DpopKey.generate();
    const { key: thief } = await DpopKey.generate();
    // The code is bound to the key named at /authorize (dpop_jkt): another key cannot redeem it
    // (oidc-provider spends the code on the attempt, so the user signs in again).
    const intercepted = await signIn(key);
    await expect(exchange(intercepted, thief.handle())).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(cloud.grantErrors().at(-1)).toMatchObject({ grantType: 'authorization_code', detail: 'DPoP proof key thumbprint does not match dpop_jkt' });
    const s = await signIn(key);
    const tokens = await exchange(s, key.handle());
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    expect(decodeJwt(tokens.access_token).cnf).toEqual({ jkt: key.thumbprint });
    expect(tokens.refresh_token).toEqual(expect.any(String));

    // A stolen refresh token: refused without a proof, and with a proof by another key.
    await expect(refresh(s.client, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(cloud.grantErrors().at(-1)).toMatchObject({ grantType: 'refresh_token', detail: 'DPoP proof JWT not provided' });
    await expect(refresh(s.client, tokens.refresh_token!, thief.handle())).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(cloud.grantErrors().at(-1)).toMatchObject({ grantType: 'refresh_token', detail: 'failed jkt verification' });

    // The key read back from its stored form (a new process: a new handle, which learns the nonce again).
    const restored = await DpopKey.fromStored(stored);
    const refreshed = await refresh(s.client, tokens.refresh_token!, restored.handle());
    expect(refreshed.token_type.toLowerCase()).toBe('dpop');
    expect(decodeJwt(refreshed.access_token).cnf).toEqual({ jkt: key.thumbprint });
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token); // rotated
    expect(await call(new DpopResourceSigner(restored), refreshed.access_token, WHOAMI)).toMatchObject({ status: 200 });
  });
});

describe('workload identity: the JWT bearer grant with a DPoP proof', () => {
  const dirs: string[] = [];
  afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
  function tokenFile(): string {
    const d = mkdtempSync(join(tmpdir(), 'appwrite-mcp-wif-'));
    dirs.push(d);
    return join(d, 'token');
  }
  const grant = (dpop: oauth.DPoPHandle, assertion: Awaited<ReturnType<WorkloadTokenReader['current']>>, scopes = ['mcp:read']) =>
    jwtBearerGrant(ctx, { as, clientId: cloud.workloadClientId, assertion, resource: cloud.mcpUrl, scopes, dpop });

  it('signs the workload in with the token from its file, picks up the rotated one, and the MCP server knows the workload', async () => {
    const { key } = await DpopKey.generate();
    const dpop = key.handle();
    const path = tokenFile();
    writeFileSync(path, `${await cloud.workloadIdp.mint()}\n`);
    const reader = new WorkloadTokenReader({ file: path });
    const first = await reader.current();
    asCalls.length = 0;
    const tokens = await grant(dpop, first);
    expect(asCalls.map((c) => c.status)).toEqual([400, 200]); // the AS's nonce, then the tokens
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    expect(decodeJwt(tokens.access_token)).toMatchObject({ sub: cloud.workloadIdp.trustedSubject, client_id: cloud.workloadClientId, aud: cloud.mcpUrl, scope: 'mcp:read', cnf: { jkt: key.thumbprint } });
    const whoami = await call(new DpopResourceSigner(key), tokens.access_token, WHOAMI);
    expect(JSON.parse(whoami.body.result.content[0].text)).toMatchObject({ sub: cloud.workloadIdp.trustedSubject });

    writeFileSync(`${path}.new`, await cloud.workloadIdp.mint({ ttlSeconds: 900 }));
    renameSync(`${path}.new`, path);
    const second = await reader.current();
    expect(second.jwt).not.toBe(first.jwt);
    asCalls.length = 0;
    expect((await grant(dpop, second)).token_type.toLowerCase()).toBe('dpop');
    expect(asCalls.map((c) => c.status)).toEqual([200]); // the handle remembered the nonce
  });

  it('a refused token is reported with what to check, after one request: no retry, no other grant', async () => {
    const { key } = await DpopKey.generate();
    const dpop = key.handle();
    const reader = (jwt: string) => new WorkloadTokenReader({ env: 'WIF' }, { env: { WIF: jwt } }).current();
    await grant(dpop, await reader(await cloud.workloadIdp.mint())); // learns the nonce
    const cases: Array<[string, RegExp, RegExp]> = [
      [await cloud.workloadIdp.mint({ audience: 'https://elsewhere.example' }), /unexpected "aud" claim value/, /audience should name the authorization server/],
      [await cloud.workloadIdp.mint({ sub: 'system:serviceaccount:ci:intruder' }), /workload system:serviceaccount:ci:intruder may not get tokens here/, /trusts the issuer/],
    ];
    for (const [jwt, message, hint] of cases) {
      asCalls.length = 0;
      const err = await grant(dpop, await reader(jwt)).then(() => undefined, (e: unknown) => e as Error & { code: string; hint?: string });
      expect(err?.code).toBe('OAUTH_TOKEN_EXCHANGE_FAILED');
      expect(err!.message).toMatch(/^the authorization server at .* refused the workload identity token \(iss http:\/\/127\.0\.0\.1:\d+, sub .*\) \(HTTP 400: invalid_grant: /);
      expect(err!.message).toMatch(message);
      expect(err!.hint).toMatch(hint);
      expect(err!.message).not.toContain(jwt);
      expect(asCalls).toHaveLength(1);
    }
  });

  it('an expired workload token never leaves the machine; a grant without a proof is refused', async () => {
    const path = tokenFile();
    writeFileSync(path, await cloud.workloadIdp.mint({ ttlSeconds: -30 }));
    asCalls.length = 0;
    await expect(new WorkloadTokenReader({ file: path }).current()).rejects.toMatchObject({ code: 'AUTH_SIGN_IN_REQUIRED', message: expect.stringMatching(/expired 3\d s ago/) });
    expect(asCalls).toHaveLength(0);

    const assertion = await new WorkloadTokenReader({ env: 'WIF' }, { env: { WIF: await cloud.workloadIdp.mint() } }).current();
    const err = await jwtBearerGrant(ctx, { as, clientId: cloud.workloadClientId, assertion, resource: cloud.mcpUrl, scopes: [] }).then(() => undefined, (e: unknown) => e as Error);
    expect(err?.message).toMatch(/\(HTTP 400: invalid_grant: grant request is invalid\)$/);
    expect(cloud.grantErrors().at(-1)).toMatchObject({ grantType: 'urn:ietf:params:oauth:grant-type:jwt-bearer', detail: 'DPoP proof JWT not provided' });
  });
});

