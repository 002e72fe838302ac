// The older HTTP+SSE transport (MCP 2024-11-05) and --ping-interval, through the built CLI under a
// real MCP client (SDK 1.32 Client over stdio), against the local cloud: its HTTP+SSE-only server
// (the SDK's SSEServerTransport behind the same bearer auth and protected-resource metadata as the
// others), its stateful 2025 server and its 2026-07-28-only server.
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { startCloud, type Cloud } from '../cloud/index.js';
import { browserSeam, completeSignIn, launchChromium, loginThroughBrowser, type BrowserSeam } from '../helpers/browser.js';
import { NO_KEYCHAIN_ENV, runCli, tempConfigDir } from '../helpers/cli.js';
import { connectV2 } from '../helpers/era-clients.js';
import { connectProxy, textOf, type ProxyClient } from '../helpers/proxy-client.js';
import { readStored, revokeStored } from '../helpers/stored.js';

let cloud: Cloud;
let browser: Browser;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  [cloud, browser] = await Promise.all([startCloud(), launchChromium()]);
}, 60_000);
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await browser?.close();
  await cloud?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (polling every 25 ms) until `holds()` is true; fails after `timeoutMs`. */
async function until(what: string, holds: () => boolean, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !holds(); await sleep(25)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

interface Config {
  dir: string;
  seam: BrowserSeam;
  env: NodeJS.ProcessEnv;
}

function config(): Config {
  const c = tempConfigDir();
  const seam = browserSeam();
  cleanups.push(() => c.cleanup(), () => seam.cleanup());
  return { dir: c.dir, seam, env: { APPWRITE_MCP_CONFIG_DIR: c.dir, APPWRITE_MCP_STORE: 'file', ...NO_KEYCHAIN_ENV, ...seam.env } };
}

async function signedIn(url: string): Promise<Config> {
  const c = config();
  const { result } = await loginThroughBrowser(browser, c.seam, cloud.user, ['--url', url], c.env);
  expect(result.code, result.stderr).toBe(0);
  return c;
}

/** One browser sign-in per server for the tests that only use it: each gets a copy of it. */
const signIns = new Map<string, Promise<Config>>();
async function signedInCopy(url: string): Promise<Config> {
  if (!signIns.has(url)) signIns.set(url, signedIn(url));
  const c = config();
  cpSync((await signIns.get(url)!).dir, c.dir, { recursive: true });
  return c;
}

/** A proxy under a real client; every message the client receives is recorded below the SDK. */
async function proxy(c: Config, args: string[], opts: { timeoutMs?: number } = {}): Promise<ProxyClient & { received: JSONRPCMessage[] }> {
  const received: JSONRPCMessage[] = [];
  const p = await connectProxy(['--debug', ...args], c.env, {
    timeoutMs: opts.timeoutMs,
    setup: (client) => {
      // Client.connect sets the transport's onmessage; wrap it once it has.
      const connect = client.connect.bind(client);
      client.connect = async (transport, options) => {
        const started = connect(transport, options);
        const own = transport.onmessage!;
        transport.onmessage = (message, extra) => {
          received.push(message);
          own(message, extra);
        };
        return started;
      };
    },
  });
  cleanups.push(() => p.close().catch(() => {}));
  return Object.assign(p, { received });
}

function erasFile(c: Config): Record<string, { transport?: string }> {
  const path = join(c.dir, 'eras.json');
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { servers: Record<string, { transport?: string }> }).servers : {};
}

/** Signed in to the HTTP+SSE server once, for the tests that only read with that sign-in. */
let legacy: Config;

