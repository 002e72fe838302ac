// The MCP resource server: the root layout at `/` (alias `/mcp`), stateless and answering with
// SSE like Appwrite's hosted server, and the stateful per-project layout at `/<projectId>/mcp`
// (sessions, GET stream, DELETE, resumable with Last-Event-ID). Plus RFC 9728 metadata.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { InMemoryEventStore } from '@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import express, { type NextFunction, type Request, type Response } from 'express';
import { challenge, checkBearer, type ResourceBinding } from './bearer.js';
import { close, listen } from './http-server.js';
import { createMcpServer } from './mcp-tools.js';
import { mcpProtectedResourceMetadata } from './protected-resource.js';
import { ADMIN_SCOPE, ALL_MCP_SCOPES, UMBRELLA_SCOPE } from './scopes.js';
import type { CloudStats } from './stats.js';
import type { Tamper } from './tamper.js';

const HEADER_HISTORY = 200;
const MAX_BODY = '64mb'; // echo must carry several MB

export interface McpLayouts {
  root: ResourceBinding;              // served at `/`
  alias: ResourceBinding;             // `/mcp`: same resource, its own metadata URL
  projects: Map<string, ResourceBinding>;
  /** The HTTP+SSE transport of 2024-11-05 only: GET `/legacy/sse` (event stream), POST `/legacy/messages?sessionId=…`. */
  legacy?: ResourceBinding;
}

/** Where the HTTP+SSE-only server lives on this origin. */
export const LEGACY_SSE_PATH = '/legacy/sse';
const LEGACY_MESSAGES_PATH = '/legacy/messages';

interface Session { projectId: string; transport: StreamableHTTPServerTransport; server: McpServer }
type AuthedRequest = Request & { auth?: AuthInfo };

export class McpResourceServer {
  private readonly sessions = new Map<string, Session>();
  private readonly sseSessions = new Map<string, { transport: SSEServerTransport; server: McpServer }>();
  private readonly headers: IncomingHttpHeaders[] = [];

  private constructor(private readonly server: Server, readonly port: number) {}

