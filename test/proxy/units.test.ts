import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { proxyApplies, proxySettings } from '../../src/http/env-proxy.js';
import { MessageBytes } from '../../src/proxy/message-bytes.js';
import { scanMessage } from '../../src/proxy/message-scan.js';
import { SseParser, type SseEvent } from '../../src/proxy/transports/sse-parser.js';
import { StdioTransport } from '../../src/proxy/transports/stdio.js';
import { textOf } from '../../src/proxy/message-bytes.js';
import { parseAuthChallenge } from '../../src/authorization.js';
import { INIT_PARAMS, startProxy, TestAuthorizer } from './harness.js';

function parseAll(chunks: string[]): { events: Array<{ type: string; data: string }>; parser: SseParser } {
  const events: Array<{ type: string; data: string }> = [];
  const parser = new SseParser((e: SseEvent) => events.push({ type: e.type, data: e.data instanceof MessageBytes ? e.data.text() : e.data.toString('utf8') }));
  for (const chunk of chunks) parser.push(chunk);
  return { events, parser };
}

describe('SseParser', () => {
  it('joins data lines, handles comments, event names, ids, retry and every line ending, across chunk boundaries', () => {
    const stream = ': keep-alive\r\nevent: message\r\nid: 7\r\nretry: 2500\r\ndata: {"a":\r\ndata: 1}\r\n\r\nevent: other\ndata: x\n\nid: 8\n\ndata:no-space\r\rdata: {"b":2}\n\n';
    const whole = parseAll([stream]);
    for (let size = 1; size <= 7; size++) {
      const chunks = stream.match(new RegExp(`[\\s\\S]{1,${size}}`, 'g'))!;
      expect(parseAll(chunks).events).toEqual(whole.events);
    }
    expect(whole.events).toEqual([
      { type: 'message', data: '{"a":\n1}' },
      { type: 'other', data: 'x' },
      { type: 'message', data: 'no-space' },
      { type: 'message', data: '{"b":2}' },
    ]);
    expect(whole.parser.lastEventId).toBe('8');
    expect(whole.parser.retryMs).toBe(2500);
  });

  it('drops an unterminated event at the end, and parses a multi-megabyte data line in linear time', () => {
    const big = 'x'.repeat(8 * 1024 * 1024);
    const chunks = [`data: ${big.slice(0, 10)}`];
    for (let i = 10; i < big.length; i += 65536) chunks.push(big.slice(i, i + 65536));
    chunks.push('\n\ndata: never dispatched');
    const started = performance.now();
    const { events } = parseAll(chunks);
    expect(performance.now() - started).toBeLessThan(500);
    expect(events).toHaveLength(1);
    expect(events[0]!.data.length).toBe(big.length);
  });

  it('keeps a data line of a megabyte or more in the pieces it arrived in (multi-byte characters split across them too), joined lines by "\n"', () => {
    const big = 'ü€'.repeat(400_000); // 2 MB of UTF-8, chunk boundaries inside characters
    const bytes = Buffer.from(`event: message\ndata: {"a":"${big}"}\ndata: second line\n\ndata: small\n\n`);
    const events: SseEvent[] = [];
    const parser = new SseParser((e) => events.push(e));
    for (let i = 0; i < bytes.length; i += 65_537) parser.push(bytes.subarray(i, i + 65_537));
    expect(events).toHaveLength(2);
    const first = events[0]!.data;
    expect(first).toBeInstanceOf(MessageBytes);
    expect((first as MessageBytes).pieces.length).toBeGreaterThan(10);
    expect((first as MessageBytes).text()).toBe(`{"a":"${big}"}\nsecond line`);
    expect(first.length).toBe(Buffer.byteLength(`{"a":"${big}"}\nsecond line`));
    expect(events[1]!.data).toBeInstanceOf(Buffer);
    expect(events[1]!.data.toString()).toBe('small');
  });

  it('charges each data: line what it took on the wire, and keeps many short lines compact and in order', () => {
    const events: SseEvent[] = [];
    const capped = new SseParser((e) => events.push(e), 5_000);
    capped.push('data:\n'.repeat(900)); // 5,400 bytes on the wire, 899 bytes of data
    expect(capped.oversized).toBe(5_004);
    expect(events).toEqual([]);
    const lines = Array.from({ length: 20_000 }, (_, i) => `l${i}`);
    const { events: joined } = parseAll([lines.map((l) => `data: ${l}\n`).join('') + '\n']);
    expect(joined).toEqual([{ type: 'message', data: lines.join('\n') }]);
  });
});

