// The proxy as MCP clients run it: a real SDK Client over stdio spawning the built CLI, against the
// local cloud (real AS + real MCP server), with real headless Chromium for the sign-ins.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { ElicitRequestSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { startCloud, type Cloud, type CloudOptions } from '../cloud/index.js';
import { browserSeam, completeSignIn, launchChromium, loginThroughBrowser, type BrowserSeam } from '../helpers/browser.js';
import { BIN, NO_KEYCHAIN_ENV, baseEnv, hasSecretService, runCli, tempConfigDir } from '../helpers/cli.js';
import { readStored, revokeStored } from '../helpers/stored.js';
import { connectProxy, proxyTransport, textOf, type ProxyClient } from '../helpers/proxy-client.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';

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
  dir: string;
  env: NodeJS.ProcessEnv;
}

/** A cloud, a config dir (secrets in the 0600 file so copies can be isolated) and a browser seam. */
async function world(options: CloudOptions = {}, extraEnv: NodeJS.ProcessEnv = {}): Promise<World> {
  const cloud = await startCloud(options);
  const seam = browserSeam();
  const config = tempConfigDir();
  cleanups.push(() => cloud.stop(), () => seam.cleanup(), () => config.cleanup());
  return { cloud, seam, dir: config.dir, env: { APPWRITE_MCP_CONFIG_DIR: config.dir, APPWRITE_MCP_STORE: 'file', ...NO_KEYCHAIN_ENV, ...seam.env, ...extraEnv } };
}

async function login(w: World, url = w.cloud.mcpUrl) {
  const { result } = await loginThroughBrowser(browser, w.seam, w.cloud.user, ['--url', url], w.env);
  expect(result.code, result.stderr).toBe(0);
}

async function proxy(w: World, args: string[] = [], opts: Parameters<typeof connectProxy>[2] = {}): Promise<ProxyClient> {
  const p = await connectProxy(['--url', args[0] ?? w.cloud.mcpUrl, ...args.slice(1)], w.env, opts);
  cleanups.push(() => p.close().catch(() => {}));
  return p;
}

