// The 2026-07-28 client codec, for a modern client in front of a 2025 server. Each request goes on
// without the envelope (what it says about the client travels beside it, for the 2025 codec's
// handshake and log level); each result comes back with what the modern client requires
// (`resultType`, cache hints). A server→client request on a request's stream (elicitation, sampling,
// roots) becomes an `input_required` answer to the client's request; the client's retry carries the
// answers, which go to the server as the responses it waits for, and the original request's result
// then answers the retry. `server/discover` and `subscriptions/listen` are answered here (listens.ts).
import { randomBytes } from 'node:crypto';
import { textOf, type Line } from '../message-bytes.js';
import { errorLine, ErrorCode, isId, isRequest, notificationLine, resultLine, type JsonRpcId, type JsonRpcMessage } from '../jsonrpc.js';
import type { Frame, MessageExtra } from '../transports/transport.js';
import { discoverResult } from './about.js';
import { frameOf, type ClientCodec, type CodecContext, type Internal, type ServerPort } from './codec.js';
import { Listens } from './listens.js';
import { identityOf, legacyBody, modernResponse } from './modern.js';

/** How long a request that was answered `input_required` waits for the client's retry. */
const RETRY_WAIT_MS = 10 * 60_000;
const STATE_PREFIX = 'appwrite-mcp/';

/** One client request as the 2025 server sees it: one POST, however many input rounds it takes. */
interface Flow {
  /** The id the server knows: the client's first. */
  upstreamId: JsonRpcId;
  /** The client request waiting for this one's answer; undefined while the client is being asked. */
  clientId: JsonRpcId | undefined;
  method: string;
  /** Server requests not yet put to the client. */
  queue: Array<{ id: JsonRpcId; method: string; params: unknown }>;
  /** The inputRequests key of each request put to the client → the server request's id. */
  asked: Map<string, JsonRpcId>;
  state?: string;
  /** The server's answer (or the send's failure) when it came while the client was being asked. */
  final?: Frame;
  /** The progress token the server knows, and the one the client now waits on. */
  progressFrom?: string | number;
  progressTo?: string | number;
  /** The client asked for log messages (its envelope names a log level). */
  logs: boolean;
  timer?: NodeJS.Timeout;
  scheduled: boolean;
}

export class ClientModern implements ClientCodec {
  readonly era = 'modern';
  private readonly byUpstream = new Map<JsonRpcId, Flow>();
  private readonly byState = new Map<string, Flow>();
  private readonly listens: Listens;

  constructor(private readonly ctx: CodecContext, private readonly port: ServerPort, private readonly write: (line: Line) => void) {
    this.listens = new Listens(port, write);
  }

  fromClient(frame: Frame): Internal | undefined {
    const m = frame.message;
    if (m.method === undefined) return undefined; // a modern client answers no server requests
    const identity = identityOf(m);
    if (!isRequest(m)) {
      const cancelled = m.method === 'notifications/cancelled' ? (m.params as { requestId?: unknown; reason?: unknown } | undefined) : undefined;
      if (cancelled) return void this.cancel(cancelled.requestId, cancelled.reason);
      return { line: legacyBody(textOf(frame.line), m), message: m, identity };
    }
    const params = (m.params ?? {}) as Record<string, unknown>;
    if (m.method === 'server/discover') return void this.discover(m.id, identity);
    if (m.method === 'subscriptions/listen') return void this.listens.open(m.id, params, identity);
    const resumed = typeof params.requestState === 'string' ? this.byState.get(params.requestState) : undefined;
    if (resumed) return void this.resume(resumed, m);
    const progress = (params._meta as { progressToken?: unknown } | undefined)?.progressToken;
    this.byUpstream.set(m.id, {
      upstreamId: m.id,
      clientId: m.id,
      method: m.method,
      queue: [],
      asked: new Map(),
      progressFrom: typeof progress === 'string' || typeof progress === 'number' ? progress : undefined,
      logs: identity.logLevel !== undefined,
      scheduled: false,
    });
    return { line: legacyBody(textOf(frame.line), m), message: m, identity };
  }

  toClient(frame: Frame, extra: MessageExtra): void {
    const m = frame.message;
    const flow = isId(m.id) && m.method === undefined ? this.byUpstream.get(m.id) : extra.relatedRequestId !== undefined ? this.byUpstream.get(extra.relatedRequestId) : undefined;
    if (m.method === undefined) {
      if (!flow) return this.write(frame.line);
      if (flow.clientId === undefined) return void (flow.final = frame);
      this.write(modernResponse(textOf(frame.line), m, flow.clientId, flow.method));
      return this.finish(flow);
    }
    if (isId(m.id)) return this.serverRequest(m as JsonRpcMessage & { id: JsonRpcId; method: string }, flow ?? this.onlyFlow());
    if (!flow) return this.listens.notify(m);
    if (m.method === 'notifications/message' && !flow.logs) return;
    const params = m.params as { progressToken?: unknown } | undefined;
    if (m.method === 'notifications/progress' && flow.progressTo !== undefined && params?.progressToken === flow.progressFrom) {
      return this.write(notificationLine(m.method, { ...params, progressToken: flow.progressTo }));
    }
    this.write(frame.line);
  }

  close(): void {
    for (const flow of new Set([...this.byUpstream.values(), ...this.byState.values()])) clearTimeout(flow.timer);
  }

