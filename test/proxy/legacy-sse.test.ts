// The HTTP+SSE transport against small servers of our own: what a real SDK server would never do.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { close } from '../cloud/http-server.js';
import { INIT_PARAMS, startProxy, TestAuthorizer, type ProxyHarness } from './harness.js';

const servers: Server[] = [];
const proxies: ProxyHarness[] = [];
afterEach(async () => {
  for (const p of proxies.splice(0)) {
    p.stop();
    await p.done;
  }
  await Promise.all(servers.splice(0).map((s) => close(s)));
});

/** POST → 405; GET → an event stream whose endpoint is `endpoint(origin)` (or no event stream at all). */
async function legacyServer(endpoint: ((origin: string) => string) | undefined, seen: string[] = []): Promise<string> {
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
    if (req.method === 'GET' && endpoint) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: endpoint\ndata: ${endpoint(origin)}\n\n`);
      return;
    }
    req.resume();
    res.writeHead(405, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"Method not allowed"}}');
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return `${origin}/sse`;
}

function proxy(url: string): ProxyHarness {
  const p = startProxy({ url, authorizer: new TestAuthorizer('tok-123') });
  proxies.push(p);
  return p;
}

describe('HTTP+SSE fallback', () => {
  it('refuses an endpoint on another origin: the token is never sent there, and the client is told why', async () => {
    const seen: string[] = [];
    const url = await legacyServer(() => 'http://127.0.0.2:9/messages', seen);
    const p = proxy(url);
    p.write({ jsonrpc: '2.0', id: 1, method: 'initialize', params: INIT_PARAMS });
    const answer = await p.waitFor((m) => m.id === 1, 10_000);
    expect(answer.error.message).toMatch(/named an endpoint on another origin \(http:\/\/127\.0\.0\.2:9\); appwrite-mcp sends your sign-in only to http:\/\/127\.0\.0\.1:\d+/);
    // server/discover (refused: not a 2026-07-28 server), the initialize (refused), then the event stream.
    expect(seen).toEqual(['POST /sse Bearer tok-123', 'POST /sse Bearer tok-123', 'GET /sse Bearer tok-123']);
  });

  it('a server that refuses the POST and offers no event stream either: the POST\'s error, one GET tried', async () => {
    const seen: string[] = [];
    const url = await legacyServer(undefined, seen);
    const p = proxy(url);
    p.write({ jsonrpc: '2.0', id: 1, method: 'initialize', params: INIT_PARAMS });
    const answer = await p.waitFor((m) => m.id === 1, 10_000);
    expect(answer.error.message).toMatch(/answered HTTP 405: Method not allowed/);
    expect(seen.filter((s) => s.startsWith('GET'))).toHaveLength(1);
  });
});
