// The proxy against hostile input (issue "Hardening", items 5–8): oversized lines from the client,
// oversized messages and stalled streams from the server, rate limiting, and JSON-RPC batches. The
// built CLI over raw stdio against our own small malicious server on loopback.
import { afterAll, describe, expect, it } from 'vitest';
import { tempConfigDir } from '../helpers/cli.js';
import { handshake, memoryOf, spawnRawProxy, type RawProxy } from '../helpers/raw-stdio.js';
import { startHostileMcpServer, type HostileMcpServer } from './hostile-server.js';

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function setUp(flags: string[] = []): Promise<{ server: HostileMcpServer; p: RawProxy }> {
  const server = await startHostileMcpServer();
  cleanups.push(() => server.stop());
  const config = tempConfigDir();
  cleanups.push(() => config.cleanup());
  const p = spawnRawProxy(['--url', server.url, '--protocol', '2025', ...flags], { APPWRITE_MCP_TOKEN: 'hostile-test-token', APPWRITE_MCP_CONFIG_DIR: config.dir });
  cleanups.push(() => p.close());
  await handshake(p);
  return { server, p };
}

const call = (p: RawProxy, name: string, args: unknown, opts: { id?: string; timeoutMs?: number } = {}) =>
  p.request('tools/call', { name, arguments: args }, { timeoutMs: 20_000, ...opts });
const text = (m: Record<string, any>) => m.result?.content?.[0]?.text;

describe('message size (--max-message-size)', () => {
  it('a 50 MB stdin line is answered with an error naming the size and the flag, memory stays bounded, and the next request is served', async () => {
    const { p } = await setUp();
    const before = memoryOf(p.pid)!.peak;
    const head = Buffer.from('{"jsonrpc":"2.0","id":"big-1","method":"tools/call","params":{"name":"echo","arguments":{"text":"');
    await p.writeRaw(head);
    const chunk = Buffer.alloc(1024 * 1024, 0x78);
    for (let i = 0; i < 50; i++) await p.writeRaw(chunk);
    await p.writeRaw('"}}}\n');
    const error = await p.waitFor((m) => m.id === 'big-1', 20_000);
    expect(error.error.code).toBe(-32600);
    expect(error.error.message).toMatch(/Message too large: the client sent a message of 50(\.\d)? MB, over the limit of 16 MB\. Raise the limit with --max-message-size/);
    expect(error.error.data).toMatchObject({ reason: 'message_too_large', limit: 16 * 1024 * 1024 });
    expect(text(await call(p, 'echo', { text: 'still here' }))).toBe('still here');
    const peak = memoryOf(p.pid)!.peak;
    // Without the cap this line took ~400 MB; with it, at most the 16 MB buffered and its copies.
    expect(peak - before, `peak ${peak >> 20} MB, before ${before >> 20} MB`).toBeLessThan(100 * 1024 * 1024);
    expect(p.lines.filter((m: any) => m.invalid)).toEqual([]);
  }, 60_000);

  it('the id is found at the end of the line too (the SDK writes it last); a line without one gets id null', async () => {
    const { p } = await setUp(['--max-message-size', '1']);
    const big = 'x'.repeat(2 * 1024 * 1024);
    p.write(`{"jsonrpc":"2.0","method":"tools/call","params":{"name":"echo","arguments":{"text":"${big}","id":"nested"}},"id":42}`);
    const error = await p.waitFor((m) => m.id === 42);
    expect(error.error.message).toContain('over the limit of 1 MB');
    p.write(`{"jsonrpc":"2.0","method":"notifications/message","params":{"text":"${big}"}}`);
    const anonymous = await p.waitFor((m) => m.id === null && m.error);
    expect(anonymous.error.data.reason).toBe('message_too_large');
    expect(text(await call(p, 'echo', { text: 'next' }))).toBe('next');
  });

  it('an SSE event over the limit fails its request with a clear error, and the connection is dropped; the next request works', async () => {
    const { p } = await setUp(['--max-message-size', '1']);
    const answer = await call(p, 'huge', { bytes: 3 * 1024 * 1024 }, { id: 'huge-sse' });
    expect(answer.error.code).toBe(-32000);
    expect(answer.error.message).toMatch(/the MCP server at 127\.0\.0\.1:\d+ sent a message of more than 1(\.\d)? MB, over the limit of 1 MB\. Raise the limit with --max-message-size/);
    expect(answer.error.data.reason).toBe('message_too_large');
    const json = await call(p, 'huge_json', { bytes: 3 * 1024 * 1024 }, { id: 'huge-json' });
    expect(json.error.data.reason).toBe('message_too_large');
    expect(text(await call(p, 'echo', { text: 'fine' }))).toBe('fine');
  });

  it('3 million empty data: lines (18 MB on the wire) count as 18 MB and cost memory like it, not 400 MB', async () => {
    const { p } = await setUp();
    const before = memoryOf(p.pid)!.peak;
    const answer = await call(p, 'data_lines', { lines: 3_000_000 }, { id: 'empty-lines', timeoutMs: 30_000 });
    expect(answer.error.data.reason).toBe('message_too_large');
    expect(answer.error.message).toMatch(/sent a message of more than 16(\.\d)? MB, over the limit of 16 MB/);
    const growth = memoryOf(p.pid)!.peak - before;
    expect(growth, `peak grew by ${growth >> 20} MB`).toBeLessThan(60 * 1024 * 1024);
    expect(text(await call(p, 'echo', { text: 'fine' }))).toBe('fine');
  }, 60_000);
});

