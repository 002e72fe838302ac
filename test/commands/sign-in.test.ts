// login, status, logout and token, run in-process (run(opts, factory)) against the local cloud: the
// real authorization server and MCP server, the real sign-ins store on a temp dir (the 0600 file, or
// an in-memory keychain that can be made to fail), and a person at the "browser" who fills in the
// cloud's pages over HTTP. The built CLI, Chromium and the real Secret Service are the e2e tests'
// (test/e2e/sign-in.test.ts); these cover every behaviour of the commands themselves.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { run as login, type LoginOptions } from '../../src/commands/login.js';
import { run as logout } from '../../src/commands/logout.js';
import { run as status } from '../../src/commands/status.js';
import { run as token } from '../../src/commands/token.js';
import { startCloud, type Cloud } from '../cloud/index.js';
import { tempConfigDir } from '../helpers/cli.js';
import { testFactory, type TestFactory, type TestFactoryOptions } from '../helpers/factory.js';
import { FakeKeychain, until } from '../helpers/fakes.js';
import { signInOverHttp } from '../helpers/http-user.js';
import { readStored, revokeStored } from '../helpers/stored.js';

let cloud: Cloud;
beforeAll(async () => { cloud = await startCloud(); });
afterAll(async () => { await cloud?.stop(); });
const cleanups: Array<() => unknown> = [];
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });

function world(o: Partial<TestFactoryOptions> & { consent?: 'allow' | 'deny'; signsIn?: boolean } = {}): TestFactory & { dir: string; pages: Array<Promise<unknown>> } {
  const config = tempConfigDir();
  cleanups.push(() => config.cleanup());
  const pages: Array<Promise<unknown>> = [];
  const t = testFactory({
    dir: config.dir,
    browser: o.signsIn === false ? undefined : (url) => pages.push(signInOverHttp(url, cloud.user, { consent: o.consent })),
    ...o,
  });
  return { ...t, dir: config.dir, pages };
}

const opts = (over: Partial<LoginOptions> = {}): LoginOptions => ({ url: cloud.mcpUrl, browser: true, ...over });
const ran = (code: number) => code; // for readability: the exit code a command returned

