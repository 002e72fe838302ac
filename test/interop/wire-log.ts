// A diagnostic for the conformance harness (CONFORMANCE_WIRE_LOG=1, `npm run conformance --
// --wire-log`): a loopback HTTP forwarder put between the proxy and the scenario's server, which
// writes every exchange (method, path, request headers and body, status, response headers, and
// the response body as it streams) to stderr as one "[wire]" line per event. The proxy is given
// the forwarder's URL instead of the server's, so it only suits scenarios without authorization
// (the protected resource's identifier names the server's own origin).
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const SHOWN = /^(mcp-|accept$|content-type$|authorization$|last-event-id$|dpop)/i;
const MAX_BODY = 2_000;

function headersOf(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (SHOWN.test(k) && v !== undefined) out[k] = k === 'authorization' ? `${String(v).split(' ')[0]} …` : String(v);
  return out;
}

const clip = (s: string) => (s.length > MAX_BODY ? `${s.slice(0, MAX_BODY)}…(${s.length} chars)` : s);

export interface WireLog {
  url: string;
  close(): Promise<void>;
}

/** Starts a forwarder to `target` (an http:// URL); `say` gets one line per event. */
export async function startWireLog(target: string, say: (line: string) => void): Promise<WireLog> {
  const upstream = new URL(target);
  let n = 0;
  const server: Server = createServer((req, res) => {
    const id = ++n;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      say(`[wire] #${id} → ${req.method} ${req.url} ${JSON.stringify(headersOf(req.headers))} ${clip(body.toString('utf8'))}`);
      const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } }, (up) => {
        say(`[wire] #${id} ← ${up.statusCode} ${JSON.stringify(headersOf(up.headers))}`);
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.on('data', (c: Buffer) => {
          say(`[wire] #${id} ← ${clip(c.toString('utf8')).replace(/\n/g, '\\n')}`);
          res.write(c);
        });
        up.on('end', () => res.end());
        up.on('error', () => res.destroy());
      });
      out.on('error', (err) => {
        say(`[wire] #${id} ✗ ${err.message}`);
        res.destroy();
      });
      res.on('close', () => out.destroy());
      out.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
  const { port } = server.address() as AddressInfo;
  const url = new URL(target);
  url.host = `localhost:${port}`;
  return {
    url: url.href,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
