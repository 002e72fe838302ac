// The MCP resource servers built with the official SDK v2 (@modelcontextprotocol/server 2.4 and
// /node), on their own port beside the 2025-era one (mcp-server.ts):
//   /modern/mcp  2026-07-28 only: stateless, per request (`createMcpHandler`, `legacy: 'reject'`);
//                a 2025 `initialize` gets 400 and -32022 naming the supported revision.
//   /dual/mcp    both eras: each request is classified as the SDK does (`isLegacyRequest`: body-primary,
//                by the `_meta` envelope, with MCP-Protocol-Version as a cross-check); 2026-07-28
//                requests go to the same strict per-request handler, 2025 traffic to sessions
//                (initialize → Mcp-Session-Id, GET stream, DELETE, server-to-client requests).
// Each is its own protected resource (RFC 9728 metadata at the path-inserted well-known URL) with its
// own issuer on the cloud's AS; Bearer checks and the mcp:admin step-up are the 2025 server's.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { NodeStreamableHTTPServerTransport, toNodeHandler, toWebRequest } from '@modelcontextprotocol/node';
import { createMcpHandler, isInitializeRequest, isLegacyRequest, type McpHttpHandler, type McpServer } from '@modelcontextprotocol/server';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { ResourceBinding } from './bearer.js';
import { close, listen } from './http-server.js';
import { adminScopeGuard, bearerGuard, jsonRpcError } from './mcp-server.js';
import { createMcpServerV2, type SlowRun } from './mcp-tools-v2.js';
import { mcpProtectedResourceMetadata } from './protected-resource.js';
import type { CloudStats } from './stats.js';
import type { Tamper } from './tamper.js';

export type V2ServerName = 'modern' | 'dual';
export type { SlowRun };

const HISTORY = 200;
const MAX_BODY = '64mb'; // echo must carry several MB

export interface V2Layouts {
  modern: ResourceBinding; // served at /modern/mcp
  dual: ResourceBinding;   // served at /dual/mcp
}

/** One HTTP request the v2 servers received (after the Bearer check let it through or not). */
export interface V2Request {
  server: V2ServerName;
  httpMethod: string;
  headers: IncomingHttpHeaders;
  /** The JSON-RPC methods in the body (`response` for a posted response), when it parsed. */
  rpc: string[];
}

interface LegacySession { transport: NodeStreamableHTTPServerTransport; server: McpServer }

export const V2_PATHS: Record<V2ServerName, string> = { modern: '/modern/mcp', dual: '/dual/mcp' };

export class McpResourceServerV2 {
  private readonly sessions = new Map<string, LegacySession>();
  private readonly log: V2Request[] = [];
  private readonly slow: SlowRun[] = [];
  private readonly handlers: McpHttpHandler[] = [];

  private constructor(private readonly server: Server, readonly port: number) {}

  static async reserve(): Promise<McpResourceServerV2> {
    const server = createServer();
    return new McpResourceServerV2(server, await listen(server));
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  url(name: V2ServerName): string {
    return `${this.origin}${V2_PATHS[name]}`;
  }

  serve(layouts: V2Layouts, stats: CloudStats, tamper: Tamper): void {
    this.server.on('request', this.app(layouts, stats, tamper));
  }

  requests(): V2Request[] {
    return [...this.log];
  }

  slowRuns(): SlowRun[] {
    return [...this.slow];
  }

  dropSessions(): void {
    for (const { transport, server } of this.sessions.values()) {
      void transport.close();
      void server.close();
    }
    this.sessions.clear();
  }

  async stop(): Promise<void> {
    this.dropSessions();
    await Promise.all(this.handlers.map((h) => h.close()));
    await close(this.server);
  }

  private factory(name: V2ServerName) {
    const onSlowRun = (run: SlowRun) => {
      this.slow.push(run);
      if (this.slow.length > HISTORY) this.slow.shift();
    };
    return (ctx: Parameters<typeof createMcpServerV2>[1]) => createMcpServerV2({ server: name, onSlowRun }, ctx);
  }

  /** The SDK's per-request 2026-07-28 entry, strict: it serves no 2025 traffic itself. */
  private modernHandler(name: V2ServerName) {
    const handler = createMcpHandler(this.factory(name), { legacy: 'reject' });
    this.handlers.push(handler);
    const node = toNodeHandler(handler);
    return (req: Request, res: Response) => node(req, res, req.body);
  }

  private app(layouts: V2Layouts, stats: CloudStats, tamper: Tamper): express.Express {
    const app = express();
    for (const name of ['modern', 'dual'] as const) {
      app.get(`/.well-known/oauth-protected-resource${V2_PATHS[name]}`, (_req, res) => {
        res.json(mcpProtectedResourceMetadata(layouts[name], tamper));
      });
    }

    const record = (name: V2ServerName) => (req: Request, _res: Response, next: NextFunction) => {
      stats.mcpRequests++;
      this.log.push({ server: name, httpMethod: req.method, headers: { ...req.headers }, rpc: [] });
      if (this.log.length > HISTORY) this.log.shift();
      next();
    };
    const rpcMethods = (req: Request, _res: Response, next: NextFunction) => {
      const entry = this.log.at(-1);
      const messages: unknown[] = req.body === undefined ? [] : [req.body].flat();
      if (entry) {
        entry.rpc = messages.map((m) => {
          const message = m as { method?: unknown } | null;
          return typeof message?.method === 'string' ? message.method : 'response';
        });
      }
      next();
    };
    const guard = (name: V2ServerName) => [
      record(name),
      bearerGuard(() => layouts[name], stats),
      express.json({ limit: MAX_BODY }),
      rpcMethods,
      adminScopeGuard(() => layouts[name]),
    ];

    app.all(V2_PATHS.modern, ...guard('modern'), this.modernHandler('modern'));

    const dualModern = this.modernHandler('dual');
    const dualLegacy = this.legacySessions(stats);
    app.all(V2_PATHS.dual, ...guard('dual'), async (req: Request, res: Response) => {
      // The entry's own classification step, exported: it can never disagree with createMcpHandler.
      const legacy = req.method !== 'POST' || await isLegacyRequest(await toWebRequest(req, req.body), req.body);
      if (legacy) await dualLegacy(req, res);
      else await dualModern(req, res);
    });
    return app;
  }

  /** 2025 sessions, as the per-project layout of the 2025 server serves them. */
  private legacySessions(stats: CloudStats) {
    const factory = this.factory('dual');
    return async (req: Request, res: Response) => {
      const sessionId = req.headers['mcp-session-id'];
      if (typeof sessionId === 'string') {
        const session = this.sessions.get(sessionId);
        if (!session) {
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
      const server = await factory({ era: 'legacy' });
      const transport: NodeStreamableHTTPServerTransport = new NodeStreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        onsessioninitialized: (id) => { this.sessions.set(id, { transport, server }); },
        onsessionclosed: (id) => { this.sessions.delete(id); },
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    };
  }
}