  static async reserve(): Promise<McpResourceServer> {
    const server = createServer();
    return new McpResourceServer(server, await listen(server));
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  serve(layouts: McpLayouts, stats: CloudStats, tamper: Tamper): void {
    this.server.on('request', this.app(layouts, stats, tamper));
  }

  lastRequestHeaders(): IncomingHttpHeaders[] {
    return [...this.headers];
  }

  dropSessions(): void {
    for (const { transport, server } of this.sessions.values()) {
      void transport.close();
      void server.close();
    }
    this.sessions.clear();
    for (const { transport, server } of this.sseSessions.values()) {
      void transport.close();
      void server.close();
    }
    this.sseSessions.clear();
  }

  async stop(): Promise<void> {
    this.dropSessions();
    await close(this.server);
  }

  /** Stops (dropping every connection and session) and listens again on the same port: a server restart. */
  async restart(): Promise<void> {
    await this.stop();
    await listen(this.server, this.port);
  }

  private app(layouts: McpLayouts, stats: CloudStats, tamper: Tamper): express.Express {
    const app = express();
    const prm = (binding: ResourceBinding) => (_req: Request, res: Response) => {
      res.json(mcpProtectedResourceMetadata(binding, tamper));
    };
    app.get('/.well-known/oauth-protected-resource', prm(layouts.root));
    app.get('/.well-known/oauth-protected-resource/mcp', prm(layouts.alias));
    app.get('/.well-known/oauth-protected-resource/:projectId/mcp', (req, res, next) => {
      const binding = layouts.projects.get(String(req.params.projectId));
      if (binding) prm(binding)(req, res);
      else next();
    });

    const record = (req: Request, _res: Response, next: NextFunction) => {
      stats.mcpRequests++;
      this.headers.push({ ...req.headers });
      if (this.headers.length > HEADER_HISTORY) this.headers.shift();
      next();
    };
    const countPings = (req: Request, _res: Response, next: NextFunction) => {
      for (const m of [req.body].flat()) if ((m as { method?: unknown } | null)?.method === 'ping') stats.mcpPings++;
      next();
    };
    const guard = (binding: (req: Request) => ResourceBinding) => [
      record,
      bearerGuard(binding, stats),
      express.json({ limit: MAX_BODY }),
      countPings,
      adminScopeGuard(binding),
    ];

    app.all('/', ...guard(() => layouts.root), statelessHandler);
    app.all('/mcp', ...guard(() => layouts.alias), statelessHandler);
    const knownProject = (req: Request, res: Response, next: NextFunction) => {
      if (layouts.projects.has(String(req.params.projectId))) next();
      else jsonRpcError(res, 404, -32000, `Unknown project ${req.params.projectId}`);
    };
    const project = (req: Request) => layouts.projects.get(String(req.params.projectId))!;
    app.all('/:projectId/mcp', knownProject, ...guard(project), this.statefulHandler(stats));
    if (layouts.legacy) this.serveLegacySse(app, layouts.legacy, guard);
    return app;
  }

  /** An MCP server that speaks only the HTTP+SSE transport (SDK 1.32's SSEServerTransport), behind the same bearer auth. */
  private serveLegacySse(app: express.Express, binding: ResourceBinding, guard: (binding: (req: Request) => ResourceBinding) => express.RequestHandler[]) {
    const legacy = () => binding;
    app.get(`/.well-known/oauth-protected-resource${LEGACY_SSE_PATH}`, (_req, res) => { res.json(mcpProtectedResourceMetadata(binding, {})); });
    app.get(LEGACY_SSE_PATH, ...guard(legacy), async (_req: AuthedRequest, res: Response) => {
      const server = createMcpServer();
      const transport = new SSEServerTransport(LEGACY_MESSAGES_PATH, res);
      this.sseSessions.set(transport.sessionId, { transport, server });
      res.on('close', () => {
        this.sseSessions.delete(transport.sessionId);
        void server.close();
      });
      await server.connect(transport);
    });
    // What a server of that time answers a Streamable HTTP POST (or DELETE) on its SSE URL.
    app.all(LEGACY_SSE_PATH, ...guard(legacy), (_req: Request, res: Response) => {
      res.set('allow', 'GET');
      jsonRpcError(res, 405, -32000, 'Method not allowed: this server speaks the HTTP+SSE transport (GET for the event stream)');
    });
    app.post(LEGACY_MESSAGES_PATH, ...guard(legacy), async (req: AuthedRequest, res: Response) => {
      const session = this.sseSessions.get(String(req.query.sessionId));
      if (!session) {
        jsonRpcError(res, 404, -32001, 'Session not found');
        return;
      }
      await session.transport.handlePostMessage(req, res, req.body);
    });
  }

  private statefulHandler(stats: CloudStats) {
    return async (req: AuthedRequest, res: Response) => {
      const projectId = String(req.params.projectId);
      const sessionId = req.headers['mcp-session-id'];
      if (typeof sessionId === 'string') {
        const session = this.sessions.get(sessionId);
        if (!session || session.projectId !== projectId) {
          jsonRpcError(res, 404, -32001, 'Session not found');
          return;
        }
        await session.transport.handleRequest(req, res, req.body);
        if (req.method === 'DELETE' && res.statusCode === 200) stats.sessionDeletes++;
        return;
      }
      if (req.method !== 'POST' || !isInitializeRequest(req.body)) {
        jsonRpcError(res, 400, -32000, 'Bad Request: No valid session ID provided');
        return;
      }
      const server = createMcpServer();
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        eventStore: new InMemoryEventStore(),
        onsessioninitialized: (id) => { this.sessions.set(id, { projectId, transport, server }); },
        onsessionclosed: (id) => { this.sessions.delete(id); },
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    };
  }
}

/** Stateless: a fresh server and transport per request, as Appwrite's hosted server does. */
export async function statelessHandler(req: AuthedRequest, res: Response) {
  if (req.method !== 'POST') {
    res.set('allow', 'POST');
    jsonRpcError(res, 405, -32000, 'Method not allowed: this endpoint is stateless');
    return;
  }
  const server = createMcpServer();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: false });
  res.on('close', () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, req.body);
}

export function bearerGuard(binding: (req: Request) => ResourceBinding, stats: CloudStats) {
  return async (req: AuthedRequest, res: Response, next: NextFunction) => {
    const result = await checkBearer(req.headers.authorization, binding(req));
    if (result.ok) {
      req.auth = result.auth;
      next();
      return;
    }
    stats.mcpUnauthorized++;
    res.status(401).set('www-authenticate', result.challenge)
      .json({ error: 'invalid_token', error_description: result.description });
  };
}

/** Step-up: tools/call admin_action without mcp:admin (or Appwrite's umbrella `all`) is refused at the HTTP layer (403). */
export function adminScopeGuard(binding: (req: Request) => ResourceBinding) {
  return (req: AuthedRequest, res: Response, next: NextFunction) => {
    const messages: unknown[] = [req.body].flat();
    const callsAdmin = messages.some((m) => {
      const message = m as { method?: string; params?: { name?: string } } | null;
      return message?.method === 'tools/call' && message.params?.name === 'admin_action';
    });
    if (!callsAdmin || req.auth?.scopes.includes(ADMIN_SCOPE) || req.auth?.scopes.includes(UMBRELLA_SCOPE)) {
      next();
      return;
    }
    const value = challenge(binding(req), 'insufficient_scope', `${ADMIN_SCOPE} is required`, ALL_MCP_SCOPES);
    res.status(403).set('www-authenticate', value)
      .json({ error: 'insufficient_scope', error_description: `${ADMIN_SCOPE} is required` });
  };
}

export function jsonRpcError(res: Response, status: number, code: number, message: string) {
  res.status(status).json({ jsonrpc: '2.0', error: { code, message }, id: null });
}
