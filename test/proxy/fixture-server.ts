// A real MCP server (the SDK's McpServer + StreamableHTTPServerTransport) on 127.0.0.1 for the
// proxy tests, with a bearer check, switchable transport modes, and counters to assert on.
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Request, type Response } from 'express';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

/** stateful: sessions + SSE responses; stateless: no sessions, SSE responses; json: sessions + JSON responses. */
export type FixtureMode = 'stateful' | 'stateless' | 'json';

export interface FixtureOptions {
  mode: FixtureMode;
  /** Accepted bearer tokens. */
  tokens: Iterable<string>;
  /** Tokens that may call `admin_echo`; others get 403 insufficient_scope. */
  adminTokens?: Iterable<string>;
  /** Listen on this port (to bring a stopped server back on the same URL). */
  port?: number;
}

export interface RecordedRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  /** JSON-RPC method(s) in a POST body. */
  rpc?: string;
}

export interface Fixture {
  url: string;
  port: number;
  tokens: Set<string>;
  adminTokens: Set<string>;
  requests: RecordedRequest[];
  deletes: number;
  cancellations: number;
  /** Forget every session: their next request gets 404. */
  dropSessions(): Promise<void>;
  close(): Promise<void>;
}

const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function buildServer(fixture: Fixture): McpServer {
  const server = new McpServer({ name: 'fixture', version: '1.0.0' }, { capabilities: { logging: {} } });
  server.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text: value }) => text(value));
  server.registerTool('admin_echo', { inputSchema: { text: z.string() } }, async ({ text: value }) => text(`admin: ${value}`));
  server.registerTool('progress', { inputSchema: { steps: z.number() } }, async ({ steps }, extra) => {
    const progressToken = extra._meta?.progressToken;
    for (let step = 1; step <= steps; step++) {
      if (progressToken !== undefined) {
        await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: step, total: steps } });
      }
      await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', logger: 'fixture', data: `step ${step}` } });
    }
    return text(`done ${steps}`);
  });
  server.registerTool('slow', { inputSchema: { ms: z.number() } }, async ({ ms }, extra) => {
    const aborted = new Promise<'aborted'>((resolve) => extra.signal.addEventListener('abort', () => resolve('aborted')));
    if ((await Promise.race([sleep(ms), aborted])) === 'aborted') {
      fixture.cancellations++;
      return text('cancelled');
    }
    return text(`slept ${ms}`);
  });
  server.registerTool('ask', { inputSchema: { question: z.string() } }, async ({ question }, extra) => {
    const result = await server.server.elicitInput(
      { mode: 'form', message: question, requestedSchema: { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] } },
      { relatedRequestId: extra.requestId },
    );
    return text(`${result.action}: ${String(result.content?.answer)}`);
  });
  return server;
}

export async function startFixture(opts: FixtureOptions): Promise<Fixture> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const app = express();
  app.use(express.json({ limit: '50mb' }));

  const fixture: Fixture = {
    url: '',
    port: 0,
    tokens: new Set(opts.tokens),
    adminTokens: new Set(opts.adminTokens ?? []),
    requests: [],
    deletes: 0,
    cancellations: 0,
    async dropSessions() {
      const transports = [...sessions.values()];
      sessions.clear();
      await Promise.all(transports.map((t) => t.close()));
    },
    async close() {
      await fixture.dropSessions();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };

  const rpcMethods = (body: unknown) => [body].flat().map((m) => (m as { method?: string })?.method).filter(Boolean).join(',');
  const callsAdminTool = (body: unknown) =>
    [body].flat().some((m) => (m as { method?: string; params?: { name?: string } })?.method === 'tools/call' && (m as { params: { name?: string } }).params.name === 'admin_echo');

  app.all('/mcp', async (req: Request, res: Response) => {
    fixture.requests.push({ method: req.method, headers: { ...req.headers }, rpc: req.method === 'POST' ? rpcMethods(req.body) : undefined });
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token || !fixture.tokens.has(token)) {
      res.status(401)
        .set('WWW-Authenticate', `Bearer realm="fixture", error="invalid_token", error_description="the \\"token\\" is not valid", resource_metadata="${fixture.url.replace('/mcp', '')}/.well-known/oauth-protected-resource/mcp"`)
        .json({ error: 'invalid_token' });
      return;
    }
    if (req.method === 'POST' && callsAdminTool(req.body) && !fixture.adminTokens.has(token)) {
      res.status(403).set('WWW-Authenticate', 'Bearer error="insufficient_scope", scope="mcp:read mcp:admin", error_description="needs admin"').json({ error: 'insufficient_scope' });
      return;
    }
    if (req.method === 'DELETE') fixture.deletes++;

    if (opts.mode === 'stateless') {
      if (req.method !== 'POST') {
        res.status(405).set('Allow', 'POST').end();
        return;
      }
      const server = buildServer(fixture);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => void transport.close().then(() => server.close()));
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
      return;
    }

    const sessionId = req.headers['mcp-session-id'] as string | undefined;
    if (sessionId) {
      const transport = sessions.get(sessionId);
      if (!transport) {
        res.status(404).json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
        return;
      }
      await transport.handleRequest(req, res, req.body);
      return;
    }
    if (req.method !== 'POST') {
      res.status(400).json({ jsonrpc: '2.0', error: { code: -32000, message: 'Bad Request: no session' }, id: null });
      return;
    }
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      enableJsonResponse: opts.mode === 'json',
      onsessioninitialized: (id) => void sessions.set(id, transport),
    });
    transport.onclose = () => {
      if (transport.sessionId && sessions.get(transport.sessionId) === transport) sessions.delete(transport.sessionId);
    };
    await buildServer(fixture).connect(transport);
    await transport.handleRequest(req, res, req.body);
  });

  const http: Server = await new Promise((resolve) => {
    const s = app.listen(opts.port ?? 0, '127.0.0.1', () => resolve(s));
  });
  fixture.port = (http.address() as AddressInfo).port;
  fixture.url = `http://127.0.0.1:${fixture.port}/mcp`;
  return fixture;
}
