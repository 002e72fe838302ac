// The proxy as MCP clients run it: a real SDK Client over stdio spawning the built CLI, against the
// local cloud (real AS + real MCP server), with real headless Chromium for the sign-ins.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { ElicitRequestSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { startCloud, type Cloud, type CloudOptions } from '../cloud/index.js';
import { browserSeam, completeSignIn, launchChromium, loginThroughBrowser, type BrowserSeam } from '../helpers/browser.js';
import { BIN, NO_KEYCHAIN_ENV, baseEnv, hasSecretService, runCli, tempConfigDir } from '../helpers/cli.js';
import { connectProxy, proxyTransport, textOf, type ProxyClient } from '../helpers/proxy-client.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';

let browser: Browser;
const cleanups: Array<() => unknown> = [];
/** Every stderr the CLI wrote and every token it held, to prove no token ever reached a log. */
const allStderr: string[] = [];
const stderrSources: Array<() => string> = [];
const configDirs: string[] = [];
const allTokens = new Set<string>();

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
  dir: string;
  env: NodeJS.ProcessEnv;
}

/** A cloud, a config dir (secrets in the 0600 file so copies can be isolated) and a browser seam. */
async function world(options: CloudOptions = {}, extraEnv: NodeJS.ProcessEnv = {}): Promise<World> {
  const cloud = await startCloud(options);
  const seam = browserSeam();
  const config = tempConfigDir();
  configDirs.push(config.dir);
  cleanups.push(() => cloud.stop(), () => seam.cleanup(), () => config.cleanup());
  return { cloud, seam, dir: config.dir, env: { APPWRITE_MCP_CONFIG_DIR: config.dir, APPWRITE_MCP_STORE: 'file', ...NO_KEYCHAIN_ENV, ...seam.env, ...extraEnv } };
}

function collectTokens(dir: string) {
  const file = join(dir, 'secrets.json');
  if (!existsSync(file)) return;
  for (const t of Object.values(JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, string>>)) {
    for (const k of ['accessToken', 'refreshToken', 'idToken']) if (t[k]) allTokens.add(t[k]);
  }
}

async function login(w: World, url = w.cloud.mcpUrl) {
  const { result } = await loginThroughBrowser(browser, w.seam, w.cloud.user, ['--url', url], w.env);
  allStderr.push(result.stderr);
  expect(result.code, result.stderr).toBe(0);
  collectTokens(w.dir);
}

async function proxy(w: World, args: string[] = [], opts: Parameters<typeof connectProxy>[2] = {}): Promise<ProxyClient> {
  const p = await connectProxy(['--url', args[0] ?? w.cloud.mcpUrl, ...args.slice(1)], w.env, opts);
  stderrSources.push(p.stderr);
  cleanups.push(() => p.close().catch(() => {}));
  return p;
}

