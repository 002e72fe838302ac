// Era detection and the 2026-07-28 rules against scripted servers that answer the way the
// conformance suite's servers (0.2.0-alpha.12) do: a -32022 refusal of the first POST
// (request-metadata), an initialize answered -32601 under HTTP 200 (sep-2322-client-request-state),
// an initialize answered with protocolVersion 2026-07-28 (http-*-headers), tools with malformed
// x-mcp-header declarations (http-invalid-tool-headers), and multi-round requests (SEP-2322).
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryEraCache } from '../../src/proxy/eras/cache.js';
import { close } from '../cloud/http-server.js';
import { newClient, startProxy, TestAuthorizer, textOf, type ProxyHarness } from './harness.js';

type Json = Record<string, any>;
interface Seen { method: string; id: unknown; headers: IncomingHttpHeaders; body: Json }

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const META = 'io.modelcontextprotocol/protocolVersion';
const DISCOVER = { supportedVersions: ['2026-07-28'], capabilities: { tools: {} }, serverInfo: { name: 'scripted', version: '1' }, resultType: 'complete', ttlMs: 0, cacheScope: 'private' };

/** A server that answers each POST with `answer` (a JSON body with status 200 unless it says otherwise). */
async function scripted(answer: (m: Json, n: number) => { status?: number; body?: unknown } | undefined): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res: ServerResponse) => {
    let text = '';
    req.on('data', (d) => (text += d));
    req.on('end', () => {
      if (req.method !== 'POST') return void res.writeHead(405).end();
      const body = JSON.parse(text) as Json;
      seen.push({ method: body.method ?? 'response', id: body.id, headers: req.headers, body });
      const out = answer(body, seen.length);
      if (!out) return void res.writeHead(202).end();
      res.writeHead(out.status ?? 200, { 'content-type': 'application/json' }).end(JSON.stringify(out.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => close(server));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, seen };
}

function proxy(url: string, o: { cache?: MemoryEraCache } = {}): ProxyHarness {
  const p = startProxy({ url, authorizer: new TestAuthorizer('tok'), eraCache: o.cache });
  cleanups.push(async () => {
    expect(p.invalidLines).toEqual([]);
    p.stop();
    await p.done;
  });
  return p;
}

const result = (m: Json, value: Json) => ({ body: { jsonrpc: '2.0', id: m.id, result: { resultType: 'complete', ...value } } });
const tools = (list: Json[]) => ({ tools: list, ttlMs: 0, cacheScope: 'private' });
const TOOL = { name: 'echo', inputSchema: { type: 'object', properties: { text: { type: 'string' } } } };

/** Every POST carries the 2026-07-28 header, its _meta envelope matches it, and no 2025 handshake was sent. */
function allModern(seen: Seen[]): void {
  for (const s of seen) {
    expect(s.headers['mcp-protocol-version'], s.method).toBe('2026-07-28');
    expect(s.headers['mcp-method'], s.method).toBe(s.method);
    expect(s.body.params?._meta?.[META], s.method).toBe('2026-07-28');
    expect(s.body.params?._meta?.['io.modelcontextprotocol/clientCapabilities'], s.method).toBeTypeOf('object');
  }
  expect(seen.map((s) => s.method)).not.toContain('initialize');
  expect(seen.map((s) => s.method)).not.toContain('notifications/initialized');
}

describe('detection (SEP-2575)', () => {
  it('a server that refuses the first POST with -32022 naming 2026-07-28: server/discover once more, then everything in the modern form', async () => {
    const { url, seen } = await scripted((m, n) => {
      if (n === 1) return { status: 400, body: { jsonrpc: '2.0', id: m.id ?? null, error: { code: -32022, message: 'Unsupported protocol version', data: { supported: ['2026-07-28'], requested: '' } } } };
      if (m.method === 'server/discover') return result(m, DISCOVER);
      if (m.method === 'tools/list') return result(m, tools([TOOL]));
      return m.id === undefined ? undefined : result(m, {});
    });
    const client = newClient();
    await proxy(url).connectClient(client);
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['echo']);
    expect(seen.map((s) => s.method)).toEqual(['server/discover', 'server/discover', 'tools/list']);
    allModern(seen);
  });

  it('a cached "2025" verdict, an initialize answered -32601 under HTTP 200: asked server/discover, then translated', async () => {
    const { url, seen } = await scripted((m) => {
      if (m.method === 'initialize') return { body: { jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'Method not found: initialize' } } };
      if (m.method === 'server/discover') return result(m, DISCOVER);
      if (m.method === 'tools/list') return result(m, tools([TOOL]));
      return m.id === undefined ? undefined : result(m, {});
    });
    const cache = new MemoryEraCache({ modern: false, checkedAt: Date.now() });
    const client = newClient();
    await proxy(url, { cache }).connectClient(client);
    expect(client.getServerVersion()).toEqual({ name: 'scripted', version: '1' });
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['echo']);
    expect(seen.map((s) => s.method)).toEqual(['initialize', 'server/discover', 'tools/list']);
    allModern(seen.slice(1));
    expect(await cache.load()).toMatchObject({ modern: true });
  });

  it('an initialize answered with protocolVersion 2026-07-28: the 2025 client gets its own version, nothing without the envelope follows', async () => {
    const { url, seen } = await scripted((m) => {
      if (m.method === 'server/discover') return { status: 404, body: { error: 'not found' } };
      if (m.method === 'initialize') return result(m, { protocolVersion: '2026-07-28', capabilities: { tools: {} }, serverInfo: { name: 'scripted', version: '2' } });
      if (m.method === 'tools/list') return result(m, tools([TOOL]));
      return m.id === undefined ? undefined : result(m, {});
    });
    const client = newClient();
    const p = proxy(url);
    await p.connectClient(client);
    expect(p.messages.find((m) => m.result?.protocolVersion)!.result.protocolVersion).toBe('2025-11-25');
    expect(client.getServerVersion()).toEqual({ name: 'scripted', version: '2' });
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['echo']);
    expect(seen.map((s) => s.method)).toEqual(['server/discover', 'initialize', 'tools/list']);
    allModern(seen.slice(2));
  });
});

