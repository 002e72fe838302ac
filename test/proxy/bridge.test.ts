import { afterEach, describe, expect, it } from 'vitest';
import { ElicitRequestSchema, LoggingMessageNotificationSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { ProxyLimits } from '../../src/proxy/limits.js';
import { startFixture, type Fixture, type FixtureMode } from './fixture-server.js';
import { INIT_PARAMS, newClient, startProxy, TestAuthorizer, textOf, type ProxyHarness } from './harness.js';

const TOKEN = 'token-aaaaaaaaaaaa';
let fixtures: Fixture[] = [];
let proxies: ProxyHarness[] = [];

async function fixture(mode: FixtureMode, opts: { tokens?: string[]; adminTokens?: string[]; port?: number } = {}): Promise<Fixture> {
  const f = await startFixture({ mode, tokens: opts.tokens ?? [TOKEN], adminTokens: opts.adminTokens, port: opts.port });
  fixtures.push(f);
  return f;
}

function proxy(url: string, authorizer = new TestAuthorizer(TOKEN), extra: { limits?: Partial<ProxyLimits>; headers?: Record<string, string> } = {}): ProxyHarness {
  const p = startProxy({ url, authorizer, ...extra });
  proxies.push(p);
  return p;
}

/** Raw initialize + initialized, returning the initialize response. */
async function handshake(p: ProxyHarness, id: string | number = 'init'): Promise<Record<string, any>> {
  p.write({ jsonrpc: '2.0', id, method: 'initialize', params: INIT_PARAMS });
  const response = await p.waitFor((m) => m.id === id);
  p.write({ jsonrpc: '2.0', method: 'notifications/initialized' });
  return response;
}

afterEach(async () => {
  for (const p of proxies) {
    // stdout carries JSON-RPC only, whatever happened in the test
    expect(p.invalidLines).toEqual([]);
    p.stop();
    await p.done;
    expect(p.logs.join('')).not.toContain(TOKEN);
  }
  proxies = [];
  await Promise.all(fixtures.map((f) => f.close().catch(() => {})));
  fixtures = [];
});

describe.each<FixtureMode>(['stateful', 'stateless', 'json'])('%s server', (mode) => {
  it('initialize, tools/list, tools/call', async () => {
    const f = await fixture(mode);
    const p = proxy(f.url);
    const client = newClient();
    await p.connectClient(client);
    expect(client.getServerVersion()?.name).toBe('fixture');
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('echo');
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hello' } }))).toBe('hello');
  });

  // A JSON response cannot carry notifications ahead of it (the SDK server drops them), so this
  // applies to the SSE modes only.
  if (mode !== 'json') it('progress and logging notifications reach the client before the result', async () => {
    const f = await fixture(mode);
    const p = proxy(f.url);
    const client = newClient();
    const logs: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params.data));
    await p.connectClient(client);
    // Checked on the wire: the SDK Client handles notifications a microtask later than responses, so
    // an onprogress callback can miss progress that arrives in the same chunk as the result.
    const result = await client.callTool({ name: 'progress', arguments: { steps: 3 } }, undefined, { onprogress: () => {} });
    expect(textOf(result)).toBe('done 3');
    const call = p.messages.findIndex((m) => m.result?.content?.[0]?.text === 'done 3');
    const progress = p.messages.filter((m, i) => i < call && m.method === 'notifications/progress').map((m) => m.params.progress);
    expect(progress).toEqual([1, 2, 3]);
    await waitUntil(() => logs.length === 3);
    expect(logs).toEqual(['step 1', 'step 2', 'step 3']);
  });

  it('passes 5 MB messages both ways', async () => {
    const f = await fixture(mode);
    const p = proxy(f.url);
    const client = newClient();
    await p.connectClient(client);
    const big = 'é'.repeat(2.5 * 1024 * 1024);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: big } }))).toBe(big);
  });
});