describe('when initialize fails, the proxy goes with its client', () => {
  async function server(answer: (method: string, id: unknown, res: import('node:http').ServerResponse) => void): Promise<{ url: string; asked: Promise<void> }> {
    const { createServer } = await import('node:http');
    let sawInitialize!: () => void;
    const asked = new Promise<void>((resolve) => (sawInitialize = resolve));
    const s = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const m = body ? JSON.parse(body) : {};
        if (m.method === 'initialize') sawInitialize();
        answer(m.method ?? req.method, m.id ?? null, res);
      });
    });
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => { s.closeAllConnections(); s.close(() => resolve()); }));
    return { url: `http://127.0.0.1:${(s.address() as { port: number }).port}/mcp`, asked };
  }

  for (const [what, answer] of [
    ['-32601 under HTTP 200 (server/discover refused too)', (method: string, id: unknown, res: import('node:http').ServerResponse) => method === 'server/discover'
      ? res.writeHead(404).end()
      : res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32601, message: `Method not found: ${method}` } }))],
    ['HTTP 500', (_method: string, _id: unknown, res: import('node:http').ServerResponse) => res.writeHead(500).end('broken')],
    ['no answer at all (stdin closes while it waits)', () => {}],
  ] as const) {
    it(`${what}: stdin closes and the process is gone within 1.5 s`, async () => {
      const config = tempConfigDir();
      cleanups.push(() => config.cleanup());
      const { url, asked } = await server(answer);
      const p = spawnRawProxy(['--url', url, ...(what.startsWith('no answer') ? ['--protocol', '2025'] : [])], { APPWRITE_MCP_TOKEN: 'hostile-test-token', APPWRITE_MCP_CONFIG_DIR: config.dir });
      cleanups.push(() => p.close());
      p.write({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } });
      await asked;
      if (!what.startsWith('no answer')) expect((await p.waitFor((m) => m.id === 0, 15_000)).error).toBeDefined();
      const started = Date.now();
      const code = await p.close(5_000);
      expect(Date.now() - started, p.stderr()).toBeLessThan(1_500);
      expect(code).toBe(0);
    });
  }
});

