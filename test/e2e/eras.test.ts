// Both protocol eras through the built CLI: real stdio clients of each era (SDK 1.32 for 2025, the
// SDK v2 client for 2026-07-28) spawn `node bin/appwrite-mcp.js --url …` against the local cloud's
// three kinds of server (2025-only, 2026-07-28-only, dual-era), in all four pairings. Each pairing
// runs the same exercise through the proxy and, where the two can talk at all, directly against the
// server, and the results are compared: a difference is the bridge's.
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type Cloud } from '../cloud/index.js';
import { browserSeam, completeSignIn, launchChromium, loginThroughBrowser, type BrowserSeam } from '../helpers/browser.js';
import { NO_KEYCHAIN_ENV, tempConfigDir } from '../helpers/cli.js';
import { ANSWERS, connectV1, connectV2, textOf, type Capability, type EraClient, type Json } from '../helpers/era-clients.js';
import { readStored } from '../helpers/stored.js';

type ServerKind = '2025' | 'modern' | 'dual';

let cloud: Cloud;
let browser: Browser;
let seam: BrowserSeam;
/** A config dir signed in to every server (file store); each test works on a copy. */
let signedIn: string;
const tokens: Record<ServerKind, string> = { '2025': '', modern: '', dual: '' };
const cleanups: Array<() => unknown> = [];
let clients: EraClient[] = [];

const urlOf = (kind: ServerKind) => (kind === '2025' ? cloud.projectMcpUrl('demo-project') : kind === 'modern' ? cloud.modernMcpUrl : cloud.dualMcpUrl);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  [cloud, browser] = await Promise.all([startCloud(), launchChromium()]);
  seam = browserSeam();
  const config = tempConfigDir();
  signedIn = config.dir;
  cleanups.push(() => seam.cleanup(), () => config.cleanup());
  for (const kind of ['2025', 'modern', 'dual'] as const) {
    const { result } = await loginThroughBrowser(browser, seam, cloud.user, ['--url', urlOf(kind)], envFor(signedIn));
    expect(result.code, result.stderr).toBe(0);
    tokens[kind] = (await readStored(signedIn, urlOf(kind)))!.accessToken!;
  }
}, 120_000);

afterEach(async () => {
  const closing = clients.splice(0);
  await Promise.allSettled(closing.map((c) => c.close()));
  // Every proxy ran with --debug: its diagnostics never carry a token.
  for (const c of closing) {
    for (const token of Object.values(tokens)) if (token) expect(c.stderr().includes(token)).toBe(false);
    expect(c.stderr()).not.toMatch(/eyJ[\w-]{10,}\.[\w-]{10,}\./);
  }
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await browser?.close();
  await cloud?.stop();
});

function envFor(dir: string, seamEnv = seam.env): NodeJS.ProcessEnv {
  return { APPWRITE_MCP_CONFIG_DIR: dir, APPWRITE_MCP_STORE: 'file', ...NO_KEYCHAIN_ENV, ...seamEnv };
}

/** A copy of the signed-in config dir: the sign-ins, and no era learned yet. */
function signedInCopy(): string {
  const copy = tempConfigDir();
  cleanups.push(() => copy.cleanup());
  cpSync(signedIn, copy.dir, { recursive: true });
  rmSync(join(copy.dir, 'eras.json'), { force: true });
  return copy.dir;
}

/** An empty config dir (no sign-in) with a seam of its own. */
function notSignedIn(): { dir: string; seam: BrowserSeam; env: NodeJS.ProcessEnv } {
  const copy = tempConfigDir();
  const own = browserSeam();
  cleanups.push(() => copy.cleanup(), () => own.cleanup());
  return { dir: copy.dir, seam: own, env: envFor(copy.dir, own.env) };
}