describe('the HTTP+SSE transport (2024-11-05)', () => {
  beforeAll(async () => {
    legacy = await signedIn(cloud.legacySseUrl);
  }, 60_000);

  it('--transport auto (the default): the initialize POST is refused (405), the GET opens the event stream; remembered for the next copy', async () => {
    const first = await proxy(legacy, ['--url', cloud.legacySseUrl]);
    const { tools } = await first.client.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'whoami', 'slow']));
    expect(textOf(await first.client.callTool({ name: 'echo', arguments: { text: 'over SSE ✓' } }))).toBe('over SSE ✓');
    // Notifications come on the same stream: progress and the log message of `slow`.
    const from = first.received.length;
    expect(textOf(await first.client.callTool({ name: 'slow', arguments: { steps: 3, delayMs: 10 } }, undefined, { onprogress: () => {} }))).toBe('done after 3 steps');
    // Counted on the wire: the 1.32 client may run onprogress after the result it came before.
    const progress = first.received.slice(from).filter((m) => 'method' in m && m.method === 'notifications/progress').map((m) => (m as unknown as { params: { progress: number } }).params.progress);
    expect(progress).toEqual([1, 2, 3]);
    expect(first.stderr()).toContain('speaks the older HTTP+SSE transport (2024-11-05): using that');
    await first.close();
    expect(Object.values(erasFile(legacy)).map((r) => r.transport)).toEqual(['sse']);

    // The next copy goes straight to the event stream: no refused POST first.
    const second = await proxy(legacy, ['--url', cloud.legacySseUrl]);
    expect(JSON.parse(textOf(await second.client.callTool({ name: 'whoami', arguments: {} }))).aud).toBe(cloud.legacySseUrl);
    expect(second.stderr()).not.toContain('refused Streamable HTTP');
  });

  it('status --check asks an HTTP+SSE server through its event stream: accepted, then refused once the token is revoked', async () => {
    const c = await signedIn(cloud.legacySseUrl); // its own sign-in: the token is revoked below
    const ok = await runCli(['status', '--check', '--json', '--url', cloud.legacySseUrl], c.env);
    expect(ok.code, ok.stderr).toBe(0);
    const server = JSON.parse(ok.stdout).servers[0].server;
    expect(server).toMatchObject({ accepts: true, detail: 'HTTP 200 (GET of the HTTP+SSE event stream)' });
    // A revoked token: refused (here already by the POST, whose 401 comes before its 405).
    await revokeStored(c.dir, cloud.legacySseUrl, 'access_token');
    const refused = await runCli(['status', '--check', '--json', '--url', cloud.legacySseUrl], c.env);
    expect(refused.code, refused.stdout).toBe(4);
    expect(JSON.parse(refused.stdout).servers[0].server).toMatchObject({ accepts: false, detail: expect.stringMatching(/^HTTP 401 .*revoked/) });
  });

  it('--transport sse goes straight to the event stream; --transport http fails with a clear error', async () => {
    const c = config();
    cpSync(legacy.dir, c.dir, { recursive: true });
    rmSync(join(c.dir, 'eras.json'), { force: true });
    const sse = await proxy(c, ['--url', cloud.legacySseUrl, '--transport', 'sse']);
    expect(textOf(await sse.client.callTool({ name: 'echo', arguments: { text: 'sse only' } }))).toBe('sse only');
    expect(sse.stderr()).not.toContain('refused Streamable HTTP');
    await sse.close();
    expect(Object.values(erasFile(c)).some((r) => r.transport !== undefined)).toBe(false); // a fixed choice is not a verdict

    const started = Date.now();
    await expect(proxy(c, ['--url', cloud.legacySseUrl, '--transport', 'http'])).rejects.toThrow(/answered HTTP 405: Method not allowed: this server speaks the HTTP\+SSE transport/);
    expect(Date.now() - started).toBeLessThan(20_000);
    // The same choice from config.json.
    writeFileSync(join(c.dir, 'config.json'), JSON.stringify({ transport: 'http' }));
    await expect(proxy(c, ['--url', cloud.legacySseUrl])).rejects.toThrow(/answered HTTP 405/);
  });

  it('the stream ends (the server forgot the session): the proxy reconnects with a new session, and calls go on', async () => {
    const p = await proxy(legacy, ['--url', cloud.legacySseUrl, '--transport', 'sse']);
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'before' } }))).toBe('before');
    cloud.dropMcpSessions();
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'after' } }))).toBe('after');
    expect(p.stderr()).toMatch(/the event stream from \S+ ended/);
  });

  it('not signed in: a 401 on the POST starts the browser sign-in, and the event stream opens with the token', async () => {
    const c = config();
    const connecting = proxy(c, ['--url', cloud.legacySseUrl], { timeoutMs: 55_000 });
    const url = await c.seam.nextUrl({ timeoutMs: 30_000 });
    expect(new URL(url).searchParams.get('resource')).toBe(cloud.legacySseUrl);
    const page = await completeSignIn(browser, url, cloud.user);
    expect(page.ok).toBe(true);
    await page.page.context().close();
    const p = await connecting;
    expect(JSON.parse(textOf(await p.client.callTool({ name: 'whoami', arguments: {} }))).sub).toBe(cloud.user.sub);
    expect(c.seam.urls()).toHaveLength(1);
  });

  it('--transport sse, not signed in: the 401 on the GET starts the sign-in', async () => {
    const c = config();
    const connecting = proxy(c, ['--url', cloud.legacySseUrl, '--transport', 'sse'], { timeoutMs: 55_000 });
    const page = await completeSignIn(browser, await c.seam.nextUrl({ timeoutMs: 30_000 }), cloud.user);
    await page.page.context().close();
    const p = await connecting;
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'signed in' } }))).toBe('signed in');
  });
});

/** A TCP relay to `target` that can go dead (connections accepted, nothing passed) and come back. */
async function startRelay(target: URL): Promise<{ origin: string; freeze(): void; thaw(): void; down(): Promise<void>; up(): Promise<void>; close(): Promise<void> }> {
  let frozen = false;
  const pairs = new Set<[Socket, Socket | undefined]>();
  const server = createTcpServer((client) => {
    client.on('error', () => {});
    if (frozen) {
      pairs.add([client, undefined]);
      return;
    }
    const upstream = connect(Number(target.port), target.hostname);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
    pairs.add([client, upstream]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    freeze() {
      frozen = true;
      for (const [client, upstream] of pairs) {
        client.unpipe();
        upstream?.unpipe();
        client.pause();
        upstream?.pause();
      }
    },
    thaw() {
      frozen = false;
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream?.destroy();
      }
      pairs.clear();
    },
    /** Stops listening (a connection is then refused), dropping every connection. */
    down: () => new Promise<void>((resolve) => {
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream?.destroy();
      }
      pairs.clear();
      if (!server.listening) return resolve();
      server.close(() => resolve());
    }),
    up: () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve)),
    close: () => new Promise<void>((resolve) => {
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream?.destroy();
      }
      if (!server.listening) return resolve();
      server.close(() => resolve());
    }),
  };
}

