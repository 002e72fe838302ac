// Network stand-ins for the HTTP layer's tests, all on 127.0.0.1: a forward proxy that tunnels
// CONNECT to names of its own (mcp.proxied.test → a local port: the only way a test can reach a
// non-loopback name here), one that accepts connections and never answers, and a TLS front with a
// certificate for mcp.proxied.test.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { tunnel } from '../helpers/relays.js';

export const PROXIED_HOST = 'mcp.proxied.test';
export const PROXIED_CERT = fileURLToPath(new URL('../fixtures/proxied-cert.pem', import.meta.url));
const PROXIED_KEY = fileURLToPath(new URL('../fixtures/proxied-key.pem', import.meta.url));

export interface Stand {
  url: string;
  port: number;
  /** What passed: "CONNECT host:port" for tunnels, the path for a front. */
  seen: string[];
  close(): Promise<void>;
}

async function listen(server: Server | ReturnType<typeof createTcpServer>, url: (port: number) => string, seen: string[], sockets: Set<Socket>): Promise<Stand> {
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: url(port),
    port,
    seen,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** A forward proxy whose tunnels go to `routes[host]` (a local port), or to the named host itself. */
export function startMappingProxy(routes: Record<string, number> = {}): Promise<Stand> {
  const seen: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push(req.url ?? '');
    res.writeHead(502).end();
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    seen.push(`CONNECT ${req.url}`);
    const [host, port] = (req.url ?? '').split(':');
    tunnel(client, head, routes[host!] ? '127.0.0.1' : host!, routes[host!] ?? Number(port));
  });
  return listen(server, (port) => `http://127.0.0.1:${port}`, seen, new Set());
}

/** A "proxy" that accepts the connection, reads the CONNECT and never answers it. */
export function startSilentProxy(): Promise<Stand> {
  const seen: string[] = [];
  const server = createTcpServer((socket) => {
    socket.on('data', (d) => seen.push(d.toString('latin1').split('\r\n')[0]!));
    socket.on('error', () => {});
  });
  return listen(server, (port) => `http://127.0.0.1:${port}`, seen, new Set());
}

/** https://mcp.proxied.test:<port> in front of `origin` (reached only through a mapping proxy). */
export function startProxiedFront(origin: string): Promise<Stand> {
  const seen: string[] = [];
  const server = createTlsServer({ cert: readFileSync(PROXIED_CERT), key: readFileSync(PROXIED_KEY) }, (req, res) => {
    seen.push(req.url ?? '');
    const target = new URL(req.url ?? '/', origin);
    const upstream = request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers: { ...req.headers, host: target.host } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  return listen(server as unknown as Server, (port) => `https://${PROXIED_HOST}:${port}`, seen, new Set());
}