async function viaProxy(kind: 'v1' | 'v2', server: ServerKind, o: { dir?: string; env?: NodeJS.ProcessEnv; args?: string[]; capabilities?: Capability[]; modernOnly?: boolean; listChanged?: (what: string) => void; timeoutMs?: number } = {}): Promise<EraClient> {
  const env = o.env ?? envFor(o.dir ?? signedInCopy());
  const connect = kind === 'v1' ? connectV1 : connectV2;
  const client = await connect({ proxy: urlOf(server), env }, { args: ['--debug', ...(o.args ?? [])], capabilities: o.capabilities, modernOnly: o.modernOnly, listChanged: o.listChanged, timeoutMs: o.timeoutMs });
  clients.push(client);
  return client;
}

async function direct(kind: 'v1' | 'v2', server: ServerKind, capabilities?: Capability[]): Promise<EraClient> {
  const client = await (kind === 'v1' ? connectV1 : connectV2)({ url: urlOf(server), token: tokens[server] }, { capabilities });
  clients.push(client);
  return client;
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/**
 * The same calls for every pairing: tools, a resource, a prompt, progress, a tool that asks the
 * user (elicitation), and on the SDK v2 servers one that lists the client's roots. Returns what
 * came back, for comparing runs.
 */
async function exercise(c: EraClient, server: ServerKind): Promise<Json> {
  const tools = (await c.listTools()).map((t) => t.name).sort();
  const echo = textOf(await c.call('echo', { text: 'héllo ✓ "quoted" \\ {braces}' }));
  const readme = (await c.read('appwrite://docs/readme')).contents[0];
  const prompt = (await c.prompt('greeting', { name: 'Ada' })).messages;
  const before = c.received.length;
  const slow = textOf(await c.call('slow', { steps: 3, delayMs: 20 }, { onprogress: () => {} }));
  // Counted on the wire: the 1.32 client may run onprogress after the result it came before.
  const progress = c.received.slice(before).filter((m) => m.method === 'notifications/progress').map((m) => [m.params.progress, m.params.total]);
  const ask = JSON.parse(textOf(await c.call('ask_user', { question: 'Who are you?' })));
  const roots = server === '2025' ? undefined : JSON.parse(textOf(await c.call('list_roots', {})));
  return { tools, echo, readme: { uri: readme.uri, text: readme.text }, prompt, slow, progress, ask, roots, asked: c.asked.map((a) => a.method) };
}

/** A long call cancelled by the client: it rejects at once and the server stops the work. */
async function cancels(c: EraClient, server: ServerKind): Promise<void> {
  const runs = cloud.slowRuns().length;
  const abort = new AbortController();
  let progressed!: () => void;
  const running = new Promise<void>((resolve) => (progressed = resolve));
  const call = c.call('slow', { steps: 200, delayMs: 25 }, { signal: abort.signal, onprogress: () => progressed() });
  await running; // the tool is running
  const started = Date.now();
  abort.abort('user cancelled');
  await expect(call).rejects.toThrow();
  expect(Date.now() - started).toBeLessThan(1000);
  if (server !== '2025') {
    const run = await until('the cancelled run', () => cloud.slowRuns().slice(runs).find((r) => r.server === server));
    expect(run.outcome).toBe('cancelled');
    expect(run.steps).toBeLessThan(100);
  }
  expect(textOf(await c.call('echo', { text: 'after cancel' }))).toBe('after cancel');
}

const V2_TOOLS = ['admin_action', 'ask_user', 'echo', 'list_roots', 'regional_echo', 'slow', 'whoami'];
const V1_TOOLS = ['admin_action', 'ask_user', 'echo', 'slow', 'whoami'];
const ELICITED = ANSWERS.elicitation;

describe('2025 client (SDK 1.32 over stdio)', () => {
  it('→ 2025 server: forwarded as is, the same as talking to the server directly; one server/discover on the first start only', async () => {
    const dir = signedInCopy();
    const from = cloud.lastMcpRequestHeaders().length;
    const proxied = await viaProxy('v1', '2025', { dir });
    const viaBridge = await exercise(proxied, '2025');
    await cancels(proxied, '2025');
    const seen = cloud.lastMcpRequestHeaders().slice(from);
    // Nothing learned yet: server/discover first (SEP-2575; refused by a 2025 server), then the session as is.
    expect(seen[0]).toMatchObject({ 'mcp-method': 'server/discover', 'mcp-protocol-version': '2026-07-28' });
    expect(seen.slice(1).some((h) => h['mcp-method'] !== undefined)).toBe(false);
    expect(seen[1]!['mcp-session-id']).toBeUndefined();
    expect(seen.at(-1)!['mcp-session-id']).toBeTruthy();
    const straight = await exercise(await direct('v1', '2025'), '2025');
    expect(viaBridge).toEqual(straight);
    expect(viaBridge).toMatchObject({ tools: V1_TOOLS, slow: 'done after 3 steps', progress: [[1, 3], [2, 3], [3, 3]], ask: ELICITED, asked: ['elicitation/create'] });
    // The next start knows: the initialize goes at once, no probe on the wire.
    const next = cloud.lastMcpRequestHeaders().length;
    await viaProxy('v1', '2025', { dir });
    expect(cloud.lastMcpRequestHeaders().slice(next).some((h) => h['mcp-method'] !== undefined)).toBe(false);
  });

  it('→ dual-era server: server/discover says 2026-07-28, so each request goes in the modern form', async () => {
    const from = cloud.v2McpRequests().length;
    const viaBridge = await exercise(await viaProxy('v1', 'dual'), 'dual');
    const seen = cloud.v2McpRequests().slice(from).filter((r) => r.server === 'dual');
    expect(seen[0]!.rpc).toEqual(['server/discover']);
    expect(seen.some((r) => r.rpc.includes('initialize'))).toBe(false);
    expect(seen.every((r) => r.headers['mcp-protocol-version'] === '2026-07-28' && r.headers['mcp-session-id'] === undefined)).toBe(true);
    expect(viaBridge).toEqual(await exercise(await direct('v2', 'dual'), 'dual'));
  });

  it('→ 2026-07-28-only server: initialize answered from server/discover, each request in the modern form, input_required as server→client requests', async () => {
    const dir = signedInCopy();
    const from = cloud.v2McpRequests().length;
    const proxied = await viaProxy('v1', 'modern', { dir });
    expect(proxied.serverInfo()).toEqual({ name: 'appwrite-cloud-stand-in', version: '2.0.0' });
    expect(proxied.instructions()).toContain('modern-only (2026-07-28)');
    const viaBridge = await exercise(proxied, 'modern');
    const seen = cloud.v2McpRequests().slice(from).filter((r) => r.server === 'modern');
    // The 1.32 client cannot talk to this server; the SDK v2 client's results are the reference.
    const straight = await exercise(await direct('v2', 'modern'), 'modern');
    expect(viaBridge).toEqual(straight);
    expect(viaBridge).toMatchObject({ tools: V2_TOOLS, ask: ELICITED, roots: ANSWERS.roots.roots, asked: ['elicitation/create', 'roots/list'] });

    expect(seen[0]!.rpc[0]).toBe('server/discover'); // asked first: no 2025 initialize ever reaches this server
    expect(seen.some((r) => r.rpc.includes('initialize'))).toBe(false);
    const calls = seen.filter((r) => r.rpc[0] === 'tools/call');
    expect(calls.length).toBeGreaterThan(4);
    for (const call of calls) {
      expect(call.headers).toMatchObject({ 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': expect.any(String) });
      expect(call.headers['mcp-session-id']).toBeUndefined();
    }
    expect(calls.filter((r) => r.headers['mcp-name'] === 'ask_user')).toHaveLength(2); // the first round, then the retry with the answers
    expect(seen.find((r) => r.rpc[0] === 'resources/read')!.headers['mcp-name']).toBe('appwrite://docs/readme');

    // Mcp-Param-* for a tool that declares one, and a name that needs the base64 form.
    const regional = await proxied.call('regional_echo', { region: 'eu-west ü', text: 'hi' });
    expect(textOf(regional)).toBe('eu-west ü: hi');
    expect(cloud.v2McpRequests().at(-1)!.headers['mcp-param-region']).toBe('=?base64?ZXUtd2VzdCDDvA==?=');

    await cancels(proxied, 'modern');
    expect(cloud.v2McpRequests().slice(from).some((r) => r.rpc.includes('notifications/cancelled'))).toBe(false);

    // The next copy knows the server's era; it asks server/discover again for what to answer initialize with.
    const next = cloud.v2McpRequests().length;
    await viaProxy('v1', 'modern', { dir });
    expect(cloud.v2McpRequests().slice(next).filter((r) => r.server === 'modern').map((r) => r.rpc[0])[0]).toBe('server/discover');
    expect(JSON.parse(readFileSync(join(dir, 'eras.json'), 'utf8')).servers[urlOf('modern')]).toMatchObject({ modern: true });
  });

  it('→ 2026-07-28-only server: ping, logging/setLevel and unknown methods, raw on the wire', async () => {
    const { spawn } = await import('node:child_process');
    const { BIN, baseEnv } = await import('../helpers/cli.js');
    const child = spawn(process.execPath, [BIN, '--url', urlOf('modern')], { env: { ...baseEnv(), ...envFor(signedInCopy()) }, stdio: ['pipe', 'pipe', 'pipe'] });
    cleanups.push(() => child.kill());
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const lines = () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Json);
    const answerTo = (id: unknown) => until(`the answer to ${String(id)}`, () => lines().find((m) => m.id === id && m.method === undefined));
    const send = (m: Json) => child.stdin.write(`${JSON.stringify(m)}\n`);
    send({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    expect(await answerTo(0)).toMatchObject({ result: { protocolVersion: '2025-06-18', serverInfo: { name: 'appwrite-cloud-stand-in' }, capabilities: { tools: expect.any(Object) } } });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 1, method: 'ping' });
    expect(await answerTo(1)).toEqual({ jsonrpc: '2.0', id: 1, result: {} });
    send({ jsonrpc: '2.0', id: 2, method: 'no/such/method' });
    expect(await answerTo(2)).toMatchObject({ error: { code: -32601 } }); // the server's 404, in band: not a lost session
    send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'slow', arguments: { steps: 1, delayMs: 1 } } });
    expect((await answerTo(3)).result).toEqual({ content: [{ type: 'text', text: 'done after 1 steps' }], isError: false, _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'appwrite-cloud-stand-in', version: '2.0.0' } } });
    expect(lines().some((m) => m.method === 'notifications/message')).toBe(false); // no level set: the server sends no logs
    send({ jsonrpc: '2.0', id: 4, method: 'logging/setLevel', params: { level: 'info' } });
    expect(await answerTo(4)).toEqual({ jsonrpc: '2.0', id: 4, result: {} });
    send({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'slow', arguments: { steps: 1, delayMs: 1 } } });
    await answerTo(5);
    expect(lines().filter((m) => m.method === 'notifications/message').map((m) => m.params.data)).toEqual(['finished 1 steps']);
    child.stdin.end();
    await new Promise((resolve) => child.on('close', resolve));
  });
});