describe('StdioTransport', () => {
  it('splits lines across chunks (multi-byte characters too), ignores empty lines, and reports EOF', async () => {
    const input = new PassThrough();
    const lines: string[] = [];
    let closed = false;
    const server = new StdioTransport({ input, output: new PassThrough(), logger: silentLogger });
    server.onmessage = (frame) => void lines.push(textOf(frame.line));
    server.onclose = () => (closed = true);
    await server.start();
    const text = '{"jsonrpc":"2.0","method":"a","params":{"t":"héllo"}}\r\n\n{"jsonrpc":"2.0","id":1,"result":{}}\n';
    const bytes = Buffer.from(text);
    for (let i = 0; i < bytes.length; i += 3) input.write(bytes.subarray(i, i + 3));
    input.end();
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toEqual(['{"jsonrpc":"2.0","method":"a","params":{"t":"héllo"}}', '{"jsonrpc":"2.0","id":1,"result":{}}']);
    expect(closed).toBe(true);
  });

  it('queues output behind a slow reader: every line, in order, unbroken', async () => {
    const received: Buffer[] = [];
    const output = new Writable({
      highWaterMark: 16,
      write(chunk, _enc, done) {
        received.push(chunk);
        setTimeout(done, 1);
      },
    });
    const server = new StdioTransport({ input: new PassThrough(), output, logger: silentLogger });
    await server.start();
    for (let i = 0; i < 200; i++) void server.send(JSON.stringify({ jsonrpc: '2.0', method: 'n', params: { i } }));
    await new Promise<void>((resolve) => {
      const check = () => (Buffer.concat(received).toString().split('\n').length > 200 ? resolve() : setTimeout(check, 5));
      check();
    });
    const lines = Buffer.concat(received).toString().split('\n').filter(Boolean);
    expect(lines.map((l) => JSON.parse(l).params.i)).toEqual([...Array(200).keys()]);
  });
});

describe('proxyApplies', () => {
  const url = (u: string) => new URL(u);
  it('follows HTTPS_PROXY / HTTP_PROXY / NO_PROXY like undici EnvHttpProxyAgent', () => {
    expect(proxyApplies(url('https://mcp.appwrite.io/'), proxySettings({}))).toBe(false);
    expect(proxyApplies(url('https://mcp.appwrite.io/'), proxySettings({ HTTPS_PROXY: 'http://p:3128' }))).toBe(true);
    expect(proxyApplies(url('https://mcp.appwrite.io/'), proxySettings({ HTTP_PROXY: 'http://p:3128' }))).toBe(true);
    expect(proxyApplies(url('http://127.0.0.1:9/'), proxySettings({ HTTPS_PROXY: 'http://p:3128' }))).toBe(false);
    expect(proxyApplies(url('https://mcp.appwrite.io/'), proxySettings({ HTTPS_PROXY: 'http://p', NO_PROXY: 'localhost, .appwrite.io' }))).toBe(false);
    expect(proxyApplies(url('https://mcp.appwrite.io/'), proxySettings({ HTTPS_PROXY: 'http://p', NO_PROXY: 'appwrite.io:8443' }))).toBe(true);
    expect(proxyApplies(url('https://mcp.appwrite.io/'), proxySettings({ https_proxy: 'http://p', NO_PROXY: '*' }))).toBe(false);
  });
});

