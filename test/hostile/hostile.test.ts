// Hostile and broken servers, and the corners users fall into (issue "Hardening"): each test is
// one thing a malicious or broken server, a local process or a slip of the user does, and what the
// CLI must do about it: the built CLI as a child process, or `login` run in-process where the
// process itself plays no part.
import { mkdirSync, chmodSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startCloud } from '../cloud/index.js';
import { browserSeam, completeSignIn, launchChromium, loginThroughBrowser } from '../helpers/browser.js';
import { NO_KEYCHAIN_ENV, runCli, startCli, tempConfigDir } from '../helpers/cli.js';
import { connectProxy, textOf } from '../helpers/proxy-client.js';
import { readStored, revokeStored, signInsAt } from '../helpers/stored.js';
import { startHostileServer } from './hostile-server.js';
import { run as login } from '../../src/commands/login.js';
import { testFactory } from '../helpers/factory.js';
import { until } from '../helpers/fakes.js';
import { signInOverHttp } from '../helpers/http-user.js';

let browser: Browser;
const cleanups: Array<() => unknown> = [];
beforeAll(async () => { browser = await launchChromium(); });
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await browser?.close();
});

function env() {
  const config = tempConfigDir();
  const seam = browserSeam();
  cleanups.push(() => config.cleanup(), () => seam.cleanup());
  return { dir: config.dir, seam, env: { APPWRITE_MCP_CONFIG_DIR: config.dir, APPWRITE_MCP_STORE: 'file', ...NO_KEYCHAIN_ENV, ...seam.env } };
}

describe('a pre-registered client\'s credentials go to its own authorization server only', () => {
  /** A client registered at the local cloud's Python-SDK authorization server (it takes secrets only). */
  async function preRegistered(cloud: Awaited<ReturnType<typeof startCloud>>) {
    const meta = await (await fetch(`${new URL(cloud.pythonSdkIssuer).origin}/.well-known/oauth-authorization-server`)).json();
    return (await (await fetch(meta.registration_endpoint, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:39123/callback'], token_endpoint_auth_method: 'client_secret_basic' }),
    })).json()) as { client_id: string; client_secret: string };
  }

  it('pinned at its first sign-in: a server that names another AS gets no token request, even with --client-credentials', async () => {
    const cloud = await startCloud();
    const hostile = await startHostileServer({ tokenStatus: 400 });
    cleanups.push(() => cloud.stop(), () => hostile.stop());
    const client = await preRegistered(cloud);
    const e = env();
    const t = testFactory({ dir: e.dir, env: { APPWRITE_MCP_CLIENT_SECRET: client.client_secret }, browser: (url) => fetch(url) }); // its AS approves at once
    expect(await login({ url: cloud.pythonSdkMcpUrl, clientId: client.client_id, callbackPort: '39123', browser: true }, t.f)).toBe(0);

    const r = await login({ clientCredentials: true, url: hostile.mcpUrl, clientId: client.client_id, browser: true }, t.f).catch((err) => err);
    expect(r).toMatchObject({ code: 'OAUTH_CLIENT_ISSUER_MISMATCH', exitCode: 1, hint: `If ${hostile.origin} is where this client is registered, pass --issuer ${hostile.origin}.` });
    expect(r.message).toBe(`client "${client.client_id}" belongs to the authorization server ${cloud.pythonSdkIssuer} (the issuer of its first sign-in), but ${hostile.mcpUrl} names ${hostile.origin}: refusing to send the client's credentials there`);
    expect(hostile.requests).not.toContain('POST /token');
    // The browser flow is refused the same way, before any tab opens.
    await expect(login({ url: hostile.mcpUrl, clientId: client.client_id, browser: true }, t.f)).rejects.toMatchObject({ code: 'OAUTH_CLIENT_ISSUER_MISMATCH' });
    expect(t.opened).toHaveLength(1);

    // Saying --issuer is saying where the client belongs: then the credentials go there.
    const told = await login({ clientCredentials: true, url: hostile.mcpUrl, clientId: client.client_id, issuer: hostile.origin, browser: true }, t.f).catch((err) => err);
    expect(told.code).not.toBe('OAUTH_CLIENT_ISSUER_MISMATCH');
    expect(hostile.requests).toContain('POST /token');
  });

  it('--issuer pins a client on its first sign-in too', async () => {
    const hostile = await startHostileServer({ tokenStatus: 400 });
    cleanups.push(() => hostile.stop());
    const e = env();
    const r = await runCli(['login', '--client-credentials', '--url', hostile.mcpUrl, '--client-id', 'ci-client', '--issuer', 'https://login.example.com/'], { ...e.env, APPWRITE_MCP_CLIENT_SECRET: 'ci-secret-0123456789' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`client "ci-client" belongs to the authorization server https://login.example.com/ (--issuer), but ${hostile.mcpUrl} names ${hostile.origin}`);
    expect(r.stderr).not.toContain('ci-secret-0123456789');
    expect(hostile.requests).not.toContain('POST /token');
  });
});

