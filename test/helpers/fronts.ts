// Small servers on 127.0.0.1 for `doctor` tests: a front that relays to an origin but lies about
// the time (its `Date` header is skewed), and a server that accepts connections and never answers.
import { createServer, request, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { close, listen } from '../cloud/http-server.js';

export interface Front {
  url: string;
  close(): Promise<void>;
}

/**
 * A reverse proxy in front of `origin` whose responses carry a `Date` header `skewMs` off the real
 * time. The origin's own address is rewritten to the front's in headers and bodies, so that the
 * server's metadata (the challenge's resource_metadata, the PRM's resource) names the front, and
 * discovery through it stays consistent.
 */
export async function startSkewedFront(origin: string, skewMs: number): Promise<Front> {
  const target = new URL(origin);
  let front = '';
  const server: Server = createServer((req, res) => {
    const upstream = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host } }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => {
        const body = Buffer.from(Buffer.concat(chunks).toString('utf8').split(target.origin).join(front));
        const headers: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(r.headers)) {
          if (value === undefined || name === 'content-length' || name === 'transfer-encoding' || name === 'date') continue;
          headers[name] = Array.isArray(value) ? value.map((v) => v.split(target.origin).join(front)) : value.split(target.origin).join(front);
        }
        headers.date = new Date(Date.now() + skewMs).toUTCString();
        headers['content-length'] = String(body.length);
        res.sendDate = false;
        res.writeHead(r.statusCode ?? 502, headers).end(body);
      });
      r.on('error', () => res.destroy());
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  const port = await listen(server);
  front = `http://127.0.0.1:${port}`;
  return { url: `${front}/`, close: () => close(server) };
}

/** A TCP server that accepts connections and never says a word (a hung server, or a hung D-Bus). */
export async function startSilentServer(path?: string): Promise<Front & { port?: number }> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => (path ? server.listen(path, resolve) : server.listen(0, '127.0.0.1', resolve)));
  const port = path ? undefined : (server.address() as AddressInfo).port;
  return {
    url: port ? `http://127.0.0.1:${port}/` : `unix:path=${path}`,
    port,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