describe('a server that stalls (--idle-timeout)', () => {
  it('a stream that starts and then sends nothing is given up after the idle bound, with an error naming the server, the time and the flag', async () => {
    const { p } = await setUp(['--idle-timeout', '1']);
    const started = Date.now();
    const answer = await call(p, 'stall', {}, { id: 'stalled' });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(answer.error.data.reason).toBe('idle_timeout');
    expect(answer.error.message).toMatch(/The MCP server at 127\.0\.0\.1:\d+ started answering, then sent nothing for 1 s; .*--idle-timeout <seconds>/);
    expect(text(await call(p, 'echo', { text: 'after' }))).toBe('after');
  });

  it('an HTTP error whose body starts and then stalls is reported after the idle bound, not waited on forever', async () => {
    const { p } = await setUp(['--idle-timeout', '1']);
    const started = Date.now();
    const answer = await call(p, 'stall_error', { status: 500 }, { id: 'stalled-error', timeoutMs: 15_000 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(answer.error.code).toBe(-32000);
    expect(answer.error.message).toMatch(/HTTP 500/);
    expect(text(await call(p, 'echo', { text: 'after' }))).toBe('after');
  });

  it('progress resets the bound: a tool that runs past it while reporting progress is answered', async () => {
    const { p } = await setUp(['--idle-timeout', '1']);
    const answer = await call(p, 'trickle', { ms: 2500, every: 300 });
    expect(text(answer)).toBe('done');
  });

  it('--request-timeout bounds the whole answer, progress or not', async () => {
    const { p } = await setUp(['--request-timeout', '1']);
    const answer = await call(p, 'trickle', { ms: 5000, every: 200 });
    expect(answer.error.data.reason).toBe('timeout');
    expect(answer.error.message).toContain('--request-timeout');
  });
});

describe('429 and 503 with Retry-After', () => {
  it('a short Retry-After (seconds, or an HTTP-date) is waited out and the request retried', async () => {
    const { p, server } = await setUp();
    const started = Date.now();
    expect(text(await call(p, 'busy', { status: 429, retryAfter: '1', times: 2, key: 'a' }))).toBe('after 2');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect(server.calls.filter((c) => c === 'tools/call busy')).toHaveLength(3);
    const date = new Date(Date.now() + 2000).toUTCString();
    expect(text(await call(p, 'busy', { status: 503, retryAfter: date, times: 1, key: 'b' }))).toBe('after 1');
  });

  it('a Retry-After too far off (or a third refusal) is an error that says when to retry', async () => {
    const { p, server } = await setUp();
    const started = Date.now();
    const long = await call(p, 'busy', { status: 429, retryAfter: '120', times: 1, key: 'c' });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(long.error.data).toMatchObject({ reason: 'rate_limited', status: 429, retryAfter: 120 });
    expect(long.error.message).toMatch(/is rate-limiting requests \(HTTP 429\).*retry in 120 s \(at \d{4}-\d\d-\d\dT/);
    const unavailable = await call(p, 'busy', { status: 503, retryAfter: '0', times: 5, key: 'd' });
    expect(unavailable.error.data).toMatchObject({ reason: 'unavailable', status: 503 });
    expect(server.calls.filter((c) => c === 'tools/call busy')).toHaveLength(1 + 3);
  });
});

describe('JSON-RPC batches (JSON-RPC 2.0 §6)', () => {
  it('a batch is answered with one array line: one entry per request and per invalid member, none for notifications', async () => {
    const { p } = await setUp();
    p.write([
      { jsonrpc: '2.0', id: 'b1', method: 'tools/call', params: { name: 'echo', arguments: { text: 'one' } } },
      { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'x', progress: 1 } },
      { jsonrpc: '2.0', id: 'b2', method: 'tools/call', params: { name: 'echo_json', arguments: { text: 'two' } } },
      { foo: 'bar' },
      { jsonrpc: '2.0', id: 'b3', method: 7 },
    ]);
    const batch = await p.waitFor((m) => Array.isArray(m));
    expect(batch).toHaveLength(4);
    const byId = new Map<unknown, any>(batch.map((e: any) => [e.id, e]));
    expect(text(byId.get('b1'))).toBe('one');
    expect(text(byId.get('b2'))).toBe('two');
    expect(byId.get('b3').error.code).toBe(-32600);
    expect(batch.filter((e: any) => e.id === null).map((e: any) => e.error.code)).toEqual([-32600]);
    expect(p.lines.filter((m: any) => !Array.isArray(m) && ['b1', 'b2', 'b3'].includes(m.id))).toEqual([]);
  });

  it('an empty batch gets one Invalid Request error; a batch of notifications gets no answer at all', async () => {
    const { p } = await setUp();
    p.write('[]');
    const empty = await p.waitFor((m) => !Array.isArray(m) && m.error && m.id === null);
    expect(empty.error.code).toBe(-32600);
    const count = p.lines.length;
    p.write([{ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'x', progress: 1 } }, { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'x', progress: 2 } }]);
    expect(text(await call(p, 'echo', { text: 'after' }))).toBe('after');
    expect(p.lines.slice(count)).toHaveLength(1);
  });
});
