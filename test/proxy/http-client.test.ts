// The one HTTP layer (src/http/client.ts) against real sockets on loopback: what it re-sends after a
// reset, what it never sends through HTTP(S)_PROXY, how long a silent proxy may hold a request, and
// which address a *.localhost name may reach.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { HttpClient, type HttpResponse } from '../../src/http/client.js';
import { classifyNetworkError } from '../../src/http/network-error.js';
import { loopbackLookup, type Lookup } from '../../src/net.js';
import { PROXIED_HOST, startMappingProxy, startSilentProxy } from './net-fixtures.js';

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const body = (res: HttpResponse) => new Promise<string>((resolve, reject) => {
  let text = '';
  res.body.setEncoding('utf8');
  res.body.on('data', (d: string) => (text += d));
  res.body.once('end', () => resolve(text));
  res.body.once('error', reject);
});

describe('a reset on a reused connection', () => {
  it('a request the server received and ran before resetting is not sent again (it would run twice)', async () => {
    let runs = 0;
    const { url } = await serve((req, res) => {
      if (req.method === 'GET') return void res.end('warm');
      req.resume();
      req.once('end', () => {
        runs++; // the tool ran
        req.socket.resetAndDestroy();
      });
    });
    const http = new HttpClient({});
    cleanups.push(() => http.close());
    expect(await body(await http.request({ method: 'GET', url: new URL(url), headers: {}, timeoutMs: 5_000 }).response)).toBe('warm');
    const call = http.request({ method: 'POST', url: new URL(url), headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"tools/call"}', timeoutMs: 5_000 });
    const err = await call.response.then(() => undefined, (e: unknown) => e);
    expect(classifyNetworkError(err).kind).toBe('reset');
    expect(runs).toBe(1);
  });
});

describe('HTTP(S)_PROXY', () => {
  it('never carries a request to a loopback address, whatever NO_PROXY says', async () => {
    const { url } = await serve((_req, res) => res.end('direct'));
    const relay = await startMappingProxy();
    cleanups.push(() => relay.close());
    const http = new HttpClient({ HTTP_PROXY: relay.url, HTTPS_PROXY: relay.url, NO_PROXY: '' });
    cleanups.push(() => http.close());
    for (const target of [url, url.replace('127.0.0.1', 'localhost')]) {
      expect(await body(await http.request({ method: 'GET', url: new URL(target), headers: {}, timeoutMs: 5_000 }).response)).toBe('direct');
    }
    expect(relay.seen).toEqual([]);
  });

  it('a proxy that never answers CONNECT is bounded by the request\'s timeout (--connect-timeout)', async () => {
    const silent = await startSilentProxy();
    cleanups.push(() => silent.close());
    const http = new HttpClient({ HTTPS_PROXY: silent.url });
    cleanups.push(() => http.close());
    const started = Date.now();
    const err = await http.request({ method: 'POST', url: new URL(`https://${PROXIED_HOST}/mcp`), headers: {}, body: '{}', timeoutMs: 2_000 }).response.then(() => undefined, (e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(classifyNetworkError(err).kind).toBe('timeout');
    expect(silent.seen[0]).toMatch(/^CONNECT mcp\.proxied\.test:443/);
  }, 15_000);
});

describe('*.localhost', () => {
  const resolver = (answers: Record<string, string[]>): Lookup => (hostname, _options, callback) => {
    const found = answers[hostname];
    if (!found) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
    callback(null, found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
  };

  it('is resolved before connecting, and only a loopback address is accepted', async () => {
    const { url } = await serve((_req, res) => res.end('local'));
    const port = new URL(url).port;
    const http = new HttpClient({}, { lookup: resolver({ 'app.localhost': ['127.0.0.1'], 'evil.localhost': ['93.184.216.34', '127.0.0.1'], 'far.localhost': ['10.1.2.3'] }) });
    cleanups.push(() => http.close());
    expect(await body(await http.request({ method: 'GET', url: new URL(`http://app.localhost:${port}/`), headers: {}, timeoutMs: 5_000 }).response)).toBe('local');
    // Several addresses: only the loopback one is ever used.
    expect(await body(await http.request({ method: 'GET', url: new URL(`http://evil.localhost:${port}/`), headers: {}, timeoutMs: 5_000 }).response)).toBe('local');
    const err = await http.request({ method: 'GET', url: new URL(`http://far.localhost:${port}/`), headers: {}, timeoutMs: 5_000 }).response.then(() => undefined, (e: Error) => e);
    expect((err as NodeJS.ErrnoException).code).toBe('ENOTLOOPBACK');
    expect((err as Error).message).toMatch(/far\.localhost resolves to 10\.1\.2\.3, not to a loopback address/);
  });

  it('loopbackLookup keeps loopback addresses only (single and all)', async () => {
    const lookup = loopbackLookup(resolver({ 'a.localhost': ['::1', '192.168.1.1', '127.0.0.2'] }));
    const one = await new Promise((resolve) => lookup('a.localhost', {}, (err, address, family) => resolve([err, address, family])));
    expect(one).toEqual([null, '::1', 6]);
    const all = await new Promise((resolve) => lookup('a.localhost', { all: true }, (err, address) => resolve([err, address])));
    expect(all).toEqual([null, [{ address: '::1', family: 6 }, { address: '127.0.0.2', family: 4 }]]);
  });
});