/** A signed-in proxy (token from the environment) whose server it reaches through a relay the test can stop or freeze. */
async function proxyBehindRelay(extraArgs: string[] = []) {
  const url = cloud.projectMcpUrl('demo-project');
  const c = await signedInCopy(url);
  const token = (await readStored(c.dir, url))!.accessToken!;
  const relay = await startRelay(new URL(url));
  cleanups.push(() => relay.close());
  const p = await proxy({ ...c, env: { ...c.env, APPWRITE_MCP_TOKEN: token } }, ['--url', `${relay.origin}/demo-project/mcp`, ...extraArgs]);
  return { p, relay, token };
}

describe('a server that is restarting', () => {
  it('a refused connection reached no one: the request is sent again for a few seconds and answered once the server listens again', async () => {
    const { p, relay } = await proxyBehindRelay();
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'before' } }))).toBe('before');
    await relay.down();
    setTimeout(() => void relay.up(), 1_200);
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'after' } }))).toBe('after');
    // Down for longer than the retries last: a clear error, and the proxy goes on once it is back.
    await relay.down();
    await expect(p.client.callTool({ name: 'echo', arguments: { text: 'lost' } })).rejects.toThrow(/unreachable \(ECONNREFUSED\)/);
    await relay.up();
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'again' } }))).toBe('again');
    await p.close();
  });
});

describe('--ping-interval', () => {
  it('a ping the network swallows: logged, the connection rebuilt, and requests work again once the network is back', async () => {
    const { p, relay, token } = await proxyBehindRelay(['--ping-interval', '0.5']);
    await p.client.listTools();
    relay.freeze();
    await until('the failed ping', () => /ping: \S+ did not answer within 2 s; reconnecting/.test(p.stderr()));
    relay.thaw();
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'back' } }))).toBe('back');
    expect(p.stderr()).not.toContain(token);
    await p.close();
  });

  it('pings a 2025 session while idle, and the client never sees the answers', async () => {
    const url = cloud.projectMcpUrl('demo-project');
    const c = await signedInCopy(url);
    const p = await proxy(c, ['--url', url, '--ping-interval', '0.5']);
    await p.client.listTools();
    const before = cloud.stats.mcpPings;
    await until('two pings', () => cloud.stats.mcpPings - before >= 2);
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'still here' } }))).toBe('still here');
    // Only answers to the client's own requests (and no stray ids) reached it.
    expect(p.received.filter((m) => 'id' in m && typeof m.id === 'string' && m.id.startsWith('appwrite-mcp-'))).toEqual([]);
    expect(p.received.every((m) => !('result' in m) || typeof (m as { id: unknown }).id === 'number')).toBe(true);
    await p.close();
  });

  it('over HTTP+SSE too; off by default', async () => {
    const c = config();
    cpSync(legacy.dir, c.dir, { recursive: true }); // the HTTP+SSE sign-in of the tests above
    const quiet = await proxy(c, ['--url', cloud.legacySseUrl]);
    await quiet.client.listTools();
    let before = cloud.stats.mcpPings;
    // Idle for two ping intervals of the next proxy: this one, without --ping-interval, sends none.
    await sleep(1_000);
    expect(cloud.stats.mcpPings).toBe(before);
    await quiet.close();
    const p = await proxy(c, ['--url', cloud.legacySseUrl, '--ping-interval', '0.5']);
    await p.client.listTools();
    before = cloud.stats.mcpPings;
    await until('two pings', () => cloud.stats.mcpPings - before >= 2);
    expect(p.received.some((m) => 'id' in m && String(m.id).startsWith('appwrite-mcp-'))).toBe(false);
    await p.close();
  });

  it('a 2026-07-28 server is pinged statelessly (the era\'s headers), the client sees nothing of it', async () => {
    const c = await signedIn(cloud.modernMcpUrl);
    const client = await connectV2({ proxy: cloud.modernMcpUrl, env: c.env }, { args: ['--ping-interval', '0.5'] });
    cleanups.push(() => client.close().catch(() => {}));
    await client.listTools();
    const from = cloud.v2McpRequests().length;
    const pings = () => cloud.v2McpRequests().slice(from).filter((r) => r.rpc[0] === 'ping');
    await until('two pings', () => pings().length >= 2);
    expect(pings()[0]!.headers['mcp-protocol-version']).toBe('2026-07-28');
    expect(pings()[0]!.headers['mcp-method']).toBe('ping');
    expect(client.received.some((m) => String(m.id ?? '').startsWith('appwrite-mcp-'))).toBe(false);
    await client.close();
  });
});