describe('2026-07-28 client (SDK v2 over stdio, versionNegotiation auto)', () => {
  it('→ 2026-07-28-only server: passed through with the headers derived from each message', async () => {
    const dir = signedInCopy();
    const from = cloud.v2McpRequests().length;
    const proxied = await viaProxy('v2', 'modern', { dir });
    expect(proxied.era()).toBe('modern');
    expect(proxied.serverInfo()).toEqual({ name: 'appwrite-cloud-stand-in', version: '2.0.0' });
    // Mcp-Param-Region before any tools/list: the server refuses, the bridge learns the declarations and retries once.
    expect(textOf(await proxied.call('regional_echo', { region: 'eu-west', text: 'hi' }))).toBe('eu-west: hi');
    const viaBridge = await exercise(proxied, 'modern');
    await cancels(proxied, 'modern');
    const seen = cloud.v2McpRequests().slice(from).filter((r) => r.server === 'modern');
    expect(viaBridge).toEqual(await exercise(await direct('v2', 'modern'), 'modern'));
    expect(viaBridge).toMatchObject({ tools: V2_TOOLS, progress: [[1, 3], [2, 3], [3, 3]], ask: ELICITED, roots: ANSWERS.roots.roots });

    // The client's throw-away probe copy asked server/discover (answered by a probe of the server, then
    // cached); the real copy sent the client's requests only.
    expect(seen[0]!.rpc).toEqual(['server/discover']);
    expect(seen.slice(1, 4).map((r) => [r.rpc[0], r.headers['mcp-param-region']])).toEqual([['tools/call', undefined], ['tools/list', undefined], ['tools/call', 'eu-west']]);
    expect(seen.filter((r) => r.rpc[0] === 'server/discover')).toHaveLength(1);
    for (const r of seen) {
      expect(r.headers['mcp-protocol-version']).toBe('2026-07-28');
      expect(r.headers['mcp-method']).toBe(r.rpc[0]);
      expect(r.headers['mcp-session-id']).toBeUndefined();
    }
    expect(seen.some((r) => r.rpc.includes('notifications/cancelled'))).toBe(false); // cancelled by closing the POST
    expect(seen.some((r) => r.rpc.includes('initialize'))).toBe(false);
  });

  it('→ dual-era server: 2026-07-28, passed through (with a subscriptions/listen held open for list changes)', async () => {
    const from = cloud.v2McpRequests().length;
    const proxied = await viaProxy('v2', 'dual', { listChanged: () => {} });
    expect(proxied.era()).toBe('modern');
    await until('the listen stream', () => cloud.v2McpRequests().slice(from).some((r) => r.rpc[0] === 'subscriptions/listen'));
    const viaBridge = await exercise(proxied, 'dual');
    expect(viaBridge).toEqual(await exercise(await direct('v2', 'dual'), 'dual'));
    const seen = cloud.v2McpRequests().slice(from).filter((r) => r.server === 'dual');
    expect(seen.every((r) => r.headers['mcp-protocol-version'] === '2026-07-28' && r.headers['mcp-session-id'] === undefined)).toBe(true);
  });

  it('→ 2025-only server: the bridge runs the handshake and holds the session; server→client requests become input_required', async () => {
    const from = cloud.lastMcpRequestHeaders().length;
    const deletes = cloud.stats.sessionDeletes;
    const proxied = await viaProxy('v2', '2025');
    // To the client the proxy is a 2026-07-28 server: the SDK v2 client needs no fallback.
    expect(proxied.era()).toBe('modern');
    expect(proxied.serverInfo()).toEqual({ name: 'appwrite-cloud-stand-in', version: '1.0.0' });
    const viaBridge = await exercise(proxied, '2025');
    await cancels(proxied, '2025');
    // The probe copy: server/discover (refused: a 2025 server), then a handshake for the server's
    // description, ended with DELETE when the client reaped that copy. Then the real copy's session.
    const seen = cloud.lastMcpRequestHeaders().slice(from);
    expect(seen[0]).toMatchObject({ 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'server/discover' });
    const sessions = [...new Set(seen.slice(1).map((h) => h['mcp-session-id']).filter(Boolean))];
    expect(sessions).toHaveLength(2);
    expect(seen.slice(1).every((h) => h['mcp-method'] === undefined && h['mcp-protocol-version'] !== '2026-07-28')).toBe(true);
    expect(cloud.stats.sessionDeletes).toBe(deletes + 1);

    // Directly, the SDK v2 client falls back to 2025 itself: the same results.
    const straightClient = await direct('v2', '2025');
    expect(straightClient.era()).toBe('legacy');
    expect(viaBridge).toEqual(await exercise(straightClient, '2025'));
    expect(viaBridge).toMatchObject({ tools: V1_TOOLS, progress: [[1, 3], [2, 3], [3, 3]], ask: ELICITED, asked: ['elicitation/create'] });

    // A lost session is renewed transparently; the session ends with DELETE when the client goes.
    cloud.dropMcpSessions();
    expect(textOf(await proxied.call('echo', { text: 'after 404' }))).toBe('after 404');
    await proxied.close();
    await until('the DELETE', () => cloud.stats.sessionDeletes === deletes + 2);
  });

  it('→ dual-era server held to 2025 (--protocol 2025): sampling and roots through the 2025 session', async () => {
    const from = cloud.v2McpRequests().length;
    const proxied = await viaProxy('v2', 'dual', { args: ['--protocol', '2025'], capabilities: ['sampling', 'roots'] });
    const started = cloud.v2McpRequests().length; // the probe copy's handshake (and its DELETE) came before
    expect(JSON.parse(textOf(await proxied.call('ask_user', { question: 'Who?' })))).toEqual({ sampled: 'sampled Ada' });
    expect(JSON.parse(textOf(await proxied.call('list_roots', {})))).toEqual(ANSWERS.roots.roots);
    expect(proxied.asked.map((a) => a.method)).toEqual(['sampling/createMessage', 'roots/list']);
    expect(proxied.asked[0]!.params).toEqual({ messages: [{ role: 'user', content: { type: 'text', text: 'Who?' } }], maxTokens: 200 });
    expect(cloud.v2McpRequests().slice(from, started).filter((r) => r.httpMethod !== 'GET').map((r) => [r.httpMethod, r.rpc[0]])).toEqual([['POST', 'initialize'], ['POST', 'notifications/initialized'], ['DELETE', undefined]]);
    // The real copy: the handshake on the client's first request, then the requests in its session.
    const seen = cloud.v2McpRequests().slice(started).filter((r) => r.httpMethod === 'POST');
    expect(seen.map((r) => [r.rpc[0], Boolean(r.headers['mcp-session-id']), r.headers['mcp-protocol-version']])).toEqual([
      ['initialize', false, undefined], ['notifications/initialized', true, '2025-11-25'],
      ['tools/call', true, '2025-11-25'], ['response', true, '2025-11-25'], ['tools/call', true, '2025-11-25'], ['response', true, '2025-11-25'],
    ]);
  });

  it('a client pinned to 2026-07-28 reaches a 2025-only server through the proxy (directly it cannot)', async () => {
    const directly = await connectV2({ url: urlOf('2025'), token: tokens['2025'] }, { modernOnly: true }).catch((e: Error) => e);
    expect(directly).toBeInstanceOf(Error);
    expect((directly as Error).message).toMatch(/did not offer pinned protocol version 2026-07-28/);
    const proxied = await viaProxy('v2', '2025', { modernOnly: true });
    expect(textOf(await proxied.call('echo', { text: 'pinned' }))).toBe('pinned');
  });
});

