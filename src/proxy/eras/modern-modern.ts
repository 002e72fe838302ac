// 2026-07-28 client ⇄ 2026-07-28 server: each message goes on as the text it arrived as, with the
// headers the revision requires derived from it (MCP-Protocol-Version from its envelope, Mcp-Method,
// Mcp-Name, and Mcp-Param-* for the arguments a tool declares with `x-mcp-header`, learned from the
// `tools/list` results that pass by, or fetched once when the server says one was missing).
// Cancellation is an aborted POST; a posted notifications/cancelled would change nothing.
import { isRequest, type JsonRpcId, type JsonRpcMessage } from '../jsonrpc.js';
import type { Line } from '../message-bytes.js';
import type { ServerAbout } from './about.js';
import { envelopeOf, isParamHeaderMismatch, learnParamHeaders, META, modernHeaders, MODERN_VERSION, type ParamHeaders } from './modern.js';
import { cancelledRequestOf, reportFailure, type Pairing, type PairingContext } from './pairing.js';

const MAX_TOOL_PAGES = 20;

export class ModernPassThrough implements Pairing {
  readonly name = '2026-07-28 client ⇄ 2026-07-28 server';
  readonly clientEra = 'modern';
  readonly serverEra = 'modern';
  readonly asIs = true;
  private readonly paramHeaders: ParamHeaders = new Map();

  constructor(private readonly ctx: PairingContext, public about: ServerAbout | undefined) {}

  receive(line: Line, message: JsonRpcMessage | JsonRpcMessage[]): void {
    if (Array.isArray(message)) {
      for (const m of message) this.receive(JSON.stringify(m), m);
      return;
    }
    if (isRequest(message)) {
      this.handle(line, message).catch((err: unknown) => reportFailure(this.ctx, err, message.id));
      return;
    }
    if (message.method === undefined) return; // a modern client has no server requests to answer
    const cancelled = cancelledRequestOf(message);
    if (cancelled !== undefined) {
      this.ctx.upstream.cancel(cancelled);
      return;
    }
    this.ctx.upstream
      .send({ body: line, requestIds: [], headers: modernHeaders(message, versionOf(message)), stateless: true })
      .catch((err: unknown) => reportFailure(this.ctx, err));
  }

  async handle(line: Line, message: JsonRpcMessage): Promise<void> {
    const mismatch = await this.post(line, message, true);
    if (!mismatch) return;
    // The server wants an Mcp-Param-* header for an argument it declared: learn the declarations, once.
    await this.refreshTools(message);
    await this.post(line, message, false);
  }

  fromServer(line: Line): void {
    this.ctx.toClient(line);
  }

  close(): void {}

  /** Resolves with the response when it is a missing-Mcp-Param refusal that a retry can fix (kept from the client). */
  private async post(line: Line, message: JsonRpcMessage, retryable: boolean): Promise<JsonRpcMessage | undefined> {
    const id = message.id as JsonRpcId;
    const method = message.method;
    let held: JsonRpcMessage | undefined;
    const observe = method === 'tools/list'
      ? (_line: Line, m: JsonRpcMessage) => {
        if (m.id === id && m.result) learnParamHeaders(m.result, this.paramHeaders);
        return false;
      }
      : method === 'tools/call' && retryable
        ? (_line: Line, m: JsonRpcMessage) => (m.id === id && isParamHeaderMismatch(m) ? ((held = m), true) : false)
        : undefined;
    await this.ctx.upstream.send({
      body: line,
      requestIds: [id],
      headers: modernHeaders(message, versionOf(message), this.paramHeaders),
      stateless: true,
      observe,
      longLived: method === 'subscriptions/listen',
    });
    return held;
  }

  private async refreshTools(message: JsonRpcMessage): Promise<void> {
    const envelope = envelopeOf(message) ?? {};
    const meta: Record<string, unknown> = {};
    for (const key of [META.protocolVersion, META.clientInfo, META.clientCapabilities]) if (key in envelope) meta[key] = envelope[key];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_TOOL_PAGES; page++) {
      const response = await this.ctx.upstream.call('tools/list', { _meta: meta, ...(cursor ? { cursor } : {}) }, {
        headers: { 'mcp-protocol-version': versionOf(message), 'mcp-method': 'tools/list' },
        stateless: true,
      });
      const result = response.result as { nextCursor?: unknown } | undefined;
      if (!result) return;
      learnParamHeaders(result, this.paramHeaders);
      if (typeof result.nextCursor !== 'string') return;
      cursor = result.nextCursor;
    }
  }
}

function versionOf(message: JsonRpcMessage): string {
  const version = envelopeOf(message)?.[META.protocolVersion];
  return typeof version === 'string' ? version : MODERN_VERSION;
}