describe('x-mcp-header declarations (SEP-2243)', () => {
  const listed = [
    { name: 'valid_tool', inputSchema: { type: 'object', properties: { region: { type: 'string', 'x-mcp-header': 'Region' } } } },
    { name: 'invalid_empty_header', inputSchema: { type: 'object', properties: { v: { type: 'string', 'x-mcp-header': '' } } } },
    { name: 'invalid_duplicate', inputSchema: { type: 'object', properties: { a: { type: 'string', 'x-mcp-header': 'X' }, b: { type: 'string', 'x-mcp-header': 'x' } } } },
  ];
  const server = () => scripted((m) => {
    if (m.method === 'server/discover') return result(m, DISCOVER);
    if (m.method === 'tools/list') return result(m, tools(listed));
    if (m.method === 'tools/call') return result(m, { content: [{ type: 'text', text: `called ${m.params.name}` }] });
    return m.id === undefined ? undefined : result(m, {});
  });

  it('2026-07-28 client ⇄ 2026-07-28 server: malformed tools are not listed, calls to them never leave the proxy', async () => {
    const { url, seen } = await server();
    const p = proxy(url);
    const meta = { [META]: '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
    p.write({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: meta } });
    const list = await p.waitFor((m) => m.id === 1);
    expect(list.result.tools.map((t: Json) => t.name)).toEqual(['valid_tool']);
    expect(list.result).toMatchObject({ resultType: 'complete', ttlMs: 0, cacheScope: 'private' });
    p.write({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'invalid_empty_header', arguments: { v: 'x' }, _meta: meta } });
    expect((await p.waitFor((m) => m.id === 2)).error).toMatchObject({ code: -32602, data: { reason: 'TOOL_INVALID', tool: 'invalid_empty_header' } });
    p.write({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'valid_tool', arguments: { region: 'us-west1' }, _meta: meta } });
    expect((await p.waitFor((m) => m.id === 3)).result.content[0].text).toBe('called valid_tool');
    expect(seen.filter((s) => s.method === 'tools/call').map((s) => [s.body.params.name, s.headers['mcp-param-region']])).toEqual([['valid_tool', 'us-west1']]);
    p.write({ jsonrpc: '2.0', method: 'notifications/initialized' });
    p.write({ jsonrpc: '2.0', id: 4, method: 'ping', params: { _meta: meta } });
    await p.waitFor((m) => m.id === 4);
    expect(seen.map((s) => s.method)).not.toContain('notifications/initialized');
  });

  it('2025 client → 2026-07-28 server: the same', async () => {
    const { url, seen } = await server();
    const client = newClient();
    await proxy(url).connectClient(client);
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['valid_tool']);
    await expect(client.callTool({ name: 'invalid_duplicate', arguments: {} })).rejects.toThrow(/invalid_duplicate" is not available: its definition is invalid \(x-mcp-header "x" declared twice/);
    expect(textOf(await client.callTool({ name: 'valid_tool', arguments: { region: 'eu' } }))).toBe('called valid_tool');
    expect(seen.filter((s) => s.method === 'tools/call').map((s) => s.body.params.name)).toEqual(['valid_tool']);
    allModern(seen);
  });
});

