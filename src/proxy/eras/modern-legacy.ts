// 2026-07-28 client → 2025 server. The bridge ran the 2025 handshake itself (the client's
// capabilities and info from its first request's envelope) and holds the session: the Streamable
// HTTP client re-initializes on a 404 and ends the session with DELETE. Each request goes on without
// the envelope; each result comes back with what the modern client requires (`resultType`, and the
// cache hints on list and read results). A server→client request on a request's stream (elicitation,
// sampling, roots) becomes an `input_required` answer to the client's request; the client's retry
// carries the answers, which go to the server as the responses it waits for, and the original
// request's result then answers the retry. List changes on the GET stream reach the client through
// the `subscriptions/listen` it opened here.
import { randomBytes } from 'node:crypto';
import { editNested, editObject, member, members, topLevel } from '../json-text.js';
import { textOf } from '../message-bytes.js';
import { errorLine, ErrorCode, isId, isRequest, notificationLine, resultLine, type JsonRpcId, type JsonRpcMessage } from '../jsonrpc.js';
import type { ServerAbout } from './about.js';
import { discoverResult, modernResultMembers } from './about.js';
import { ENVELOPE_KEYS, envelopeOf, META } from './modern.js';
import { cancelledRequestOf, reportFailure, type Pairing, type PairingContext } from './pairing.js';

/** How long a request that was answered `input_required` waits for the client's retry. */
const RETRY_WAIT_MS = 10 * 60_000;
const STATE_PREFIX = 'appwrite-mcp/';

interface ServerRequest {
  id: JsonRpcId;
  method: string;
  params: unknown;
}

/** One client request as the 2025 server sees it: one POST, however many input rounds it takes. */
interface Flow {
  /** The id the server knows: the client's first. */
  upstreamId: JsonRpcId;
  /** The client request waiting for this one's answer; undefined while the client is being asked. */
  clientId: JsonRpcId | undefined;
  method: string;
  /** Server requests not yet put to the client. */
  queue: ServerRequest[];
  /** The inputRequests key of each request put to the client → the server request's id. */
  asked: Map<string, JsonRpcId>;
  state?: string;
  /** The server's answer (or the send's failure) when it came while the client was being asked. */
  final?: { line: string; message: JsonRpcMessage };
  failed?: unknown;
  /** The progress token the server knows, and the one the client now waits on. */
  progressFrom?: string | number;
  progressTo?: string | number;
  /** The client asked for log messages (its envelope names a log level). */
  logs: boolean;
  timer?: NodeJS.Timeout;
  scheduled: boolean;
}

interface Listen {
  toolsListChanged?: boolean;
  promptsListChanged?: boolean;
  resourcesListChanged?: boolean;
  resourceSubscriptions?: string[];
}

export class ModernToLegacy implements Pairing {
  readonly name = '2026-07-28 client → 2025 server';
  readonly clientEra = 'modern';
  readonly serverEra = '2025';
  private readonly byClientId = new Map<JsonRpcId, Flow>();
  private readonly byState = new Map<string, Flow>();
  private readonly listens = new Map<JsonRpcId, Listen>();
  private logLevel: string | undefined;

  constructor(private readonly ctx: PairingContext, readonly about: ServerAbout) {}

  receive(line: string, message: JsonRpcMessage | JsonRpcMessage[]): void {
    if (Array.isArray(message)) {
      for (const m of message) this.receive(JSON.stringify(m), m);
      return;
    }
    if (isRequest(message)) {
      this.handle(line, message).catch((err: unknown) => reportFailure(this.ctx, withoutUnanswered(err), message.id));
      return;
    }
    if (message.method === undefined) return; // a modern client answers no server requests
    const cancelled = cancelledRequestOf(message);
    if (cancelled !== undefined) return this.cancel(cancelled, (message.params as { reason?: unknown } | undefined)?.reason);
    this.ctx.upstream.send({ body: legacyBody(line, message), requestIds: [] }).catch((err: unknown) => reportFailure(this.ctx, err));
  }