/** Revokes the stored access or refresh token at the AS (RFC 7009), behind the proxy's back. */
async function revokeAtAs(w: World, hint: 'access_token' | 'refresh_token') {
  const state = JSON.parse(readFileSync(join(w.dir, 'state.json'), 'utf8')).servers[w.cloud.mcpUrl];
  const tokens = JSON.parse(readFileSync(join(w.dir, 'secrets.json'), 'utf8'))[state.secretKey];
  const res = await fetch(state.as.revocationEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: hint === 'access_token' ? tokens.accessToken : tokens.refreshToken, token_type_hint: hint, client_id: state.clientId }),
  });
  expect(res.status).toBe(200);
  return { state, tokens };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('forwarding', () => {
  it('initialize, tools/list and tools/call on the stateless SSE server (root layout and /mcp alias)', async () => {
    const w = await world();
    await login(w);
    const p = await proxy(w);
    expect(p.client.getServerVersion()?.name).toBeDefined();
    const { tools } = await p.client.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'whoami', 'admin_action']));
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'héllo ✓' } }))).toBe('héllo ✓');
    const who = JSON.parse(textOf(await p.client.callTool({ name: 'whoami', arguments: {} })));
    expect(who.sub).toBe(w.cloud.user.sub);
    expect(who.aud).toBe(w.cloud.mcpUrl);
    expect(w.seam.urls()).toHaveLength(1); // the login's, none from the proxy
  });

  it('a stateful server: session id, server-to-client request round trip, large messages, session 404 → re-initialize', async () => {
    const w = await world();
    const url = w.cloud.projectMcpUrl('demo-project');
    await login(w, url);
    const p = await proxy(w, [url], {
      capabilities: { elicitation: {} },
      setup: (client) => client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { answer: 'forty-two' } })),
    });
    const asked = textOf(await p.client.callTool({ name: 'ask_user', arguments: {} }));
    expect(asked).toContain('forty-two');
    const headers = w.cloud.lastMcpRequestHeaders().at(-1)!;
    expect(headers['mcp-session-id']).toBeTruthy();
    expect(headers['mcp-protocol-version']).toBeTruthy();

    const big = 'x'.repeat(3 * 1024 * 1024);
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: big } }))).toHaveLength(big.length);

    w.cloud.dropMcpSessions();
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'after 404' } }))).toBe('after 404');
    const after = w.cloud.lastMcpRequestHeaders().at(-1)!;
    expect(after['mcp-session-id']).not.toBe(headers['mcp-session-id']);
  });

  it('answers a malformed line with -32700 and keeps serving; exits on stdin EOF after DELETE', async () => {
    const w = await world();
    const url = w.cloud.projectMcpUrl('demo-project');
    await login(w, url);
    const child = spawn(process.execPath, [BIN, '--url', url], { env: { ...baseEnv(), ...w.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const lines = async (n: number) => {
      for (let i = 0; i < 400 && out.split('\n').filter(Boolean).length < n; i++) await sleep(25);
      return out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    };
    child.stdin.write('{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}\n');
    expect((await lines(1))[0]).toMatchObject({ id: 1, result: { protocolVersion: '2025-06-18' } });
    child.stdin.write('{"jsonrpc":"2.0","method":"notifications/initialized"}\n');
    child.stdin.write('this is not json\n');
    const parseError = (await lines(2))[1];
    expect(parseError).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
    child.stdin.write('{"jsonrpc":"2.0","id":"two","method":"tools/list"}\n');
    expect((await lines(3))[2]).toMatchObject({ id: 'two', result: { tools: expect.any(Array) } });
    child.stdin.write('{"jsonrpc":"2.0","id":3,"method":"no/such/method"}\n');
    expect((await lines(4))[3]).toMatchObject({ id: 3, error: { code: -32601 } });

    const deletesBefore = w.cloud.stats.sessionDeletes;
    const started = Date.now();
    child.stdin.end();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(Date.now() - started).toBeLessThan(1500);
    expect(code).toBe(0);
    expect(w.cloud.stats.sessionDeletes).toBe(deletesBefore + 1);
    for (const line of out.split('\n').filter(Boolean)) expect(JSON.parse(line).jsonrpc).toBe('2.0');
    allStderr.push(err);
  });

  it('exits within a second on SIGTERM, after DELETE', async () => {
    const w = await world();
    const url = w.cloud.projectMcpUrl('demo-project');
    await login(w, url);
    const p = await proxy(w, [url]);
    await p.client.listTools();
    const deletesBefore = w.cloud.stats.sessionDeletes;
    const pid = p.transport.pid!;
    const started = Date.now();
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 60 && isAlive(pid); i++) await sleep(25);
    expect(isAlive(pid)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(w.cloud.stats.sessionDeletes).toBe(deletesBefore + 1);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('authorization in the proxy', () => {
  it('refreshes an access token that expires mid-session, without a browser', async () => {
    const w = await world({ accessTokenTtl: 4 });
    await login(w);
    const p = await proxy(w);
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'one' } }))).toBe('one');
    w.cloud.resetStats();
    await sleep(4500);
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'two' } }))).toBe('two');
    expect(w.cloud.stats.refreshGrants).toBeGreaterThanOrEqual(1);
    expect(w.cloud.stats.refreshFailures).toBe(0);
    expect(w.seam.urls()).toHaveLength(1);
  });

  it('a 401 on a token that looked valid: one refresh, one retry, no browser', async () => {
    const w = await world();
    await login(w);
    const p = await proxy(w, [w.cloud.mcpUrl, '--debug']); // --debug: its logs join the leak check below
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'one' } }))).toBe('one');
    const { state, tokens } = await revokeAtAs(w, 'access_token');
    w.cloud.resetStats();
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'two' } }))).toBe('two');
    expect(w.cloud.stats.mcpUnauthorized).toBe(1);
    expect(w.cloud.stats.refreshGrants).toBe(1);
    expect(w.seam.urls()).toHaveLength(1);
    const rotated = JSON.parse(readFileSync(join(w.dir, 'secrets.json'), 'utf8'))[state.secretKey];
    expect(rotated.refreshToken).not.toBe(tokens.refreshToken); // the rotated refresh token was saved
    collectTokens(w.dir);
  });

  it('8 copies started at once with an expired token: exactly one refresh grant, all 8 work', async () => {
    const w = await world({ accessTokenTtl: 8 });
    await login(w);
    await sleep(8500);
    w.cloud.resetStats();
    const copies = await Promise.all(Array.from({ length: 8 }, () => proxy(w)));
    const results = await Promise.all(copies.map((p, i) => p.client.callTool({ name: 'echo', arguments: { text: `copy ${i}` } })));
    results.forEach((r, i) => expect(textOf(r)).toBe(`copy ${i}`));
    expect(w.cloud.stats.refreshGrants).toBe(1);
    expect(w.cloud.stats.refreshFailures).toBe(0);
    expect(w.seam.urls()).toHaveLength(1);
  });

  it('8 copies started at once with no sign-in: one browser sign-in, one registration, all 8 work', async () => {
    const w = await world();
    const connecting = Array.from({ length: 8 }, () => proxy(w, [w.cloud.mcpUrl, '--auth-timeout', '45']));
    const url = await w.seam.nextUrl({ timeoutMs: 30_000 });
    const page = await completeSignIn(browser, url, w.cloud.user);
    expect(page.ok).toBe(true);
    await page.page.context().close();
    const copies = await Promise.all(connecting);
    const results = await Promise.all(copies.map((p, i) => p.client.callTool({ name: 'echo', arguments: { text: `copy ${i}` } })));
    results.forEach((r, i) => expect(textOf(r)).toBe(`copy ${i}`));
    expect(w.seam.urls()).toHaveLength(1);
    expect(w.cloud.stats.registrations).toBe(1);
    expect(w.cloud.stats.authorizationCodeGrants).toBe(1);
    collectTokens(w.dir);
  });

  it('a copy killed during its browser sign-in blocks no one: the next copy opens a fresh tab', async () => {
    const w = await world();
    const { transport } = proxyTransport(['--url', w.cloud.mcpUrl, '--auth-timeout', '45'], w.env);
    const doomed = new Client({ name: 'doomed', version: '1' });
    const connecting = doomed.connect(transport).catch(() => undefined);
    await w.seam.nextUrl();
    process.kill(transport.pid!, 'SIGKILL');
    await connecting;

    const started = Date.now();
    const next = proxy(w, [w.cloud.mcpUrl, '--auth-timeout', '45']);
    const url = await w.seam.nextUrl({ count: 2, timeoutMs: 15_000 });
    expect(Date.now() - started).toBeLessThan(10_000);
    const page = await completeSignIn(browser, url, w.cloud.user);
    await page.page.context().close();
    const p = await next;
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'survivor' } }))).toBe('survivor');
    collectTokens(w.dir);
  });

  it('after a browser sign-in is denied, no copy opens another tab; they say to run login', async () => {
    const w = await world();
    const first = await proxy(w, [w.cloud.mcpUrl, '--auth-timeout', '2']);
    const page = await completeSignIn(browser, await w.seam.nextUrl(), w.cloud.user, { consent: 'deny' });
    await page.page.context().close();
    expect(page.ok).toBe(false);
    await sleep(1500);
    const second = await proxy(w, [w.cloud.mcpUrl, '--auth-timeout', '2']);
    const { tools } = await second.client.listTools();
    expect(tools[0]!.description).toMatch(/last browser sign-in was not completed: run `npx appwrite-mcp login --url /);
    expect((await first.client.listTools()).tools.map((t) => t.name)).toEqual(['sign_in']);
    await sleep(1500);
    expect(w.seam.urls()).toHaveLength(1);
  });

  it('answers initialize with a sign-in placeholder when the user is slow, then switches and sends list_changed', async () => {
    const w = await world();
    let changed = 0;
    const started = Date.now();
    const p = await proxy(w, [w.cloud.mcpUrl, '--auth-timeout', '2'], {
      setup: (client) => client.setNotificationHandler(ToolListChangedNotificationSchema, () => { changed++; }),
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    const placeholder = await p.client.listTools();
    expect(placeholder.tools.map((t) => t.name)).toEqual(['sign_in']);
    expect(placeholder.tools[0]!.description).toMatch(/appwrite-mcp login/);
    expect(textOf(await p.client.callTool({ name: 'sign_in', arguments: {} }))).toMatch(/browser/);

    const page = await completeSignIn(browser, await w.seam.nextUrl(), w.cloud.user);
    await page.page.context().close();
    for (let i = 0; i < 200 && changed === 0; i++) await sleep(50);
    expect(changed).toBeGreaterThanOrEqual(1);
    const { tools } = await p.client.listTools();
    expect(tools.map((t) => t.name)).toContain('echo');
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'switched' } }))).toBe('switched');
    collectTokens(w.dir);
  });

  it('403 insufficient_scope: re-authorizes with the union of scopes, then retries', async () => {
    const w = await world();
    await login(w);
    const p = await proxy(w);
    const call = p.client.callTool({ name: 'admin_action', arguments: {} });
    const url = new URL(await w.seam.nextUrl({ count: 2 }));
    expect(url.searchParams.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['mcp:read', 'mcp:write', 'mcp:admin']));
    const page = await completeSignIn(browser, url.href, w.cloud.user);
    await page.page.context().close();
    expect(textOf(await call)).toContain('admin ok');
    expect(w.seam.urls()).toHaveLength(2);
    collectTokens(w.dir);
  });

  it('AS down: prompt JSON-RPC errors that say what happened, then recovery when it is back', async () => {
    const w = await world({ accessTokenTtl: 3 });
    await login(w);
    const p = await proxy(w);
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'up' } }))).toBe('up');
    await w.cloud.stopAuthServer();
    await sleep(3500);
    const started = Date.now();
    const failed = await p.client.callTool({ name: 'echo', arguments: { text: 'down' } }).then(() => undefined, (e: Error) => e);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(failed?.message).toMatch(/refresh/i);
    await w.cloud.startAuthServer();
    await sleep(1100);
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'back' } }))).toBe('back');
  });

  it('a sign-in revoked at the AS: requests get an error telling the user to sign in again', async () => {
    const w = await world({ accessTokenTtl: 3 });
    await login(w);
    const p = await proxy(w, [w.cloud.mcpUrl, '--no-browser']);
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'before' } }))).toBe('before');
    // Revoke the grant behind the proxy's back, the way a user removing the app in their account would.
    const { tokens } = await revokeAtAs(w, 'refresh_token');
    expect(await w.cloud.tokenStatus(tokens.refreshToken)).toBe('revoked');
    await sleep(3500);
    const started = Date.now();
    const failed = await p.client.callTool({ name: 'echo', arguments: { text: 'after' } }).then(() => undefined, (e: Error) => e);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(failed?.message).toMatch(/sign-in .*required/i);
    expect(failed?.message).toContain('appwrite-mcp login');
    expect(w.seam.urls()).toHaveLength(1); // --no-browser: no tab opened
  });

  it('not signed in and --no-browser: the placeholder tells the user to run login', async () => {
    const w = await world();
    const p = await proxy(w, [w.cloud.mcpUrl, '--no-browser', '--auth-timeout', '1']);
    const { tools } = await p.client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['sign_in']);
    expect(tools[0]!.description).toMatch(/appwrite-mcp login/);
    expect(w.seam.urls()).toHaveLength(0);
  });

  it('APPWRITE_MCP_TOKEN is used as is: nothing stored, no browser', async () => {
    const w = await world();
    await login(w);
    const secrets = JSON.parse(readFileSync(join(w.dir, 'secrets.json'), 'utf8'));
    const token = (Object.values(secrets)[0] as { accessToken: string }).accessToken;
    const empty = tempConfigDir();
    cleanups.push(() => empty.cleanup());
    const env = { ...w.env, APPWRITE_MCP_CONFIG_DIR: empty.dir, APPWRITE_MCP_TOKEN: token };
    const p = await connectProxy(['--url', w.cloud.mcpUrl], env);
    stderrSources.push(p.stderr);
    cleanups.push(() => p.close());
    expect(JSON.parse(textOf(await p.client.callTool({ name: 'whoami', arguments: {} }))).sub).toBe(w.cloud.user.sub);
    expect(existsSync(join(empty.dir, 'secrets.json'))).toBe(false);
    expect(existsSync(join(empty.dir, 'state.json'))).toBe(false);

    const bad = await connectProxy(['--url', w.cloud.mcpUrl], { ...env, APPWRITE_MCP_TOKEN: 'not-a-valid-token' }).catch((e: Error) => e);
    if (bad instanceof Error) expect(bad.message).toMatch(/APPWRITE_MCP_TOKEN/);
    else {
      cleanups.push(() => bad.close());
      await expect(bad.client.listTools()).rejects.toThrow(/APPWRITE_MCP_TOKEN/);
    }
    expect(w.seam.urls()).toHaveLength(1);
  });

  (hasSecretService() || process.env.APPWRITE_MCP_REQUIRE_KEYCHAIN === '1' ? it : it.skip)('uses a sign-in kept in the real keychain', async () => {
    const w = await world({}, { APPWRITE_MCP_STORE: 'keychain', DBUS_SESSION_BUS_ADDRESS: process.env.DBUS_SESSION_BUS_ADDRESS });
    await login(w);
    const p = await proxy(w);
    expect(JSON.parse(textOf(await p.client.callTool({ name: 'whoami', arguments: {} }))).sub).toBe(w.cloud.user.sub);
    await runCli(['logout', '--all'], w.env);
  });
});

describe('no leaks', () => {
  it('no token string appears anywhere in what the CLI wrote to stderr across this suite', () => {
    configDirs.forEach(collectTokens);
    expect(allTokens.size).toBeGreaterThan(0);
    const everything = [...allStderr, ...stderrSources.map((f) => f())].join('\n');
    for (const token of allTokens) expect(everything.includes(token)).toBe(false);
    expect(everything).not.toMatch(/eyJ[\w-]{10,}\.[\w-]{10,}\./);
  });
});