describe('sign-in in both eras', () => {
  it('2026-07-28 client, not signed in, 2026-07-28-only server: the probe copy is answered at once, the first request waits for the browser sign-in', async () => {
    const w = notSignedIn();
    const started = Date.now();
    const connecting = viaProxy('v2', 'modern', { env: w.env, args: ['--auth-timeout', '45'] });
    const proxied = await connecting;
    // The throw-away copy answered server/discover itself (the server wants a token) and opened no browser.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(w.seam.urls()).toHaveLength(0);
    expect(proxied.era()).toBe('modern');
    const listing = proxied.listTools();
    const page = await completeSignIn(browser, await w.seam.nextUrl({ timeoutMs: 30_000 }), cloud.user);
    await page.page.context().close();
    expect((await listing).map((t) => t.name).sort()).toEqual(V2_TOOLS);
    expect(textOf(await proxied.call('echo', { text: 'signed in' }))).toBe('signed in');
    expect(w.seam.urls()).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(w.dir, 'eras.json'), 'utf8')).servers[urlOf('modern')]).toMatchObject({ modern: true });
  });

  it('2026-07-28 client, not signed in, 2025-only server: signs in on the first request, then the 2025 session', async () => {
    const w = notSignedIn();
    const proxied = await viaProxy('v2', '2025', { env: w.env, args: ['--auth-timeout', '45'] });
    expect(w.seam.urls()).toHaveLength(0);
    const asking = proxied.call('ask_user', { question: 'Who?' });
    const page = await completeSignIn(browser, await w.seam.nextUrl({ timeoutMs: 30_000 }), cloud.user);
    await page.page.context().close();
    expect(JSON.parse(textOf(await asking))).toEqual(ELICITED);
    expect(JSON.parse(readFileSync(join(w.dir, 'eras.json'), 'utf8')).servers[urlOf('2025')]).toMatchObject({ modern: false, about: { serverInfo: { version: '1.0.0' } } });
  });

  it('--protocol 2025 or modern, not signed in: the probe copy still answers without waiting and opens no browser tab', async () => {
    for (const [server, protocol] of [['2025', '2025'], ['modern', 'modern']] as const) {
      const w = notSignedIn();
      const started = Date.now();
      const proxied = await viaProxy('v2', server, { env: w.env, args: ['--protocol', protocol, '--auth-timeout', '45'] });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(proxied.era()).toBe('modern');
      expect(w.seam.urls()).toHaveLength(0);
      await proxied.close();
    }
  });

  it('2026-07-28 client: a placeholder while the sign-in is slow, then the real tools and a list change on its subscription', async () => {
    const w = notSignedIn();
    const changes: string[] = [];
    const proxied = await viaProxy('v2', 'modern', { env: w.env, args: ['--auth-timeout', '2'], listChanged: (what) => changes.push(what) });
    const started = Date.now();
    const placeholder = await proxied.listTools();
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(placeholder.map((t) => t.name)).toEqual(['sign_in']);
    expect(placeholder[0]!.description).toMatch(/browser/);
    expect(textOf(await proxied.call('sign_in', {}))).toMatch(/update by itself/);
    const page = await completeSignIn(browser, await w.seam.nextUrl(), cloud.user);
    await page.page.context().close();
    await until('a tools list change', () => changes.includes('tools'), 20_000);
    expect((await proxied.listTools()).map((t) => t.name).sort()).toEqual(V2_TOOLS);
  });

  it('2025 client, not signed in, 2026-07-28-only server: initialize waits for the sign-in, then the bridge answers it', async () => {
    const w = notSignedIn();
    const connecting = viaProxy('v1', 'modern', { env: w.env, args: ['--auth-timeout', '45'] });
    const page = await completeSignIn(browser, await w.seam.nextUrl({ timeoutMs: 30_000 }), cloud.user);
    await page.page.context().close();
    const proxied = await connecting;
    expect(proxied.serverInfo()?.name).toBe('appwrite-cloud-stand-in');
    expect(JSON.parse(textOf(await proxied.call('ask_user', {})))).toEqual(ELICITED);
  });

  it('2025 client, 2026-07-28-only server: the placeholder, then the switch and list_changed', async () => {
    const w = notSignedIn();
    const proxied = await viaProxy('v1', 'modern', { env: w.env, args: ['--auth-timeout', '2'] });
    expect((await proxied.listTools()).map((t) => t.name)).toEqual(['sign_in']);
    const page = await completeSignIn(browser, await w.seam.nextUrl(), cloud.user);
    await page.page.context().close();
    await until('list_changed', () => proxied.received.some((m) => m.method === 'notifications/tools/list_changed'), 20_000);
    expect((await proxied.listTools()).map((t) => t.name).sort()).toEqual(V2_TOOLS);
  });

  it('step-up in the 2026-07-28 era: 403 insufficient_scope → browser sign-in with more scopes → the call is retried', async () => {
    const dir = signedInCopy();
    const own = browserSeam();
    cleanups.push(() => own.cleanup());
    const proxied = await viaProxy('v2', 'modern', { env: envFor(dir, own.env) });
    const call = proxied.call('admin_action', {});
    const url = new URL(await own.nextUrl());
    expect(url.searchParams.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['mcp:admin']));
    const page = await completeSignIn(browser, url.href, cloud.user);
    await page.page.context().close();
    expect(textOf(await call)).toBe('admin ok');
  });
});

