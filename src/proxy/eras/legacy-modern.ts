// 2025 client → 2026-07-28 server. The bridge answered the client's `initialize` from the server's
// `server/discover`; from then on each request goes out in the modern form: the client's
// capabilities and info (from its initialize) and its log level (from logging/setLevel) in
// `params._meta`, and the headers derived from the message. What the modern era dropped is played
// by the bridge: `ping` and `logging/setLevel` are answered here; an `input_required` result becomes
// ordinary server→client requests on stdio (elicitation, sampling, roots) whose answers go back as
// the retried request; `notifications/cancelled` aborts the HTTP request; list changes come from a
// `subscriptions/listen` stream the bridge holds open for the client.
import { randomUUID } from 'node:crypto';
import { AppError, Code } from '../../errors.js';
import { editNested, editObject } from '../json-text.js';
import { textOf } from '../message-bytes.js';
import { errorLine, ErrorCode, isId, isRequest, notificationLine, resultLine, type JsonRpcId, type JsonRpcMessage } from '../jsonrpc.js';
import { initializeResult, type ServerAbout } from './about.js';
import {
  envelopeMembers,
  envelopeObject,
  isParamHeaderMismatch,
  learnParamHeaders,
  modernHeaders,
  MODERN_VERSION,
  type Envelope,
  type ParamHeaders,
} from './modern.js';
import { cancelledRequestOf, reportFailure, type Pairing, type PairingContext } from './pairing.js';

/** As the SDK v2 client: at most this many input rounds for one request. */
const MAX_INPUT_ROUNDS = 10;
const MAX_TOOL_PAGES = 20;
const ASK_PREFIX = 'appwrite-mcp-input-';
const LISTEN_ID_PREFIX = 'appwrite-mcp-listen-';
const LISTEN_RETRY_MS = 1_000;
const MAX_LISTEN_FAILURES = 5;
/** Members of a modern result a 2025 client has no use for. */
const MODERN_RESULT_MEMBERS = ['resultType', 'ttlMs', 'cacheScope'];

interface Flow {
  cancelled: boolean;
  /** Our requests to the client that this request waits on, and how to stop waiting. */
  asking: Map<string, (reason: Error) => void>;
}

export class LegacyToModern implements Pairing {
  readonly name = '2025 client → 2026-07-28 server';
  readonly clientEra = '2025';
  readonly serverEra = 'modern';
  private readonly envelope: Envelope;
  private envelopeText: Record<string, string>;
  private readonly paramHeaders: ParamHeaders = new Map();
  private readonly flows = new Map<JsonRpcId, Flow>();
  /** Our requests to the client (input for the server), by id: where the answer goes. */
  private readonly asked = new Map<string, (response: JsonRpcMessage) => void>();
  private askIds = 0;
  private listening = false;
  private closed = false;

  constructor(private readonly ctx: PairingContext, readonly about: ServerAbout, initializeParams: unknown) {
    const p = (initializeParams ?? {}) as { capabilities?: unknown; clientInfo?: unknown };
    this.envelope = { protocolVersion: MODERN_VERSION, clientInfo: p.clientInfo, clientCapabilities: p.capabilities ?? {} };
    this.envelopeText = envelopeMembers(this.envelope);
  }

  /** The local answer to the client's `initialize`. */
  initializeResponse(id: JsonRpcId, initializeParams: unknown): string {
    const requested = (initializeParams as { protocolVersion?: unknown } | undefined)?.protocolVersion;
    return resultLine(id, initializeResult(this.about, requested, this.ctx.ownInfo));
  }

  receive(line: string, message: JsonRpcMessage | JsonRpcMessage[]): void {
    if (Array.isArray(message)) {
      for (const m of message) this.receive(JSON.stringify(m), m);
      return;
    }
    if (isRequest(message)) {
      this.handle(line, message).catch((err: unknown) => reportFailure(this.ctx, err, message.id));
      return;
    }
    if (message.method === undefined) {
      // The client's answer to one of our requests.
      if (typeof message.id === 'string') this.asked.get(message.id)?.(message);
      return;
    }
    const cancelled = cancelledRequestOf(message);
    if (cancelled !== undefined) return this.cancel(cancelled);
    if (message.method === 'notifications/initialized') return this.startListening();
    // notifications/roots/list_changed and the like have no 2026-07-28 counterpart: roots are asked
    // for within each request that needs them.
    this.ctx.logger.debug(`${message.method} has no counterpart in protocol ${MODERN_VERSION}; not forwarded`);
  }

