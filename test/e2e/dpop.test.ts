// DPoP end to end (RFC 9449, MCP SEP-1932): the built CLI signs in through headless Chromium to the
// DPoP corner of the local cloud (oidc-provider demanding proofs and nonces, an MCP server taking
// DPoP-bound tokens only), keeps the key beside the refresh token in the real Secret Service, and
// a real MCP client calls a tool through the proxy. Then a thief's view: the access token and the
// refresh token, copied out of the keychain, are refused without the key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as oauth from 'oauth4webapi';
import type { Browser } from 'playwright-core';
import { startDpopCloud, type DpopCloud } from '../cloud/dpop.js';
import { browserSeam, launchChromium, loginThroughBrowser, type BrowserSeam } from '../helpers/browser.js';
import { NO_KEYCHAIN_ENV, hasSecretService, runCli, tempConfigDir } from '../helpers/cli.js';
import { connectProxy, textOf } from '../helpers/proxy-client.js';
import { readStored, revokeStored } from '../helpers/stored.js';
import { DpopKey } from '../../src/auth/dpop.js';
import { withDpopNonceRetry } from '../../src/auth/dpop-requests.js';

const keychainIt = hasSecretService() || process.env.APPWRITE_MCP_REQUIRE_KEYCHAIN === '1' ? it : it.skip;

let cloud: DpopCloud;
let browser: Browser;
let seam: BrowserSeam;
let config: { dir: string; cleanup(): void };

beforeAll(async () => {
  [cloud, browser] = await Promise.all([startDpopCloud({ requireNonce: true }), launchChromium()]);
  seam = browserSeam();
  config = tempConfigDir();
});
afterAll(async () => {
  seam?.cleanup();
  config?.cleanup();
  await Promise.all([cloud?.stop(), browser?.close()]);
});

function claimsOf(jwt: string): Record<string, any> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, any>;
}

const initialize = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'thief', version: '0' } } });
const mcpHeaders = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

