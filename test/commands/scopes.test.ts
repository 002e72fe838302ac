// Appwrite's scope model, in-process: the MCP server advertises its AS's whole fine-grained catalog
// (73 scopes, ~1,470 characters) and the AS refuses a `scope` over 1,000 characters as invalid_scope.
// `login` against the local cloud with `catalog: 'appwrite'`, the person at the "browser" over HTTP.
// The proxy's sign-in that narrows the scope runs end to end in test/e2e/scopes.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import { run as login, type LoginOptions } from '../../src/commands/login.js';
import { run as status } from '../../src/commands/status.js';
import { APPWRITE_SCOPES, startCloud, type Cloud, type CloudOptions } from '../cloud/index.js';
import { tempConfigDir } from '../helpers/cli.js';
import { testFactory, type TestFactory } from '../helpers/factory.js';
import { until, VirtualClock } from '../helpers/fakes.js';
import { approveDeviceOverHttp, signInOverHttp, type PageOutcome } from '../helpers/http-user.js';
import { CATALOG, EXTRAS, RETRY_LINE, scopeOf } from '../helpers/scope-catalog.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });



interface World { cloud: Cloud; dir: string; pages: Array<Promise<PageOutcome>>; run(over?: Partial<LoginOptions>): TestFactory & { code: Promise<number> } }

async function world(options: CloudOptions = {}): Promise<World> {
  const cloud = await startCloud({ catalog: 'appwrite', ...options });
  const config = tempConfigDir();
  cleanups.push(() => cloud.stop(), () => config.cleanup());
  const pages: Array<Promise<PageOutcome>> = [];
  return {
    cloud, dir: config.dir, pages,
    run: (over = {}) => {
      const t = testFactory({ dir: config.dir, clock: over.deviceCode ? new VirtualClock() : undefined, browser: (url) => pages.push(signInOverHttp(url, cloud.user)) });
      return { ...t, code: login({ url: cloud.mcpUrl, browser: true, ...over }, t.f) };
    },
  };
}

async function scopes(w: World): Promise<{ scopes: string[]; refreshToken: { present: boolean }; ok: boolean }> {
  const s = testFactory({ dir: w.dir });
  await status({ url: w.cloud.mcpUrl, urlGiven: true, json: true, check: true }, s.f);
  return JSON.parse(s.stdout()).servers[0];
}

describe('an AS that caps the scope (invalid_scope by an error redirect)', () => {
  it('login: the same tab goes on to the umbrella scope after one refusal, and says so', async () => {
    const w = await world();
    const l = w.run();
    expect(await l.code).toBe(0);
    expect((await Promise.all(w.pages)).map((p) => p.ok)).toEqual([true]);
    // Asked for what the server advertises first, in one tab; two authorization requests at the AS.
    expect(scopeOf(l.opened[0]!)).toBe(`${CATALOG} ${EXTRAS.join(' ')}`);
    expect(l.opened).toHaveLength(1);
    expect(w.cloud.stats.authorizeRequests).toBe(2);
    expect(w.cloud.stats.authorizationCodeGrants).toBe(1);
    expect(l.stderr()).toMatch(RETRY_LINE);
    expect(l.stderr().match(/refused the requested scope/g)).toHaveLength(1);
    // The token works at the MCP server (status --check asks it).
    expect(await scopes(w)).toMatchObject({ ok: true, scopes: expect.arrayContaining(['all']), refreshToken: { present: true } });
  });

  it('login --device-code: the device authorization request is refused once, asked again for the umbrella scope, one code shown', async () => {
    const w = await world();
    const l = w.run({ deviceCode: true, browser: false });
    await until(() => /and enter this code:\n {2}\S+/.test(l.stderr()));
    const [, uri, userCode] = /^ {2}(\S+)\nand enter this code:\n {2}(\S+)$/m.exec(l.stderr())!;
    expect((await approveDeviceOverHttp(uri!, w.cloud.user, { userCode })).ok).toBe(true);
    expect(await l.code).toBe(0);
    expect(l.stderr()).toMatch(RETRY_LINE);
    expect(l.stderr().match(/enter this code/g)).toHaveLength(1);
    expect(w.cloud.stats.deviceAuthorizations).toBe(1);
    expect(await scopes(w)).toMatchObject({ scopes: expect.arrayContaining(['all']), refreshToken: { present: true } });
  });

  it('login --scope with a list over the cap: refused as given, no retry, a clear error', async () => {
    const w = await world();
    const l = w.run({ scope: CATALOG });
    const error = await l.code.catch((e) => e);
    expect(error).toMatchObject({ code: 'OAUTH_AUTHORIZATION_REFUSED', message: expect.stringContaining(`the authorization server refused the scope asked for (${APPWRITE_SCOPES.length + EXTRAS.length} scopes, `) });
    expect(error.message).toContain('invalid_scope: scope is');
    expect(error.hint).toContain('Scopes given with --scope are asked for as they are, never narrowed');
    const [page] = await Promise.all(w.pages);
    expect(page).toMatchObject({ ok: false, text: expect.stringContaining('invalid_scope') });
    expect(l.stderr()).not.toContain('asking for');
    expect(w.cloud.stats.authorizeRequests).toBe(1);
    expect(l.opened).toHaveLength(1);
    expect(await status({ url: w.cloud.mcpUrl, urlGiven: true }, testFactory({ dir: w.dir }).f)).toBe(3);
  });
});

describe('variants', () => {
  it('an AS without an umbrella scope: the retry asks with no scope at all and gets the AS default', async () => {
    const w = await world({ umbrella: false });
    const l = w.run();
    expect(await l.code).toBe(0);
    expect(l.stderr()).toMatch(/refused the requested scope \(invalid_scope: .*\): 77 scopes, .*; asking with no scope instead \(the authorization server's default\)\n/);
    expect(w.cloud.stats.authorizeRequests).toBe(2);
    expect(l.opened).toHaveLength(1);
    expect((await scopes(w)).scopes).toEqual(expect.arrayContaining(['databases.read', 'users.write']));
  });

  it('an AS that refuses with its own error page: seen by the check of a cached registration, narrowed before the tab opens', async () => {
    const w = await world({ scopeCap: { refusal: 'page' } });
    // A first sign-in within the cap leaves a cached registration behind.
    expect(await w.run({ scope: 'all offline_access' }).code).toBe(0);
    expect(w.cloud.stats.registrations).toBe(1);

    w.cloud.resetStats();
    const l = w.run();
    expect(await l.code).toBe(0);
    expect(scopeOf(l.opened[0]!)).toBe('all offline_access openid email profile');
    expect(l.stderr()).toMatch(/refused the requested scope \(HTTP 400: Sign-in error invalid_scope scope is \d+ characters long; this server takes at most 1000 .*\): 77 scopes, .*; asking for "all offline_access openid email profile" instead\n/);
    expect(w.cloud.stats.authorizeRequests).toBe(2); // the check, then the browser
    expect(w.cloud.stats.registrations).toBe(0); // the registration was fine: kept

    // --scope over the cap: refused at the check, before any tab opens.
    w.cloud.resetStats();
    const refused = w.run({ scope: CATALOG });
    const error = await refused.code.catch((e) => e);
    expect(error.message).toContain(`the authorization server refused the scope asked for (${APPWRITE_SCOPES.length + EXTRAS.length} scopes, `);
    expect(error.hint).toContain('never narrowed');
    expect(w.cloud.stats.authorizeRequests).toBe(1);
    expect(refused.opened).toEqual([]);
  });
});