describe('login → status → logout', () => {
  it('signs in, keeps the JWT in keychain entries under the Windows cap, then revokes and clears it', async () => {
    const keychain = new FakeKeychain();
    const w = world({ keychain });
    expect(ran(await login(opts({ debug: true }), w.f))).toBe(0);
    expect(w.stderr()).toContain(`✓ Signed in to ${cloud.mcpUrl}`);
    expect(w.stderr()).toContain('[debug]');
    const auth = new URL(w.opened[0]!);
    expect(auth.searchParams.get('code_challenge_method')).toBe('S256');
    expect(auth.searchParams.get('resource')).toBe(cloud.mcpUrl);
    expect(auth.searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect(auth.searchParams.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['mcp:read', 'mcp:write', 'offline_access']));

    const json = world({ dir: w.dir, keychain });
    expect(await status({ url: cloud.mcpUrl, urlGiven: true, json: true }, json.f)).toBe(0);
    const s = JSON.parse(json.stdout()).servers[0];
    expect(s).toMatchObject({ ok: true, issuer: cloud.issuer, refreshToken: { present: true }, secrets: { store: 'keychain' }, client: { registration: 'dcr' } });
    expect(s.account).toMatchObject({ sub: cloud.user.sub, email: cloud.user.email });
    expect(s.scopes).toEqual(expect.arrayContaining(['mcp:read', 'mcp:write']));
    expect(JSON.stringify(s)).not.toMatch(/eyJ/);

    const stored = (await readStored(w.dir, cloud.mcpUrl, keychain))!;
    expect(keychain.values.get(`${cloud.mcpUrl} refresh`)).toContain(stored.refreshToken);
    for (const value of keychain.values.values()) expect(value.length).toBeLessThanOrEqual(1000);
    const claims = await cloud.verifyAccessToken(stored.accessToken!);
    expect(claims).toMatchObject({ aud: cloud.mcpUrl, sub: cloud.user.sub });
    expect(await cloud.tokenStatus(stored.refreshToken!)).toBe('active');
    expect(readFileSync(join(w.dir, 'state.json'), 'utf8')).not.toContain(stored.refreshToken!);

    const human = world({ dir: w.dir, keychain });
    await status({ url: cloud.mcpUrl, urlGiven: true }, human.f);
    expect(human.stdout()).toContain(`Signed in as ${cloud.user.email}`);
    expect(human.stdout()).toContain('OS keychain');

    const out = world({ dir: w.dir, keychain });
    expect(await logout({ url: cloud.mcpUrl, urlGiven: true, debug: true }, out.f)).toBe(0);
    expect(out.stderr()).toContain(`  ✓ refresh token: revoked at ${cloud.issuer}\n  ✓ access token: revoked at ${cloud.issuer}\n`);
    expect(await cloud.tokenStatus(stored.refreshToken!)).toBe('revoked');
    expect([...keychain.values.keys()]).toEqual([]);
    const after = world({ dir: w.dir, keychain });
    expect(await status({ url: cloud.mcpUrl, urlGiven: true, json: true }, after.f)).toBe(3);
    expect(JSON.parse(after.stdout()).signedIn).toBe(false);
    const again = world({ dir: w.dir, keychain });
    expect(await logout({ url: cloud.mcpUrl, urlGiven: true }, again.f)).toBe(0);
    expect(again.stderr()).toContain('nothing to do');
    for (const text of [w.stderr(), json.stdout(), human.stdout(), out.stderr(), after.stdout()]) {
      expect(text).not.toContain(stored.accessToken);
      expect(text).not.toContain(stored.refreshToken);
    }
  });

  it('reuses the cached registration per issuer and server, and registers anew when the AS forgot the client', async () => {
    const w = world();
    const project = cloud.projectMcpUrl('demo-project');
    const before = cloud.stats.registrations;
    expect(await login(opts({ url: project }), w.f)).toBe(0);
    expect(cloud.stats.registrations).toBe(before + 1);
    expect(await login(opts({ url: project }), world({ dir: w.dir }).f)).toBe(0);
    expect(cloud.stats.registrations).toBe(before + 1);
    const statePath = join(w.dir, 'state.json');
    const state = JSON.parse(readFileSync(statePath, 'utf8'));
    const key = `${cloud.projectIssuer('demo-project')} ${project}`;
    expect(Object.keys(state.clients)).toEqual([key]);
    state.clients[key].clientId = 'forgotten-client-id';
    writeFileSync(statePath, JSON.stringify(state));
    expect(await login(opts({ url: project }), world({ dir: w.dir }).f)).toBe(0);
    expect(cloud.stats.registrations).toBe(before + 2);
    const s = world({ dir: w.dir });
    await status({ url: project, urlGiven: true, json: true }, s.f);
    expect(JSON.parse(s.stdout()).servers[0]).toMatchObject({ issuer: cloud.projectIssuer('demo-project'), client: { id: expect.not.stringMatching(/^forgotten-client-id$/) } });
  });

  it('signing in again into the file store leaves no copy in the keychain', async () => {
    const keychain = new FakeKeychain();
    const w = world({ keychain });
    expect(await login(opts(), w.f)).toBe(0);
    expect(keychain.values.get(`${cloud.mcpUrl} access`)).toBeDefined();
    expect(await login(opts({ store: 'file' }), world({ dir: w.dir, keychain }).f)).toBe(0);
    expect([...keychain.values.keys()].filter((k) => k.startsWith(cloud.mcpUrl))).toEqual([]);
    const s = world({ dir: w.dir, keychain });
    await status({ url: cloud.mcpUrl, urlGiven: true, json: true }, s.f);
    expect(JSON.parse(s.stdout()).servers[0]).toMatchObject({ ok: true, secrets: { store: 'file' } });
  });

  it('logout with the keychain out of reach keeps the state, says so, and works once it is back', async () => {
    const keychain = new FakeKeychain();
    const w = world({ keychain });
    expect(await login(opts(), w.f)).toBe(0);
    keychain.readsMode = 'fail';
    keychain.writes = 'fail';
    const locked = world({ dir: w.dir, keychain });
    expect(await logout({ url: cloud.mcpUrl, urlGiven: true }, locked.f)).toBe(1);
    expect(locked.stderr()).toContain('could not delete the secrets');
    const s = world({ dir: w.dir, keychain });
    expect(await status({ url: cloud.mcpUrl, urlGiven: true, json: true }, s.f)).toBe(4);
    expect(JSON.parse(s.stdout()).servers[0].fix).toMatch(/unlock your keychain/);
    keychain.readsMode = 'ok';
    keychain.writes = 'ok';
    const again = world({ dir: w.dir, keychain });
    expect(await logout({ url: cloud.mcpUrl, urlGiven: true }, again.f)).toBe(0);
    expect(again.stderr()).toMatch(/✓ refresh token: revoked at .*\n  ✓ access token: revoked at /);
    expect(await status({ url: cloud.mcpUrl, urlGiven: true }, world({ dir: w.dir, keychain }).f)).toBe(3);
  });

  it('uses a pre-registered client with --client-id (no registration)', async () => {
    const w = world();
    const meta = await (await fetch(`${new URL(cloud.issuer).origin}/.well-known/oauth-authorization-server${new URL(cloud.issuer).pathname}`)).json();
    const registered = await (await fetch(meta.registration_endpoint, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ application_type: 'native', redirect_uris: ['http://127.0.0.1/callback'], token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'] }),
    })).json();
    const before = cloud.stats.registrations;
    expect(await login(opts({ clientId: registered.client_id }), w.f)).toBe(0);
    expect(new URL(w.opened[0]!).searchParams.get('client_id')).toBe(registered.client_id);
    expect(cloud.stats.registrations).toBe(before);
    const s = world({ dir: w.dir });
    await status({ url: cloud.mcpUrl, urlGiven: true, json: true }, s.f);
    expect(JSON.parse(s.stdout()).servers[0].client).toEqual({ id: registered.client_id, registration: 'preregistered' });
    const again = world({ dir: w.dir });
    await login(opts({ clientId: registered.client_id }), again.f);
    expect(again.stderr()).toContain(`Already signed in to ${cloud.mcpUrl} as ${cloud.user.email}`);
  });

  it('--no-browser prints the URL on stderr and opens nothing', async () => {
    const w = world({ signsIn: false });
    const running = login(opts({ browser: false }), w.f);
    await until(() => /http:\/\/127\.0\.0\.1:\d+\/v1\/oauth2\/console\/auth\?\S+/.test(w.stderr()));
    const url = /(http:\/\/127\.0\.0\.1:\d+\/v1\/oauth2\/console\/auth\?\S+)/.exec(w.stderr())![1]!;
    expect((await signInOverHttp(url, cloud.user)).ok).toBe(true);
    expect(await running).toBe(0);
    expect(w.opened).toEqual([]);
  });

  it('a browser elsewhere (SSH, WSL, a container): the address it ended on, pasted, completes the sign-in with every check', async () => {
    const stdin = new PassThrough();
    const w = world({ signsIn: false, stdin });
    const running = login(opts({ browser: false, timeout: 60 }), w.f);
    await until(() => /http:\/\/127\.0\.0\.1:\d+\/v1\/oauth2\/console\/auth\?\S+/.test(w.stderr()));
    const url = /(http:\/\/127\.0\.0\.1:\d+\/v1\/oauth2\/console\/auth\?\S+)/.exec(w.stderr())![1]!;
    expect(w.stderr()).toContain('paste here the address it ends on');
    const redirectUri = new URL(url).searchParams.get('redirect_uri')!;
    const { landed } = await signInOverHttp(url, cloud.user, { stopAt: redirectUri });
    expect(landed).toMatch(/\?code=.*&state=/);
    stdin.write(`${new URL(landed!).searchParams.get('code')}\n`); // the code alone is refused
    const forged = new URL(landed!);
    forged.searchParams.set('state', 'not-this-sign-in');
    stdin.write(`${forged.href}\n`); // another state: ignored like a forged callback
    stdin.write(`${landed}\n`);
    expect(await running).toBe(0);
    expect(w.stderr()).toContain('paste the whole address your browser ended on');
    expect(w.stderr()).toContain('with a "state" this sign-in did not send');
    expect(w.stderr()).toContain(`Signed in to ${cloud.mcpUrl}`);
  });
});