  async handle(line: string, message: JsonRpcMessage): Promise<void> {
    const id = message.id as JsonRpcId;
    const params = (message.params ?? {}) as Record<string, unknown>;
    if (message.method === 'server/discover') return this.ctx.toClient(resultLine(id, discoverResult(this.about)));
    if (message.method === 'subscriptions/listen') return this.listen(id, params);
    const resumed = typeof params.requestState === 'string' ? this.byState.get(params.requestState) : undefined;
    if (resumed) return this.resume(resumed, message);

    const envelope = envelopeOf(message);
    const logLevel = envelope?.[META.logLevel];
    if (typeof logLevel === 'string') await this.setLogLevel(logLevel);
    const progress = (params._meta as { progressToken?: unknown } | undefined)?.progressToken;
    const flow: Flow = {
      upstreamId: id,
      clientId: id,
      method: message.method!,
      queue: [],
      asked: new Map(),
      progressFrom: typeof progress === 'string' || typeof progress === 'number' ? progress : undefined,
      logs: typeof logLevel === 'string',
      scheduled: false,
    };
    this.byClientId.set(id, flow);
    try {
      await this.ctx.upstream.send({ body: legacyBody(line, message), requestIds: [id], observe: (l, m) => this.observe(flow, textOf(l), m) });
    } catch (err) {
      if (flow.clientId === id && flow.asked.size === 0) throw err; // nothing answered yet: the caller reports it
      if (flow.clientId !== undefined) reportFailure(this.ctx, withoutUnanswered(err), flow.clientId);
      else flow.failed = err;
    } finally {
      if (flow.clientId !== undefined) this.finish(flow);
    }
  }

  fromServer(line: string, message: JsonRpcMessage): void {
    if (isRequest(message)) {
      // Outside any request there is no one to ask: a 2026-07-28 client takes questions only as answers.
      const reply = message.method === 'ping'
        ? resultLine(message.id, {})
        : errorLine(message.id, ErrorCode.MethodNotFound, `Method not found: the client speaks MCP 2026-07-28 and answers ${message.method} only within one of its requests`);
      this.ctx.upstream.send({ body: reply, requestIds: [] }).catch((err: unknown) => this.ctx.logger.debug(`answering ${message.method} failed: ${(err as Error).message}`));
      return;
    }
    if (message.method === undefined) return;
    const uri = (message.params as { uri?: unknown } | undefined)?.uri;
    for (const [id, listen] of this.listens) {
      const wanted =
        (message.method === 'notifications/tools/list_changed' && listen.toolsListChanged) ||
        (message.method === 'notifications/prompts/list_changed' && listen.promptsListChanged) ||
        (message.method === 'notifications/resources/list_changed' && listen.resourcesListChanged) ||
        (message.method === 'notifications/resources/updated' && typeof uri === 'string' && listen.resourceSubscriptions?.includes(uri));
      if (wanted) {
        const params = { ...(message.params as object | undefined), _meta: { [META.subscriptionId]: id } };
        this.ctx.toClient(notificationLine(message.method, params));
      }
    }
  }

  close(): void {
    for (const flow of new Set([...this.byClientId.values(), ...this.byState.values()])) clearTimeout(flow.timer);
  }

  // ── what comes back on a request's stream ────────────────────────────────────────────────