describe('the era cache', () => {
  it('a cached verdict the server contradicts is corrected: a 2025 client, a cache saying "2026-07-28 only", a 2025 server', async () => {
    const dir = signedInCopy();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'eras.json'), JSON.stringify({ version: 1, servers: { [urlOf('2025')]: { legacyRefused: true, modern: true, checkedAt: Date.now() } } }));
    const proxied = await viaProxy('v1', '2025', { dir });
    expect(textOf(await proxied.call('echo', { text: 'corrected' }))).toBe('corrected');
    const record = JSON.parse(readFileSync(join(dir, 'eras.json'), 'utf8')).servers[urlOf('2025')];
    expect(record).toMatchObject({ modern: false });
    expect(record).not.toHaveProperty('legacyRefused');
  });
});

describe('--protocol', () => {
  it('--protocol modern: a 2025 client goes straight to server/discover; the cache is not consulted', async () => {
    const dir = signedInCopy();
    const from = cloud.v2McpRequests().length;
    const proxied = await viaProxy('v1', 'dual', { dir, args: ['--protocol', 'modern'] });
    expect(textOf(await proxied.call('echo', { text: 'x' }))).toBe('x');
    const seen = cloud.v2McpRequests().slice(from).filter((r) => r.server === 'dual');
    expect(seen[0]!.rpc[0]).toBe('server/discover');
    expect(seen.map((r) => r.rpc[0])).toContain('tools/call');
    expect(seen.some((r) => r.rpc.includes('initialize'))).toBe(false);
    expect(existsSync(join(dir, 'eras.json'))).toBe(false);
  });
});

