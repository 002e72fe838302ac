// The local cloud's SDK v2 servers, driven by real clients with no proxy in between:
//  (a) the SDK v2 client (2026-07-28) against the modern-only and the dual-era server;
//  (b) the SDK 1.32 client (2025 era) against the dual-era server, and refused by the modern-only one;
//  (c) the SDK v2 client against the 2025-only server: it probes with server/discover and falls back.
// Tokens come from the cloud's AS through its real pages (headless Chromium), one per resource.
import { Client, SdkError, SdkErrorCode, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type Cloud, type V2ServerName } from './cloud/index.js';
import { launchChromium } from './helpers/browser.js';
import { cloudTokens } from './helpers/cloud-token.js';

type Json = Record<string, any>;

let cloud: Cloud;
let browser: Browser;
const tokens: Record<'modern' | 'dual' | 'root' | 'project', string> = { modern: '', dual: '', root: '', project: '' };
const closers: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  [cloud, browser] = await Promise.all([startCloud(), launchChromium()]);
  const token = async (issuer: string, resource: string) => (await cloudTokens(browser, issuer, resource, cloud.user)).access_token;
  tokens.modern = await token(cloud.modernIssuer, cloud.modernMcpUrl);
  tokens.dual = await token(cloud.dualIssuer, cloud.dualMcpUrl);
  tokens.root = await token(cloud.issuer, cloud.mcpUrl);
  tokens.project = await token(cloud.projectIssuer('demo-project'), cloud.projectMcpUrl('demo-project'));
}, 90_000);

afterEach(async () => {
  await Promise.allSettled(closers.splice(0).map((close) => close()));
});

afterAll(async () => {
  await browser?.close();
  await cloud?.stop();
});

const bearer = (token: string) => ({ requestInit: { headers: { Authorization: `Bearer ${token}` } } });
const textOf = (result: Json): string => result.content[0].text;
const urlOf = (server: V2ServerName) => (server === 'modern' ? cloud.modernMcpUrl : cloud.dualMcpUrl);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** The SDK v2 client negotiating the era itself (`auto`), with handlers for server requests. */
async function connectV2(url: string, token: string, capabilities: Json = { elicitation: {}, sampling: {}, roots: {} }) {
  const client = new Client({ name: 'era-test-v2', version: '2.4.0' }, { capabilities, versionNegotiation: { mode: 'auto' } });
  const asked: Json[] = [];
  // The SDK refuses a handler for a capability the client does not declare.
  if (capabilities.elicitation) {
    client.setRequestHandler('elicitation/create', async (request) => {
      asked.push({ method: 'elicitation/create', params: request.params });
      return { action: 'accept', content: { answer: 'Ada' } };
    });
  }
  if (capabilities.sampling) {
    client.setRequestHandler('sampling/createMessage', async (request) => {
      asked.push({ method: 'sampling/createMessage', params: request.params });
      return { role: 'assistant', content: { type: 'text', text: 'sampled Ada' }, model: 'test-model' };
    });
  }
  if (capabilities.roots) {
    client.setRequestHandler('roots/list', async () => {
      asked.push({ method: 'roots/list' });
      return { roots: [{ uri: 'file:///work/project', name: 'project' }] };
    });
  }
  await client.connect(new StreamableHTTPClientTransport(new URL(url), bearer(token)));
  closers.push(() => client.close());
  return { client, asked };
}

/** The SDK 1.32 client: the 2025 `initialize` handshake, sessions, server-to-client requests on SSE. */
async function connectV1(url: string, token: string) {
  const client = new ClientV1({ name: 'era-test-v1', version: '1.32.0' }, { capabilities: { elicitation: {} } });
  const asked: Json[] = [];
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    asked.push(request.params);
    return { action: 'accept', content: { answer: 'Ada' } };
  });
  const transport = new TransportV1(new URL(url), bearer(token));
  await client.connect(transport);
  closers.push(() => client.close());
  return { client, transport, asked };
}

const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