  async handle(line: string, message: JsonRpcMessage): Promise<void> {
    const id = message.id as JsonRpcId;
    const params = (message.params ?? {}) as Record<string, unknown>;
    switch (message.method) {
      case 'ping':
        return this.ctx.toClient(resultLine(id, {}));
      case 'initialize':
        return this.ctx.toClient(this.initializeResponse(id, params));
      case 'logging/setLevel':
        // Carried with every request from now on: without it a modern server sends no logs at all.
        this.envelope.logLevel = typeof params.level === 'string' ? params.level : undefined;
        this.envelopeText = envelopeMembers(this.envelope);
        return this.ctx.toClient(resultLine(id, {}));
      case 'resources/subscribe':
      case 'resources/unsubscribe':
        return this.ctx.toClient(errorLine(id, ErrorCode.MethodNotFound, `Method not found: the server speaks MCP ${MODERN_VERSION}, which has no ${message.method}`));
    }
    const flow: Flow = { cancelled: false, asking: new Map() };
    this.flows.set(id, flow);
    try {
      await this.run(line, message, flow);
    } finally {
      this.flows.delete(id);
    }
  }

  fromServer(line: string, message: JsonRpcMessage): void {
    if (message.method !== undefined && message.id === undefined) this.ctx.toClient(line);
  }

  close(): void {
    this.closed = true;
    for (const id of [...this.flows.keys()]) this.cancel(id);
  }

  // ── one request, over as many rounds as the server needs ─────────────────────────────────

  private async run(line: string, message: JsonRpcMessage, flow: Flow): Promise<void> {
    let body = this.modernBody(line);
    let rounds = 0;
    let refreshedTools = false;
    for (;;) {
      const answer = await this.post(body, message);
      if (!answer || flow.cancelled) return;
      const m = answer.message;
      if (isParamHeaderMismatch(m) && !refreshedTools && message.method === 'tools/call') {
        refreshedTools = true;
        await this.refreshTools();
        continue;
      }
      const result = m.result as Record<string, unknown> | undefined;
      if (result?.resultType === 'input_required') {
        if (++rounds > MAX_INPUT_ROUNDS) {
          throw new AppError(Code.INPUT_FAILED, `The MCP server at ${this.ctx.host} asked for input ${MAX_INPUT_ROUNDS} times for one request; gave up.`);
        }
        const responses = await this.ask(result.inputRequests, flow);
        if (flow.cancelled) return;
        body = this.modernBody(this.retryBody(line, responses, result.requestState));
        continue;
      }
      if (message.method === 'tools/list' && result) learnParamHeaders(result, this.paramHeaders);
      this.ctx.toClient(result && MODERN_RESULT_MEMBERS.some((k) => k in result) ? legacyResult(answer.line) : answer.line);
      return;
    }
  }

  /** POSTs one round; resolves with the response (kept from the client), undefined when cancelled. */
  private async post(body: string, message: JsonRpcMessage): Promise<{ line: string; message: JsonRpcMessage } | undefined> {
    const id = message.id as JsonRpcId;
    let answer: { line: string; message: JsonRpcMessage } | undefined;
    await this.ctx.upstream.send({
      body,
      requestIds: [id],
      headers: modernHeaders(message, MODERN_VERSION, this.paramHeaders),
      stateless: true,
      observe: (l, m) => {
        if (m.method === undefined) {
          if (m.id === id) answer = { line: textOf(l), message: m };
          return true;
        }
        if (isId(m.id)) {
          this.ctx.logger.warn(`the MCP server at ${this.ctx.host} sent a ${m.method} request, which protocol ${MODERN_VERSION} does not allow; ignored`);
          return true;
        }
        return false; // progress and log notifications go to the client
      },
    });
    return answer;
  }

  /** The client's request with the envelope in its `params._meta`. */
  private modernBody(line: string): string {
    return editNested(line, ['params', '_meta'], (text, start) => editObject(text, start, { set: this.envelopeText }));
  }

  /** The request again, carrying this round's answers and the server's state (echoed exactly). */
  private retryBody(line: string, responses: Record<string, unknown>, requestState: unknown): string {
    const set: Record<string, string> = { inputResponses: JSON.stringify(responses) };
    if (typeof requestState === 'string') set.requestState = JSON.stringify(requestState);
    return editNested(line, ['params'], (text, start) => editObject(text, start, { set, remove: ['requestState'] }));
  }

