// A client's loopback redirect URI (RFC 8252 §7.3) for tests that play the OAuth client by hand:
// the first request to it is the authorization response, answered with the page completeSignIn
// waits for (`#result`).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LoopbackCallback {
  redirectUri: string;
  /** The URL the browser came back to. */
  received: Promise<URL>;
  close(): void;
}

export async function loopbackCallback(): Promise<LoopbackCallback> {
  let resolve!: (url: URL) => void;
  const received = new Promise<URL>((r) => { resolve = r; });
  const listener = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html', connection: 'close' }).end('<h1 id="result" data-ok="true">signed in</h1>');
    resolve(new URL(req.url!, `http://${req.headers.host}`));
  });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  return {
    redirectUri: `http://127.0.0.1:${(listener.address() as AddressInfo).port}/callback`,
    received,
    close: () => {
      listener.close();
      listener.closeAllConnections();
    },
  };
}
