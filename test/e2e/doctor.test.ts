// `appwrite-mcp doctor` end to end: the built CLI as a child process against the local cloud (real
// AS, real MCP server), real browser sign-ins in headless Chromium, the real Secret Service (and a
// broken and a hung one), the network checks through an HTTP proxy and TLS. The other checks (a
// skewed clock, an AS that is down, revoked tokens, other servers) run in-process:
// test/commands/doctor.test.ts.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { startCloud, type Cloud } from '../cloud/index.js';
import { browserSeam, launchChromium, loginThroughBrowser, type BrowserSeam } from '../helpers/browser.js';
import { BIN, NO_KEYCHAIN_ENV, hasSecretService, runCli, tempConfigDir, type CliResult } from '../helpers/cli.js';
import { startSilentServer } from '../helpers/fronts.js';
import { startForwardProxy, startTlsFront, TEST_CERT } from '../helpers/relays.js';
import { PROXIED_CERT, PROXIED_HOST, startMappingProxy, startProxiedFront } from '../proxy/net-fixtures.js';
import { readStored } from '../helpers/stored.js';
import { expectShape, type Check } from '../helpers/doctor-checks.js';

const keychainIt = hasSecretService() || process.env.APPWRITE_MCP_REQUIRE_KEYCHAIN === '1' ? it : it.skip;

let cloud: Cloud;
let browser: Browser;
const cleanups: Array<() => unknown> = [];
const outputs: string[] = [];