describe('stateful session', () => {
  it('sends Mcp-Session-Id and MCP-Protocol-Version after initialize, user headers always, and opens the GET stream', async () => {
    const f = await fixture('stateful');
    const p = proxy(f.url, undefined, { headers: { 'X-Extra': 'yes' } });
    await p.connectClient(newClient());
    await rawListTools(p);
    // The first start: server/discover (refused: a 2025 server), then the session.
    expect(f.requests[0]!.rpc).toBe('server/discover');
    const rest = f.requests.slice(2);
    const init = f.requests[1];
    expect(init!.rpc).toBe('initialize');
    expect(init!.headers['mcp-session-id']).toBeUndefined();
    expect(init!.headers['mcp-protocol-version']).toBeUndefined();
    expect(init!.headers.accept).toBe('application/json, text/event-stream');
    expect(init!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    for (const r of f.requests) expect(r.headers['x-extra']).toBe('yes');
    const list = rest.find((r) => r.rpc === 'tools/list')!;
    expect(list.headers['mcp-session-id']).toMatch(/[0-9a-f-]{36}/);
    expect(list.headers['mcp-protocol-version']).toBe('2025-11-25');
    await waitUntil(() => f.requests.some((r) => r.method === 'GET'));
    expect(f.requests.find((r) => r.method === 'GET')!.headers['mcp-session-id']).toBe(list.headers['mcp-session-id']);
  });

  it('round-trips a server→client request (elicitation)', async () => {
    const f = await fixture('stateful');
    const p = proxy(f.url);
    const client = newClient({ elicitation: { form: {} } });
    client.setRequestHandler(ElicitRequestSchema, async (req) => ({ action: 'accept', content: { answer: `42 to ${req.params.message}` } }));
    await p.connectClient(client);
    expect(textOf(await client.callTool({ name: 'ask', arguments: { question: 'why' } }))).toBe('accept: 42 to why');
  });

  it('passes cancellation to the server and stops waiting for the request', async () => {
    const f = await fixture('stateful');
    const p = proxy(f.url);
    const client = newClient();
    await p.connectClient(client);
    const controller = new AbortController();
    const call = client.callTool({ name: 'slow', arguments: { ms: 5_000 } }, undefined, { signal: controller.signal });
    setTimeout(() => controller.abort('user cancelled'), 200);
    await expect(call).rejects.toThrow();
    await waitUntil(() => f.cancellations === 1);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'still fine' } }))).toBe('still fine');
  });

  it('keeps string and number ids unchanged and passes the server\'s -32601 for unknown methods', async () => {
    const f = await fixture('stateful');
    const p = proxy(f.url);
    await handshake(p, 0);
    p.write({ jsonrpc: '2.0', id: 7, method: 'tools/list' });
    p.write({ jsonrpc: '2.0', id: '7', method: 'ping' });
    p.write({ jsonrpc: '2.0', id: 'x-1', method: 'no/such/method' });
    expect(await p.waitFor((m) => m.id === 7)).toMatchObject({ result: { tools: expect.any(Array) } });
    expect(await p.waitFor((m) => m.id === '7')).toMatchObject({ result: {} });
    expect(await p.waitFor((m) => m.id === 'x-1')).toMatchObject({ error: { code: -32601 } });
  });

  it('re-initializes transparently after a session 404 and retries the request', async () => {
    const f = await fixture('stateful');
    const p = proxy(f.url);
    const client = newClient();
    await p.connectClient(client);
    await client.listTools();
    const firstSession = f.requests.find((r) => r.rpc === 'tools/list')!.headers['mcp-session-id'];
    await f.dropSessions();
    const before = p.messages.length;
    const results = await Promise.all([1, 2, 3].map((i) => client.callTool({ name: 'echo', arguments: { text: `after ${i}` } })));
    expect(results.map(textOf)).toEqual(['after 1', 'after 2', 'after 3']);
    // one re-initialize shared by the three requests, with the client's original params
    const inits = f.requests.filter((r) => r.rpc === 'initialize');
    expect(inits).toHaveLength(2);
    const last = f.requests.filter((r) => r.rpc === 'tools/call').at(-1)!;
    expect(last.headers['mcp-session-id']).not.toBe(firstSession);
    expect(f.requests.some((r) => r.rpc === 'notifications/initialized' && r.headers['mcp-session-id'] === last.headers['mcp-session-id'])).toBe(true);
    // nothing but the three answers reached the client
    expect(p.messages.slice(before).map((m) => m.id).sort()).toEqual([...Array(3)].map((_, i) => p.messages[before + i]!.id).sort());
    expect(p.messages.slice(before)).toHaveLength(3);
  });

  it('ends the session with DELETE when stdin ends', async () => {
    const f = await fixture('stateful');
    const p = proxy(f.url);
    const client = newClient();
    await p.connectClient(client);
    await client.listTools();
    const started = Date.now();
    p.stdin.end();
    await p.done;
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(f.deletes).toBe(1);
    expect(f.requests.at(-1)!.method).toBe('DELETE');
  });
});