  private async discover(id: JsonRpcId, identity: ReturnType<typeof identityOf>): Promise<void> {
    await this.port.ready(identity).catch(() => {});
    const about = this.port.serverAbout() ?? { capabilities: {}, serverInfo: this.ctx.ownInfo };
    this.write(resultLine(id, discoverResult(about)));
  }

  /**
   * The flow a server request that came on no request's stream belongs to, when that is not in
   * doubt: the only client request in progress, else the only `tools/call` (an SDK 1.x server sends
   * `server.request()` without a related request on its standalone GET stream).
   */
  private onlyFlow(): Flow | undefined {
    const open = [...this.byUpstream.values()].filter((f) => f.clientId !== undefined);
    if (open.length === 1) return open[0];
    const calls = open.filter((f) => f.method === 'tools/call');
    return calls.length === 1 ? calls[0] : undefined;
  }

  /** A request from the server: within a client request it is put to the client as input; outside one, refused. */
  private serverRequest(m: JsonRpcMessage & { id: JsonRpcId; method: string }, flow: Flow | undefined): void {
    if (m.method === 'ping') return void this.port.send(frameOf(resultLine(m.id, {})));
    if (!flow) {
      // Outside any request there is no one to ask: a 2026-07-28 client takes questions only as answers.
      return void this.port.send(frameOf(errorLine(m.id, ErrorCode.MethodNotFound, `Method not found: the client speaks MCP 2026-07-28 and answers ${m.method} only within one of its requests`)));
    }
    const params = m.params && typeof m.params === 'object' ? { ...(m.params as Record<string, unknown>) } : m.params;
    // The SDK's 2025 shim adds its own progress token to the request; it means nothing to the client.
    if (params && typeof params === 'object') delete (params as Record<string, unknown>)._meta;
    flow.queue.push({ id: m.id, method: m.method, params });
    if (flow.scheduled) return;
    // Server requests that come together (one chunk of the stream) go to the client as one round.
    flow.scheduled = true;
    setImmediate(() => {
      flow.scheduled = false;
      this.putQuestions(flow);
    });
  }

  /** Answers the waiting client request with `input_required` for the queued server requests. */
  private putQuestions(flow: Flow): void {
    if (flow.clientId === undefined || flow.queue.length === 0) return;
    const inputRequests: Record<string, unknown> = {};
    for (const request of flow.queue) {
      const key = `${request.method}#${String(request.id)}`;
      inputRequests[key] = request.params === undefined ? { method: request.method } : { method: request.method, params: request.params };
      flow.asked.set(key, request.id);
    }
    flow.queue = [];
    flow.state = `${STATE_PREFIX}${randomBytes(12).toString('base64url')}`;
    this.byState.set(flow.state, flow);
    const clientId = flow.clientId;
    flow.clientId = undefined;
    this.write(resultLine(clientId, { resultType: 'input_required', inputRequests, requestState: flow.state }));
    flow.timer = setTimeout(() => this.abandon(flow), RETRY_WAIT_MS);
    flow.timer.unref();
  }

  /** The client's retry: its answers go to the server; the request's result will answer the retry. */
  private resume(flow: Flow, retry: JsonRpcMessage & { id: JsonRpcId }): void {
    clearTimeout(flow.timer);
    this.byState.delete(flow.state!);
    const params = retry.params as { inputResponses?: Record<string, unknown>; _meta?: { progressToken?: unknown } };
    flow.clientId = retry.id;
    const progress = params._meta?.progressToken;
    if (typeof progress === 'string' || typeof progress === 'number') flow.progressTo = progress;
    const responses = params.inputResponses ?? {};
    for (const [key, serverId] of flow.asked) {
      const answer = responses[key];
      void this.port.send(frameOf(answer === undefined ? errorLine(serverId, ErrorCode.InvalidRequest, 'The client gave no answer to this request.') : resultLine(serverId, answer)));
    }
    flow.asked.clear();
    const final = flow.final;
    flow.final = undefined;
    if (final) this.toClient(final, {});
    else if (flow.queue.length) this.putQuestions(flow);
  }

  private cancel(clientId: unknown, reason: unknown): void {
    if (!isId(clientId) || this.listens.close(clientId)) return;
    const flow = [...this.byUpstream.values()].find((f) => f.clientId === clientId);
    if (!flow) return;
    this.stop(flow, typeof reason === 'string' ? reason : undefined);
  }

  /** The client never retried: stop the request at the server. */
  private abandon(flow: Flow): void {
    this.ctx.logger.debug(`the client did not come back with the input for request ${String(flow.upstreamId)}; cancelling it`);
    this.stop(flow, 'the client did not answer');
  }

  private stop(flow: Flow, reason: string | undefined): void {
    const params = reason === undefined ? { requestId: flow.upstreamId } : { requestId: flow.upstreamId, reason };
    void this.port.send(frameOf(notificationLine('notifications/cancelled', params)));
    this.finish(flow);
  }

  private finish(flow: Flow): void {
    clearTimeout(flow.timer);
    if (this.byUpstream.get(flow.upstreamId) === flow) this.byUpstream.delete(flow.upstreamId);
    if (flow.state !== undefined && this.byState.get(flow.state) === flow) this.byState.delete(flow.state);
  }
}