describe('authorization request options (mcp-remote parity)', () => {
  /** The authorization URL login opens with these flags (the sign-in is then cancelled, as with Ctrl-C). */
  async function authorizationUrl(over: Partial<LoginOptions>) {
    const w = world({ signsIn: false });
    const running = login(opts(over), w.f);
    await until(() => w.opened.length > 0);
    w.interrupt();
    expect(await running).toBe(130);
    return { w, url: new URL(w.opened[0]!) };
  }

  it('--callback-port/--callback-path give the exact redirect URI and the sign-in completes; a taken port is a clear error', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const taken = (blocker.address() as AddressInfo).port;
    const w = world();
    try {
      await expect(login(opts({ callbackPort: String(taken) }), w.f)).rejects.toMatchObject({ code: 'CLI_USAGE', message: expect.stringContaining(`the sign-in callback port ${taken} on 127.0.0.1 is taken`) });
      expect(w.opened).toEqual([]);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
    const ok = world();
    expect(await login(opts({ callbackPort: String(taken), callbackPath: '/oauth/cb' }), ok.f)).toBe(0);
    expect(new URL(ok.opened[0]!).searchParams.get('redirect_uri')).toBe(`http://127.0.0.1:${taken}/oauth/cb`);
  });

  it('--authorize-param adds parameters but cannot replace the protected ones; --resource and --no-resource', async () => {
    const withPrompt = await authorizationUrl({ authorizeParam: ['prompt=login', 'ui_locales=de'] });
    expect(withPrompt.url.searchParams.get('prompt')).toBe('login');
    expect(withPrompt.url.searchParams.get('ui_locales')).toBe('de');
    expect(withPrompt.w.stderr()).toContain('Sign-in cancelled.');
    await expect(login(opts({ authorizeParam: ['state=fixed'] }), world().f)).rejects.toMatchObject({ code: 'CLI_USAGE', message: expect.stringContaining('--authorize-param cannot set "state"') });
    expect((await authorizationUrl({ resource: 'https://api.example.com/' })).url.searchParams.get('resource')).toBe('https://api.example.com/');
    const none = await authorizationUrl({ resource: false });
    expect(none.url.searchParams.has('resource')).toBe(false);
    expect(none.w.stderr()).toContain(`--no-resource: the token will not be bound to ${cloud.mcpUrl} (RFC 8707)`);
  });
});

