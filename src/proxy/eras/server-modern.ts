// The 2026-07-28 server codec, for a 2025 client in front of a stateless server. The client's
// `initialize` is answered here from what `server/discover` said; from then on each request goes
// out in the modern form: the client's capabilities and info (from its initialize) and its log level
// (from logging/setLevel) in `params._meta`, and the headers derived from the message (headers.ts).
// What the modern era dropped is played here: `ping` and `logging/setLevel` are answered locally,
// an `input_required` result becomes server→client requests (rounds.ts), `notifications/cancelled`
// aborts the HTTP request, and list changes come from a `subscriptions/listen` stream held open for
// the client. Tools whose `x-mcp-header` declarations are invalid are neither listed nor called.
import { cancelledRequestOf, errorLine, ErrorCode, isId, isRequest, notificationLine, resultLine, type JsonRpcId } from '../jsonrpc.js';
import { editNested, editObject } from '../json-text.js';
import type { Frame, MessageExtra, SendOptions } from '../transports/transport.js';
import { initializeResult, type ServerAbout } from './about.js';
import { frameOf, type ClientPort, type CodecContext, type Internal, type ServerCodec } from './codec.js';
import { invalidTool, standardHeaders, ToolHeaders } from './headers.js';
import { envelopeMembers, envelopeObject, MODERN_VERSION, type Envelope } from './modern.js';
import { requestThrough } from './route.js';
import { Rounds } from './rounds.js';

const MAX_TOOL_PAGES = 20;
const LISTEN_RETRY_MS = 1_000;
const MAX_LISTEN_FAILURES = 5;

export class ServerModern implements ServerCodec {
  readonly era = 'modern';
  readonly tools = new ToolHeaders();
  private envelope: Envelope = { protocolVersion: MODERN_VERSION, clientCapabilities: {} };
  private envelopeText = envelopeMembers(this.envelope);
  private readonly rounds: Rounds;
  /** The internal ids of the listen streams, and whether the current one was acknowledged. */
  private readonly listenIds = new Set<JsonRpcId>();
  private acknowledged = false;
  private listening = false;
  private closed = false;

  constructor(private readonly ctx: CodecContext, private readonly port: ClientPort, readonly about: ServerAbout, initializeParams?: unknown) {
    if (initializeParams !== undefined) this.identify(initializeParams);
    this.rounds = new Rounds({ ctx, port, tools: this.tools, modernBody: (line) => this.modernBody(line), refreshTools: () => this.refreshTools() });
  }

  async toServer(frame: Internal, _options?: SendOptions): Promise<void> {
    const m = frame.message;
    if (isRequest(m)) {
      const params = (m.params ?? {}) as Record<string, unknown>;
      switch (m.method) {
        case 'initialize':
          this.identify(params);
          return this.reply(resultLine(m.id, initializeResult(this.about, params.protocolVersion, this.ctx.ownInfo)));
        case 'ping':
          return this.reply(resultLine(m.id, {}));
        case 'logging/setLevel':
          // Carried with every request from now on: without it a modern server sends no logs at all.
          this.envelope.logLevel = typeof params.level === 'string' ? params.level : undefined;
          this.envelopeText = envelopeMembers(this.envelope);
          return this.reply(resultLine(m.id, {}));
        case 'resources/subscribe':
        case 'resources/unsubscribe':
          return this.reply(errorLine(m.id, ErrorCode.MethodNotFound, `Method not found: the server speaks MCP ${MODERN_VERSION}, which has no ${m.method}`));
      }
      const refusal = m.method === 'tools/call' && typeof params.name === 'string' ? this.tools.refusal(params.name) : undefined;
      if (refusal !== undefined) return this.reply(invalidTool(m.id, params.name as string, refusal));
      return this.rounds.run(frame, m);
    }
    if (m.method === undefined) return void this.rounds.answered(m); // the client's answer to one of our requests
    const cancelled = cancelledRequestOf(m);
    if (cancelled !== undefined) return this.rounds.cancel(cancelled);
    if (m.method === 'notifications/initialized') return this.startListening();
    // notifications/roots/list_changed and the like have no 2026-07-28 counterpart: roots are asked
    // for within each request that needs them.
    this.ctx.logger.debug(`${m.method} has no counterpart in protocol ${MODERN_VERSION}; not forwarded`);
  }