beforeAll(async () => {
  [cloud, browser] = await Promise.all([startCloud(), launchChromium()]);
});
afterAll(async () => {
  await Promise.all([cloud?.stop(), browser?.close()]);
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface World {
  seam: BrowserSeam;
  dir: string;
  home: string;
  env: NodeJS.ProcessEnv;
}

/**
 * A config dir, a HOME of its own (so the client configs doctor finds are the test's, never the
 * developer's) and a browser seam. `keychain: false`: secrets in the 0600 file, no D-Bus at all.
 */
function world(opts: { keychain?: boolean } = {}): World {
  const seam = browserSeam();
  const config = tempConfigDir();
  const home = mkdtempSync(join(tmpdir(), 'appwrite-mcp-home-'));
  cleanups.push(() => seam.cleanup(), () => config.cleanup(), () => rmSync(home, { recursive: true, force: true }));
  const clientEnv = { HOME: home, XDG_CONFIG_HOME: undefined, CODEX_HOME: undefined, CLAUDE_CONFIG_DIR: undefined };
  const store = opts.keychain === false ? { APPWRITE_MCP_STORE: 'file', ...NO_KEYCHAIN_ENV } : {};
  return { seam, dir: config.dir, home, env: { APPWRITE_MCP_CONFIG_DIR: config.dir, ...clientEnv, ...store, ...seam.env } };
}

async function login(w: World, url = cloud.mcpUrl) {
  const { result } = await loginThroughBrowser(browser, w.seam, cloud.user, ['--url', url], w.env);
  outputs.push(result.stdout, result.stderr);
  expect(result.code, result.stderr).toBe(0);
}

async function doctor(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult & { checks: Check[]; byId: Record<string, Check>; ms: number }> {
  const started = Date.now();
  const r = await runCli(['doctor', ...args, '--json'], env, { timeoutMs: 60_000 });
  const ms = Date.now() - started;
  outputs.push(r.stdout, r.stderr);
  let checks: Check[];
  try {
    checks = JSON.parse(r.stdout);
  } catch {
    throw new Error(`doctor --json printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { ...r, checks, byId: Object.fromEntries(checks.map((c) => [c.id, c])), ms };
}

function expectNoTokens(tokens: { accessToken?: string; refreshToken?: string }) {
  for (const out of outputs) {
    if (tokens.accessToken) expect(out).not.toContain(tokens.accessToken);
    if (tokens.refreshToken) expect(out).not.toContain(tokens.refreshToken);
  }
}

describe('doctor', () => {
  keychainIt('all good after a browser sign-in (secrets in the Secret Service, a Cursor config): exit 0, and the --json shape', async () => {
    const w = world();
    await login(w);
    const setup = await runCli(['setup', 'cursor', '--url', cloud.mcpUrl], w.env);
    expect(setup.code, setup.stderr).toBe(0);
    const before = cloud.stats.refreshGrants;

    const r = await doctor(['--url', cloud.mcpUrl], w.env);
    expect(r.code, r.stdout).toBe(0);
    expectShape(r.checks);
    const { byId } = r;
    for (const id of ['proxy', 'dns', 'connect', 'clock', 'challenge', 'resource-metadata', 'authorization-server', 'pkce', 'keychain', 'sign-in', 'token', 'refresh', 'clients']) {
      expect(byId[id]!.status, `${id}: ${byId[id]!.summary}`).toBe('ok');
    }
    expect(byId.tls!.status).toBe('skip'); // plain http on loopback
    expect(byId['authorization-server']!.summary).toContain(cloud.issuer);
    expect(byId.keychain!.summary).toMatch(/Secret Service.*wrote, read back and deleted a test entry/);
    expect(byId.keychain!.detail!.join('\n')).toContain('this server\'s sign-in keeps its secrets in OS keychain');
    expect(byId['sign-in']!.summary).toContain(cloud.user.email);
    expect(byId.token!.summary).toMatch(/accepts the stored access token \(HTTP 200/);
    expect(byId.refresh!.summary).toMatch(/refresh token is held \(not spent/);
    expect(byId.clients!.summary).toContain('Cursor');
    expect(byId.clients!.detail!.join('\n')).toContain(join(w.home, '.cursor', 'mcp.json'));
    expect(cloud.stats.refreshGrants).toBe(before); // a good sign-in is not refreshed

    // The same as text, on stdout.
    const human = await runCli(['doctor', '--url', cloud.mcpUrl], w.env);
    outputs.push(human.stdout, human.stderr);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^✓ keychain +OS keychain/m);
    expect(human.stdout).toMatch(/^✓ token +the server accepts/m);
    expect(human.stdout).toContain('✓ Everything a proxy run needs is in place');
    expect(human.stdout).not.toContain('[');
    expectNoTokens((await readStored(w.dir, cloud.mcpUrl))!);
  });

  keychainIt('a broken keychain (no D-Bus): ✗ keychain with the fix, ✗ sign-in unreadable, exit 1, quickly', async () => {
    const w = world();
    await login(w); // into the real Secret Service
    const r = await doctor(['--url', cloud.mcpUrl], { ...w.env, ...NO_KEYCHAIN_ENV });
    expect(r.code).toBe(1);
    expectShape(r.checks);
    expect(r.byId.keychain!.status).toBe('fail');
    expect(r.byId.keychain!.summary).toMatch(/is not usable: no Secret Service on D-Bus/);
    expect(r.byId.keychain!.detail!.join('\n')).toContain(NO_KEYCHAIN_ENV.DBUS_SESSION_BUS_ADDRESS);
    expect(r.byId.keychain!.fix).toContain(`${BIN} login --url ${cloud.mcpUrl} --store file`);
    expect(r.byId['sign-in']!.status).toBe('fail');
    expect(r.byId['sign-in']!.summary).toMatch(/secrets cannot be read from OS keychain/);
    expect(r.byId.token!.status).toBe('skip');
    // The network and the discovery are fine: only the keychain is at fault.
    expect(r.byId['authorization-server']!.status).toBe('ok');
    expect(r.ms).toBeLessThan(10_000);
  });

  it('a hung keychain (a session bus that never answers): ✗ within the keychain timeout', async () => {
    const w = world({ keychain: false });
    const socketDir = mkdtempSync(join(tmpdir(), 'appwrite-mcp-bus-'));
    cleanups.push(() => rmSync(socketDir, { recursive: true, force: true }));
    const bus = await startSilentServer(join(socketDir, 'bus'));
    cleanups.push(() => bus.close());
    const env = { ...w.env, APPWRITE_MCP_STORE: undefined, DBUS_SESSION_BUS_ADDRESS: bus.url, APPWRITE_MCP_KEYCHAIN_TIMEOUT_MS: '1500' };
    const r = await doctor(['--url', cloud.mcpUrl], env);
    expect(r.code).toBe(1);
    expect(r.byId.keychain!.status).toBe('fail');
    expect(r.byId.keychain!.summary).toMatch(/did not answer within 1.5 s.*locked/);
    expect(r.ms).toBeLessThan(8_000);
  });

  it('the road: an HTTP proxy that applies (CONNECT tunnel), and TLS trusted through NODE_EXTRA_CA_CERTS or not', async () => {
    const w = world({ keychain: false });
    // Loopback is never proxied: doctor says so, whatever NO_PROXY holds.
    const forward = await startForwardProxy();
    cleanups.push(() => forward.close());
    const loopback = await doctor(['--url', cloud.mcpUrl], { ...w.env, HTTP_PROXY: forward.url, NO_PROXY: '' });
    expect(loopback.byId.proxy!.summary).toMatch(/HTTP_PROXY is set, but NO_PROXY excludes 127.0.0.1: direct connection/);
    expect(loopback.byId.connect!.summary).toMatch(/^TCP connection to 127\.0\.0\.1:/);
    expect(forward.seen).toEqual([]);

    // A name that resolves nowhere here, reached only through the proxy's CONNECT tunnel (as in
    // network.test.ts): the proxy applies, and the TLS check passes through the tunnel.
    const proxied = await startProxiedFront(cloud.mcpUrl);
    const tunnel = await startMappingProxy({ [PROXIED_HOST]: proxied.port });
    cleanups.push(() => proxied.close(), () => tunnel.close());
    const viaProxy = await doctor(['--url', `${proxied.url}/`], { ...w.env, HTTPS_PROXY: tunnel.url, NO_PROXY: '', NODE_EXTRA_CA_CERTS: PROXIED_CERT });
    expect(viaProxy.byId.proxy!.summary).toBe(`HTTPS_PROXY=${tunnel.url} applies to ${PROXIED_HOST}: requests go through it`);
    expect(viaProxy.byId.dns!.summary).toMatch(/the proxy host 127\.0\.0\.1/);
    expect(viaProxy.byId.connect!.summary).toMatch(/through the proxy's CONNECT tunnel/);
    expect(viaProxy.byId.tls!.status).toBe('ok');
    expect(tunnel.seen).toContain(`CONNECT ${new URL(proxied.url).host}`);
    expect(proxied.seen.length).toBeGreaterThan(0);

    const front = await startTlsFront(cloud.mcpUrl);
    cleanups.push(() => front.close());
    const trusted = await doctor(['--url', `${front.url}/`], { ...w.env, NODE_EXTRA_CA_CERTS: TEST_CERT });
    expect(trusted.byId.tls!.status).toBe('ok');
    expect(trusted.byId.tls!.summary).toMatch(new RegExp(`trusted through NODE_EXTRA_CA_CERTS \\(${TEST_CERT.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: "appwrite-mcp test CA"\\)`));
    const untrusted = await doctor(['--url', `${front.url}/`], w.env);
    expect(untrusted.code).toBe(1);
    expect(untrusted.byId.tls!.status).toBe('fail');
    expect(untrusted.byId.tls!.summary).toMatch(/the certificate is not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
    expect(untrusted.byId.tls!.fix).toMatch(/NODE_EXTRA_CA_CERTS=/);
    expect(untrusted.byId.clock!.status).toBe('skip');
  });
});