describe('DPoP: a sign-in bound to a key in the keychain', () => {
  keychainIt('signs in, calls a tool through the proxy, and a copied access or refresh token is refused without the key', async () => {
    const env = { APPWRITE_MCP_CONFIG_DIR: config.dir, ...seam.env };
    const outputs: string[] = [];

    // 1. login (auto: the AS offers ES256 and the server's 401 is a DPoP challenge).
    const { result, page, url } = await loginThroughBrowser(browser, seam, cloud.user, ['--url', cloud.mcpUrl, '--debug'], env);
    outputs.push(result.stdout, result.stderr);
    expect(result.stderr).toContain('Signed in to');
    expect(result.code).toBe(0);
    expect(page.ok).toBe(true);
    const jkt = new URL(url).searchParams.get('dpop_jkt');
    expect(jkt).toMatch(/^[\w-]{43}$/);

    // 2. What was kept: the record names the key; the key sits beside the refresh token in the Secret Service.
    const stored = (await readStored(config.dir, cloud.mcpUrl))!;
    expect(stored.record.dpop).toEqual({ alg: 'ES256', jkt });
    expect(stored.record.token.tokenType).toBe('dpop');
    expect(claimsOf(stored.accessToken!).cnf).toEqual({ jkt });
    const keyEntry = execFileSync('secret-tool', ['lookup', 'service', 'appwrite-mcp', 'username', `${cloud.mcpUrl} dpop-key`], { env: process.env }).toString();
    expect(keyEntry).toMatch(/dpop1\.ES256\./);
    expect(keyEntry.length).toBeLessThanOrEqual(1000); // one entry under Windows' cap too

    // 3. status says so.
    const status = await runCli(['status', '--url', cloud.mcpUrl, '--json', '--check'], env);
    outputs.push(status.stdout, status.stderr);
    const s = JSON.parse(status.stdout).servers[0];
    expect(s.dpop).toEqual({ alg: 'ES256', jkt });
    expect(s.server.accepts).toBe(true); // the check presents the token with a proof
    const human = await runCli(['status', '--url', cloud.mcpUrl], env);
    expect(human.stdout).toContain(`DPoP-bound to this machine's key (ES256, thumbprint ${jkt})`);
    const doctor = await runCli(['doctor', '--url', cloud.mcpUrl], env);
    outputs.push(doctor.stdout, doctor.stderr);
    expect(doctor.stdout).toContain('the server accepts the stored access token'); // doctor presents it with a proof too

    // 4. The proxy: a real MCP client lists and calls a tool; every request is DPoP, the server's nonce costs one retry.
    const before = cloud.mcpRequests().length;
    const proxy = await connectProxy(['--url', cloud.mcpUrl, '--debug'], env);
    try {
      const tools = await proxy.client.listTools();
      expect(tools.tools.map((t) => t.name)).toContain('whoami');
      const called = await proxy.client.callTool({ name: 'whoami', arguments: {} });
      expect(textOf(called)).toContain(cloud.user.sub);
      cloud.rotateMcpNonce(); // a stale nonce mid-session: one more retry, no sign-in
      expect(textOf(await proxy.client.callTool({ name: 'whoami', arguments: {} }))).toContain(cloud.user.sub);
    } finally {
      outputs.push(proxy.stderr());
      await proxy.close();
    }
    const seen = cloud.mcpRequests().slice(before);
    expect(seen.every((r) => r.scheme === 'DPoP')).toBe(true);
    expect(seen.filter((r) => r.status === 200).every((r) => r.jkt === jkt)).toBe(true);
    expect(seen.filter((r) => r.error === 'use_dpop_nonce').length).toBe(2); // the first nonce, then the rotated one
    expect(seen.filter((r) => r.status === 401 && r.error !== 'use_dpop_nonce')).toEqual([]);

    // 5. `token` prints the token and says it is useless alone.
    const token = await runCli(['token', '--url', cloud.mcpUrl], env);
    expect(token.code).toBe(0);
    expect(token.stderr).toContain('DPoP-bound');
    outputs.push(token.stderr);

    // 6. A thief with the access token: as Bearer, as DPoP without a proof, with a proof by another key: all refused.
    const access = stored.accessToken!;
    const asBearer = await fetch(cloud.mcpUrl, { method: 'POST', headers: { ...mcpHeaders, authorization: `Bearer ${access}` }, body: initialize });
    expect(asBearer.status).toBe(401);
    const noProof = await fetch(cloud.mcpUrl, { method: 'POST', headers: { ...mcpHeaders, authorization: `DPoP ${access}` }, body: initialize });
    expect(noProof.status).toBe(401);
    const other = (await DpopKey.generate()).key;
    let otherKey: Response | undefined;
    let nonce: string | undefined;
    for (let i = 0; i < 2; i++) {
      const proof = await other.proof({ method: 'POST', url: new URL(cloud.mcpUrl), accessToken: access, nonce });
      otherKey = await fetch(cloud.mcpUrl, { method: 'POST', headers: { ...mcpHeaders, authorization: `DPoP ${access}`, dpop: proof }, body: initialize });
      nonce = otherKey.headers.get('dpop-nonce') ?? nonce;
      if (!/use_dpop_nonce/.test(otherKey.headers.get('www-authenticate') ?? '')) break;
    }
    expect(otherKey!.status).toBe(401);
    expect(cloud.mcpRequests().at(-1)!.error).not.toBe('use_dpop_nonce'); // refused for the key, not for the nonce

    // 7. A thief with the refresh token: without a proof, and with a proof by another key: both refused.
    const now = (await readStored(config.dir, cloud.mcpUrl))!;
    const as = now.record.as;
    const client: oauth.Client = { client_id: now.record.client.clientId, token_endpoint_auth_method: 'none' };
    const options = { [oauth.allowInsecureRequests]: true, additionalParameters: { resource: cloud.mcpUrl } };
    const bare = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), now.refreshToken!, options);
    await expect(oauth.processRefreshTokenResponse(as, client, bare)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(cloud.grantErrors().at(-1)).toMatchObject({ grantType: 'refresh_token', detail: 'DPoP proof JWT not provided' });
    const thief = other.handle();
    await expect(withDpopNonceRetry(async () => oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.None(), now.refreshToken!, { ...options, DPoP: thief }))))
      .rejects.toMatchObject({ error: 'invalid_grant' });
    expect(cloud.grantErrors().at(-1)).toMatchObject({ grantType: 'refresh_token', detail: 'failed jkt verification' });

    // 8. The owner still refreshes, with the key from the keychain (the thief's attempts spent nothing):
    //    the access token revoked behind its back, the proxy's refresh carries a proof by the stored key.
    await revokeStored(config.dir, cloud.mcpUrl, 'access_token');
    const proxy2 = await connectProxy(['--url', cloud.mcpUrl], env);
    try {
      expect(textOf(await proxy2.client.callTool({ name: 'whoami', arguments: {} }))).toContain(cloud.user.sub);
    } finally {
      outputs.push(proxy2.stderr());
      await proxy2.close();
    }
    const refreshed = (await readStored(config.dir, cloud.mcpUrl))!;
    expect(refreshed.accessToken).not.toBe(access);
    expect(claimsOf(refreshed.accessToken!).cnf).toEqual({ jkt });
    expect(refreshed.record.dpop).toEqual({ alg: 'ES256', jkt });

    // Nothing secret was printed: no token, no key.
    const keyPrivate = keyEntry.trim().split('.').at(-1)!;
    for (const out of outputs) {
      expect(out).not.toContain(access);
      expect(out).not.toContain(now.refreshToken!);
      expect(out).not.toContain(keyPrivate);
    }
  });
});

