// What server-everything (and any SDK server with an event store, for clients on 2025-11-25) sends
// first on every SSE response: a priming event, an id and an empty data field, so that the client
// can resume from it (MCP 2025-11-25, Transports, "Resumability and Redelivery"). It carries no
// message: the proxy must deliver nothing for it and must not warn about it.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { INIT_PARAMS, startProxy, TestAuthorizer } from '../proxy/harness.js';

describe('an SSE priming event (id, empty data)', () => {
  it('is no message: nothing delivered for it, no warning, the response after it delivered', async () => {
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        if (req.method !== 'POST') return void res.writeHead(405).end();
        const message = JSON.parse(body) as { id?: unknown; method: string };
        if (message.id === undefined) return void res.writeHead(202).end();
        res.writeHead(200, { 'content-type': 'text/event-stream', 'mcp-session-id': 's-1' });
        // byte for byte what @modelcontextprotocol/sdk 1.32's server writes (webStandardStreamableHttp.js, writePrimingEvent)
        res.write('id: prime-1\ndata: \n\n');
        const result = message.method === 'initialize' ? { protocolVersion: '2025-11-25', capabilities: {}, serverInfo: { name: 'primer', version: '1' } } : {};
        res.end(`event: message\nid: ev-1\ndata: ${JSON.stringify({ result, jsonrpc: '2.0', id: message.id })}\n\n`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const p = startProxy({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}/mcp`, authorizer: new TestAuthorizer() });
    try {
      p.write({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { ...INIT_PARAMS, protocolVersion: '2025-11-25' } });
      expect(await p.waitFor((m) => m.id === 1)).toMatchObject({ result: { serverInfo: { name: 'primer' } } });
      p.write({ jsonrpc: '2.0', method: 'notifications/initialized' });
      p.write({ jsonrpc: '2.0', id: 2, method: 'ping' });
      expect(await p.waitFor((m) => m.id === 2)).toEqual({ result: {}, jsonrpc: '2.0', id: 2 });
      expect(p.messages.map((m) => m.id)).toEqual([1, 2]);
      expect(p.invalidLines).toEqual([]);
      expect(p.logs.filter((l) => /warning|error/.test(l))).toEqual([]);
    } finally {
      p.stop();
      await p.done;
      server.closeAllConnections();
      server.close();
    }
  });
});
