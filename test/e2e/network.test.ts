// Networks users are on: an HTTP(S)_PROXY (with NO_PROXY), and TLS with a private CA trusted
// through NODE_EXTRA_CA_CERTS.
import { readStored } from '../helpers/stored.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startCloud, type Cloud } from '../cloud/index.js';
import { browserSeam, launchChromium, loginThroughBrowser } from '../helpers/browser.js';
import { NO_KEYCHAIN_ENV, tempConfigDir } from '../helpers/cli.js';
import { connectProxy, textOf } from '../helpers/proxy-client.js';
import { TEST_CERT, startForwardProxy, startTlsFront, type Relay } from '../helpers/relays.js';

let cloud: Cloud;
let browser: Browser;
let forward: Relay;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  [cloud, browser, forward] = await Promise.all([startCloud(), launchChromium(), startForwardProxy()]);
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await Promise.all([cloud?.stop(), browser?.close(), forward?.close()]);
});

function env(extra: NodeJS.ProcessEnv) {
  const seam = browserSeam();
  const config = tempConfigDir();
  cleanups.push(() => seam.cleanup(), () => config.cleanup());
  return { seam, env: { APPWRITE_MCP_CONFIG_DIR: config.dir, APPWRITE_MCP_STORE: 'file', ...NO_KEYCHAIN_ENV, ...seam.env, ...extra } };
}

describe('HTTP proxy', () => {
  it('sends discovery, registration, token requests and MCP traffic through HTTP_PROXY', async () => {
    const { seam, env: e } = env({ HTTP_PROXY: forward.url, NO_PROXY: '' });
    forward.seen.length = 0;
    const { result: r } = await loginThroughBrowser(browser, seam, cloud.user, ['--url', cloud.mcpUrl], e);
    expect(r.code, r.stderr).toBe(0);
    // Every request of the sign-in (discovery, registration, token) went through the proxy's tunnels.
    expect(new Set(forward.seen)).toEqual(new Set([`CONNECT ${new URL(cloud.issuer).host}`, `CONNECT ${new URL(cloud.mcpUrl).host}`]));

    forward.seen.length = 0;
    const p = await connectProxy(['--url', cloud.mcpUrl], e);
    cleanups.push(() => p.close());
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'via proxy' } }))).toBe('via proxy');
    expect(forward.seen.length).toBeGreaterThan(0);
    expect(new Set(forward.seen)).toEqual(new Set([`CONNECT ${new URL(cloud.mcpUrl).host}`]));
  });

  it('leaves hosts in NO_PROXY alone', async () => {
    const { seam, env: e } = env({ HTTP_PROXY: forward.url, NO_PROXY: '127.0.0.1' });
    forward.seen.length = 0;
    expect((await loginThroughBrowser(browser, seam, cloud.user, ['--url', cloud.mcpUrl], e)).result.code).toBe(0);
    const p = await connectProxy(['--url', cloud.mcpUrl], e);
    cleanups.push(() => p.close());
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'direct' } }))).toBe('direct');
    expect(forward.seen).toEqual([]);
  });
});

describe('TLS', () => {
  it('trusts a private CA given in NODE_EXTRA_CA_CERTS, and explains the failure without it', async () => {
    const front = await startTlsFront(cloud.mcpUrl);
    cleanups.push(() => front.close());
    // A token for the cloud, obtained through the normal sign-in.
    const { seam, env: e } = env({});
    expect((await loginThroughBrowser(browser, seam, cloud.user, ['--url', cloud.mcpUrl], e)).result.code).toBe(0);
    const token = (await readStored(e.APPWRITE_MCP_CONFIG_DIR!, cloud.mcpUrl))!.accessToken!;

    const trusted = await connectProxy(['--url', `${front.url}/`], { ...e, APPWRITE_MCP_TOKEN: token, NODE_EXTRA_CA_CERTS: TEST_CERT });
    cleanups.push(() => trusted.close());
    expect(textOf(await trusted.client.callTool({ name: 'echo', arguments: { text: 'over tls' } }))).toBe('over tls');
    expect(front.seen.length).toBeGreaterThan(0);

    const untrusted = await connectProxy(['--url', `${front.url}/`], { ...e, APPWRITE_MCP_TOKEN: token }).catch((err: Error) => err);
    expect(untrusted).toBeInstanceOf(Error);
    expect((untrusted as Error).message).toMatch(/TLS certificate is not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\).*NODE_EXTRA_CA_CERTS/);
  });
});