describe('results for a 2026-07-28 client from a 2026-07-28 server', () => {
  it('a result without resultType reaches the client with "complete" (sep-2322-client-request-state); a value the server set is kept', async () => {
    const bare = (m: Json, value: Json) => ({ body: { jsonrpc: '2.0', id: m.id, result: value } });
    const { url } = await scripted((m) => {
      if (m.method === 'server/discover') return result(m, DISCOVER);
      // The list lacks resultType and the cache hints; nothing in it is hidden.
      if (m.method === 'tools/list') return bare(m, { tools: [TOOL] });
      if (m.method === 'tools/call' && m.params.name === 'bare') return bare(m, { content: [{ type: 'text', text: 'no-result-type' }] });
      if (m.method === 'tools/call' && m.params.name === 'ask') return bare(m, { resultType: 'input_required', inputRequests: { q: { method: 'roots/list' } } });
      if (m.method === 'resources/read') return bare(m, { contents: [], ttlMs: 5000 });
      if (m.method === 'tools/call') return { body: { jsonrpc: '2.0', id: m.id, error: { code: -32602, message: 'no such tool' } } };
      return m.id === undefined ? undefined : result(m, {});
    });
    const p = proxy(url);
    const meta = { [META]: '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
    const ask = async (id: number, method: string, params: Json = {}) => {
      p.write({ jsonrpc: '2.0', id, method, params: { ...params, _meta: meta } });
      return p.waitFor((m) => m.id === id);
    };
    expect((await ask(1, 'tools/list')).result).toEqual({ tools: [TOOL], resultType: 'complete', ttlMs: 0, cacheScope: 'private' });
    expect((await ask(2, 'tools/call', { name: 'bare', arguments: {} })).result).toEqual({ content: [{ type: 'text', text: 'no-result-type' }], resultType: 'complete' });
    expect((await ask(3, 'tools/call', { name: 'ask', arguments: {} })).result).toEqual({ resultType: 'input_required', inputRequests: { q: { method: 'roots/list' } } });
    expect((await ask(4, 'resources/read', { uri: 'x:/y' })).result).toEqual({ contents: [], ttlMs: 5000, resultType: 'complete', cacheScope: 'private' });
    const refused = await ask(5, 'tools/call', { name: 'other', arguments: {} });
    expect(refused.result).toBeUndefined();
    expect(refused.error).toMatchObject({ code: -32602 });
  });
});

describe('multi-round requests (SEP-2322) for a 2025 client', () => {
  it('input_required becomes elicitation/create; the retry has a new id and echoes requestState exactly; the answer comes under the client\'s id', async () => {
    const state = '{"nonce":"n-1", "exact": "spacing kept"}';
    const { url, seen } = await scripted((m) => {
      if (m.method === 'server/discover') return result(m, DISCOVER);
      if (m.method !== 'tools/call') return m.id === undefined ? undefined : result(m, {});
      if (!m.params.inputResponses) {
        return result(m, { resultType: 'input_required', inputRequests: { confirm: { method: 'elicitation/create', params: { message: 'Sure?', requestedSchema: { type: 'object', properties: {} } } } }, requestState: state });
      }
      return result(m, { content: [{ type: 'text', text: `confirmed=${m.params.inputResponses.confirm.content.ok}` }] });
    });
    const client = newClient({ elicitation: {} });
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { ok: true } }));
    await proxy(url).connectClient(client);
    expect(textOf(await client.callTool({ name: 'ask', arguments: {} }))).toBe('confirmed=true');
    const calls = seen.filter((s) => s.method === 'tools/call');
    expect(calls).toHaveLength(2);
    expect(calls[1]!.id).not.toEqual(calls[0]!.id);
    expect(calls[1]!.body.params.requestState).toBe(state);
    expect(calls[0]!.body.params.requestState).toBeUndefined();
  });
});