describe('DPoP without a person: the client credentials grant', () => {
  it('the proxy signs in with --client-credentials, its tokens bound to a key, and calls a tool', async () => {
    const dir = tempConfigDir();
    try {
      const env = { APPWRITE_MCP_CONFIG_DIR: dir.dir, APPWRITE_MCP_CLIENT_SECRET: cloud.machineClient.clientSecret, ...NO_KEYCHAIN_ENV };
      const before = cloud.mcpRequests().length;
      const proxy = await connectProxy(['--url', cloud.mcpUrl, '--client-credentials', '--client-id', cloud.machineClient.clientId, '--store', 'file'], env);
      try {
        expect(textOf(await proxy.client.callTool({ name: 'whoami', arguments: {} }))).toContain(cloud.machineClient.clientId);
      } finally {
        await proxy.close();
      }
      const stored = (await readStored(dir.dir, cloud.mcpUrl))!;
      expect(stored.record.dpop?.jkt).toMatch(/^[\w-]{43}$/);
      expect(claimsOf(stored.accessToken!).cnf).toEqual({ jkt: stored.record.dpop!.jkt });
      expect(cloud.mcpRequests().slice(before).filter((r) => r.status === 200).every((r) => r.scheme === 'DPoP' && r.jkt === stored.record.dpop!.jkt)).toBe(true);
    } finally {
      dir.cleanup();
    }
  });
});

describe('workload identity (SEP-1933) through the built CLI', () => {
  let wif: DpopCloud;
  let dir: { dir: string; cleanup(): void };
  beforeAll(async () => {
    // 4 s access tokens: due for a new grant after 2 s, expired after 4 s.
    [wif, dir] = [await startDpopCloud({ requireNonce: true, accessTokenTtl: 4 }), tempConfigDir()];
  });
  afterAll(async () => {
    dir?.cleanup();
    await wif?.stop();
  });

  it('signs in with the token in --workload-jwt-file, reads it again when it rotates, never resends a refused one, stores nothing', async () => {
    const file = join(dir.dir, 'workload.jwt');
    const put = (jwt: string) => { writeFileSync(`${file}.new`, jwt); renameSync(`${file}.new`, file); }; // as the kubelet swaps it
    put(await wif.workloadIdp.mint());
    const env = { APPWRITE_MCP_CONFIG_DIR: dir.dir, ...NO_KEYCHAIN_ENV };
    const proxy = await connectProxy(['--url', wif.mcpUrl, '--workload-jwt-file', file, '--client-id', wif.workloadClientId, '--debug'], env);
    const whoami = () => proxy.client.callTool({ name: 'whoami', arguments: {} });
    try {
      expect(textOf(await whoami())).toContain(wif.workloadIdp.trustedSubject);
      const first = wif.mcpRequests().filter((r) => r.status === 200);
      expect(first.length).toBeGreaterThan(0);
      expect(first.every((r) => r.scheme === 'DPoP')).toBe(true); // both servers take DPoP: bound, with a key in memory

      // The platform rotates the token to one the AS refuses; once the access token expired, the next grant uses it.
      put(await wif.workloadIdp.mint({ sub: 'system:serviceaccount:ci:intruder' }));
      await new Promise((r) => setTimeout(r, 4_500));
      await expect(whoami()).rejects.toThrow();
      expect(wif.grantErrors().filter((e) => e.grantType.endsWith('jwt-bearer') && e.error !== 'use_dpop_nonce'), JSON.stringify(wif.grantErrors())).toHaveLength(1);
      expect(proxy.stderr()).toContain('sub system:serviceaccount:ci:intruder');
      // The same refused token is not sent again.
      await expect(whoami()).rejects.toThrow();
      expect(wif.grantErrors().filter((e) => e.grantType.endsWith('jwt-bearer') && e.error !== 'use_dpop_nonce'), JSON.stringify(wif.grantErrors())).toHaveLength(1);

      // A new token in place: signed in again at the next request.
      put(await wif.workloadIdp.mint());
      expect(textOf(await whoami())).toContain(wif.workloadIdp.trustedSubject);
    } finally {
      await proxy.close();
    }
    // Nothing was kept: no sign-in record, no secrets file.
    const state = join(dir.dir, 'state.json');
    expect(existsSync(state) ? (JSON.parse(readFileSync(state, 'utf8')) as { signIns?: object }).signIns ?? {} : {}).toEqual({});
    expect(proxy.stderr()).not.toMatch(/eyJ[\w-]{20,}\.[\w-]{20,}/); // no JWT in the logs
  });
});