/** Revokes the stored access or refresh token at the AS (RFC 7009), behind the proxy's back. */
async function revokeAtAs(w: World, hint: 'access_token' | 'refresh_token') {
  const stored = await revokeStored(w.dir, w.cloud.mcpUrl, hint);
  return { stored, tokens: { accessToken: stored.accessToken!, refreshToken: stored.refreshToken! } };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('forwarding', () => {
  /** One cloud for these tests, signed in once to its root and its per-project server. */
  let shared: World;
  beforeAll(async () => {
    shared = await world();
    await login(shared);
    await login(shared, shared.cloud.projectMcpUrl('demo-project'));
  }, 90_000);

  /** The shared sign-ins in a config dir of the test's own, with a browser seam of its own. */
  function signedIn(extraEnv: NodeJS.ProcessEnv = {}): World {
    const seam = browserSeam();
    const config = tempConfigDir();
    cpSync(shared.dir, config.dir, { recursive: true });
    cleanups.push(() => seam.cleanup(), () => config.cleanup());
    return { cloud: shared.cloud, seam, dir: config.dir, env: { ...shared.env, APPWRITE_MCP_CONFIG_DIR: config.dir, ...seam.env, ...extraEnv } };
  }

  it('initialize, tools/list and tools/call on the stateless SSE server (root layout and /mcp alias)', async () => {
    const w = signedIn();
    const p = await proxy(w);
    expect(p.client.getServerVersion()?.name).toBeDefined();
    const { tools } = await p.client.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'whoami', 'admin_action']));
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'héllo ✓' } }))).toBe('héllo ✓');
    const who = JSON.parse(textOf(await p.client.callTool({ name: 'whoami', arguments: {} })));
    expect(who.sub).toBe(w.cloud.user.sub);
    expect(who.aud).toBe(w.cloud.mcpUrl);
    expect(w.seam.urls()).toHaveLength(0); // the proxy opened no browser tab
  });

  it('header values from ${VAR} and --header-file reach the server and never a log', async () => {
    const w = signedIn({ MY_API_KEY: 'sk-from-env-0123456789' });
    const headerFile = join(w.dir, '..', `headers-${process.pid}.txt`);
    writeFileSync(headerFile, '# secrets for the server\nX-File-Key: file-secret-0123456789\n');
    cleanups.push(() => rmSync(headerFile, { force: true }));
    const headerArgs = ['--header', 'X-Env-Key: ${MY_API_KEY}', '--header-file', headerFile];
    const { result } = await loginThroughBrowser(browser, w.seam, w.cloud.user, ['--url', w.cloud.mcpUrl, ...headerArgs], w.env);
    expect(result.code, result.stderr).toBe(0);
    const p = await proxy(w, [w.cloud.mcpUrl, ...headerArgs, '--debug']);
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'with headers' } }))).toBe('with headers');
    const sent = w.cloud.lastMcpRequestHeaders().at(-1)!;
    expect(sent['x-env-key']).toBe('sk-from-env-0123456789');
    expect(sent['x-file-key']).toBe('file-secret-0123456789');
    await p.close();
    for (const out of [p.stderr(), result.stderr]) {
      expect(out).not.toContain('sk-from-env-0123456789');
      expect(out).not.toContain('file-secret-0123456789');
    }
  });

  it('a stateful server: session id, server-to-client request round trip, large messages, session 404 → re-initialize', async () => {
    const w = signedIn();
    const url = w.cloud.projectMcpUrl('demo-project');
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
    const w = signedIn();
    const url = w.cloud.projectMcpUrl('demo-project');
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
  });

  it('exits within a second on SIGTERM, after DELETE', async () => {
    const w = signedIn();
    const url = w.cloud.projectMcpUrl('demo-project');
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
    // Past half its lifetime a token is refreshed before it is used (no need to wait for it to expire).
    await sleep(2200);
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
    const { tokens } = await revokeAtAs(w, 'access_token');
    w.cloud.resetStats();
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'two' } }))).toBe('two');
    expect(w.cloud.stats.mcpUnauthorized).toBe(1);
    expect(w.cloud.stats.refreshGrants).toBe(1);
    expect(w.seam.urls()).toHaveLength(1);
    const rotated = (await readStored(w.dir, w.cloud.mcpUrl))!;
    expect(rotated.refreshToken).not.toBe(tokens.refreshToken); // the rotated refresh token was saved
  });

  it('8 copies started at once with a token due for refresh: exactly one refresh grant, all 8 work', async () => {
    const w = await world({ accessTokenTtl: 8 });
    await login(w);
    await sleep(4200); // past half its lifetime: every copy must refresh before using it
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
  });

  it('after a browser sign-in is denied, no copy opens another tab; they say to run login', async () => {
    const w = await world();
    const first = await proxy(w, [w.cloud.mcpUrl, '--auth-timeout', '2']);
    const page = await completeSignIn(browser, await w.seam.nextUrl(), w.cloud.user, { consent: 'deny' });
    await page.page.context().close();
    expect(page.ok).toBe(false);
    // The first copy remembers the tab that was not finished (state.json): then the second starts.
    await waitFor(() => Object.keys(stateOf(w.dir).signInFailures ?? {}).length > 0);
    const second = await proxy(w, [w.cloud.mcpUrl, '--auth-timeout', '2']);
    const { tools } = await second.client.listTools();
    expect(tools[0]!.description).toMatch(/last browser sign-in was not completed: run `node \S+\/bin\/appwrite-mcp\.js login --url /);
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
    expect(placeholder.tools[0]!.description).toMatch(/appwrite-mcp(\.js)? login/);
    expect(textOf(await p.client.callTool({ name: 'sign_in', arguments: {} }))).toMatch(/browser/);

    const page = await completeSignIn(browser, await w.seam.nextUrl(), w.cloud.user);
    await page.page.context().close();
    for (let i = 0; i < 200 && changed === 0; i++) await sleep(50);
    expect(changed).toBeGreaterThanOrEqual(1);
    const { tools } = await p.client.listTools();
    expect(tools.map((t) => t.name)).toContain('echo');
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'switched' } }))).toBe('switched');
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
  });

  it('AS down: prompt JSON-RPC errors that say what happened, then recovery when it is back', async () => {
    const w = await world({ accessTokenTtl: 2 });
    await login(w);
    const p = await proxy(w);
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'up' } }))).toBe('up');
    await w.cloud.stopAuthServer();
    await sleep(1200); // the token the proxy holds is now within a second of expiry: no longer used
    const started = Date.now();
    const failed = await p.client.callTool({ name: 'echo', arguments: { text: 'down' } }).then(() => undefined, (e: Error) => e);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(failed?.message).toMatch(/refresh/i);
    await w.cloud.startAuthServer();
    await sleep(1100);
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'back' } }))).toBe('back');
  });

  it('a sign-in revoked at the AS: requests get an error telling the user to sign in again', async () => {
    const w = await world({ accessTokenTtl: 2 });
    await login(w);
    const p = await proxy(w, [w.cloud.mcpUrl, '--no-browser']);
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'before' } }))).toBe('before');
    // Revoke the grant behind the proxy's back, the way a user removing the app in their account would.
    const { tokens } = await revokeAtAs(w, 'refresh_token');
    expect(await w.cloud.tokenStatus(tokens.refreshToken)).toBe('revoked');
    await sleep(1200); // the access token is within a second of expiry: a refresh is needed
    const started = Date.now();
    const failed = await p.client.callTool({ name: 'echo', arguments: { text: 'after' } }).then(() => undefined, (e: Error) => e);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(failed?.message).toMatch(/sign-in .*required/i);
    expect(failed?.message).toMatch(/appwrite-mcp(\.js)? login/);
    expect(w.seam.urls()).toHaveLength(1); // --no-browser: no tab opened
  });

  it('not signed in and --no-browser: the placeholder tells the user to run login', async () => {
    const w = await world();
    const p = await proxy(w, [w.cloud.mcpUrl, '--no-browser', '--auth-timeout', '1']);
    const { tools } = await p.client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['sign_in']);
    expect(tools[0]!.description).toMatch(/appwrite-mcp(\.js)? login/);
    expect(w.seam.urls()).toHaveLength(0);
  });

  it('APPWRITE_MCP_TOKEN is used as is: nothing stored, no browser', async () => {
    const w = await world();
    await login(w);
    const token = (await readStored(w.dir, w.cloud.mcpUrl))!.accessToken!;
    const empty = tempConfigDir();
    cleanups.push(() => empty.cleanup());
    const env = { ...w.env, APPWRITE_MCP_CONFIG_DIR: empty.dir, APPWRITE_MCP_TOKEN: token };
    const p = await connectProxy(['--url', w.cloud.mcpUrl], env);
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

describe('the stored sign-in', () => {
  it('an unwritable config dir during a refresh: the new tokens are used from memory, the user is told once where, the save lands once it is writable', async () => {
    const w = await world();
    await login(w);
    const before = (await readStored(w.dir, w.cloud.mcpUrl))!;
    // As root, permissions do not stop writes: run the proxy as nobody, in a dir that nobody owns.
    const runAs = process.getuid?.() === 0 ? { uid: 65534 } : {};
    if (runAs.uid !== undefined) chownTree(w.dir, runAs.uid);
    const p = await proxy(w, [w.cloud.mcpUrl, '--no-browser'], { runAs });
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'before' } }))).toBe('before');

    await revokeAtAs(w, 'access_token');
    chmodSync(w.dir, 0o500); // locks/ inside stays writable: only state.json and secrets.json cannot be replaced
    cleanups.push(() => chmodSync(w.dir, 0o700));
    w.cloud.resetStats();
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'after' } }))).toBe('after');
    expect(w.cloud.stats.refreshGrants).toBe(1);
    await waitFor(() => /could not save the refreshed sign-in to file .*secrets\.json/.test(p.stderr()));
    expect((await readStored(w.dir, w.cloud.mcpUrl))!.refreshToken).toBe(before.refreshToken); // not saved yet
    expect(await w.cloud.tokenStatus(before.refreshToken!)).toBe('revoked'); // and already spent at the AS
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'still' } }))).toBe('still');

    chmodSync(w.dir, 0o700);
    await waitFor(() => /saved the refreshed sign-in to .* \(after \d+ attempts\)/.test(p.stderr()), 20_000);
    expect(p.stderr().match(/could not save the refreshed sign-in/g)).toHaveLength(1);
    const after = (await readStored(w.dir, w.cloud.mcpUrl))!;
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(await w.cloud.tokenStatus(after.refreshToken!)).toBe('active');

    // Another copy (or a restart) picks the saved sign-in up: no browser, no refresh.
    w.cloud.resetStats();
    const q = await proxy(w, [w.cloud.mcpUrl, '--no-browser'], { runAs });
    expect(textOf(await q.client.callTool({ name: 'echo', arguments: { text: 'next' } }))).toBe('next');
    expect(w.cloud.stats.refreshGrants).toBe(0);
    expect(w.seam.urls()).toHaveLength(1);
  });

  it('--header keys the sign-in: another set of headers is another sign-in', async () => {
    const w = await world();
    const url = w.cloud.mcpUrl;
    const { result } = await loginThroughBrowser(browser, w.seam, w.cloud.user, ['--url', url, '--header', 'X-Team: alpha'], w.env);
    expect(result.code, result.stderr).toBe(0);
    const alpha = await proxy(w, [url, '--header', 'X-Team: alpha', '--no-browser']);
    expect(textOf(await alpha.client.callTool({ name: 'echo', arguments: { text: 'alpha' } }))).toBe('alpha');
    for (const other of [['--header', 'X-Team: beta'], []]) {
      const p = await proxy(w, [url, ...other, '--no-browser']);
      expect((await p.client.listTools()).tools.map((t) => t.name)).toEqual(['sign_in']);
    }
    const status = await runCli(['status', '--json'], w.env);
    expect(JSON.parse(status.stdout).servers).toEqual([expect.objectContaining({ url, headers: ['X-Team'], ok: true })]);
    expect(status.stdout).not.toContain('alpha');
    expect((await runCli(['status', '--url', url, '--header', 'X-Team: beta'], w.env)).code).toBe(3);
    expect((await runCli(['status', '--url', url, '--header', 'X-Team: alpha'], w.env)).code).toBe(0);
  });
});

function chownTree(path: string, uid: number): void {
  chownSync(path, uid, uid);
  if (statSync(path).isDirectory()) for (const name of readdirSync(path)) chownTree(join(path, name), uid);
}

/** state.json of a config dir ({} while there is none). */
function stateOf(dir: string): { signInFailures?: Record<string, number> } {
  const file = join(dir, 'state.json');
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
}

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(50);
  }
}

describe('no leaks', () => {
  it('no token appears in anything the CLI writes: login, proxy with a refresh and a step-up, status, logout, all with --debug', async () => {
    const w = await world();
    const tokens = new Set<string>();
    const outputs: string[] = [];
    const collect = async () => {
      const stored = await readStored(w.dir, w.cloud.mcpUrl);
      for (const t of [stored?.accessToken, stored?.refreshToken]) if (t) tokens.add(t);
    };
    const { result } = await loginThroughBrowser(browser, w.seam, w.cloud.user, ['--url', w.cloud.mcpUrl, '--debug'], w.env);
    outputs.push(result.stdout, result.stderr);
    await collect();

    const p = await proxy(w, [w.cloud.mcpUrl, '--debug']);
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'before' } }))).toBe('before');
    await revokeAtAs(w, 'access_token'); // → 401 → refresh, logged in --debug
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'after' } }))).toBe('after');
    await collect();
    const stepUp = p.client.callTool({ name: 'admin_action', arguments: {} }); // → 403 → browser sign-in with more scopes
    const url = await w.seam.nextUrl({ count: 2 });
    const page = await completeSignIn(browser, url, w.cloud.user);
    await page.page.context().close();
    await stepUp;
    await collect();
    await p.close();
    outputs.push(p.stderr());

    for (const args of [['status', '--json'], ['status'], ['logout', '--debug']]) {
      const r = await runCli([...args, '--url', w.cloud.mcpUrl], w.env);
      outputs.push(r.stdout, r.stderr);
    }
    expect(tokens.size).toBeGreaterThanOrEqual(5);
    const everything = outputs.join('\n');
    expect(everything).toContain('[debug]');
    for (const token of tokens) expect(everything.includes(token)).toBe(false);
    expect(everything).not.toMatch(/eyJ[\w-]{10,}\.[\w-]{10,}\./);
  });
});
