// Browser end-to-end: the built CLI signs in against the local cloud in real headless Chromium,
// with secrets in a real Secret Service (gnome-keyring under dbus-run-session, see test/run.mjs).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { startCloud, type Cloud } from '../cloud/index.js';
import { browserSeam, completeSignIn, launchChromium, loginThroughBrowser, type BrowserSeam } from '../helpers/browser.js';
import { BIN, NO_KEYCHAIN_ENV, baseEnv, hasSecretService, runCli, startCli, tempConfigDir } from '../helpers/cli.js';
import { KeychainSecretStore } from '../../src/store/secrets.js';
import { readStored, revokeStored } from '../helpers/stored.js';
import { until } from '../helpers/fakes.js';

const requireKeychain = process.env.APPWRITE_MCP_REQUIRE_KEYCHAIN === '1';
const keychainIt = hasSecretService() || requireKeychain ? it : it.skip;

let cloud: Cloud;
let browser: Browser;
let seam: BrowserSeam;
let config: { dir: string; cleanup(): void };
const outputs: string[] = [];

beforeAll(async () => {
  [cloud, browser] = await Promise.all([startCloud(), launchChromium()]);
});
afterAll(async () => {
  await Promise.all([cloud?.stop(), browser?.close()]);
});

function freshEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  seam = browserSeam();
  config = tempConfigDir();
  return { APPWRITE_MCP_CONFIG_DIR: config.dir, ...seam.env, ...extra };
}
afterEach(() => {
  seam?.cleanup();
  config?.cleanup();
});

async function cli(args: string[], env: NodeJS.ProcessEnv) {
  const r = await runCli(args, env);
  outputs.push(r.stdout, r.stderr);
  return r;
}

async function login(args: string[], env: NodeJS.ProcessEnv, consent: 'allow' | 'deny' = 'allow') {
  const r = await loginThroughBrowser(browser, seam, cloud.user, args, env, { consent });
  outputs.push(r.result.stdout, r.result.stderr);
  return r;
}