  private observe(flow: Flow, line: string, m: JsonRpcMessage): boolean {
    if (m.method === undefined) {
      if (m.id !== flow.upstreamId) return false;
      if (flow.clientId === undefined) flow.final = { line, message: m };
      else this.ctx.toClient(modernResponse(line, m, flow.clientId, flow.method));
      return true;
    }
    if (isId(m.id)) {
      if (m.method === 'ping') {
        this.ctx.upstream.send({ body: resultLine(m.id, {}), requestIds: [] }).catch(() => {});
        return true;
      }
      const params = m.params && typeof m.params === 'object' ? { ...(m.params as Record<string, unknown>) } : m.params;
      // The SDK's 2025 shim adds its own progress token to the request; it means nothing to the client.
      if (params && typeof params === 'object') delete (params as Record<string, unknown>)._meta;
      flow.queue.push({ id: m.id, method: m.method, params });
      this.scheduleQuestions(flow);
      return true;
    }
    if (m.method === 'notifications/message' && !flow.logs) return true;
    if (m.method === 'notifications/progress' && flow.progressTo !== undefined && flow.progressTo !== flow.progressFrom) {
      const params = m.params as { progressToken?: unknown } | undefined;
      if (params?.progressToken === flow.progressFrom) {
        this.ctx.toClient(notificationLine(m.method, { ...params, progressToken: flow.progressTo }));
        return true;
      }
    }
    this.ctx.toClient(line);
    return true;
  }

  /** Server requests that come together (one chunk of the stream) go to the client as one round. */
  private scheduleQuestions(flow: Flow): void {
    if (flow.scheduled) return;
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
    this.byClientId.delete(clientId);
    flow.clientId = undefined;
    this.ctx.toClient(resultLine(clientId, { resultType: 'input_required', inputRequests, requestState: flow.state }));
    flow.timer = setTimeout(() => this.abandon(flow), RETRY_WAIT_MS);
    flow.timer.unref();
  }

  /** The client's retry: its answers go to the server; the request's result will answer the retry. */
  private resume(flow: Flow, retry: JsonRpcMessage): void {
    clearTimeout(flow.timer);
    this.byState.delete(flow.state!);
    const params = retry.params as { inputResponses?: Record<string, unknown>; _meta?: { progressToken?: unknown } };
    flow.clientId = retry.id as JsonRpcId;
    this.byClientId.set(flow.clientId, flow);
    const progress = params._meta?.progressToken;
    if (typeof progress === 'string' || typeof progress === 'number') flow.progressTo = progress;
    const responses = params.inputResponses ?? {};
    for (const [key, serverId] of flow.asked) {
      const answer = responses[key];
      const body = answer === undefined
        ? errorLine(serverId, ErrorCode.InvalidRequest, 'The client gave no answer to this request.')
        : resultLine(serverId, answer);
      this.ctx.upstream.send({ body, requestIds: [] }).catch((err: unknown) => reportFailure(this.ctx, err));
    }
    flow.asked.clear();
    if (flow.final) {
      this.ctx.toClient(modernResponse(flow.final.line, flow.final.message, flow.clientId, flow.method));
      this.finish(flow);
    } else if (flow.failed !== undefined) {
      reportFailure(this.ctx, withoutUnanswered(flow.failed), flow.clientId);
      this.finish(flow);
    } else if (flow.queue.length) {
      this.scheduleQuestions(flow);
    }
  }

  private cancel(clientId: JsonRpcId, reason: unknown): void {
    if (this.listens.delete(clientId)) return;
    const flow = this.byClientId.get(clientId);
    if (!flow) return;
    const params = typeof reason === 'string' ? { requestId: flow.upstreamId, reason } : { requestId: flow.upstreamId };
    const sent = this.ctx.upstream.send({ body: notificationLine('notifications/cancelled', params), requestIds: [] });
    sent.finally(() => this.ctx.upstream.cancel(flow.upstreamId)).catch(() => {});
    this.finish(flow);
  }

  /** The client never retried: stop the request at the server. */
  private abandon(flow: Flow): void {
    this.ctx.logger.debug(`the client did not come back with the input for request ${String(flow.upstreamId)}; cancelling it`);
    this.ctx.upstream.send({ body: notificationLine('notifications/cancelled', { requestId: flow.upstreamId, reason: 'the client did not answer' }), requestIds: [] }).catch(() => {});
    this.ctx.upstream.cancel(flow.upstreamId);
    this.finish(flow);
  }

