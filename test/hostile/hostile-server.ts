// A small hostile MCP server and authorization server on one loopback origin, for the hardening
// tests: each behaviour is one thing a malicious or broken server does to a client.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Behaviour {
  /** What the AS metadata says its authorization endpoint is. */
  authorizationEndpoint?: string;
  /** Protected-resource metadata sent one byte every `slowBodyMs`. */
  slowBodyMs?: number;
  /** Protected-resource metadata padded to this many bytes. */
  hugeBodyBytes?: number;
}

export interface HostileServer {
  origin: string;
  mcpUrl: string;
  requests: string[];
  stop(): Promise<void>;
}

export async function startHostileServer(behave: Behaviour): Promise<HostileServer> {
  const requests: string[] = [];
  let origin = '';
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    if (req.url === '/mcp') {
      json(401, { error: 'invalid_token' }, { 'www-authenticate': `Bearer resource_metadata="${origin}/.well-known/oauth-protected-resource/mcp"` });
    } else if (req.url === '/.well-known/oauth-protected-resource/mcp') {
      const doc = JSON.stringify({ resource: `${origin}/mcp`, authorization_servers: [origin] });
      if (behave.hugeBodyBytes) {
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        let sent = 0;
        const pump = () => {
          while (sent < behave.hugeBodyBytes!) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end(doc);
        };
        res.on('close', () => (sent = Infinity));
        pump();
      } else if (behave.slowBodyMs) {
        res.writeHead(200, { 'content-type': 'application/json' });
        let i = 0;
        const timer = setInterval(() => {
          if (i >= doc.length || res.destroyed) {
            clearInterval(timer);
            timers.delete(timer);
            res.end();
            return;
          }
          res.write(doc[i++]);
        }, behave.slowBodyMs);
        timers.add(timer);
      } else {
        json(200, JSON.parse(doc));
      }
    } else if (req.url === '/.well-known/oauth-authorization-server') {
      json(200, {
        issuer: origin,
        authorization_endpoint: behave.authorizationEndpoint ?? `${origin}/authorize`,
        token_endpoint: `${origin}/token`,
        registration_endpoint: `${origin}/register`,
        code_challenge_methods_supported: ['S256'],
        response_types_supported: ['code'],
      });
    } else if (req.url === '/register') {
      json(201, { client_id: 'hostile-client' });
    } else {
      json(404, { error: 'not_found' });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    mcpUrl: `${origin}/mcp`,
    requests,
    stop: () => new Promise<void>((resolve) => {
      for (const t of timers) clearInterval(t);
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