describe('login → status → logout', () => {
  keychainIt('signs in through the browser, keeps the JWT in the Secret Service, then revokes and clears it', async () => {
    const env = freshEnv();
    const { result, page, url } = await login(['--url', cloud.mcpUrl, '--debug'], env);
    expect(result.stderr).toContain('Signed in to');
    expect(result.stderr).toContain('[debug]');
    expect(result.code).toBe(0);
    expect(page.ok).toBe(true);
    expect(page.title).toBe('Signed in');
    const auth = new URL(url);
    expect(auth.searchParams.get('code_challenge_method')).toBe('S256');
    expect(auth.searchParams.get('resource')).toBe(cloud.mcpUrl);
    expect(auth.searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect(auth.searchParams.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['mcp:read', 'mcp:write', 'offline_access']));

    const status = await cli(['status', '--url', cloud.mcpUrl, '--json'], env);
    expect(status.code).toBe(0);
    const s = JSON.parse(status.stdout).servers[0];
    expect(s.ok).toBe(true);
    expect(s.account).toMatchObject({ sub: cloud.user.sub, email: cloud.user.email });
    expect(s.scopes).toEqual(expect.arrayContaining(['mcp:read', 'mcp:write']));
    expect(s.refreshToken.present).toBe(true);
    expect(s.secrets.store).toBe('keychain');
    expect(s.issuer).toBe(cloud.issuer);
    expect(s.client.registration).toBe('dcr');
    expect(JSON.stringify(s)).not.toMatch(/eyJ/);

    // The secrets really are in the Secret Service, each entry under the Windows cap, and the
    // access token is a JWT bound to the resource.
    const stored = (await readStored(config.dir, cloud.mcpUrl))!;
    const tokens = { accessToken: stored.accessToken!, refreshToken: stored.refreshToken! };
    const raw = execFileSync('secret-tool', ['lookup', 'service', 'appwrite-mcp', 'username', `${cloud.mcpUrl} refresh`], { env: process.env }).toString();
    expect(raw).toContain(tokens.refreshToken);
    expect(raw.length).toBeLessThanOrEqual(1000);
    const claims = await cloud.verifyAccessToken(tokens.accessToken);
    expect(claims.aud).toBe(cloud.mcpUrl);
    expect(claims.sub).toBe(cloud.user.sub);
    expect(await cloud.tokenStatus(tokens.refreshToken)).toBe('active');
    // Nothing secret in the state file.
    expect(readFileSync(join(config.dir, 'state.json'), 'utf8')).not.toContain(tokens.refreshToken);

    const human = await cli(['status', '--url', cloud.mcpUrl], env);
    expect(human.stdout).toContain(`Signed in as ${cloud.user.email}`);
    expect(human.stdout).toContain('OS keychain');

    const logout = await cli(['logout', '--url', cloud.mcpUrl, '--debug'], env);
    expect(logout.code).toBe(0);
    expect(logout.stderr).toMatch(/revoked the tokens/);
    expect(await cloud.tokenStatus(tokens.refreshToken)).toBe('revoked');
    const store = new KeychainSecretStore({ timeoutMs: 3000 });
    expect(await store.read(`${cloud.mcpUrl} refresh`)).toBeUndefined();
    expect(await store.read(`${cloud.mcpUrl} access`)).toBeUndefined();
    const after = await cli(['status', '--url', cloud.mcpUrl, '--json'], env);
    expect(after.code).toBe(3);
    expect(JSON.parse(after.stdout).signedIn).toBe(false);

    const again = await cli(['logout', '--url', cloud.mcpUrl], env);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('nothing to do');

    for (const out of outputs) {
      expect(out).not.toContain(tokens.accessToken);
      expect(out).not.toContain(tokens.refreshToken);
    }
  });

  keychainIt('reuses the cached registration per issuer, and registers anew when the AS forgot the client', async () => {
    const env = freshEnv();
    const project = cloud.projectMcpUrl('demo-project');
    const before = cloud.stats.registrations;
    const first = (await login(['--url', project], env)).result;
    expect(first.code, first.stderr).toBe(0);
    expect(cloud.stats.registrations).toBe(before + 1);
    const second = (await login(['--url', project], env)).result;
    expect(second.code, second.stderr).toBe(0);
    expect(cloud.stats.registrations).toBe(before + 1);

    const statePath = join(config.dir, 'state.json');
    const state = JSON.parse(readFileSync(statePath, 'utf8'));
    const key = `${cloud.projectIssuer('demo-project')} ${project}`;
    expect(Object.keys(state.clients)).toEqual([key]);
    state.clients[key].clientId = 'forgotten-client-id';
    writeFileSync(statePath, JSON.stringify(state));
    const { result } = await login(['--url', project], env);
    expect(result.code, result.stderr).toBe(0);
    expect(cloud.stats.registrations).toBe(before + 2);
    const s = JSON.parse((await cli(['status', '--url', project, '--json'], env)).stdout).servers[0];
    expect(s.issuer).toBe(cloud.projectIssuer('demo-project'));
    expect(s.client.id).not.toBe('forgotten-client-id');
    await cli(['logout', '--all'], env);
  });

  keychainIt('signing in again into the file store leaves no copy in the keychain', async () => {
    const env = freshEnv();
    expect((await login(['--url', cloud.mcpUrl], env)).result.code).toBe(0);
    const keychain = new KeychainSecretStore({ timeoutMs: 3000 });
    expect(await keychain.read(`${cloud.mcpUrl} access`)).toBeDefined();
    expect((await login(['--url', cloud.mcpUrl, '--store', 'file'], env)).result.code).toBe(0);
    expect(await keychain.read(`${cloud.mcpUrl} access`)).toBeUndefined();
    expect(await keychain.read(`${cloud.mcpUrl} refresh`)).toBeUndefined();
    const s = JSON.parse((await cli(['status', '--url', cloud.mcpUrl, '--json'], env)).stdout).servers[0];
    expect(s.secrets.store).toBe('file');
    expect(s.ok).toBe(true);
    await cli(['logout', '--all'], env);
  });

  keychainIt('logout with the keychain out of reach keeps the state, says so, and works once it is back', async () => {
    const env = freshEnv();
    expect((await login(['--url', cloud.mcpUrl], env)).result.code).toBe(0);
    const locked = await cli(['logout', '--url', cloud.mcpUrl], { ...env, ...NO_KEYCHAIN_ENV });
    expect(locked.code).toBe(1);
    expect(locked.stderr).toContain('could not delete the secrets');
    const status = await cli(['status', '--url', cloud.mcpUrl, '--json'], { ...env, ...NO_KEYCHAIN_ENV });
    expect(status.code).toBe(4);
    expect(JSON.parse(status.stdout).servers[0].fix).toMatch(/unlock your keychain/);
    const again = await cli(['logout', '--url', cloud.mcpUrl], env);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/revoked the tokens/);
    expect((await cli(['status', '--url', cloud.mcpUrl], env)).code).toBe(3);
  });

  it('uses a pre-registered client with --client-id (no registration)', async () => {
    const env = freshEnv(NO_KEYCHAIN_ENV);
    const meta = await (await fetch(`${new URL(cloud.issuer).origin}/.well-known/oauth-authorization-server${new URL(cloud.issuer).pathname}`)).json();
    const registered = await (await fetch(meta.registration_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ application_type: 'native', redirect_uris: ['http://127.0.0.1/callback'], token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'] }),
    })).json();
    const before = cloud.stats.registrations;
    const { result, url } = await login(['--url', cloud.mcpUrl, '--client-id', registered.client_id, '--store', 'file'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(new URL(url).searchParams.get('client_id')).toBe(registered.client_id);
    expect(cloud.stats.registrations).toBe(before);
    const s = JSON.parse((await cli(['status', '--url', cloud.mcpUrl, '--json'], env)).stdout).servers[0];
    expect(s.client).toEqual({ id: registered.client_id, registration: 'preregistered' });
    const again = await login(['--url', cloud.mcpUrl, '--client-id', registered.client_id, '--store', 'file'], env);
    expect(again.result.stderr).toContain(`Already signed in to ${cloud.mcpUrl} as ${cloud.user.email}`);
  });

  it('--no-browser prints the URL on stderr and opens nothing', async () => {
    const env = freshEnv(NO_KEYCHAIN_ENV);
    const run = startCli(['login', '--url', cloud.mcpUrl, '--no-browser', '--store', 'file'], env);
    let url: string | undefined;
    for (let i = 0; i < 200 && !url; i++) {
      url = /(http:\/\/127\.0\.0\.1:\d+\/v1\/oauth2\/console\/auth\?\S+)/.exec(run.stderr())?.[1];
      if (!url) await new Promise((r) => setTimeout(r, 50));
    }
    expect(url).toBeDefined();
    await completeSignIn(browser, url!, cloud.user);
    const result = await run.result;
    expect(result.code).toBe(0);
    expect(seam.urls()).toEqual([]);
  });
});

