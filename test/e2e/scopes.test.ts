// Appwrite's scope model, end to end: the MCP server advertises its AS's whole fine-grained catalog
// (73 scopes, ~1,470 characters) and the AS refuses a `scope` over 1,000 characters as invalid_scope.
// The built CLI, real headless Chromium, the local cloud with `catalog: 'appwrite'`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { APPWRITE_SCOPES, startCloud, type Cloud, type CloudOptions } from '../cloud/index.js';
import { browserSeam, completeSignIn, launchChromium, loginThroughBrowser, type BrowserSeam } from '../helpers/browser.js';
import { NO_KEYCHAIN_ENV, runCli, startCli, tempConfigDir } from '../helpers/cli.js';
import { connectProxy, textOf } from '../helpers/proxy-client.js';

let browser: Browser;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await browser?.close();
});

interface World {
  cloud: Cloud;
  seam: BrowserSeam;
  env: NodeJS.ProcessEnv;
}

async function world(options: CloudOptions = {}): Promise<World> {
  const cloud = await startCloud({ catalog: 'appwrite', ...options });
  const seam = browserSeam();
  const config = tempConfigDir();
  cleanups.push(() => cloud.stop(), () => seam.cleanup(), () => config.cleanup());
  return { cloud, seam, env: { APPWRITE_MCP_CONFIG_DIR: config.dir, APPWRITE_MCP_STORE: 'file', ...NO_KEYCHAIN_ENV, ...seam.env } };
}

const CATALOG = APPWRITE_SCOPES.join(' ');
const EXTRAS = ['offline_access', 'openid', 'email', 'profile'];
const scopeOf = (url: string) => new URL(url).searchParams.get('scope');
const RETRY_LINE = new RegExp(
  `appwrite-mcp: the authorization server refused the requested scope \\(invalid_scope: scope is ${CATALOG.length + ' offline_access openid email profile'.length} characters long; this server takes at most 1000\\): `
  + `${APPWRITE_SCOPES.length + EXTRAS.length} scopes, \\d+ characters \\(account\\.read account\\.write users\\.read …\\); asking for "all offline_access openid email profile" instead\n`,
);

/** Opens `url` in a fresh browser context and returns the appwrite-mcp callback page it ends on. */
async function visit(url: string): Promise<{ title: string; ok: boolean; text: string }> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(url);
    const result = page.locator('#result');
    await result.waitFor({ timeout: 20_000 });
    return { title: (await result.textContent()) ?? '', ok: (await result.getAttribute('data-ok')) === 'true', text: await page.locator('main').innerText() };
  } finally {
    await context.close();
  }
}

describe('an AS that caps the scope (invalid_scope by an error redirect)', () => {
  it('login: the same tab goes on to the umbrella scope after one refusal, and says so', async () => {
    const w = await world();
    const { result, page, url } = await loginThroughBrowser(browser, w.seam, w.cloud.user, ['--url', w.cloud.mcpUrl], w.env);
    expect(result.code, result.stderr).toBe(0);
    expect(page.ok).toBe(true);
    // Asked for what the server advertises first, in one tab; two authorization requests at the AS.
    expect(scopeOf(url)).toBe(`${CATALOG} ${EXTRAS.join(' ')}`);
    expect(w.seam.urls()).toHaveLength(1);
    expect(w.cloud.stats.authorizeRequests).toBe(2);
    expect(w.cloud.stats.authorizationCodeGrants).toBe(1);
    expect(result.stderr).toMatch(RETRY_LINE);
    expect(result.stderr.match(/refused the requested scope/g)).toHaveLength(1);

    const status = await runCli(['status', '--url', w.cloud.mcpUrl, '--json'], w.env);
    const s = JSON.parse(status.stdout).servers[0];
    expect(s.ok).toBe(true);
    expect(s.scopes).toContain('all');
    expect(s.refreshToken.present).toBe(true);
    // The token works at the MCP server.
    const p = await connectProxy(['--url', w.cloud.mcpUrl], w.env);
    cleanups.push(() => p.close());
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'umbrella' } }))).toBe('umbrella');
    expect(w.seam.urls()).toHaveLength(1);
  });

  it('login --scope with a list over the cap: refused as given, no retry, a clear error', async () => {
    const w = await world();
    const run = startCli(['login', '--url', w.cloud.mcpUrl, '--scope', CATALOG], w.env);
    const page = await visit(await w.seam.nextUrl());
    const result = await run.result;
    expect(result.code).toBe(1);
    expect(page.ok).toBe(false);
    expect(page.text).toContain('invalid_scope');
    expect(result.stderr).toContain(`appwrite-mcp: the authorization server refused the scope asked for (${APPWRITE_SCOPES.length + EXTRAS.length} scopes, `);
    expect(result.stderr).toContain('invalid_scope: scope is');
    expect(result.stderr).toContain('Scopes given with --scope are asked for as they are, never narrowed');
    expect(result.stderr).not.toContain('asking for');
    expect(w.cloud.stats.authorizeRequests).toBe(1);
    expect(w.seam.urls()).toHaveLength(1);
    expect((await runCli(['status', '--url', w.cloud.mcpUrl], w.env)).code).toBe(3);
  });

  it('the proxy: a 401 starts the sign-in, which narrows the scope in the same tab; the request then goes through', async () => {
    const w = await world();
    const connecting = connectProxy(['--url', w.cloud.mcpUrl, '--auth-timeout', '45'], w.env);
    const page = await completeSignIn(browser, await w.seam.nextUrl({ timeoutMs: 30_000 }), w.cloud.user);
    await page.page.context().close();
    expect(page.ok).toBe(true);
    const p = await connecting;
    cleanups.push(() => p.close());
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'through the proxy' } }))).toBe('through the proxy');
    expect(scopeOf(w.seam.urls()[0]!)).toBe(`${CATALOG} ${EXTRAS.join(' ')}`);
    expect(w.seam.urls()).toHaveLength(1);
    expect(w.cloud.stats.authorizeRequests).toBe(2);
    expect(p.stderr()).toMatch(RETRY_LINE);
  });
});