describe('a server that names a legitimate authorization server', () => {
  it('does not get the client registered for another server (nor the consent given to it): a registration per AS and MCP server', async () => {
    const cloud = await startCloud();
    cleanups.push(() => cloud.stop());
    // An AS that takes any resource (the Python SDK's), and a hostile server whose metadata names it.
    const hostile = await startHostileServer({ authorizationServer: cloud.pythonSdkIssuer });
    cleanups.push(() => hostile.stop());
    const e = env();
    const t = testFactory({ dir: e.dir, browser: (url) => fetch(url) }); // its AS approves at once
    expect(await login({ url: cloud.pythonSdkMcpUrl, browser: true }, t.f)).toBe(0);
    expect(cloud.pythonSdk.registrations).toBe(1);
    const legitClient = new URL(t.opened[0]!).searchParams.get('client_id');

    expect(await login({ url: hostile.mcpUrl, browser: true }, t.f)).toBe(0);
    const asked = new URL(t.opened[1]!);
    expect(asked.searchParams.get('resource')).toBe(hostile.mcpUrl);
    expect(asked.searchParams.get('client_id')).not.toBe(legitClient);
    expect(cloud.pythonSdk.registrations).toBe(2);
    // The legitimate server's own registration is still the one it uses.
    expect(await login({ url: cloud.pythonSdkMcpUrl, browser: true }, t.f)).toBe(0);
    expect(new URL(t.opened[2]!).searchParams.get('client_id')).toBe(legitClient);
    expect(cloud.pythonSdk.registrations).toBe(2);
  });
});