  /** The `x-mcp-header` declarations, fetched when the server says a call lacked one. */
  private async refreshTools(): Promise<void> {
    let cursor: string | undefined;
    for (let page = 0; page < MAX_TOOL_PAGES; page++) {
      const params = { _meta: envelopeObject(this.envelope), ...(cursor ? { cursor } : {}) };
      const response = await this.ctx.upstream.call('tools/list', params, { headers: { 'mcp-protocol-version': MODERN_VERSION, 'mcp-method': 'tools/list' }, stateless: true });
      const result = response.result as { nextCursor?: unknown } | undefined;
      if (!result) return;
      learnParamHeaders(result, this.paramHeaders);
      if (typeof result.nextCursor !== 'string') return;
      cursor = result.nextCursor;
    }
  }

  // ── input_required → server→client requests on stdio ─────────────────────────────────────

  private async ask(inputRequests: unknown, flow: Flow): Promise<Record<string, unknown>> {
    const entries = Object.entries((inputRequests ?? {}) as Record<string, { method?: unknown; params?: unknown }>);
    const answers = await Promise.all(entries.map(async ([key, request]) => {
      const method = typeof request?.method === 'string' ? request.method : undefined;
      if (!method) throw new AppError(Code.INPUT_FAILED, `The MCP server at ${this.ctx.host} asked for input without saying what ("${key}").`);
      const askId = `${ASK_PREFIX}${++this.askIds}`;
      const response = await new Promise<JsonRpcMessage>((resolve, reject) => {
        this.asked.set(askId, resolve);
        flow.asking.set(askId, reject);
        this.ctx.toClient(JSON.stringify({ jsonrpc: '2.0', id: askId, method, params: legacyInputParams(method, request.params) }));
      }).finally(() => {
        this.asked.delete(askId);
        flow.asking.delete(askId);
      });
      if (response.error) {
        throw new AppError(Code.INPUT_FAILED, `The server asked for ${method} and the client could not answer: ${response.error.message}`);
      }
      return [key, response.result] as const;
    }));
    return Object.fromEntries(answers);
  }

  private cancel(id: JsonRpcId): void {
    const flow = this.flows.get(id);
    if (!flow) return;
    flow.cancelled = true;
    this.ctx.upstream.cancel(id);
    for (const [askId, stop] of flow.asking) {
      this.ctx.toClient(notificationLine('notifications/cancelled', { requestId: askId, reason: 'the request that needed this was cancelled' }));
      stop(new AppError(Code.CANCELLED, 'The request was cancelled.'));
    }
  }

  // ── list changes: one subscriptions/listen stream for the client ─────────────────────────

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
    for (let n = 1; !this.closed && !this.ctx.closing() && failures < MAX_LISTEN_FAILURES; n++) {
      const id = `${LISTEN_ID_PREFIX}${n}`;
      const body = this.modernBody(JSON.stringify({ jsonrpc: '2.0', id, method: 'subscriptions/listen', params: { notifications: filter } }));
      let acknowledged = false;
      try {
        await this.ctx.upstream.send({
          body,
          requestIds: [id],
          headers: { 'mcp-protocol-version': MODERN_VERSION, 'mcp-method': 'subscriptions/listen' },
          stateless: true,
          signIn: false,
          longLived: true,
          observe: (_line, m) => {
            if (m.method === 'notifications/subscriptions/acknowledged') acknowledged = true;
            else if (m.method?.startsWith('notifications/') && m.method.endsWith('list_changed')) this.ctx.toClient(notificationLine(m.method));
            else if (m.method === undefined && m.error) this.ctx.logger.debug(`subscriptions/listen refused: ${m.error.message}`);
            return true;
          },
        });
      } catch (err) {
        this.ctx.logger.debug(`the list-change stream from ${this.ctx.host} ended: ${(err as Error).message}`);
      }
      failures = acknowledged ? 0 : failures + 1;
      await new Promise((resolve) => setTimeout(resolve, LISTEN_RETRY_MS * 2 ** failures).unref());
    }
  }
}

/** A modern result without what a 2025 client has no use for (resultType, cache hints). */
function legacyResult(line: string): string {
  return editNested(line, ['result'], (text, start) => editObject(text, start, { remove: MODERN_RESULT_MEMBERS }));
}

/** An embedded input request's params as a 2025 client expects them. */
function legacyInputParams(method: string, params: unknown): unknown {
  if (method === 'elicitation/create' && (params as { mode?: unknown } | undefined)?.mode === 'url' && !(params as { elicitationId?: unknown }).elicitationId) {
    // 2025-11-25 correlates URL elicitations by id; 2026-07-28 does it with requestState.
    return { ...(params as object), elicitationId: randomUUID() };
  }
  return params;
}