describe('variants', () => {
  it('an AS without an umbrella scope: the retry asks with no scope at all and gets the AS default', async () => {
    const w = await world({ umbrella: false });
    const { result } = await loginThroughBrowser(browser, w.seam, w.cloud.user, ['--url', w.cloud.mcpUrl], w.env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/refused the requested scope \(invalid_scope: .*\): 77 scopes, .*; asking with no scope instead \(the authorization server's default\)\n/);
    expect(w.cloud.stats.authorizeRequests).toBe(2);
    expect(w.seam.urls()).toHaveLength(1);
    const s = JSON.parse((await runCli(['status', '--url', w.cloud.mcpUrl, '--json'], w.env)).stdout).servers[0];
    expect(s.scopes).toEqual(expect.arrayContaining(['databases.read', 'users.write']));
  });

  it('an AS that refuses with its own error page: seen by the check of a cached registration, narrowed before the tab opens', async () => {
    const w = await world({ scopeCap: { refusal: 'page' } });
    // A first sign-in within the cap leaves a cached registration behind.
    const first = await loginThroughBrowser(browser, w.seam, w.cloud.user, ['--url', w.cloud.mcpUrl, '--scope', 'all offline_access'], w.env);
    expect(first.result.code, first.result.stderr).toBe(0);
    expect(w.cloud.stats.registrations).toBe(1);

    w.cloud.resetStats();
    const { result, url } = await loginThroughBrowser(browser, w.seam, w.cloud.user, ['--url', w.cloud.mcpUrl], w.env);
    expect(result.code, result.stderr).toBe(0);
    expect(scopeOf(url)).toBe('all offline_access openid email profile');
    expect(result.stderr).toMatch(/refused the requested scope \(HTTP 400: Sign-in error invalid_scope scope is \d+ characters long; this server takes at most 1000 .*\): 77 scopes, .*; asking for "all offline_access openid email profile" instead\n/);
    expect(w.cloud.stats.authorizeRequests).toBe(2); // the check, then the browser
    expect(w.cloud.stats.registrations).toBe(0); // the registration was fine: kept
    expect(w.seam.urls()).toHaveLength(2); // one tab per login

    // --scope over the cap: refused at the check, before any tab opens.
    w.cloud.resetStats();
    const refused = await runCli(['login', '--url', w.cloud.mcpUrl, '--scope', CATALOG], w.env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`the authorization server refused the scope asked for (${APPWRITE_SCOPES.length + EXTRAS.length} scopes, `);
    expect(refused.stderr).toContain('never narrowed');
    expect(w.cloud.stats.authorizeRequests).toBe(1);
    expect(w.seam.urls()).toHaveLength(2);
  });
});
