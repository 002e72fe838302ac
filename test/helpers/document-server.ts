// An https server on 127.0.0.1 with the test certificate (issued to 127.0.0.1 and localhost by the
// test CA in test/fixtures), serving one JSON document: a Client ID Metadata Document, say, whose
// content depends on its own URL (its client_id must equal it).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

export const TEST_CA = readFileSync(fileURLToPath(new URL('../fixtures/localhost-cert.pem', import.meta.url)));
const TEST_KEY = readFileSync(fileURLToPath(new URL('../fixtures/localhost-key.pem', import.meta.url)));

export interface DocumentServer {
  /** https://localhost:<port><path> */
  url: string;
  /** Requests served so far ("GET /client.json"). */
  seen: string[];
  close(): Promise<void>;
}

export async function startDocumentServer(path: string, document: (url: string) => unknown): Promise<DocumentServer> {
  const seen: string[] = [];
  let url = '';
  const server = createServer({ cert: TEST_CA, key: TEST_KEY }, (req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.method !== 'GET' || req.url !== path) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' }).end(JSON.stringify(document(url)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://localhost:${(server.address() as AddressInfo).port}${path}`;
  return {
    url,
    seen,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