describe('status --check', () => {
  it('asks the server: ✓ for a good token, ✗ (exit 4) once the token is revoked', async () => {
    const w = world();
    expect(await login(opts(), w.f)).toBe(0);
    const good = world({ dir: w.dir });
    expect(await status({ check: true, json: true, url: cloud.mcpUrl, urlGiven: true }, good.f)).toBe(0);
    expect(JSON.parse(good.stdout()).servers[0].server).toEqual({ accepts: true, detail: expect.stringMatching(/^HTTP 2\d\d$/) });
    await revokeStored(w.dir, cloud.mcpUrl, 'access_token');
    const bad = world({ dir: w.dir });
    expect(await status({ check: true, url: cloud.mcpUrl, urlGiven: true }, bad.f)).toBe(4);
    expect(bad.stdout()).toMatch(/✗ refuses the token \(HTTP 401 invalid_token/);
    expect(bad.stdout()).toMatch(/To fix: +\S+ appwrite-mcp login --url/);
  });
});

describe('keychain absent → file fallback', () => {
  it('warns loudly and writes secrets to a 0600 file in a 0700 dir', async () => {
    const w = world({ storePreference: 'auto' });
    const started = Date.now();
    expect(await login(opts(), w.f)).toBe(0);
    expect(w.stderr()).toMatch(/warning: THE OS KEYCHAIN IS NOT USABLE/);
    expect(Date.now() - started).toBeLessThan(20_000);
    const file = join(w.dir, 'secrets.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(w.dir).mode & 0o777).toBe(0o700);
    const s = world({ dir: w.dir });
    await status({ url: cloud.mcpUrl, urlGiven: true, json: true }, s.f);
    expect(JSON.parse(s.stdout()).servers[0].secrets).toMatchObject({ store: 'file', where: expect.stringContaining(file) });
    expect(await logout({ url: cloud.mcpUrl, urlGiven: true }, world({ dir: w.dir }).f)).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({});
    expect(await readStored(w.dir, cloud.mcpUrl)).toBeUndefined();
  });
});

describe('refusals and failures', () => {
  it('refuses plain http:// to a non-loopback host before any request', async () => {
    const w = world();
    await expect(login(opts({ url: 'http://mcp.example.com/' }), w.f)).rejects.toMatchObject({ code: 'CLI_USAGE', message: expect.stringContaining('plain http:// on a non-loopback host') });
    expect(w.opened).toEqual([]);
  });

  it('reports a denied consent (exit 6), and nothing is saved', async () => {
    const w = world({ consent: 'deny' });
    await expect(login(opts(), w.f)).rejects.toMatchObject({ code: 'OAUTH_ACCESS_DENIED', exitCode: 6, message: 'access was denied at the authorization server' });
    expect(await Promise.all(w.pages)).toEqual([expect.objectContaining({ ok: false, title: 'Sign-in cancelled' })]);
    expect(await status({ url: cloud.mcpUrl, urlGiven: true }, world({ dir: w.dir }).f)).toBe(3);
  });

  it('gives up with a clear message when the browser never comes back (exit 5)', async () => {
    const w = world({ signsIn: false });
    await expect(login(opts({ timeout: 1 }), w.f)).rejects.toMatchObject({ code: 'OAUTH_SIGN_IN_TIMEOUT', exitCode: 5, message: 'no sign-in came back from the browser within 1 s' });
    expect(w.opened).toHaveLength(1);
  });
});

describe('protocol violations by the servers', () => {
  const cases: Array<{ name: string; tamper: NonNullable<Parameters<typeof startCloud>[0]>['tamper']; message: RegExp; browser: boolean }> = [
    { name: 'iss mismatch (RFC 9207)', tamper: { wrongIss: true }, message: /"iss"/, browser: true },
    { name: 'AS without S256', tamper: { noS256: true }, message: /does not advertise PKCE S256/, browser: false },
    { name: 'PRM resource mismatch', tamper: { prmResourceMismatch: true }, message: /does not match the server URL/, browser: false },
    { name: 'issuer mismatch in AS metadata', tamper: { metadataIssuerMismatch: true }, message: /does not match the expected issuer/, browser: false },
  ];
  for (const c of cases) {
    it(`refuses: ${c.name}`, async () => {
      const bad = await startCloud({ tamper: c.tamper });
      cleanups.push(() => bad.stop());
      const pages: Array<Promise<unknown>> = [];
      const w = world({ browser: (url) => pages.push(signInOverHttp(url, bad.user)) });
      await expect(login(opts({ url: bad.mcpUrl }), w.f)).rejects.toMatchObject({ message: expect.stringMatching(c.message) });
      if (c.browser) expect(await Promise.all(pages)).toEqual([expect.objectContaining({ ok: false })]);
      else expect(w.opened).toEqual([]);
      expect(await status({ url: bad.mcpUrl, urlGiven: true }, world({ dir: w.dir }).f)).toBe(3);
    });
  }

  it('a callback with another state is not this sign-in\'s: answered, ignored, and the wait goes on to its end', async () => {
    const bad = await startCloud({ tamper: { wrongState: true } });
    cleanups.push(() => bad.stop());
    const pages: Array<Promise<{ ok: boolean }>> = [];
    const w = world({ browser: (url) => pages.push(signInOverHttp(url, bad.user)) });
    await expect(login(opts({ url: bad.mcpUrl, timeout: 3 }), w.f)).rejects.toMatchObject({ code: 'OAUTH_SIGN_IN_TIMEOUT' });
    expect(w.stderr()).toContain('ignored a request to the sign-in callback with a "state" this sign-in did not send');
    expect((await Promise.all(pages))[0]!.ok).toBe(false);
  });
});

describe('an authorization server built on the MCP Python SDK (FastMCP, the simple-auth example)', () => {
  it('signs in, refreshes and signs out with client_secret_basic and client_id in the body, as its token endpoint demands', async () => {
    const py = await startCloud({ accessTokenTtl: 2 });
    cleanups.push(() => py.stop());
    const w = world({ browser: (url) => fetch(url) }); // its authorization endpoint approves at once
    expect(await login(opts({ url: py.pythonSdkMcpUrl }), w.f)).toBe(0);
    expect(py.pythonSdk.tokenErrors).toEqual([]);
    const stored = (await readStored(w.dir, py.pythonSdkMcpUrl))!;
    expect(stored.record.as.issuer).toBe(py.pythonSdkIssuer);
    expect(stored.record.client).toMatchObject({ method: 'dcr', authMethod: 'client_secret_basic', hasSecret: true });
    // The 2 s token is due for refresh after half its lifetime: `token` refreshes it at the Python SDK's token endpoint.
    const { expiresAt, obtainedAt } = stored.record.token;
    await until(() => Date.now() > expiresAt! - (expiresAt! - obtainedAt) / 2, 5_000);
    const t = world({ dir: w.dir });
    expect(await token({ url: py.pythonSdkMcpUrl }, t.f)).toBe(0);
    expect(py.pythonSdk.refreshGrants).toBe(1);
    expect(py.pythonSdk.tokenErrors).toEqual([]);
    expect(t.stdout().trim()).not.toBe(stored.accessToken);
    // Its revocation endpoint wants client_secret in the body even with Basic (a required Pydantic field):
    // reported, not retried; the local copy goes anyway.
    const out = world({ dir: w.dir });
    expect(await logout({ url: py.pythonSdkMcpUrl, urlGiven: true }, out.f)).toBe(0);
    expect(out.stderr()).toContain('client_secret: Field required');
    expect(await readStored(w.dir, py.pythonSdkMcpUrl)).toBeUndefined();
  });
});

describe('the local cloud\'s Python-SDK authorization server', () => {
  it('its token endpoint refuses a request without client_id in the body (what appwrite-mcp sent before)', async () => {
    const py = await startCloud();
    cleanups.push(() => py.stop());
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
  });
});

describe('refreshing ahead of expiry', () => {
  it('an AS that leaves out expires_in: the JWT\'s exp says when, and `token` refreshes in the last half of its life', async () => {
    const short = await startCloud({ accessTokenTtl: 2, tamper: { noExpiresIn: true } });
    cleanups.push(() => short.stop());
    const w = world({ browser: (url) => signInOverHttp(url, short.user) });
    expect(await login(opts({ url: short.mcpUrl }), w.f)).toBe(0);
    const stored = (await readStored(w.dir, short.mcpUrl))!;
    const { expiresAt, obtainedAt } = stored.record.token;
    expect(expiresAt).toBeDefined();
    await until(() => Date.now() > expiresAt! - (expiresAt! - obtainedAt) / 2, 5_000);
    short.resetStats();
    const t = world({ dir: w.dir });
    expect(await token({ url: short.mcpUrl }, t.f)).toBe(0);
    expect(short.stats.refreshGrants).toBe(1);
    expect(t.stdout().trim()).not.toBe(stored.accessToken);
  });
});