async function post(url: string, token: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}`, ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, contentType: res.headers.get('content-type'), body: await res.text() };
}

describe('(a) the SDK v2 client speaks 2026-07-28 to the modern-only and the dual-era server', () => {
  for (const server of ['modern', 'dual'] as const) {
    describe(server, () => {
      it('negotiates with one server/discover, then sends every request stateless with the envelope and the three headers', async () => {
        const from = cloud.v2McpRequests().length;
        const { client } = await connectV2(urlOf(server), tokens[server]);
        expect(client.getProtocolEra()).toBe('modern');
        expect(client.getServerVersion()).toEqual({ name: 'appwrite-cloud-stand-in', version: '2.0.0' });
        expect(client.getInstructions()).toContain(server === 'modern' ? 'modern-only (2026-07-28)' : 'dual-era');

        const tools = await client.listTools();
        expect(tools.tools.map((t) => t.name).sort()).toEqual(['admin_action', 'ask_user', 'echo', 'list_roots', 'regional_echo', 'slow', 'whoami']);
        expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'héllo' } }))).toBe('héllo');
        expect(JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {} })))).toMatchObject({ aud: urlOf(server), sub: cloud.user.sub });
        expect(textOf(await client.callTool({ name: 'regional_echo', arguments: { region: 'eu-west', text: 'hi' } }))).toBe('eu-west: hi');

        const seen = cloud.v2McpRequests().slice(from).filter((r) => r.server === server);
        expect(seen[0]).toMatchObject({ httpMethod: 'POST', rpc: ['server/discover'] });
        expect(seen[0]!.headers).toMatchObject({ 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'server/discover' });
        expect(seen.every((r) => r.httpMethod === 'POST' && r.headers['mcp-session-id'] === undefined)).toBe(true);
        const call = (name: string) => seen.find((r) => r.rpc[0] === 'tools/call' && r.headers['mcp-name'] === name)!;
        expect(call('echo').headers).toMatchObject({ 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'echo' });
        expect(call('regional_echo').headers['mcp-param-region']).toBe('eu-west');
      });

      it('serves resources (with cache hints) and prompts', async () => {
        const { client } = await connectV2(urlOf(server), tokens[server]);
        const resources = await client.listResources();
        expect(resources.resources).toEqual([expect.objectContaining({ uri: 'appwrite://docs/readme', mimeType: 'text/markdown' })]);
        const read = await client.readResource({ uri: 'appwrite://docs/readme' });
        expect(read.contents[0]).toMatchObject({ uri: 'appwrite://docs/readme', text: expect.stringContaining('SDK v2') });
        const prompt = await client.getPrompt({ name: 'greeting', arguments: { name: 'Ada' } });
        expect(prompt.messages).toEqual([{ role: 'user', content: { type: 'text', text: 'Say hello to Ada.' } }]);

        // On the wire: the result carries resultType and the cache fields; the SDK strips resultType.
        const raw = await post(urlOf(server), tokens[server],
          { jsonrpc: '2.0', id: 7, method: 'resources/read', params: { uri: 'appwrite://docs/readme', _meta: ENVELOPE } },
          { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'resources/read', 'mcp-name': 'appwrite://docs/readme' });
        expect(raw.status).toBe(200);
        expect(JSON.parse(raw.body).result).toMatchObject({ resultType: 'complete', ttlMs: 60_000, cacheScope: 'public' });
      });

      it("reports progress on the POST's own SSE response", async () => {
        const { client } = await connectV2(urlOf(server), tokens[server]);
        const progress: Json[] = [];
        const result = await client.callTool({ name: 'slow', arguments: { steps: 3, delayMs: 20 } }, { onprogress: (p) => progress.push(p) });
        expect(textOf(result)).toBe('done after 3 steps');
        expect(progress).toEqual([{ progress: 1, total: 3 }, { progress: 2, total: 3 }, { progress: 3, total: 3 }]);
        expect(cloud.slowRuns().at(-1)).toEqual({ server, era: 'modern', outcome: 'done', steps: 3 });
      });

      it("cancels by closing the request's stream: the tool stops, no notifications/cancelled is posted", async () => {
        const { client } = await connectV2(urlOf(server), tokens[server]);
        const from = cloud.v2McpRequests().length;
        const runs = cloud.slowRuns().length;
        const abort = new AbortController();
        const call = client.callTool({ name: 'slow', arguments: { steps: 200, delayMs: 25 } }, { signal: abort.signal, onprogress: () => {} });
        await sleep(300);
        abort.abort('user cancelled');
        await expect(call).rejects.toThrow('user cancelled');
        const run = await until('the cancelled run', () => cloud.slowRuns().slice(runs).find((r) => r.server === server));
        expect(run).toMatchObject({ server, era: 'modern', outcome: 'cancelled' });
        expect(run.steps).toBeLessThan(100);
        expect(cloud.v2McpRequests().slice(from).flatMap((r) => r.rpc)).toEqual(['tools/call']);
      });

      it('asks for user input with input_required; the client answers through its handlers and retries', async () => {
        const from = cloud.v2McpRequests().length;
        const { client, asked } = await connectV2(urlOf(server), tokens[server], { elicitation: {} });
        const result = await client.callTool({ name: 'ask_user', arguments: { question: 'Who are you?' } });
        expect(JSON.parse(textOf(result))).toEqual({ action: 'accept', content: { answer: 'Ada' } });
        expect(asked).toEqual([{
          method: 'elicitation/create',
          params: { mode: 'form', message: 'Who are you?', requestedSchema: { type: 'object', properties: { answer: { type: 'string', title: 'Who are you?' } }, required: ['answer'] } },
        }]);
        const calls = cloud.v2McpRequests().slice(from).filter((r) => r.rpc[0] === 'tools/call');
        expect(calls.map((r) => r.headers['mcp-name'])).toEqual(['ask_user', 'ask_user']); // first round, then the retry

        // A client that can only sample gets a sampling request; roots work the same way.
        const sampler = await connectV2(urlOf(server), tokens[server], { sampling: {}, roots: {} });
        expect(JSON.parse(textOf(await sampler.client.callTool({ name: 'ask_user', arguments: {} })))).toEqual({ sampled: 'sampled Ada' });
        expect(JSON.parse(textOf(await sampler.client.callTool({ name: 'list_roots', arguments: {} })))).toEqual([{ uri: 'file:///work/project', name: 'project' }]);
        expect(sampler.asked.map((a) => a.method)).toEqual(['sampling/createMessage', 'roots/list']);
      });

      it('input_required on the wire: the result, and the retry with inputResponses and the echoed requestState', async () => {
        const headers = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'ask_user' };
        const meta = { ...ENVELOPE, 'io.modelcontextprotocol/clientCapabilities': { elicitation: {} } };
        const first = await post(urlOf(server), tokens[server], { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'ask_user', arguments: {}, _meta: meta } }, headers);
        expect(first.status).toBe(200);
        const result = JSON.parse(first.body).result;
        expect(result).toMatchObject({
          resultType: 'input_required',
          inputRequests: {
            answer: {
              method: 'elicitation/create',
              params: { mode: 'form', message: 'What is your name?', requestedSchema: { type: 'object', properties: { answer: { type: 'string', title: 'What is your name?' } }, required: ['answer'] } },
            },
          },
          requestState: expect.stringMatching(/^v1\./),
        });
        const retry = await post(urlOf(server), tokens[server], {
          jsonrpc: '2.0', id: 2, method: 'tools/call',
          params: { name: 'ask_user', arguments: {}, inputResponses: { answer: { action: 'decline' } }, requestState: result.requestState, _meta: meta },
        }, headers);
        expect(JSON.parse(retry.body).result).toMatchObject({ resultType: 'complete', content: [{ type: 'text', text: '{"action":"decline"}' }] });

        // The capabilities come from this request's envelope: a sampling-only caller is asked to sample.
        const sampling = await post(urlOf(server), tokens[server], { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'ask_user', arguments: {}, _meta: { ...ENVELOPE, 'io.modelcontextprotocol/clientCapabilities': { sampling: {} } } } }, headers);
        expect(JSON.parse(sampling.body).result.inputRequests.answer).toEqual({
          method: 'sampling/createMessage',
          params: { messages: [{ role: 'user', content: { type: 'text', text: 'What is your name?' } }], maxTokens: 200 },
        });
      });

      it('refuses a 2026-07-28 request without the required headers: 400, -32020', async () => {
        const res = await post(urlOf(server), tokens[server], { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'echo', arguments: { text: 'x' }, _meta: ENVELOPE } });
        expect(res.status).toBe(400);
        expect(JSON.parse(res.body)).toEqual({
          jsonrpc: '2.0',
          id: 5,
          error: {
            code: -32020,
            message: 'Bad Request: the request headers and body disagree: the body envelope names protocol version 2026-07-28 but the required MCP-Protocol-Version header is absent',
            data: { mismatch: { header: '(missing)', body: 'the body envelope names protocol version 2026-07-28 but the required MCP-Protocol-Version header is absent' } },
          },
        });
      });

      it('answers the probe without a token with 401 and the resource metadata URL: auth, not era evidence', async () => {
        const client = new Client({ name: 'era-test-v2', version: '2.4.0' }, { versionNegotiation: { mode: 'auto' } });
        const error = await client.connect(new StreamableHTTPClientTransport(new URL(urlOf(server)))).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: SdkErrorCode.ClientHttpAuthentication });
      });
    });
  }
});

describe('(b) the SDK 1.32 client (2025 era)', () => {
  it('dual-era server: a session with tools, resources, prompts, progress, cancellation and an elicitation request', async () => {
    const { client, transport, asked } = await connectV1(cloud.dualMcpUrl, tokens.dual);
    expect(transport.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(client.getServerVersion()).toEqual({ name: 'appwrite-cloud-stand-in', version: '2.0.0' });
    expect(client.getInstructions()).toContain('dual-era');
    const init = cloud.v2McpRequests().filter((r) => r.server === 'dual' && r.rpc[0] === 'initialize').at(-1)!;
    expect(init.headers['mcp-protocol-version']).toBeUndefined();

    expect((await client.listTools()).tools.map((t) => t.name)).toContain('ask_user');
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hi' } }))).toBe('hi');
    expect((await client.readResource({ uri: 'appwrite://docs/readme' })).contents[0]).toMatchObject({ text: expect.stringContaining('SDK v2') });
    expect((await client.getPrompt({ name: 'greeting', arguments: { name: 'Ada' } })).messages[0]!.content).toEqual({ type: 'text', text: 'Say hello to Ada.' });

    const progress: Json[] = [];
    const slow = await client.callTool({ name: 'slow', arguments: { steps: 3, delayMs: 20 } }, undefined, { onprogress: (p) => progress.push(p) });
    expect(textOf(slow)).toBe('done after 3 steps');
    expect(progress).toEqual([{ progress: 1, total: 3 }, { progress: 2, total: 3 }, { progress: 3, total: 3 }]);

    // 2025 cancellation: the client posts notifications/cancelled into the session.
    const runs = cloud.slowRuns().length;
    const from = cloud.v2McpRequests().length;
    const abort = new AbortController();
    const call = client.callTool({ name: 'slow', arguments: { steps: 200, delayMs: 25 } }, undefined, { signal: abort.signal });
    await sleep(300);
    abort.abort('user cancelled');
    await expect(call).rejects.toBeInstanceOf(McpError);
    const run = await until('the cancelled run', () => cloud.slowRuns().slice(runs).find((r) => r.server === 'dual'));
    expect(run).toMatchObject({ server: 'dual', era: 'legacy', outcome: 'cancelled' });
    expect(cloud.v2McpRequests().slice(from).flatMap((r) => r.rpc)).toEqual(['tools/call', 'notifications/cancelled']);

    // The same input_required handler becomes a real elicitation/create request on the POST's stream.
    const answer = await client.callTool({ name: 'ask_user', arguments: { question: 'Who are you?' } });
    expect(JSON.parse(textOf(answer))).toEqual({ action: 'accept', content: { answer: 'Ada' } });
    expect(asked).toEqual([expect.objectContaining({ mode: 'form', message: 'Who are you?' })]);

    const deletes = cloud.stats.sessionDeletes;
    await transport.terminateSession();
    expect(cloud.stats.sessionDeletes).toBe(deletes + 1);
  });

  it('modern-only server: initialize is refused with 400 and -32022 naming the one revision it serves', async () => {
    const client = new ClientV1({ name: 'era-test-v1', version: '1.32.0' });
    const error = await client.connect(new TransportV1(new URL(cloud.modernMcpUrl), bearer(tokens.modern))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamableHTTPError);
    expect((error as StreamableHTTPError).code).toBe(400);
    const body = (error as Error).message.replace(/^Streamable HTTP error: Error POSTing to endpoint: /, '');
    expect(JSON.parse(body)).toEqual({
      jsonrpc: '2.0',
      id: 0,
      error: { code: -32022, message: 'Unsupported protocol version: 2025-11-25', data: { supported: ['2026-07-28'], requested: '2025-11-25' } },
    });

    // Any 2025 request gets the same answer; GET (the 2025 stream) is not allowed at all.
    const call = await post(cloud.modernMcpUrl, tokens.modern, { jsonrpc: '2.0', id: 4, method: 'tools/list' });
    expect(call.status).toBe(400);
    expect(JSON.parse(call.body)).toEqual({
      jsonrpc: '2.0', id: 4,
      error: { code: -32022, message: 'Unsupported protocol version: the request did not name a protocol version', data: { supported: ['2026-07-28'] } },
    });
    const get = await fetch(cloud.modernMcpUrl, { headers: { accept: 'text/event-stream', authorization: `Bearer ${tokens.modern}` } });
    expect(get.status).toBe(405);
    expect(await get.json()).toEqual({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null });
  });
});

describe('(c) the SDK v2 client against the 2025-only server negotiates down', () => {
  const probeHeaders = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'server/discover' };

  it('root layout (stateless): the probe is refused, the client falls back to initialize and works in the 2025 era', async () => {
    const from = cloud.lastMcpRequestHeaders().length;
    const { client } = await connectV2(cloud.mcpUrl, tokens.root);
    expect(client.getProtocolEra()).toBe('legacy');
    const [probe, initialize] = cloud.lastMcpRequestHeaders().slice(from);
    expect(probe).toMatchObject(probeHeaders);
    expect(initialize!['mcp-protocol-version']).toBeUndefined();
    expect(initialize!['mcp-method']).toBeUndefined();

    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hi' } }))).toBe('hi');
    const progress: Json[] = [];
    await client.callTool({ name: 'slow', arguments: { steps: 2, delayMs: 10 } }, { onprogress: (p) => progress.push(p) });
    expect(progress).toHaveLength(2);
    expect(cloud.lastMcpRequestHeaders().slice(from + 2).every((h) => h['mcp-protocol-version'] === '2025-11-25' && h['mcp-method'] === undefined)).toBe(true);

    // What the 2025 server answered the probe with (SDK 1.32 checks the version header first).
    const probeAnswer = await post(cloud.mcpUrl, tokens.root, { jsonrpc: '2.0', id: 'server-discover-probe-1', method: 'server/discover', params: { _meta: ENVELOPE } }, probeHeaders);
    expect(probeAnswer.status).toBe(400);
    expect(JSON.parse(probeAnswer.body)).toEqual({
      jsonrpc: '2.0', id: null,
      error: { code: -32000, message: 'Bad Request: Unsupported protocol version: 2026-07-28 (supported versions: 2025-11-25, 2025-06-18, 2025-03-26, 2024-11-05, 2024-10-07)' },
    });
  });

  it('per-project layout (sessions): the probe gets "No valid session ID", then a 2025 session with an elicitation request', async () => {
    const url = cloud.projectMcpUrl('demo-project');
    const { client, asked } = await connectV2(url, tokens.project, { elicitation: {} });
    expect(client.getProtocolEra()).toBe('legacy');
    const answer = await client.callTool({ name: 'ask_user', arguments: { question: 'Who are you?' } });
    expect(JSON.parse(textOf(answer))).toEqual({ action: 'accept', content: { answer: 'Ada' } });
    expect(asked).toEqual([{ method: 'elicitation/create', params: expect.objectContaining({ message: 'Who are you?' }) }]);

    const probeAnswer = await post(url, tokens.project, { jsonrpc: '2.0', id: 'server-discover-probe-1', method: 'server/discover', params: { _meta: ENVELOPE } }, probeHeaders);
    expect(probeAnswer.status).toBe(400);
    expect(JSON.parse(probeAnswer.body)).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Bad Request: No valid session ID provided' } });
  });

  it('a client pinned to 2026-07-28 does not fall back: ERA_NEGOTIATION_FAILED', async () => {
    const client = new Client({ name: 'era-test-v2', version: '2.4.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    const error = await client.connect(new StreamableHTTPClientTransport(new URL(cloud.mcpUrl), bearer(tokens.root))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SdkError);
    expect(error).toMatchObject({
      code: SdkErrorCode.EraNegotiationFailed,
      message: 'Version negotiation failed: the server did not offer pinned protocol version 2026-07-28 via server/discover (no fallback in pin mode)',
    });
  });
});

describe('(a)+(b) both eras on the dual server at once', () => {
  it('both eras at once on one URL, each classified per request', async () => {
    const [modern, legacy] = await Promise.all([connectV2(cloud.dualMcpUrl, tokens.dual), connectV1(cloud.dualMcpUrl, tokens.dual)]);
    const [a, b] = await Promise.all([
      modern.client.callTool({ name: 'echo', arguments: { text: 'modern' } }),
      legacy.client.callTool({ name: 'echo', arguments: { text: 'legacy' } }),
    ]);
    expect([textOf(a), textOf(b)]).toEqual(['modern', 'legacy']);
    expect(modern.client.getProtocolEra()).toBe('modern');
  });
});