  fromServer(frame: Frame, extra: MessageExtra): Frame | undefined {
    const m = frame.message;
    if (extra.relatedRequestId !== undefined && this.listenIds.has(extra.relatedRequestId)) {
      if (m.method === 'notifications/subscriptions/acknowledged') this.acknowledged = true;
      else if (m.method?.startsWith('notifications/') && m.method.endsWith('list_changed')) this.port.deliver(frameOf(notificationLine(m.method)));
      return undefined;
    }
    if (m.method !== undefined && isId(m.id)) {
      this.ctx.logger.warn(`the MCP server at ${this.ctx.host} sent a ${m.method} request, which protocol ${MODERN_VERSION} does not allow; ignored`);
      return undefined;
    }
    return frame; // progress and log notifications go to the client
  }

  /** A stateless ping with the client's envelope. */
  ping(signal: AbortSignal): Promise<unknown> {
    return requestThrough(this.ctx, (f, o) => this.ctx.upstream.send(f, { ...o, headers: standardHeaders(f.message, MODERN_VERSION), signIn: false }), 'ping', { _meta: envelopeObject(this.envelope) }, signal);
  }

  close(): void {
    this.closed = true;
    this.rounds.closeAll();
  }

  /** Holds a `subscriptions/listen` open for the list changes the server can announce. */
  startListening(): void {
    const caps = this.about.capabilities as Record<string, { listChanged?: unknown } | undefined>;
    const filter: Record<string, boolean> = {};
    if (caps.tools?.listChanged) filter.toolsListChanged = true;
    if (caps.prompts?.listChanged) filter.promptsListChanged = true;
    if (caps.resources?.listChanged) filter.resourcesListChanged = true;
    if (this.listening || Object.keys(filter).length === 0) return;
    this.listening = true;
    void this.keepListening(filter);
  }

  private async keepListening(filter: Record<string, boolean>): Promise<void> {
    let failures = 0;
    while (!this.closed && !this.ctx.closing() && failures < MAX_LISTEN_FAILURES) {
      const id = this.ctx.tracker.nextId('listen');
      this.listenIds.add(id);
      this.acknowledged = false;
      const line = this.modernBody(JSON.stringify({ jsonrpc: '2.0', id, method: 'subscriptions/listen', params: { notifications: filter } }));
      try {
        await this.ctx.upstream.send({ line, message: { jsonrpc: '2.0', id, method: 'subscriptions/listen' } }, {
          headers: { 'mcp-protocol-version': MODERN_VERSION, 'mcp-method': 'subscriptions/listen' },
          signIn: false,
          longLived: true,
          onresponse: (f) => (f.message.error && this.ctx.logger.debug(`subscriptions/listen refused: ${f.message.error.message}`), true),
        });
      } catch (err) {
        this.ctx.logger.debug(`the list-change stream from ${this.ctx.host} ended: ${(err as Error).message}`);
      } finally {
        this.listenIds.delete(id);
      }
      failures = this.acknowledged ? 0 : failures + 1;
      await new Promise((resolve) => setTimeout(resolve, LISTEN_RETRY_MS * 2 ** failures).unref());
    }
  }

  private identify(params: unknown): void {
    const p = (params ?? {}) as { capabilities?: unknown; clientInfo?: unknown };
    this.envelope = { protocolVersion: MODERN_VERSION, clientInfo: p.clientInfo, clientCapabilities: p.capabilities ?? {}, logLevel: this.envelope.logLevel };
    this.envelopeText = envelopeMembers(this.envelope);
  }

  private reply(line: string): void {
    this.port.deliver(frameOf(line));
  }

  /** The client's request with the envelope in its `params._meta`. */
  private modernBody(line: string): string {
    return editNested(line, ['params', '_meta'], (text, start) => editObject(text, start, { set: this.envelopeText }));
  }

  /** The `x-mcp-header` declarations, fetched when the server says a call lacked one. */
  private async refreshTools(): Promise<void> {
    let cursor: string | undefined;
    for (let page = 0; page < MAX_TOOL_PAGES; page++) {
      const params = { _meta: envelopeObject(this.envelope), ...(cursor ? { cursor } : {}) };
      const response = await requestThrough(this.ctx, (f, o) => this.ctx.upstream.send(f, { ...o, headers: standardHeaders(f.message, MODERN_VERSION) }), 'tools/list', params);
      const result = response.result as { nextCursor?: unknown } | undefined;
      if (!result) return;
      this.tools.learn(result);
      if (typeof result.nextCursor !== 'string') return;
      cursor = result.nextCursor;
    }
  }
}
