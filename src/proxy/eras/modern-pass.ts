// 2026-07-28 client ⇄ 2026-07-28 server: each message goes on as the bytes it arrived as, with the
// headers the revision requires derived from it (MCP-Protocol-Version from its envelope, Mcp-Method,
// Mcp-Name, and Mcp-Param-* for the arguments a tool declares with `x-mcp-header`, learned from the
// `tools/list` results that pass by, or fetched once when the server says one was missing). Tools
// whose declarations are invalid are taken out of the list and refused (SEP-2243), since the client
// on stdio cannot see the headers to judge them. A result that lacks `resultType` (or, on a cacheable
// result, `ttlMs`/`cacheScope`) gets the default the revision tells a client to assume ("complete";
// SEP-2322: "Client MUST assume resultType complete when not specified"), because toward its own
// client the proxy is a 2026-07-28 server, which MUST include it; a value the server set is kept.
// Cancellation is an aborted POST.
import { textOf } from '../message-bytes.js';
import { editNested, editObject } from '../json-text.js';
import { cancelledRequestOf, isRequest, type JsonRpcMessage } from '../jsonrpc.js';
import type { Frame } from '../transports/transport.js';
import type { ServerAbout } from './about.js';
import { invalidTool, isParamHeaderMismatch, standardHeaders, ToolHeaders } from './headers.js';
import { envelopeOf, META, modernResultMembers, versionOf } from './modern.js';
import { failureLines, requestThrough, type Route, type RouteContext } from './route.js';

const MAX_TOOL_PAGES = 20;

export class ModernPassThrough implements Route {
  readonly name = '2026-07-28 client ⇄ 2026-07-28 server';
  readonly clientEra = 'modern';
  readonly serverEra = 'modern';
  private readonly tools = new ToolHeaders();

  constructor(private readonly ctx: RouteContext, public about: ServerAbout | undefined) {}

  fromClient(frame: Frame): void {
    const m = frame.message;
    if (isRequest(m)) {
      this.first(frame).catch((err: unknown) => this.report(err, m));
      return;
    }
    // A modern client has no server requests to answer, and `initialized` has no place in this era.
    if (m.method === undefined || m.method === 'notifications/initialized') return;
    const cancelled = cancelledRequestOf(m);
    if (cancelled !== undefined) return this.ctx.tracker.cancel(cancelled);
    this.ctx.upstream.send(frame, { headers: standardHeaders(m, versionOf(m)) }).catch((err: unknown) => this.report(err, m));
  }

  async first(frame: Frame): Promise<void> {
    const m = frame.message;
    const name = (m.params as { name?: unknown } | undefined)?.name;
    const refusal = m.method === 'tools/call' && typeof name === 'string' ? this.tools.refusal(name) : undefined;
    if (refusal !== undefined) return this.ctx.toClient(invalidTool(m.id as string | number, name as string, refusal));
    if (!(await this.post(frame, true))) return;
    // The server wants an Mcp-Param-* header for an argument it declared: learn the declarations, once.
    await this.refreshTools(m);
    await this.post(frame, false);
  }

  fromServer(frame: Frame): void {
    this.ctx.toClient(frame.line);
  }

  ping(signal: AbortSignal): Promise<unknown> {
    const meta = { [META.protocolVersion]: '2026-07-28', [META.clientInfo]: this.ctx.ownInfo, [META.clientCapabilities]: {} };
    return requestThrough(this.ctx, (f, o) => this.ctx.upstream.send(f, { ...o, headers: standardHeaders(f.message, '2026-07-28'), signIn: false }), 'ping', { _meta: meta }, signal);
  }

  report(err: unknown, m: JsonRpcMessage): void {
    for (const line of failureLines(this.ctx, err, isRequest(m) ? m.id : undefined)) this.ctx.toClient(line);
  }

  close(): void {}

  /** True when the server refused a call for a missing Mcp-Param-* header that a retry can fix (kept from the client). */
  private async post(frame: Frame, retryable: boolean): Promise<boolean> {
    const m = frame.message;
    let mismatch = false;
    const onresponse = (f: Frame): boolean => {
      if (m.method === 'tools/list') return this.listed(f);
      if (m.method === 'tools/call' && retryable && isParamHeaderMismatch(f.message)) return (mismatch = true);
      return this.completed(f, m.method);
    };
    await this.ctx.upstream.send(frame, { headers: this.tools.headersFor(m, versionOf(m)), onresponse, longLived: m.method === 'subscriptions/listen' });
    return mismatch;
  }

  /** A tools/list result: the declarations learned, the invalid tools taken out, the defaults added. */
  private listed(f: Frame): boolean {
    const result = f.message.result;
    const kept = result ? this.tools.learn(result) : undefined;
    const listedCount = (result as { tools?: unknown[] } | undefined)?.tools?.length;
    // Nothing hidden: the list goes on as its bytes, with only the defaults it lacks.
    if (!kept || kept.length === listedCount) return this.completed(f, 'tools/list');
    for (const [tool, why] of this.tools.hidden) this.ctx.logger.warn(`the MCP server at ${this.ctx.host} lists tool "${tool}" with an invalid x-mcp-header declaration (${why}); hidden`);
    const set = { ...defaultsFor(f, 'tools/list'), tools: JSON.stringify(kept) };
    this.ctx.toClient(editNested(textOf(f.line), ['result'], (text, start) => editObject(text, start, { set })));
    return true;
  }

  /** A result missing what the revision lets a client assume goes on with it added; anything else as it came (false). */
  private completed(f: Frame, method: string | undefined): boolean {
    const set = defaultsFor(f, method);
    if (Object.keys(set).length === 0) return false;
    this.ctx.toClient(editNested(textOf(f.line), ['result'], (text, start) => editObject(text, start, { set })));
    return true;
  }

  private async refreshTools(message: JsonRpcMessage): Promise<void> {
    const envelope = envelopeOf(message) ?? {};
    const meta: Record<string, unknown> = {};
    for (const key of [META.protocolVersion, META.clientInfo, META.clientCapabilities]) if (key in envelope) meta[key] = envelope[key];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_TOOL_PAGES; page++) {
      const response = await requestThrough(this.ctx, (f, o) => this.ctx.upstream.send(f, { ...o, headers: standardHeaders(f.message, versionOf(message)) }), 'tools/list', { _meta: meta, ...(cursor ? { cursor } : {}) });
      const result = response.result as { nextCursor?: unknown } | undefined;
      if (!result) return;
      this.tools.learn(result);
      if (typeof result.nextCursor !== 'string') return;
      cursor = result.nextCursor;
    }
  }
}

/** The members a result lacks that a 2026-07-28 client must see (none for an error or a non-object result). */
function defaultsFor(f: Frame, method: string | undefined): Record<string, string> {
  const result = f.message.result;
  if (!result || typeof result !== 'object' || Array.isArray(result)) return {};
  return modernResultMembers(method, (key) => key in result);
}
