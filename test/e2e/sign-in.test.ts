// Browser end-to-end: the built CLI signs in against the local cloud in real headless Chromium,
// with secrets in a real Secret Service (gnome-keyring under dbus-run-session, see test/run.mjs).
// A few runs of the real process; every behaviour of login, status, logout and token is covered
// in-process, faster, by test/commands/sign-in.test.ts.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { startCloud, type Cloud } from '../cloud/index.js';
import { browserSeam, completeSignIn, launchChromium, loginThroughBrowser, type BrowserSeam } from '../helpers/browser.js';
import { NO_KEYCHAIN_ENV, hasSecretService, runCli, startCli, tempConfigDir } from '../helpers/cli.js';
import { KeychainSecretStore } from '../../src/store/secrets.js';
import { readStored } from '../helpers/stored.js';

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
    // The cloud's AS advertises DPoP (oidc-provider's default) but its MCP server takes Bearer only: no binding.
    expect(auth.searchParams.get('dpop_jkt')).toBeNull();

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
    expect(s.dpop).toBeUndefined();
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
    expect(logout.stderr).toMatch(/✓ refresh token: revoked at .*\n  ✓ access token: revoked at /);
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

  it('reports a denied consent with exit code 6', async () => {
    const env = freshEnv(NO_KEYCHAIN_ENV);
    const { result, page } = await login(['--url', cloud.mcpUrl, '--store', 'file'], env, 'deny');
    expect(result.code).toBe(6);
    expect(result.stderr).toContain('access was denied');
    expect(page.ok).toBe(false);
    expect((await cli(['status', '--url', cloud.mcpUrl], env)).code).toBe(3);
  });
});
