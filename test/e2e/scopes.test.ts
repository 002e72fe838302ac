// Appwrite's scope model, end to end: the MCP server advertises its AS's whole fine-grained catalog
// (73 scopes, ~1,470 characters) and the AS refuses a `scope` over 1,000 characters as invalid_scope.
// The built proxy, real headless Chromium, the local cloud with `catalog: 'appwrite'`. How `login`
// narrows (browser, device code, --scope, the variants) is tested in-process: test/commands/scopes.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startCloud, type Cloud, type CloudOptions } from '../cloud/index.js';
import { browserSeam, completeSignIn, launchChromium, type BrowserSeam } from '../helpers/browser.js';
import { NO_KEYCHAIN_ENV, tempConfigDir } from '../helpers/cli.js';
import { connectProxy, textOf } from '../helpers/proxy-client.js';
import { CATALOG, EXTRAS, RETRY_LINE, scopeOf } from '../helpers/scope-catalog.js';

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



describe('an AS that caps the scope (invalid_scope by an error redirect)', () => {
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