  private finish(flow: Flow): void {
    clearTimeout(flow.timer);
    if (flow.clientId !== undefined && this.byClientId.get(flow.clientId) === flow) this.byClientId.delete(flow.clientId);
    if (flow.state !== undefined && this.byState.get(flow.state) === flow) this.byState.delete(flow.state);
  }

  // ── logging and list changes ─────────────────────────────────────────────────────────────

  /** A 2025 session has one log level: set it when a request names another. */
  private async setLogLevel(level: string): Promise<void> {
    if (level === this.logLevel || !this.about.capabilities.logging) return;
    this.logLevel = level;
    try {
      await this.ctx.upstream.call('logging/setLevel', { level });
    } catch (err) {
      this.ctx.logger.debug(`setting the log level at ${this.ctx.host} failed: ${(err as Error).message}`);
    }
  }

  private async listen(id: JsonRpcId, params: Record<string, unknown>): Promise<void> {
    const asked = (params.notifications ?? {}) as Listen;
    const caps = this.about.capabilities as Record<string, { listChanged?: unknown; subscribe?: unknown } | undefined>;
    const honored: Listen = {};
    if (asked.toolsListChanged && caps.tools?.listChanged) honored.toolsListChanged = true;
    if (asked.promptsListChanged && caps.prompts?.listChanged) honored.promptsListChanged = true;
    if (asked.resourcesListChanged && caps.resources?.listChanged) honored.resourcesListChanged = true;
    if (Array.isArray(asked.resourceSubscriptions) && caps.resources?.subscribe) {
      honored.resourceSubscriptions = [];
      for (const uri of asked.resourceSubscriptions) {
        const response = await this.ctx.upstream.call('resources/subscribe', { uri }).catch(() => undefined);
        if (response?.result) honored.resourceSubscriptions.push(uri);
      }
    }
    this.listens.set(id, honored);
    // The request stays open: it is answered only when the subscription ends.
    this.ctx.toClient(notificationLine('notifications/subscriptions/acknowledged', { notifications: honored, _meta: { [META.subscriptionId]: id } }));
  }
}

/** The request without the envelope keys (a 2025 server must not see them) and without stale retry members. */
function legacyBody(line: string, message: JsonRpcMessage): string {
  const params = message.params as Record<string, unknown> | undefined;
  if (!params || (!envelopeOf(message) && !('inputResponses' in params) && !('requestState' in params))) return line;
  return editNested(line, ['params'], (text, start) => {
    const meta = member(text, start, '_meta');
    const rest = meta && text[meta.valueStart] === '{' ? members(text, meta.valueStart).filter((m) => !ENVELOPE_KEYS.includes(m.key)) : undefined;
    if (meta && rest && rest.length > 0) {
      text = editObject(text, meta.valueStart, { remove: ENVELOPE_KEYS });
      return editObject(text, start, { remove: ['inputResponses', 'requestState'] });
    }
    return editObject(text, start, { remove: meta && rest ? ['_meta', 'inputResponses', 'requestState'] : ['inputResponses', 'requestState'] });
  });
}

/** A 2025 response as the modern client must see it: `resultType`, cache hints, the client's id. */
function modernResponse(line: string, m: JsonRpcMessage, clientId: JsonRpcId, method: string): string {
  let out = line;
  const result = m.result;
  if (result && typeof result === 'object' && !Array.isArray(result)) {
    const set = modernResultMembers(method, (key) => key in result);
    if (Object.keys(set).length) out = editNested(out, ['result'], (text, start) => editObject(text, start, { set }));
  }
  if (m.id !== clientId) out = editObject(out, topLevel(out), { set: { id: JSON.stringify(clientId) } });
  return out;
}

/** The failure without the ids of the server's view (the caller knows which client request it answers). */
function withoutUnanswered(err: unknown): unknown {
  if (err && typeof err === 'object' && 'unanswered' in err) (err as { unanswered: JsonRpcId[] }).unanswered = [];
  return err;
}