describe('a browser that cannot reach this machine (SSH, WSL, a container)', () => {
  it('the address the browser ends on, pasted into the terminal, completes the sign-in with every check', async () => {
    const env = freshEnv(NO_KEYCHAIN_ENV);
    const child = spawn(process.execPath, [BIN, 'login', '--url', cloud.mcpUrl, '--no-browser', '--timeout', '60'], { env: { ...baseEnv(), ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    let url: string | undefined;
    for (let i = 0; i < 400 && !url; i++) {
      url = /(http:\/\/127\.0\.0\.1:\d+\/v1\/oauth2\/console\/auth\?\S+)/.exec(stderr)?.[1];
      if (!url) await new Promise((r) => setTimeout(r, 50));
    }
    expect(url, stderr).toBeDefined();
    expect(stderr).toContain('paste here the address it ends on');
    const redirectUri = new URL(url!).searchParams.get('redirect_uri')!;
    // The browser "elsewhere": its redirect to our loopback never arrives; the user copies the address.
    const context = await browser.newContext();
    const page = await context.newPage();
    let landed: string | undefined;
    // Every AS redirect is followed by a fresh navigation (a redirect itself cannot be routed), so the
    // one to our loopback can be stopped: there, the browser shows an error, as it would elsewhere.
    await page.route(`${new URL(url!).origin}/**`, async (route) => {
      const res = await route.fetch({ maxRedirects: 0 });
      const location = res.headers().location;
      if (!location) return route.fulfill({ response: res });
      const next = new URL(location, route.request().url()).href;
      if (next.startsWith(redirectUri)) {
        landed = next;
        return route.fulfill({ status: 502, contentType: 'text/plain', body: 'this machine cannot reach that address' });
      }
      const headers = { ...res.headers() };
      delete headers.location;
      return route.fulfill({ status: 200, headers: { ...headers, 'content-type': 'text/html' }, body: `<meta http-equiv="refresh" content="0;url=${next}">` });
    });
    await page.goto(url!);
    await page.fill('input[name="login"]', cloud.user.login);
    await page.fill('input[name="password"]', cloud.user.password);
    await page.click('#submit');
    await page.click('#allow');
    for (let i = 0; i < 200 && !landed; i++) await new Promise((r) => setTimeout(r, 50));
    await context.close();
    expect(landed).toMatch(/\?code=.*&state=/);
    child.stdin.write(`${new URL(landed!).searchParams.get('code')}\n`); // the code alone is refused
    const forged = new URL(landed!);
    forged.searchParams.set('state', 'not-this-sign-in');
    child.stdin.write(`${forged.href}\n`); // another state: ignored like a forged callback
    child.stdin.write(`${landed}\n`);
    expect(await exited, stderr).toBe(0);
    expect(stderr).toContain('paste the whole address your browser ended on');
    expect(stderr).toContain('with a "state" this sign-in did not send');
    expect(stderr).toContain(`Signed in to ${cloud.mcpUrl}`);
    expect((await cli(['status', '--url', cloud.mcpUrl], env)).code).toBe(0);
    await cli(['logout', '--all'], env);
  });
});

describe('authorization request options (mcp-remote parity)', () => {
  /** Runs login without a browser for a moment and returns the authorization URL it printed. */
  async function authorizationUrl(args: string[]) {
    const r = await cli(['login', '--url', cloud.mcpUrl, '--no-browser', '--timeout', '2', ...args], freshEnv(NO_KEYCHAIN_ENV));
    const m = /(http:\/\/127\.0\.0\.1:\d+\/v1\/oauth2\/console\/auth\?\S+)/.exec(r.stderr);
    return { r, url: m ? new URL(m[1]!) : undefined };
  }

  it('--callback-port/--callback-path give the exact redirect URI and the sign-in completes; a taken port is a clear error', async () => {
    const env = freshEnv(NO_KEYCHAIN_ENV);
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const taken = (blocker.address() as AddressInfo).port;
    try {
      const busy = await cli(['login', '--url', cloud.mcpUrl, '--callback-port', String(taken)], env);
      expect(busy.code).toBe(2);
      expect(busy.stderr).toContain(`the sign-in callback port ${taken} on 127.0.0.1 is taken`);
      expect(seam.urls()).toEqual([]);
    } finally {
      blocker.close();
    }
    const { result, url } = await login(['--url', cloud.mcpUrl, '--callback-port', String(taken), '--callback-path', '/oauth/cb'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(new URL(url).searchParams.get('redirect_uri')).toBe(`http://127.0.0.1:${taken}/oauth/cb`);
    await cli(['logout', '--all'], env);
  });

  it('--authorize-param adds parameters but cannot replace the protected ones; --resource and --no-resource', async () => {
    const withPrompt = await authorizationUrl(['--authorize-param', 'prompt=login', '--authorize-param', 'ui_locales=de']);
    expect(withPrompt.url?.searchParams.get('prompt')).toBe('login');
    expect(withPrompt.url?.searchParams.get('ui_locales')).toBe('de');
    const refused = await cli(['login', '--url', cloud.mcpUrl, '--authorize-param', 'state=fixed'], freshEnv(NO_KEYCHAIN_ENV));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--authorize-param cannot set "state"');
    const other = await authorizationUrl(['--resource', 'https://api.example.com/']);
    expect(other.url?.searchParams.get('resource')).toBe('https://api.example.com/');
    const none = await authorizationUrl(['--no-resource']);
    expect(none.url?.searchParams.has('resource')).toBe(false);
    expect(none.r.stderr).toContain(`--no-resource: the token will not be bound to ${cloud.mcpUrl} (RFC 8707)`);
  });
});

describe('an authorization server built on the MCP Python SDK (FastMCP, the simple-auth example)', () => {
  it('signs in, refreshes and signs out with client_secret_basic and client_id in the body, as its token endpoint demands', async () => {
    const py = await startCloud({ accessTokenTtl: 2 });
    try {
      const env = freshEnv(NO_KEYCHAIN_ENV);
      const run = startCli(['login', '--url', py.pythonSdkMcpUrl, '--store', 'file'], env);
      // Its authorization endpoint approves at once (an in-memory provider): the "browser" follows the redirect home.
      const landed = await fetch(await seam.nextUrl());
      expect(landed.status, await landed.text()).toBe(200);
      const login = await run.result;
      outputs.push(login.stdout, login.stderr);
      expect(py.pythonSdk.tokenErrors).toEqual([]);
      expect(login.code, login.stderr).toBe(0);
      const stored = (await readStored(config.dir, py.pythonSdkMcpUrl))!;
      expect(stored.record.as.issuer).toBe(py.pythonSdkIssuer);
      expect(stored.record.client).toMatchObject({ method: 'dcr', authMethod: 'client_secret_basic', hasSecret: true });
      // The 2 s token is due for refresh after half its lifetime: `token` refreshes it at the Python SDK's token endpoint.
      const { expiresAt, obtainedAt } = stored.record.token;
      await until(() => Date.now() > expiresAt! - (expiresAt! - obtainedAt) / 2, 5_000);
      const token = await cli(['token', '--url', py.pythonSdkMcpUrl], env);
      expect(token.code, token.stderr).toBe(0);
      expect(py.pythonSdk.refreshGrants).toBe(1);
      expect(py.pythonSdk.tokenErrors).toEqual([]);
      expect(token.stdout.trim()).not.toBe(stored.accessToken);
      // Its revocation endpoint wants client_secret in the body even with Basic (a required Pydantic field):
      // reported, not retried; the local copy goes anyway.
      const logout = await cli(['logout', '--url', py.pythonSdkMcpUrl], env);
      expect(logout.code, logout.stderr).toBe(0);
      expect(logout.stderr).toContain('client_secret: Field required');
      expect(await readStored(config.dir, py.pythonSdkMcpUrl)).toBeUndefined();
    } finally {
      await py.stop();
    }
  });

  it('its token endpoint refuses a request without client_id in the body (what appwrite-mcp sent before)', async () => {
    const py = await startCloud();
    try {
      const meta = await (await fetch(`${new URL(py.pythonSdkIssuer).origin}/.well-known/oauth-authorization-server`)).json();
      expect(meta.token_endpoint_auth_methods_supported).toEqual(['client_secret_post', 'client_secret_basic']);
      const client = await (await fetch(meta.registration_endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:1/cb'], token_endpoint_auth_method: 'client_secret_basic' }) })).json();
      expect(client).toMatchObject({ token_endpoint_auth_method: 'client_secret_basic', client_secret_expires_at: 0 });
      const basic = `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`;
      const ask = (body: Record<string, string>) => fetch(meta.token_endpoint, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) });
      const without = await ask({ grant_type: 'refresh_token', refresh_token: 'x' });
      expect(without.status).toBe(401);
      expect(await without.json()).toEqual({ error: 'invalid_client', error_description: 'Missing client_id' });
      const other = await ask({ grant_type: 'refresh_token', refresh_token: 'x', client_id: 'someone-else' });
      expect((await other.json()).error_description).toBe('Invalid client_id');
      const withId = await ask({ grant_type: 'refresh_token', refresh_token: 'x', client_id: client.client_id });
      expect(await withId.json()).toEqual({ error: 'invalid_grant', error_description: 'refresh token does not exist' });
    } finally {
      await py.stop();
    }
  });
});

describe('refreshing ahead of expiry', () => {
  it('an AS that leaves out expires_in: the JWT\'s exp says when, and `token` refreshes in the last half of its life', async () => {
    const short = await startCloud({ accessTokenTtl: 4, tamper: { noExpiresIn: true } });
    try {
      const env = freshEnv(NO_KEYCHAIN_ENV);
      const { result } = await loginThroughBrowser(browser, seam, short.user, ['--url', short.mcpUrl, '--store', 'file'], env);
      expect(result.code, result.stderr).toBe(0);
      const stored = (await readStored(config.dir, short.mcpUrl))!;
      const { expiresAt, obtainedAt } = stored.record.token;
      expect(expiresAt).toBeDefined();
      await until(() => Date.now() > expiresAt! - (expiresAt! - obtainedAt) / 2, 5_000);
      short.resetStats();
      const token = await cli(['token', '--url', short.mcpUrl], env);
      expect(token.code, token.stderr).toBe(0);
      expect(short.stats.refreshGrants).toBe(1);
      expect(token.stdout.trim()).not.toBe(stored.accessToken);
    } finally {
      await short.stop();
    }
  });
});

describe('status --check', () => {
  it('asks the server: ✓ for a good token, ✗ (exit 4) once the token is revoked', async () => {
    const env = freshEnv(NO_KEYCHAIN_ENV);
    expect((await login(['--url', cloud.mcpUrl], env)).result.code).toBe(0);
    const good = await cli(['status', '--check', '--json', '--url', cloud.mcpUrl], env);
    expect(good.code, good.stderr).toBe(0);
    expect(JSON.parse(good.stdout).servers[0].server).toEqual({ accepts: true, detail: expect.stringMatching(/^HTTP 2\d\d$/) });
    await revokeStored(config.dir, cloud.mcpUrl, 'access_token');
    const bad = await cli(['status', '--check', '--url', cloud.mcpUrl], env);
    expect(bad.code).toBe(4);
    expect(bad.stdout).toMatch(/✗ refuses the token \(HTTP 401 invalid_token/);
    expect(bad.stdout).toMatch(/To fix: +node \S+ login --url/);
    await cli(['logout', '--all'], env);
  });
});

describe('keychain absent → file fallback', () => {
  it('warns loudly and writes secrets to a 0600 file in a 0700 dir', async () => {
    const env = freshEnv(NO_KEYCHAIN_ENV);
    const started = Date.now();
    const { result } = await login(['--url', cloud.mcpUrl], env);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/warning/i);
    expect(result.stderr).toMatch(/keychain/i);
    expect(Date.now() - started).toBeLessThan(20_000);
    const file = join(config.dir, 'secrets.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(config.dir).mode & 0o777).toBe(0o700);
    const status = JSON.parse((await cli(['status', '--url', cloud.mcpUrl, '--json'], env)).stdout).servers[0];
    expect(status.secrets.store).toBe('file');
    expect(status.secrets.where).toContain(file);
    const logout = await cli(['logout', '--url', cloud.mcpUrl], env);
    expect(logout.code).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({});
    expect(await readStored(config.dir, cloud.mcpUrl)).toBeUndefined();
  });
});

describe('refusals and failures', () => {
  it('refuses plain http:// to a non-loopback host before any request', async () => {
    const env = freshEnv(NO_KEYCHAIN_ENV);
    const r = await cli(['login', '--url', 'http://mcp.example.com/'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('plain http:// on a non-loopback host');
    expect(seam.urls()).toEqual([]);
  });

  it('reports a denied consent', async () => {
    const env = freshEnv(NO_KEYCHAIN_ENV);
    const { result, page } = await login(['--url', cloud.mcpUrl, '--store', 'file'], env, 'deny');
    expect(result.code).toBe(6);
    expect(result.stderr).toContain('access was denied');
    expect(page.ok).toBe(false);
    expect((await cli(['status', '--url', cloud.mcpUrl], env)).code).toBe(3);
  });

  it('gives up with a clear message when the browser never comes back', async () => {
    const env = freshEnv(NO_KEYCHAIN_ENV);
    const r = await cli(['login', '--url', cloud.mcpUrl, '--store', 'file', '--timeout', '2'], env);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('no sign-in came back from the browser within 2 s');
    expect(seam.urls()).toHaveLength(1);
  });
});

describe('protocol violations by the servers', () => {
  const cases: Array<{ name: string; tamper: NonNullable<Parameters<typeof startCloud>[0]>['tamper']; message: RegExp; browser: boolean; timeout?: string }> = [
    // A callback with another state is not this sign-in's: answered, ignored, and the wait goes on.
    { name: 'state mismatch', tamper: { wrongState: true }, message: /ignored a request to the sign-in callback with a "state" this sign-in did not send[\s\S]*no sign-in came back from the browser within 8 s/, browser: true, timeout: '8' },
    { name: 'iss mismatch (RFC 9207)', tamper: { wrongIss: true }, message: /"iss"/, browser: true },
    { name: 'AS without S256', tamper: { noS256: true }, message: /does not advertise PKCE S256/, browser: false },
    { name: 'PRM resource mismatch', tamper: { prmResourceMismatch: true }, message: /does not match the server URL/, browser: false },
    { name: 'issuer mismatch in AS metadata', tamper: { metadataIssuerMismatch: true }, message: /does not match the expected issuer/, browser: false },
  ];
  for (const c of cases) {
    it(`refuses: ${c.name}`, async () => {
      const bad = await startCloud({ tamper: c.tamper });
      try {
        const env = freshEnv(NO_KEYCHAIN_ENV);
        const run = startCli(['login', '--url', bad.mcpUrl, '--store', 'file', '--timeout', c.timeout ?? '30'], env);
        if (c.browser) {
          const page = await completeSignIn(browser, await seam.nextUrl(), bad.user);
          expect(page.ok).toBe(false);
          await page.page.context().close();
        }
        const r = await run.result;
        expect(r.stderr).toMatch(c.message);
        expect(r.code).not.toBe(0);
        if (!c.browser) expect(seam.urls()).toEqual([]);
        expect((await cli(['status', '--url', bad.mcpUrl], env)).code).toBe(3);
      } finally {
        await bad.stop();
      }
    });
  }
});