describe('authorization', () => {
  it('401 → onUnauthorized with the parsed challenge, then one retry with the new token', async () => {
    const f = await fixture('stateless', { tokens: ['token-new-bbbbbbbb'] });
    const authorizer = new TestAuthorizer(TOKEN, { rotateTo: ['token-new-bbbbbbbb'] });
    const p = proxy(f.url, authorizer);
    const client = newClient();
    await p.connectClient(client);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'ok' } }))).toBe('ok');
    expect(authorizer.unauthorized).toHaveLength(1);
    expect(authorizer.unauthorized[0]).toEqual({
      rejected: TOKEN,
      challenge: { error: 'invalid_token', errorDescription: 'the "token" is not valid', scope: undefined, resourceMetadata: `http://127.0.0.1:${f.port}/.well-known/oauth-protected-resource/mcp` },
    });
  });

  it('an AuthorizationError becomes a JSON-RPC error with its message and reason', async () => {
    const f = await fixture('stateless', { tokens: ['someone-else-cccccc'] });
    const p = proxy(f.url, new TestAuthorizer(TOKEN));
    p.write({ jsonrpc: '2.0', id: 1, method: 'initialize', params: INIT_PARAMS });
    expect(await p.waitFor((m) => m.id === 1)).toEqual({
      jsonrpc: '2.0',
      id: 1,
      error: { code: -32001, message: 'Your sign-in was rejected. Run `npx appwrite-mcp login` to sign in again.', data: { reason: 'token_rejected' } },
    });
  });

  it('403 insufficient_scope → onInsufficientScope, then one retry', async () => {
    const f = await fixture('stateful', { tokens: [TOKEN, 'token-admin-dddddd'], adminTokens: ['token-admin-dddddd'] });
    const authorizer = new TestAuthorizer(TOKEN, { stepUpTo: 'token-admin-dddddd' });
    const p = proxy(f.url, authorizer);
    const client = newClient();
    await p.connectClient(client);
    expect(textOf(await client.callTool({ name: 'admin_echo', arguments: { text: 'x' } }))).toBe('admin: x');
    expect(authorizer.insufficientScope).toEqual([{ rejected: TOKEN, challenge: expect.objectContaining({ error: 'insufficient_scope', scope: 'mcp:read mcp:admin' }) }]);
  });
});

