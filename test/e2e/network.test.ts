// Networks users are on: an HTTP(S)_PROXY (with NO_PROXY), and TLS with a private CA trusted
// through NODE_EXTRA_CA_CERTS. The proxied server is https://mcp.proxied.test:<port>: a name that
// resolves nowhere here, reached only through the forward proxy's tunnel (net-fixtures.ts), since
// loopback destinations are never proxied.
import { readStored } from '../helpers/stored.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startCloud, type Cloud } from '../cloud/index.js';
import { browserSeam, launchChromium, loginThroughBrowser } from '../helpers/browser.js';
import { NO_KEYCHAIN_ENV, tempConfigDir } from '../helpers/cli.js';
import { connectProxy, textOf } from '../helpers/proxy-client.js';
import { INITIALIZE_PARAMS, spawnRawProxy } from '../helpers/raw-stdio.js';
import { TEST_CERT, startForwardProxy, startTlsFront, type Relay } from '../helpers/relays.js';
import { PROXIED_CERT, startMappingProxy, startProxiedFront, startSilentProxy, type Stand } from '../proxy/net-fixtures.js';

let cloud: Cloud;
let browser: Browser;
let forward: Relay;
/** A token for the cloud's MCP server, from a real browser sign-in. */
let token: string;
let signedIn: string;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  [cloud, browser, forward] = await Promise.all([startCloud(), launchChromium(), startForwardProxy()]);
  const { seam, env: e } = env({});
  expect((await loginThroughBrowser(browser, seam, cloud.user, ['--url', cloud.mcpUrl], e)).result.code).toBe(0);
  signedIn = e.APPWRITE_MCP_CONFIG_DIR!;
  token = (await readStored(signedIn, cloud.mcpUrl))!.accessToken!;
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

async function proxiedServer(): Promise<{ front: Stand; tunnel: Stand }> {
  const front = await startProxiedFront(cloud.mcpUrl);
  const tunnel = await startMappingProxy({ 'mcp.proxied.test': front.port });
  cleanups.push(() => front.close(), () => tunnel.close());
  return { front, tunnel };
}

describe('HTTP proxy', () => {
  it('MCP traffic to a server behind HTTPS_PROXY goes through the proxy\'s tunnel', async () => {
    const { front, tunnel } = await proxiedServer();
    const { env: e } = env({ HTTPS_PROXY: tunnel.url, NODE_EXTRA_CA_CERTS: PROXIED_CERT, APPWRITE_MCP_TOKEN: token });
    const p = await connectProxy(['--url', `${front.url}/`], e);
    cleanups.push(() => p.close());
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'via proxy' } }))).toBe('via proxy');
    expect(new Set(tunnel.seen)).toEqual(new Set([`CONNECT ${new URL(front.url).host}`]));
    expect(front.seen.length).toBeGreaterThan(0);
  });

  it('never sends anything for a loopback server or AS through the proxy, whatever NO_PROXY says (sign-in and MCP)', async () => {
    const { seam, env: e } = env({ HTTP_PROXY: forward.url, HTTPS_PROXY: forward.url, NO_PROXY: '' });
    forward.seen.length = 0;
    const { result: r } = await loginThroughBrowser(browser, seam, cloud.user, ['--url', cloud.mcpUrl], e);
    expect(r.code, r.stderr).toBe(0);
    const p = await connectProxy(['--url', cloud.mcpUrl], e);
    cleanups.push(() => p.close());
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'direct' } }))).toBe('direct');
    expect(forward.seen).toEqual([]);
  });

  it('leaves hosts in NO_PROXY alone (this one resolves nowhere without the proxy)', async () => {
    const { front, tunnel } = await proxiedServer();
    const { env: e } = env({ HTTPS_PROXY: tunnel.url, NO_PROXY: 'localhost,.proxied.test', NODE_EXTRA_CA_CERTS: PROXIED_CERT, APPWRITE_MCP_TOKEN: token });
    const failed = await connectProxy(['--url', `${front.url}/`], e, { timeoutMs: 20_000 }).catch((err: Error) => err);
    expect(failed).toBeInstanceOf(Error);
    expect((failed as Error).message).toMatch(/unreachable \(ENOTFOUND\)|host not found|ENOTFOUND/);
    expect(tunnel.seen).toEqual([]);
  });

  it('a proxy that never answers CONNECT: --connect-timeout bounds the request', async () => {
    const silent = await startSilentProxy();
    cleanups.push(() => silent.close());
    const { env: e } = env({ HTTPS_PROXY: silent.url, APPWRITE_MCP_TOKEN: token });
    const p = spawnRawProxy(['--url', 'https://mcp.proxied.test/', '--connect-timeout', '2', '--protocol', '2025'], e);
    cleanups.push(() => p.close());
    const started = Date.now();
    const answer = await p.request('initialize', INITIALIZE_PARAMS, { timeoutMs: 15_000 });
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(answer.error.message).toMatch(/did not answer \(no response within 2 s\)/);
  });
});

describe('TLS', () => {
  it('trusts a private CA given in NODE_EXTRA_CA_CERTS, and explains the failure without it', async () => {
    const front = await startTlsFront(cloud.mcpUrl);
    cleanups.push(() => front.close());
    const e = { APPWRITE_MCP_CONFIG_DIR: signedIn, APPWRITE_MCP_STORE: 'file', ...NO_KEYCHAIN_ENV };
    const trusted = await connectProxy(['--url', `${front.url}/`], { ...e, APPWRITE_MCP_TOKEN: token, NODE_EXTRA_CA_CERTS: TEST_CERT });
    cleanups.push(() => trusted.close());
    expect(textOf(await trusted.client.callTool({ name: 'echo', arguments: { text: 'over tls' } }))).toBe('over tls');
    expect(front.seen.length).toBeGreaterThan(0);

    const untrusted = await connectProxy(['--url', `${front.url}/`], { ...e, APPWRITE_MCP_TOKEN: token }).catch((err: Error) => err);
    expect(untrusted).toBeInstanceOf(Error);
    expect((untrusted as Error).message).toMatch(/TLS certificate is not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\).*NODE_EXTRA_CA_CERTS/);
  });
});
