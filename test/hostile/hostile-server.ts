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
  /** Authorization-server metadata padded to this many bytes. */
  hugeAsMetadataBytes?: number;
  /** Offer the device grant (RFC 8628): what its endpoint, `POST /device`, answers. */
  deviceAuthorization?: Record<string, unknown>;
  /** What the token endpoint, `POST /token`, answers: this HTTP status with an empty body. */
  tokenStatus?: number;
  /** The authorization server its protected-resource metadata names (default: its own origin). */
  authorizationServer?: string;
  /** What the registration endpoint, `POST /register`, answers (default 201 with a client id). */
  registration?: { status: number; body: unknown };
  /** More fields of its protected-resource metadata (scopes_supported, …). */
  resourceMetadata?: Record<string, unknown>;
  /**
   * Sign the user in at once: `/authorize` redirects back with a code, `/token` issues opaque
   * tokens (`expires_in` 3600, a refresh token) and `/userinfo` answers this account.
   */
  account?: Record<string, unknown>;
}

export interface HostileServer {
  origin: string;
  mcpUrl: string;
  requests: string[];
  stop(): Promise<void>;
}

/** A 200 JSON answer: `bytes` of spaces, then `doc` (stops when the client hangs up). */
function padded(res: ServerResponse, bytes: number, doc: string): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  let sent = 0;
  const pump = () => {
    while (sent < bytes) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
    res.end(doc);
  };
  res.on('close', () => (sent = Infinity));
  pump();
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
      const doc = JSON.stringify({ resource: `${origin}/mcp`, authorization_servers: [behave.authorizationServer ?? origin], ...behave.resourceMetadata });
      if (behave.hugeBodyBytes) {
        padded(res, behave.hugeBodyBytes, doc);
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
      const metadata = {
        issuer: origin,
        authorization_endpoint: behave.authorizationEndpoint ?? `${origin}/authorize`,
        token_endpoint: `${origin}/token`,
        registration_endpoint: `${origin}/register`,
        code_challenge_methods_supported: ['S256'],
        response_types_supported: ['code'],
        ...(behave.deviceAuthorization ? { device_authorization_endpoint: `${origin}/device` } : {}),
        ...(behave.account ? { userinfo_endpoint: `${origin}/userinfo` } : {}),
      };
      if (behave.hugeAsMetadataBytes) padded(res, behave.hugeAsMetadataBytes, JSON.stringify(metadata));
      else json(200, metadata);
    } else if (req.url === '/register') {
      if (behave.registration) json(behave.registration.status, behave.registration.body);
      else json(201, { client_id: 'hostile-client' });
    } else if (req.url?.startsWith('/authorize?') && behave.account) {
      const asked = new URL(req.url, origin).searchParams;
      const back = new URL(asked.get('redirect_uri')!);
      back.searchParams.set('code', 'hostile-code');
      back.searchParams.set('state', asked.get('state')!);
      res.writeHead(302, { location: back.href }).end();
    } else if (req.url === '/token' && behave.account) {
      json(200, { access_token: 'hostile-access-token', token_type: 'Bearer', expires_in: 3600, refresh_token: 'hostile-refresh-token' }, { 'cache-control': 'no-store' });
    } else if (req.url === '/userinfo' && behave.account) {
      json(200, behave.account);
    } else if (req.url === '/device' && behave.deviceAuthorization) {
      json(200, behave.deviceAuthorization);
    } else if (req.url === '/token' && behave.tokenStatus) {
      res.writeHead(behave.tokenStatus).end();
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

/**
 * A hostile (or just overloaded) MCP server: stateless Streamable HTTP on 127.0.0.1, no auth. Its
 * tools are the behaviours: `echo` (SSE), `echo_json` (a JSON body), `huge` ({bytes}: one SSE event of
 * that size), `huge_json` ({bytes}: a JSON body of that size), `stall` (starts an SSE answer, then
 * nothing), `stall_error` ({status}: an error status whose body starts, then nothing), `trickle` ({ms, every}: progress every `every` ms for `ms`, then the result), and
 * `busy` ({status, retryAfter, times, key}: answers `status` with that Retry-After `times` times
 * for `key`, then echoes), `data_lines` ({lines}: one SSE event of that many empty `data:` lines,
 * six bytes each).
 */
export interface HostileMcpServer {
  url: string;
  /** JSON-RPC methods (and tool names) of every POST, in order. */
  calls: string[];
  stop(): Promise<void>;
}

export async function startHostileMcpServer(): Promise<HostileMcpServer> {
  const calls: string[] = [];
  const busy = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST' }).end();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let m: any;
      try {
        m = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return void res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } }));
      }
      const name = m.method === 'tools/call' ? m.params?.name : undefined;
      calls.push(name ? `tools/call ${name}` : String(m.method ?? 'response'));
      if (m.id === undefined) return void res.writeHead(202).end();
      const sse = () => res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const event = (message: unknown) => res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
      const answer = (result: unknown) => { sse(); event({ jsonrpc: '2.0', id: m.id, result }); res.end(); };
      const args = m.params?.arguments ?? {};
      if (m.method === 'initialize') {
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
          jsonrpc: '2.0', id: m.id, result: { protocolVersion: m.params?.protocolVersion ?? '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'hostile', version: '1.0.0' } },
        }));
      }
      if (m.method !== 'tools/call') return answer({});
      const text = (value: string) => ({ content: [{ type: 'text', text: value }] });
      switch (name) {
        case 'echo':
          return answer(text(args.text));
        case 'echo_json':
          return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: text(args.text) }));
        case 'huge':
        case 'huge_json': {
          if (name === 'huge') {
            sse();
            res.write(`event: message\ndata: {"jsonrpc":"2.0","id":${JSON.stringify(m.id)},"result":{"content":[{"type":"text","text":"`);
          } else {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.write(`{"jsonrpc":"2.0","id":${JSON.stringify(m.id)},"result":{"content":[{"type":"text","text":"`);
          }
          const chunk = Buffer.alloc(64 * 1024, 0x78);
          let sent = 0;
          const pump = () => {
            while (sent < args.bytes) {
              sent += chunk.length;
              if (!res.write(chunk)) return void res.once('drain', pump);
            }
            res.end(name === 'huge' ? '"}]}}\n\n' : '"}]}}');
          };
          res.on('close', () => (sent = Infinity));
          return pump();
        }
        case 'data_lines': {
          sse();
          const chunk = Buffer.from('data:\n'.repeat(10_000));
          let sent = 0;
          const pump = () => {
            while (sent < args.lines) {
              sent += 10_000;
              if (!res.write(chunk)) return void res.once('drain', pump);
            }
            res.end('\n');
          };
          res.on('close', () => (sent = Infinity));
          return pump();
        }
        case 'stall':
          sse();
          res.write('id: 1\ndata:\n\n'); // a priming event, then nothing
          return;
        case 'stall_error':
          // An error answer whose body starts, then stops coming (the connection stays open).
          res.writeHead(args.status ?? 500, { 'content-type': 'text/plain' });
          res.write('the server broke and');
          return;
        case 'trickle': {
          sse();
          let progress = 0;
          const timer = setInterval(() => {
            progress += args.every;
            if (progress >= args.ms) {
              clearInterval(timer);
              timers.delete(timer);
              event({ jsonrpc: '2.0', id: m.id, result: text('done') });
              return void res.end();
            }
            event({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: m.params?._meta?.progressToken ?? 't', progress } });
          }, args.every);
          timers.add(timer);
          return;
        }
        case 'busy': {
          const seen = busy.get(args.key) ?? 0;
          if (seen < args.times) {
            busy.set(args.key, seen + 1);
            return void res.writeHead(args.status, { 'content-type': 'text/plain', 'retry-after': String(args.retryAfter) }).end('slow down');
          }
          return answer(text(`after ${seen}`));
        }
        default:
          return answer(text('?'));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    calls,
    stop: () => new Promise<void>((resolve) => {
      for (const t of timers) clearInterval(t);
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