describe('a malicious or broken authorization server', () => {
  it('a plain-http authorization endpoint on another host is refused before any browser opens', async () => {
    const bad = await startHostileServer({ authorizationEndpoint: 'http://evil.example/auth' });
    cleanups.push(() => bad.stop());
    const e = env();
    const r = await runCli(['login', '--url', bad.mcpUrl], e.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/"authorization_endpoint" "http:\/\/evil\.example\/auth" uses plain http:\/\/ on a non-loopback host/);
    expect(r.stderr).not.toMatch(/could not reach|OAUTH_HTTP_REQUEST_FORBIDDEN/);
    expect(e.seam.urls()).toEqual([]);
    expect(bad.requests).not.toContain('POST /register');
  });

  // Item 8 of issue 19: the authorization-server metadata said "failed to parse response body as JSON".
  it.each([
    ['protected-resource', { hugeBodyBytes: 20 * 1024 * 1024 }, '/.well-known/oauth-protected-resource/mcp'],
    ['authorization-server', { hugeAsMetadataBytes: 20 * 1024 * 1024 }, '/.well-known/oauth-authorization-server'],
  ] as const)('%s metadata of 20 MB is cut off at 1 MiB with an error naming the URL and the cap, not a JSON parse failure', async (_, behaviour, path) => {
    const bad = await startHostileServer(behaviour);
    cleanups.push(() => bad.stop());
    const e = env();
    const started = Date.now();
    const r = await runCli(['login', '--url', bad.mcpUrl], e.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the response from ${bad.origin}${path} is larger than 1 MiB`);
    expect(r.stderr).not.toMatch(/parse|JSON/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('a body sent one byte at a time ends as a timeout, not as a JSON error', async () => {
    const bad = await startHostileServer({ slowBodyMs: 1_000 });
    cleanups.push(() => bad.stop());
    const e = env();
    const r = await runCli(['login', '--url', bad.mcpUrl], e.env, { timeoutMs: 40_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/could not reach http:\/\/127\.0\.0\.1:\d+ \(timed out while it was still sending its answer\)/);
    expect(r.stderr).not.toMatch(/JSON/);
  }, 45_000);
});

describe('a malicious or broken device authorization endpoint (login --device-code)', () => {
  const code = (over: Record<string, unknown> = {}) => ({ device_code: 'dc', user_code: 'ABCD-EFGH', verification_uri: 'http://127.0.0.1:1/device', expires_in: 600, interval: 1, ...over });

  it('a plain-http verification address on another host is neither shown nor opened', async () => {
    const bad = await startHostileServer({ deviceAuthorization: code({ verification_uri: 'http://evil.example/device', verification_uri_complete: 'http://evil.example/device?user_code=ABCD-EFGH' }) });
    cleanups.push(() => bad.stop());
    const e = env();
    const r = await runCli(['login', '--device-code', '--url', bad.mcpUrl], e.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`"verification_uri" in the device authorization response of ${bad.origin} "http://evil.example/device" uses plain http:// on a non-loopback host`);
    expect(r.stderr).not.toContain('enter this code');
    expect(e.seam.urls()).toEqual([]);
    expect(bad.requests).not.toContain('POST /token');
  });

  it('a user code with terminal escapes is not written to the terminal', async () => {
    const bad = await startHostileServer({ deviceAuthorization: code({ user_code: 'ABCD\u001b[2J\u001b]0;pwned\u0007' }) });
    cleanups.push(() => bad.stop());
    const e = env();
    const r = await runCli(['login', '--device-code', '--url', bad.mcpUrl], e.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('has a "user_code" that cannot be shown');
    expect(r.stderr).not.toContain('\u001b');
    expect(bad.requests).not.toContain('POST /token');
  });
});

describe('the loopback callback', () => {
  it('a forged callback (no state, or another state) gets an error page; the sign-in goes on and completes', async () => {
    const cloud = await startCloud();
    cleanups.push(() => cloud.stop());
    const e = env();
    const t = testFactory({ dir: e.dir });
    const running = login({ url: cloud.mcpUrl, browser: true, timeout: 60 }, t.f);
    await until(() => t.opened.length > 0);
    const url = new URL(t.opened[0]!);
    const callback = url.searchParams.get('redirect_uri')!;
    for (const query of ['?code=forged', '?code=forged&state=not-this-one', '?error=access_denied']) {
      const res = await fetch(`${callback}${query}`);
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('Not this sign-in');
    }
    expect((await signInOverHttp(url.href, cloud.user)).ok).toBe(true);
    expect(await running).toBe(0);
    expect(t.stderr().match(/ignored a request to the sign-in callback/g)).toHaveLength(3);
    expect(t.stderr()).toMatch(/without "state"/);
  });
});

describe('never hang the client, never act on bad input', () => {
  it('initialize is answered within --auth-timeout when the server rejects a stored token and there is no refresh token', async () => {
    const cloud = await startCloud();
    cleanups.push(() => cloud.stop());
    const e = env();
    const { result } = await loginThroughBrowser(browser, e.seam, cloud.user, ['--url', cloud.mcpUrl], e.env);
    expect(result.code, result.stderr).toBe(0);
    // As from an AS that issues no refresh token:
    await signInsAt(e.dir).records.dropRefreshToken((await readStored(e.dir, cloud.mcpUrl))!.record);
    expect((await readStored(e.dir, cloud.mcpUrl))!.refreshToken).toBeUndefined();
    await revokeStored(e.dir, cloud.mcpUrl, 'access_token'); // valid by its expiry, refused by the server
    const started = Date.now();
    const p = await connectProxy(['--url', cloud.mcpUrl, '--auth-timeout', '3'], e.env);
    cleanups.push(() => p.close());
    expect(Date.now() - started).toBeLessThan(8_000);
    expect((await p.client.listTools()).tools.map((t) => t.name)).toEqual(['sign_in']);
    expect(e.seam.urls()).toHaveLength(2); // the login's tab, and the one the proxy opened for the new sign-in
  });

  it('a usage error has no side effects: no browser, no state, exit 2 at once', async () => {
    const cloud = await startCloud();
    cleanups.push(() => cloud.stop());
    const e = env();
    const started = Date.now();
    const run = startCli(['--url', cloud.mcpUrl, '--header', 'Authorization: Bearer x'], e.env);
    const r = await run.result;
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--header Authorization is not allowed');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(e.seam.urls()).toEqual([]);
    expect(existsSync(join(e.dir, 'state.json'))).toBe(false);
    expect(cloud.stats.registrations).toBe(0);
  });

  it('an AS that is down when a copy starts sets no cool-down: the next copy, with the AS back, opens the browser', async () => {
    const cloud = await startCloud();
    cleanups.push(() => cloud.stop());
    const e = env();
    await cloud.stopAuthServer();
    const first = await connectProxy(['--url', cloud.mcpUrl, '--auth-timeout', '5'], e.env);
    cleanups.push(() => first.close());
    expect((await first.client.listTools()).tools.map((t) => t.name)).toEqual(['sign_in']);
    expect(e.seam.urls()).toEqual([]);
    await first.close();
    await cloud.startAuthServer();
    const second = connectProxy(['--url', cloud.mcpUrl, '--auth-timeout', '45'], e.env);
    const url = await e.seam.nextUrl({ timeoutMs: 20_000 });
    const page = await completeSignIn(browser, url, cloud.user);
    await page.page.context().close();
    const p = await second;
    cleanups.push(() => p.close());
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'back' } }))).toBe('back');
  });

  it('a config dir that others can read is tightened, even by a command that only reads', async () => {
    const e = env();
    mkdirSync(e.dir, { recursive: true });
    chmodSync(e.dir, 0o755);
    const r = await runCli(['status'], e.env);
    expect(r.code).toBe(3);
    expect(statSync(e.dir).mode & 0o777).toBe(0o700);
    expect(r.stderr).toMatch(/was accessible by other users \(mode 0755\); changed it to 0700/);
  });
});