describe('parseAuthChallenge (src/authorization.ts, used by the proxy and discovery)', () => {
  it('reads the Bearer challenge among several schemes, with quoted strings and escapes', () => {
    expect(parseAuthChallenge('Basic realm="a, b", Bearer realm="x", error="insufficient_scope", scope="a b", error_description="say \\"hi\\"", resource_metadata="https://h/.well-known/oauth-protected-resource"')).toEqual({
      error: 'insufficient_scope',
      errorDescription: 'say "hi"',
      scope: 'a b',
      resourceMetadata: 'https://h/.well-known/oauth-protected-resource',
    });
    expect(parseAuthChallenge('Basic realm="x"')).toBeUndefined();
  });
});

describe('scanMessage (the routing view of a large message kept as bytes)', () => {
  const inPieces = (text: string, size: number) => {
    const bytes = Buffer.from(text);
    const pieces: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += size) pieces.push(bytes.subarray(i, i + size));
    return new MessageBytes(pieces);
  };
  // Brackets and escaped quotes inside strings, multi-byte characters, nesting, `id` after `result`.
  const result = { items: Array.from({ length: 300 }, (_, i) => ({ n: i, s: `é"[{${'\\'.repeat(i % 3)}}]"ü`, v: [i, [true, null, { k: '}' }]] })) };
  const id = 'a\\"b';
  const text = ` {"result": ${JSON.stringify(result)} , "jsonrpc":"2.0","id":${JSON.stringify(id)}}\t`;

  it.each([1, 2, 7, 64, 100_000])('finds the members of a message in pieces of %i bytes, and reads result lazily', (size) => {
    const message = scanMessage(inPieces(text, size));
    expect(message?.jsonrpc).toBe('2.0');
    expect(message?.id).toBe('a\\"b');
    expect(message?.result).toEqual(result);
  });

  it('gives up (the text path answers) on what is not one JSON object', () => {
    for (const bad of [text.slice(0, -20), `[${text}]`, `${text}x`, '{"id":1,"result":{"a":[1,2}}', '{"id":1 "result":{}}']) {
      expect(scanMessage(inPieces(bad, 5))).toBeUndefined();
    }
  });
});

describe('SSE resumption', () => {
  it('resumes a POST stream that drops before its response with GET + Last-Event-ID after the retry delay', async () => {
    const seen: Array<{ method: string; lastEventId?: string; at: number }> = [];
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      seen.push({ method: req.method!, lastEventId: req.headers['last-event-id'] as string | undefined, at: Date.now() });
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        if (req.method === 'POST') {
          const id = JSON.parse(body).id;
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write(`id: ev-1\nretry: 100\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"before drop"}}\n\n`);
          setTimeout(() => res.destroy(), 20);
          pendingId = id;
        } else if (req.method === 'GET' && req.headers['last-event-id'] === 'ev-1') {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write(`id: ev-2\ndata: {"jsonrpc":"2.0","id":${JSON.stringify(pendingId)},"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"r","version":"1"}}}\n\n`);
        } else {
          res.writeHead(405).end();
        }
      });
    });
    let pendingId: unknown;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const p = startProxy({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}/mcp`, authorizer: new TestAuthorizer('t-resume-aaaaaaa') });
    try {
      p.write({ jsonrpc: '2.0', id: 'r1', method: 'initialize', params: INIT_PARAMS });
      expect(await p.waitFor((m) => m.id === 'r1')).toMatchObject({ result: { serverInfo: { name: 'r' } } });
      expect(p.messages[0]).toMatchObject({ method: 'notifications/message' });
      const get = seen.find((s) => s.method === 'GET')!;
      expect(get.lastEventId).toBe('ev-1');
      expect(get.at - seen[0]!.at).toBeGreaterThanOrEqual(100);
    } finally {
      p.stop();
      await p.done;
      server.closeAllConnections();
      server.close();
    }
  });
});
