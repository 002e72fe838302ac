// The floor: a hand-written Streamable HTTP client with no MCP SDK — node:http with keep-alive, the
// SSE response read whole and its `data:` lines parsed. Server time + loopback network + the least a
// client can do. Informational: it shows how much of "direct" is the SDK client itself.
import http from 'node:http';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';

interface JsonRpcResponse { id?: number; result?: unknown; error?: { message: string } }

export class RawClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  private readonly url: URL;
  private readonly headers: Record<string, string>;
  private nextId = 1;
  private sessionId: string | undefined;

  constructor(url: string, token: string) {
    this.url = new URL(url);
    this.headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${token}`,
    };
  }

  async connect(): Promise<void> {
    const init = await this.request('initialize', {
      protocolVersion: LATEST_PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: 'appwrite-mcp-bench-raw', version: '1.0.0' },
    }) as { protocolVersion: string };
    this.headers['mcp-protocol-version'] = init.protocolVersion;
    await this.post(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
  }

  async request(method: string, params: unknown): Promise<unknown> {
    const id = this.nextId++;
    const { body, contentType } = await this.post(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    const messages: JsonRpcResponse[] = contentType.startsWith('text/event-stream')
      ? body.split('\n').filter((l) => l.startsWith('data:')).map((l) => JSON.parse(l.slice(5)) as JsonRpcResponse)
      : [JSON.parse(body) as JsonRpcResponse];
    const response = messages.find((m) => m.id === id);
    if (!response) throw new Error(`no response to ${method} #${id}`);
    if (response.error) throw new Error(`${method} failed: ${response.error.message}`);
    return response.result;
  }

  private post(body: string): Promise<{ body: string; contentType: string }> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...this.headers, 'content-length': String(Buffer.byteLength(body)) };
      if (this.sessionId) headers['mcp-session-id'] = this.sessionId;
      const req = http.request(this.url, { method: 'POST', agent: this.agent, headers }, (res) => {
        const session = res.headers['mcp-session-id'];
        if (typeof session === 'string') this.sessionId = session;
        res.setEncoding('utf8');
        let text = '';
        res.on('data', (chunk: string) => { text += chunk; });
        res.on('end', () => {
          if ((res.statusCode ?? 0) >= 300) reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
          else resolve({ body: text, contentType: String(res.headers['content-type'] ?? '') });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  async close(): Promise<void> {
    if (this.sessionId) {
      await new Promise<void>((resolve) => {
        const req = http.request(this.url, { method: 'DELETE', agent: this.agent, headers: { ...this.headers, 'mcp-session-id': this.sessionId! } }, (res) => { res.resume(); res.on('end', resolve); });
        req.on('error', () => resolve());
        req.end();
      });
    }
    this.agent.destroy();
  }
}