describe('server unreachable', () => {
  it('answers with an error naming the host once the retries of a refused connection are spent (~4 s), and recovers when the server is back', async () => {
    const f = await fixture('stateful');
    const p = proxy(f.url);
    await handshake(p, 1);
    p.write({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    await p.waitFor((m) => m.id === 2);
    await f.close();
    // A server restarting closed its connections before the next request: let the proxy see them go.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    p.write({ jsonrpc: '2.0', id: 3, method: 'tools/list' });
    const failure = await p.waitFor((m) => m.id === 3, 15_000);
    // Sent again after 250, 500, 1000 and 2000 ms (nothing listens: the request reached no one), then answered.
    expect(Date.now() - started).toBeGreaterThanOrEqual(3_700);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(failure.error).toMatchObject({ code: -32000, data: { reason: 'unreachable' } });
    expect(failure.error.message).toContain(`127.0.0.1:${f.port}`);

    await fixture('stateful', { port: f.port });
    p.write({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'echo', arguments: { text: 'back' } } });
    expect(await p.waitFor((m) => m.id === 4)).toMatchObject({ result: { content: [{ text: 'back' }] } });
  });

  it('a response that does not start within the connect timeout becomes an error', async () => {
    const { createServer } = await import('node:http');
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const p = proxy(`http://127.0.0.1:${port}/mcp`, undefined, { limits: { connectTimeoutMs: 300 } });
      p.write({ jsonrpc: '2.0', id: 1, method: 'initialize', params: INIT_PARAMS });
      expect((await p.waitFor((m) => m.id === 1)).error).toMatchObject({ code: -32000, data: { reason: 'timeout' } });
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });
});

describe('stdio', () => {
  it('answers a malformed line with -32700, non-JSON-RPC JSON with -32600, and keeps serving', async () => {
    const f = await fixture('stateless');
    const p = proxy(f.url);
    await handshake(p, 1);
    p.write('this is not json');
    expect(await p.waitFor((m) => m.error?.code === -32700)).toMatchObject({ jsonrpc: '2.0', id: null, error: { message: expect.stringMatching(/^Parse error: /) } });
    p.write('{"id": 5, "method": "tools/list"}');
    expect(await p.waitFor((m) => m.error?.code === -32600)).toMatchObject({ id: 5 });
    p.write('\r\n\n{"jsonrpc":"2.0","id":6,"method":"ping"}\r');
    expect(await p.waitFor((m) => m.id === 6)).toMatchObject({ result: {} });
  });
});

describe('placeholder until sign-in', () => {
  it('answers initialize locally, offers a sign_in tool, then switches and sends list_changed', async () => {
    const f = await fixture('stateful');
    const authorizer = new TestAuthorizer(undefined, { holdMs: 200 });
    const p = proxy(f.url, authorizer);
    const client = newClient();
    let listChanged = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void listChanged++);
    const started = Date.now();
    await p.connectClient(client);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(client.getServerVersion()?.name).toBe('appwrite-mcp');
    expect(client.getServerCapabilities()?.tools?.listChanged).toBe(true);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['sign_in']);
    expect(tools[0]!.description).toContain('Sign-in is required: a browser tab has been opened.');
    expect(textOf(await client.callTool({ name: 'sign_in', arguments: {} }))).toContain('update by itself once you are signed in');
    await client.ping();
    expect(await client.listResources()).toEqual({ resources: [] });
    await expect(client.callTool({ name: 'echo', arguments: { text: 'x' } })).rejects.toThrow(/Sign-in is required/);
    // The probe went to the server without a token; the 401 started the sign-in.
    expect(f.requests.map((r) => [r.rpc, r.headers.authorization])).toEqual([['server/discover', undefined]]);
    expect(authorizer.unauthorized).toEqual([{ rejected: undefined, challenge: expect.objectContaining({ resourceMetadata: expect.stringContaining('/.well-known/oauth-protected-resource') }) }]);

    authorizer.signIn(TOKEN);
    await waitUntil(() => listChanged === 1);
    expect(f.requests.filter((r) => r.rpc === 'initialize')).toHaveLength(1);
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('echo');
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'signed in' } }))).toBe('signed in');
    expect(p.messages.filter((m) => m.method?.endsWith('/list_changed')).map((m) => m.method)).toEqual([
      'notifications/tools/list_changed',
      'notifications/resources/list_changed',
      'notifications/prompts/list_changed',
    ]);
  });

  it('keeps trying to connect after sign-in while the server is briefly down', async () => {
    const f = await fixture('stateful');
    const authorizer = new TestAuthorizer(undefined, { holdMs: 200 });
    const p = proxy(f.url, authorizer);
    const client = newClient();
    let listChanged = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void listChanged++);
    await p.connectClient(client);
    await f.close();
    authorizer.signIn(TOKEN);
    await new Promise((r) => setTimeout(r, 1500)); // the first attempts find nothing listening
    expect(listChanged).toBe(0);
    await fixture('stateful', { port: f.port });
    await waitUntil(() => listChanged === 1, 10_000);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'back' } }))).toBe('back');
  });

  it('a sign-in that completes within the auth timeout: initialize goes to the server, no placeholder', async () => {
    const f = await fixture('stateless');
    const authorizer = new TestAuthorizer(undefined, { holdMs: 2_000 });
    const p = proxy(f.url, authorizer);
    setTimeout(() => authorizer.signIn(TOKEN), 50);
    const client = newClient();
    await p.connectClient(client);
    expect(client.getServerVersion()?.name).not.toBe('appwrite-mcp');
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('echo');
    expect(p.messages.some((m) => m.method === 'notifications/tools/list_changed')).toBe(false);
  });
});

async function rawListTools(p: ProxyHarness): Promise<void> {
  p.write({ jsonrpc: '2.0', id: 'list', method: 'tools/list' });
  await p.waitFor((m) => m.id === 'list');
}

async function waitUntil(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
