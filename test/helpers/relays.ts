// Two small relays on 127.0.0.1 for network tests: an HTTP forward proxy (what HTTP_PROXY points
// at) and a TLS-terminating reverse proxy (an https:// front with a self-signed certificate).
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

export const TEST_CERT = fileURLToPath(new URL('../fixtures/localhost-cert.pem', import.meta.url));
const TEST_KEY = fileURLToPath(new URL('../fixtures/localhost-key.pem', import.meta.url));

export interface Relay {
  url: string;
  /** The absolute URLs (forward proxy) or paths (reverse proxy) relayed so far. */
  seen: string[];
  close(): Promise<void>;
}

function relay(target: URL, req: IncomingMessage, res: ServerResponse) {
  const upstream = request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers: { ...req.headers, host: target.host } }, (r) => {
    res.writeHead(r.statusCode ?? 502, r.headers);
    r.pipe(res);
  });
  upstream.on('error', () => res.destroy());
  req.pipe(upstream);
}

async function listen(server: Server, protocol: string, seen: string[]): Promise<Relay> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `${protocol}://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** Answers a CONNECT: a TCP connection to host:port, then bytes both ways until either side ends. */
export function tunnel(client: Socket, head: Buffer, host: string, port: number): void {
  const upstream = connect(port, host, () => {
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  upstream.on('error', () => client.destroy());
  client.on('error', () => upstream.destroy());
}

/**
 * A forward proxy: CONNECT tunnels (what undici's proxy agents use, for http and https targets
 * alike; `seen` gets "CONNECT host:port") and absolute-form requests (RFC 9112 §3.2.2).
 */
export function startForwardProxy(): Promise<Relay> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(req.url ?? '');
    relay(new URL(req.url ?? ''), req, res);
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    seen.push(`CONNECT ${req.url}`);
    const [host, port] = (req.url ?? '').split(':');
    tunnel(client, head, host!, Number(port));
  });
  return listen(server, 'http', seen);
}

/** https://127.0.0.1:<port>/… in front of `origin`, with the self-signed test certificate. */
export function startTlsFront(origin: string): Promise<Relay> {
  const seen: string[] = [];
  const server = createTlsServer({ cert: readFileSync(TEST_CERT), key: readFileSync(TEST_KEY) }, (req, res) => {
    seen.push(req.url ?? '');
    relay(new URL(req.url ?? '/', origin), req, res);
  });
  return listen(server as unknown as Server, 'https', seen);
}