describe('tool filtering (--ignore-tool, --allow-tool, --read-only) in every pairing', () => {
  const pairings: Array<['v1' | 'v2', ServerKind]> = [['v1', '2025'], ['v1', 'modern'], ['v2', 'modern'], ['v2', '2025']];
  for (const [kind, server] of pairings) {
    it(`${kind === 'v1' ? '2025' : '2026-07-28'} client → ${server === '2025' ? '2025' : '2026-07-28'} server: hidden tools are not listed and calls to them are refused`, async () => {
      const all = server === '2025' ? V1_TOOLS : V2_TOOLS;
      const dir = signedInCopy();
      const ignoring = await viaProxy(kind, server, { dir, args: ['--ignore-tool', 'ADMIN_*', '--ignore-tool', 'slow'] });
      expect((await ignoring.listTools()).map((t) => t.name).sort()).toEqual(all.filter((n) => n !== 'admin_action' && n !== 'slow'));
      await expect(ignoring.call('admin_action', {})).rejects.toThrow(/Tool "admin_action" is not available: appwrite-mcp hides it \(--ignore-tool ADMIN_\*\)/);
      expect(textOf(await ignoring.call('echo', { text: 'shown' }))).toBe('shown');
      if (kind === 'v2' && server === 'modern') {
        // The 2026-07-28 list result keeps everything but the hidden tools (resultType, cache hints).
        const listed = ignoring.received.find((m) => Array.isArray(m.result?.tools))!;
        expect(listed.result.resultType).toBe('complete');
      }

      const readOnly = await viaProxy(kind, server, { dir, args: ['--read-only'] });
      expect((await readOnly.listTools()).map((t) => t.name).sort()).toEqual(['echo', 'whoami']);
      await expect(readOnly.call('slow', { steps: 1 })).rejects.toThrow(/--read-only and the server does not annotate this tool as read-only/);
      expect(JSON.parse(textOf(await readOnly.call('whoami', {}))).sub).toBe(cloud.user.sub);
    });
  }

  it('--allow-tool is an allow-list (case-insensitive globs), --ignore-tool wins over it; --read-only refuses a tool not listed yet', async () => {
    const dir = signedInCopy();
    const allowing = await viaProxy('v1', '2025', { dir, args: ['--allow-tool', 'E*', '--allow-tool', 'whoami', '--allow-tool', 'ask_*', '--ignore-tool', 'ASK_USER'] });
    expect((await allowing.listTools()).map((t) => t.name).sort()).toEqual(['echo', 'whoami']);
    await expect(allowing.call('slow', { steps: 1 })).rejects.toThrow(/shows only the tools --allow-tool names \(E\*, whoami, ask_\*\)/);
    const readOnly = await viaProxy('v1', '2025', { dir, args: ['--read-only'] });
    await expect(readOnly.call('echo', { text: 'too early' })).rejects.toThrow(/has not seen this tool in a tools\/list result yet/);
    await readOnly.listTools();
    expect(textOf(await readOnly.call('echo', { text: 'listed' }))).toBe('listed');
  });
});
