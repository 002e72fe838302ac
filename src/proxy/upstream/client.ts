// A Streamable HTTP client for one MCP endpoint (MCP 2025-06-18 / 2025-11-25, "Transports"; and the
// stateless POSTs of 2026-07-28, which the era adapters in ../eras/ prepare).
// Messages travel as the text the client wrote; the only server message read for its content is
// each response, to know which request it answers (and the initialize result, for its version).
// The session (session.ts), the retries (retry-policy.ts) and the streams (streams.ts) live apart;
// this class tracks which requests wait for which answers and routes what comes back.
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { Authorizer } from '../../authorization.js';
import { Code } from '../../errors.js';
import { headerValue, RequestAbortedError, type HttpCall, type HttpClient, type HttpRequest, type HttpResponse } from '../../http/client.js';
import type { Logger } from '../../log.js';
import { asSingleLine, isId, notificationLine, parseMessage, type JsonRpcId, type JsonRpcMessage } from '../jsonrpc.js';
import { DEFAULT_LIMITS, formatSeconds, type ProxyLimits } from '../limits.js';
import { BYTES_PATH_MIN, MessageBytes, scanMessage, textOf, type Line } from '../message-bytes.js';
import { httpFailure, httpFailureOf, UpstreamError } from './errors.js';
import { sendWithRetries } from './retry-policy.js';
import { Session } from './session.js';
import { discard, isEventStream, readBody, readEventStream, readText, runStandaloneStream, type StreamContext } from './streams.js';
import type { LegacySseConnection } from './legacy-sse.js';

/**
 * How to reach the server: `http` Streamable HTTP only; `sse` the HTTP+SSE transport of 2024-11-05
 * only; `auto` Streamable HTTP, falling back to HTTP+SSE when the server refuses the `initialize`
 * POST with 400/404/405 and answers a GET with an event stream (the spec's backwards compatibility);
 * `sse-first` the other way round (what `auto` does once it has learned that a server speaks HTTP+SSE).
 */
export type TransportChoice = 'auto' | 'http' | 'sse' | 'sse-first';

/** Where the verdict of `auto` is kept across runs (beside the protocol era). */
export interface TransportMemory {
  load(): Promise<'http' | 'sse' | undefined>;
  save(transport: 'http' | 'sse'): Promise<void>;
}

export interface StreamableHttpClientOptions {
  url: string;
  /** Extra headers sent with every request (`--header K:V`). */
  headers?: Record<string, string>;
  authorizer: Authorizer;
  logger: Logger;
  http: HttpClient;
  /** Message size and time bounds (default: DEFAULT_LIMITS). */
  limits?: Partial<ProxyLimits>;
  /**
   * Each server→client message no exchange kept for itself, as one line of JSON (and parsed); a
   * large one as its bytes (see message-bytes.ts).
   */
  onMessage(line: Line, message: JsonRpcMessage): void;
  /** Default `auto`. */
  transport?: TransportChoice;
  transportMemory?: TransportMemory;
}

/** A client message to POST. */
export interface OutgoingMessage {
  /** The exact text the client sent (a large message: its bytes). */
  body: Line;
  /** Ids of the requests in it: the send completes once each has its response. */
  requestIds: JsonRpcId[];
  /** Set for the client's `initialize`: its params, kept for re-initializing an expired session. */
  initializeParams?: unknown;
  /** True for `notifications/initialized`: the standalone GET stream opens after it. */
  initialized?: boolean;
  /** Headers for this POST only (2026-07-28: MCP-Protocol-Version, Mcp-Method, Mcp-Name …). */
  headers?: Record<string, string>;
  /**
   * A 2026-07-28 request: no session, and a 4xx whose JSON body is a JSON-RPC error for it is its
   * answer (routed like any response), not a transport failure.
   */
  stateless?: boolean;
  /** False: a 401/403 is not taken to the authorizer (no sign-in, no waiting); it fails the send. */
  signIn?: boolean;
  /**
   * Sees every message that comes back on this POST (its responses, and the notifications and
   * server requests on its stream); returns true to keep the message from onMessage.
   */
  observe?: (line: Line, message: JsonRpcMessage) => boolean;
  /**
   * A stream that may rightly stay quiet for hours (`subscriptions/listen`): no idle bound and no
   * --request-timeout.
   */
  longLived?: boolean;
}

const DELETE_TIMEOUT_MS = 800;
const INITIALIZED = notificationLine('notifications/initialized');
/** Ids of the requests the proxy makes itself; never reported to the client. */
const INTERNAL_ID_PREFIX = 'appwrite-mcp-';

/** Where the HTTP call in progress is kept, so that it can be dropped. */
interface CallHolder {
  call?: HttpCall;
}

/** One POST and what it waits for. */
interface Exchange extends CallHolder {
  remaining: Set<JsonRpcId>;
  initialize: boolean;
  /** False for the handshake's own messages: a 404 there must not start another re-initialize. */
  renewable: boolean;
  /** Sees each response to this exchange; returns true to keep it from the client. */
  intercept?: (response: JsonRpcMessage) => boolean;
  /** See OutgoingMessage.observe. */
  observe?: OutgoingMessage['observe'];
  headers?: Record<string, string>;
  stateless?: boolean;
  signIn?: boolean;
  cancelled: boolean;
  longLived?: boolean;
  /** When --request-timeout ends this exchange (ms since the epoch). */
  deadline?: number;
  timedOut?: boolean;
  /** Aborts a Retry-After wait. */
  waiting?: AbortController;
  /** HTTP+SSE: called once every request in it has its response. */
  answered?: () => void;
  /** HTTP+SSE: ends the wait for the responses (the stream dropped, or the request was cancelled). */
  abandon?: (err: Error) => void;
}

/** The statuses of a refused `initialize` POST after which `auto` tries HTTP+SSE (MCP 2025-03-26, "Backwards Compatibility"). */
const SSE_FALLBACK_STATUSES = new Set([400, 404, 405]);
/** A 2026-07-28-only server's refusal of a 2025 initialize (-32022): not a transport matter, no fallback. */
const UNSUPPORTED_PROTOCOL_VERSION = -32022;
const SSE_RECONNECT_ATTEMPTS = 5;

export class StreamableHttpClient {
  private readonly url: URL;
  private readonly host: string;
  private readonly postHeaders: Record<string, string>;
  private readonly getHeaders: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly limits: ProxyLimits;
  private readonly session = new Session();
  private readonly pending = new Map<JsonRpcId, Exchange>();
  private readonly openCalls = new Set<HttpCall>();
  /** The GET stream's session; a new object per stream, so that a replaced stream's loop ends. */
  private standaloneSession: { id: string } | undefined;
  private readonly standalone: CallHolder = {};
  private internalIds = 0;
  private closed = false;
  private readonly closing = new AbortController();
  private readonly streams: StreamContext;
  /** The transport in use: undecided until the first exchange looks at the choice and what was learned. */
  private mode: 'http' | 'sse' | undefined;
  /** Whether the other transport may still be tried when this one is refused. */
  private fallback = false;
  private modeDecided: Promise<void> | undefined;
  /** HTTP+SSE: the stream, and the exchanges waiting for responses on it. */
  private sse: LegacySseConnection | undefined;
  private readonly sseHolder: CallHolder = {};
  private readonly sseWaiting = new Set<Exchange>();
  private sseRenewing: Promise<unknown> | undefined;
  /** The stream the fallback's GET opened, not used by a session yet: the initialize takes it. */
  private sseUnused = false;

  constructor(private readonly opts: StreamableHttpClientOptions) {
    this.url = new URL(opts.url);
    this.host = this.url.host;
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.timeoutMs = this.limits.connectTimeoutMs;
    this.postHeaders = { ...opts.headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    this.getHeaders = { ...opts.headers, accept: 'text/event-stream' };
    this.streams = {
      host: this.host,
      logger: opts.logger,
      deliver: (text) => this.deliver(text),
      sleep: (ms) => this.sleep(ms),
      maxMessageBytes: this.limits.maxMessageBytes,
      idleTimeoutMs: this.limits.idleTimeoutMs,
    };
  }

  /**
   * POSTs one client message. Resolves once every request in it has been answered (the responses
   * go to onMessage); rejects with an UpstreamError naming the requests left unanswered.
   */
  async send(message: OutgoingMessage): Promise<void> {
    if (message.initializeParams !== undefined) return this.sendClientInitialize(message);
    await this.session.settled();
    const exchange = this.track(message.requestIds, false);
    if (message.observe || message.headers || message.stateless || message.signIn === false || message.longLived) {
      exchange.observe = message.observe;
      exchange.headers = message.headers;
      exchange.stateless = message.stateless;
      exchange.signIn = message.signIn;
      exchange.longLived = message.longLived;
      if (message.stateless) exchange.renewable = false;
    }
    const timer = this.startDeadline(exchange);
    try {
      await this.exchange(message.body, exchange);
      if (message.initialized) this.openStandaloneStream();
    } catch (err) {
      if (exchange.timedOut) throw this.failure(this.requestTimeout(), exchange);
      if (exchange.cancelled) return;
      throw this.failure(err, exchange);
    } finally {
      clearTimeout(timer);
      this.untrack(exchange);
    }
  }

  /** --request-timeout: the most one request may take to be answered (retries and waits included). */
  private startDeadline(exchange: Exchange): NodeJS.Timeout | undefined {
    const ms = this.limits.requestTimeoutMs;
    if (ms === undefined || exchange.longLived || exchange.remaining.size === 0) return undefined;
    exchange.deadline = Date.now() + ms;
    return setTimeout(() => {
      exchange.timedOut = true;
      exchange.waiting?.abort();
      exchange.call?.abort();
    }, ms);
  }

  private requestTimeout(): UpstreamError {
    return new UpstreamError(Code.UPSTREAM_TIMEOUT, `The MCP server at ${this.host} did not answer within ${formatSeconds(this.limits.requestTimeoutMs!)} (--request-timeout); gave up on the request. Raise the bound with --request-timeout <seconds> in the appwrite-mcp arguments of your client's config.`);
  }

  /**
   * Starts a session with the given initialize params (from the client, when the proxy answered
   * its initialize itself) and sends `notifications/initialized`. Returns the initialize result.
   */
  initialize(params: unknown, opts: { signIn?: boolean } = {}): Promise<Record<string, unknown>> {
    this.session.initializeParams = params;
    return this.session.gate(this.initializeSession(opts.signIn));
  }

  /**
   * A request of the proxy's own (e.g. a probe): POSTs it and resolves with its response, which the
   * client never sees. Messages on its stream other than the response go to onMessage.
   */
  async call(method: string, params: unknown, opts: Pick<OutgoingMessage, 'headers' | 'stateless' | 'signIn'> & { build?: (id: string) => string; signal?: AbortSignal } = {}): Promise<JsonRpcMessage> {
    const id = `${INTERNAL_ID_PREFIX}${method.replace(/\W+/g, '-')}-${++this.internalIds}`;
    let response: JsonRpcMessage | undefined;
    const body = opts.build ? opts.build(id) : JSON.stringify({ jsonrpc: '2.0', id, method, params });
    opts.signal?.addEventListener('abort', () => this.cancel(id), { once: true });
    await this.send({
      body,
      requestIds: [id],
      headers: opts.headers,
      stateless: opts.stateless,
      signIn: opts.signIn,
      observe: (_line, message) => (message.id === id && message.method === undefined ? ((response = message), true) : false),
    });
    if (!response) throw new UpstreamError(Code.NO_RESPONSE, `The MCP server at ${this.host} did not answer ${method}.`);
    return response;
  }

  /** The session's id and protocol version, if a 2025 session is open. */
  get sessionInfo(): { id?: string; protocolVersion?: string } {
    return { id: this.session.id, protocolVersion: this.session.protocolVersion };
  }

  /** The client cancelled request `id`: stop waiting for its response. */
  cancel(id: JsonRpcId): void {
    const exchange = this.pending.get(id);
    if (!exchange) return;
    this.pending.delete(id);
    exchange.remaining.delete(id);
    if (exchange.remaining.size === 0) {
      exchange.cancelled = true;
      exchange.waiting?.abort();
      exchange.call?.abort();
      exchange.abandon?.(new RequestAbortedError());
    }
  }

  /** Aborts open requests and streams, then ends the session with DELETE (bounded). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    for (const call of this.openCalls) call.abort();
    this.openCalls.clear();
    this.sse?.close();
    for (const exchange of [...this.sseWaiting]) exchange.abandon?.(new RequestAbortedError());
    if (this.session.id) await this.deleteSession(this.session.id);
  }

  // ── the handshake ────────────────────────────────────────────────────────────────────────

  private async sendClientInitialize(message: OutgoingMessage): Promise<void> {
    this.session.initializeParams = message.initializeParams;
    this.resetSession();
    const exchange = this.track(message.requestIds, true, (response) => {
      this.session.protocolVersion = protocolVersionOf(response);
      return false;
    });
    try {
      await this.session.gate(this.exchange(message.body, exchange));
    } catch (err) {
      throw this.failure(err, exchange);
    } finally {
      this.untrack(exchange);
    }
  }

  /** `signIn: false`: a 401 fails the handshake instead of waiting for a sign-in. */
  private async initializeSession(signIn?: boolean): Promise<Record<string, unknown>> {
    if (this.session.initializeParams === undefined) {
      throw new UpstreamError(Code.NO_SESSION, `The session with ${this.host} ended and the client never initialized one to renew.`);
    }
    this.resetSession();
    const id = `${INTERNAL_ID_PREFIX}initialize-${++this.internalIds}`;
    let response: JsonRpcMessage | undefined;
    const exchange = this.track([id], true, (message) => ((response = message), true));
    exchange.signIn = signIn;
    try {
      await this.exchange(JSON.stringify({ jsonrpc: '2.0', id, method: 'initialize', params: this.session.initializeParams }), exchange);
    } finally {
      this.untrack(exchange);
    }
    const result = response?.result as Record<string, unknown> | undefined;
    if (!result) {
      const reason = response?.error?.message ?? 'no result';
      throw new UpstreamError(Code.INITIALIZE_FAILED, `The MCP server at ${this.host} refused to initialize a session: ${reason}`);
    }
    this.session.protocolVersion = protocolVersionOf(response!);
    const initialized = this.track([], false);
    initialized.renewable = false;
    initialized.signIn = signIn;
    try {
      await this.exchange(INITIALIZED, initialized);
    } finally {
      this.untrack(initialized);
    }
    this.openStandaloneStream();
    return result;
  }

  private resetSession(): void {
    this.session.reset();
    this.standaloneSession = undefined;
    this.standalone.call?.abort();
  }

  // ── one POST ─────────────────────────────────────────────────────────────────────────────

  private async exchange(body: Line, exchange: Exchange): Promise<void> {
    if (this.mode === undefined) await (this.modeDecided ??= this.decideMode());
    if (this.mode === 'sse') return this.exchangeSse(textOf(body), exchange);
    const res = await sendWithRetries({
      authorizer: this.opts.authorizer,
      closed: () => this.closed,
      signIn: exchange.signIn,
      wait: (ms) => this.waitFor(exchange, ms),
      budgetMs: () => (exchange.deadline === undefined ? Infinity : exchange.deadline - Date.now()),
      renewSession: exchange.renewable
        ? (expired) => this.session.recover(expired, () => {
          this.opts.logger.info(`the session with ${this.host} expired; starting a new one`);
          return this.initializeSession();
        })
        : undefined,
      send: async (token) => {
        const sessionId = exchange.initialize || exchange.stateless ? undefined : this.session.id;
        const headers = exchange.stateless
          ? { ...this.postHeaders, ...exchange.headers, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) }
          : this.session.headers(exchange.headers ? { ...this.postHeaders, ...exchange.headers } : this.postHeaders, token, { initialize: exchange.initialize });
        return { res: await this.start(exchange, { method: 'POST', url: this.url, headers, body, timeoutMs: this.timeoutMs }), sessionId };
      },
    });
    if (res.status < 200 || res.status >= 300) {
      if (exchange.stateless && res.status >= 400 && res.status < 500 && res.status !== 401 && res.status !== 403) return this.readErrorAnswer(res, exchange);
      const failure = await httpFailure(res, this.opts.url, this.limits.idleTimeoutMs);
      if (exchange.initialize && this.fallback && SSE_FALLBACK_STATUSES.has(res.status) && !refusedForProtocolVersion(failure.body)) {
        if (await this.switchToSse(failure, exchange.signIn)) return this.exchangeSse(textOf(body), exchange);
      }
      throw failure;
    }
    if (exchange.initialize) {
      this.session.id = headerValue(res.headers, 'mcp-session-id') || undefined;
      this.settleMode('http');
    }
    return this.readResponse(res, exchange);
  }

  /** 2026-07-28: a 4xx carrying a JSON-RPC error for the request is its answer. */
  private async readErrorAnswer(res: HttpResponse, exchange: Exchange): Promise<void> {
    const text = (await readText(res.body, 1_048_576, this.limits.idleTimeoutMs).catch(() => '')).trim();
    let message: JsonRpcMessage | undefined;
    try {
      message = JSON.parse(text) as JsonRpcMessage;
    } catch {
      // not JSON: a plain HTTP failure
    }
    if (message && typeof message === 'object' && message.error && isId(message.id) && exchange.remaining.has(message.id)) {
      this.route(asSingleLine(text), message, exchange);
      return;
    }
    throw httpFailureOf(res.status, text, this.opts.url, headerValue(res.headers, 'retry-after'));
  }

  private async readResponse(res: HttpResponse, exchange: Exchange): Promise<void> {
    if (isEventStream(res)) {
      const streams = exchange.observe || exchange.longLived
        ? { ...this.streams, deliver: (text: Buffer | MessageBytes) => this.deliver(text, exchange), idleTimeoutMs: exchange.longLived ? Infinity : this.limits.idleTimeoutMs }
        : this.streams;
      const answered = await readEventStream(streams, res, {
        answered: () => exchange.remaining.size === 0,
        abandoned: () => this.closed || exchange.cancelled,
        resume: (lastEventId) => this.resume(lastEventId, exchange),
      });
      if (answered) return;
      if (this.closed || exchange.cancelled) throw new RequestAbortedError();
      throw new UpstreamError(Code.STREAM_CLOSED, `The MCP server at ${this.host} closed the response stream before answering.`);
    }
    const type = headerValue(res.headers, 'content-type') ?? '';
    if (res.status !== 202 && type.includes('json')) {
      const body = await readBody(res.body, { limit: this.limits.maxMessageBytes, idleMs: exchange.longLived ? undefined : this.limits.idleTimeoutMs, host: this.host });
      if (body.length) this.deliver(body, exchange);
    } else {
      discard(res);
    }
    if (exchange.remaining.size > 0) {
      throw new UpstreamError(Code.NO_RESPONSE, `The MCP server at ${this.host} answered HTTP ${res.status} without a response to the request.`, { status: res.status });
    }
  }

  /** GET with Last-Event-ID to pick up a POST's stream where it dropped. */
  private async resume(lastEventId: string, exchange: Exchange): Promise<HttpResponse | undefined> {
    const token = await this.opts.authorizer.getToken();
    const headers = { ...this.session.headers(this.getHeaders, token), 'last-event-id': lastEventId };
    const res = await this.start(exchange, { method: 'GET', url: this.url, headers, timeoutMs: this.timeoutMs });
    if (res.status === 200 && isEventStream(res)) return res;
    discard(res);
    this.opts.logger.debug(`resuming a stream from ${this.host}: HTTP ${res.status}`);
    return undefined;
  }

  private async start(holder: CallHolder, init: HttpRequest): Promise<HttpResponse> {
    const call = this.opts.http.request(init);
    holder.call = call;
    this.openCalls.add(call);
    // Forget the call once it is over: aborting a finished request could destroy a pooled socket.
    const forget = () => {
      this.openCalls.delete(call);
      if (holder.call === call) holder.call = undefined;
    };
    try {
      const res = await call.response;
      res.body.once('close', forget);
      return res;
    } catch (err) {
      forget();
      throw err;
    }
  }

  // ── the transport: Streamable HTTP or the HTTP+SSE of 2024-11-05 ─────────────────────────

  private async decideMode(): Promise<void> {
    const choice = this.opts.transport ?? 'auto';
    if (choice === 'http' || choice === 'sse') {
      this.mode = choice;
      return;
    }
    const learned = choice === 'sse-first' ? 'sse' : await this.opts.transportMemory?.load().catch(() => undefined);
    this.mode = learned === 'sse' ? 'sse' : 'http';
    this.fallback = true;
  }

  /** A handshake worked on `mode`: no more falling back; `auto` remembers it when it was news. */
  private settleMode(mode: 'http' | 'sse'): void {
    if (!this.fallback) return;
    this.fallback = false;
    if ((this.opts.transport ?? 'auto') !== 'auto') return;
    void this.opts.transportMemory?.load().catch(() => undefined).then((learned) => {
      if (learned !== mode && !(learned === undefined && mode === 'http')) return this.opts.transportMemory?.save(mode);
    }).catch(() => {});
  }

  /** `auto`: the initialize POST was refused; a GET shows whether the server speaks HTTP+SSE. */
  private async switchToSse(failure: UpstreamError, signIn: boolean | undefined): Promise<boolean> {
    try {
      await this.openSse(signIn);
    } catch (err) {
      if (err instanceof UpstreamError && err.code === Code.UPSTREAM_HTTP_ERROR && err.status !== undefined) {
        this.opts.logger.debug(`${this.host}: no HTTP+SSE transport either (${err.message})`);
        return false;
      }
      throw err;
    }
    this.opts.logger.info(`${this.host} refused Streamable HTTP (HTTP ${failure.status}) and speaks the older HTTP+SSE transport (2024-11-05): using that`);
    this.mode = 'sse';
    this.sseUnused = true;
    return true;
  }

  /** Opens the event stream (a new session); the old one, if any, is closed first. */
  private async openSse(signIn?: boolean): Promise<LegacySseConnection> {
    this.closeSse('a new session replaced it');
    const res = await sendWithRetries({
      authorizer: this.opts.authorizer,
      closed: () => this.closed,
      signIn,
      send: async (token) => {
        const headers = token === undefined ? this.getHeaders : { ...this.getHeaders, authorization: `Bearer ${token}` };
        return { res: await this.start(this.sseHolder, { method: 'GET', url: this.url, headers, timeoutMs: this.timeoutMs }) };
      },
    });
    if (res.status === 401 || res.status === 403 || res.status >= 500) throw await httpFailure(res, this.opts.url, this.limits.idleTimeoutMs);
    // Loaded only for a server of the older transport: most runs never need it.
    const { LegacySseConnection } = await import('./legacy-sse.js');
    const connection = await LegacySseConnection.open(res, {
      url: this.url,
      logger: this.opts.logger,
      timeoutMs: this.timeoutMs,
      maxMessageBytes: this.limits.maxMessageBytes,
      deliver: (text) => this.deliver(text),
      onDrop: (dropped, reason) => this.sseDropped(dropped, reason),
      abort: () => this.sseHolder.call?.abort(),
    });
    this.sse = connection;
    return connection;
  }

  /** One message over HTTP+SSE: POSTed to the endpoint (202), its responses awaited on the stream. */
  private async exchangeSse(body: string, exchange: Exchange): Promise<void> {
    if (exchange.stateless) {
      // 2026-07-28 requests (a probe) have no place on this transport: an answer the era detection reads as "2025".
      throw new UpstreamError(Code.UPSTREAM_HTTP_ERROR, `The MCP server at ${this.host} speaks the HTTP+SSE transport (2024-11-05), which has no stateless requests.`, { status: 405 });
    }
    if (exchange.initialize && this.sseUnused && this.sse?.alive) {
      this.sseUnused = false;
      this.settleMode('sse');
    } else if (exchange.initialize) {
      this.session.reset();
      this.sseUnused = false;
      try {
        await this.openSse(exchange.signIn);
      } catch (err) {
        // Learned (or `sse-first`) but not so: back to Streamable HTTP, remembered.
        if (!this.fallback || !(err instanceof UpstreamError) || err.code !== Code.UPSTREAM_HTTP_ERROR || err.status === undefined) throw err;
        this.opts.logger.info(`${this.host} does not offer the HTTP+SSE transport (HTTP ${err.status}): using Streamable HTTP`);
        this.mode = 'http';
        this.fallback = false;
        if ((this.opts.transport ?? 'auto') === 'auto') await this.opts.transportMemory?.save('http').catch(() => {});
        return this.exchange(body, exchange);
      }
      this.settleMode('sse');
    } else if (!this.sse?.alive) {
      // The handshake's own messages cannot renew the session they are part of.
      if (!exchange.renewable) throw new UpstreamError(Code.STREAM_CLOSED, `The event stream from ${this.host} ended during the handshake (HTTP+SSE transport).`);
      await this.renewSse();
    }
    const res = await sendWithRetries({
      authorizer: this.opts.authorizer,
      closed: () => this.closed,
      signIn: exchange.signIn,
      // The stream ended (or the server forgot it: 404): a new stream and a new session, once.
      renewSession: exchange.renewable ? async () => { await this.renewSse(); } : undefined,
      send: async (token) => {
        const connection = this.sse;
        if (!connection?.alive) throw new UpstreamError(Code.STREAM_CLOSED, `The event stream from ${this.host} ended (HTTP+SSE transport).`);
        const headers = this.session.headers(exchange.headers ? { ...this.postHeaders, ...exchange.headers } : this.postHeaders, token, { initialize: exchange.initialize });
        return { res: await this.start(exchange, { method: 'POST', url: connection.endpoint, headers, body, timeoutMs: this.timeoutMs }), sessionId: 'sse' };
      },
    });
    if (res.status < 200 || res.status >= 300) throw await httpFailure(res, this.opts.url, this.limits.idleTimeoutMs);
    discard(res);
    if (exchange.remaining.size === 0 || exchange.cancelled) return;
    const connection = this.sse!;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        this.sseWaiting.delete(exchange);
        exchange.answered = undefined;
        exchange.abandon = undefined;
      };
      exchange.answered = () => (done(), resolve());
      exchange.abandon = (err) => (done(), reject(err));
      this.sseWaiting.add(exchange);
      if (!connection.alive) exchange.abandon(new UpstreamError(Code.STREAM_CLOSED, `The MCP server at ${this.host} closed the event stream before answering (HTTP+SSE transport).`));
    });
  }

  /** A new stream and session with the client's initialize params, shared by every request that needs it. */
  private renewSse(): Promise<unknown> {
    this.sseRenewing ??= this.session.gate((async () => {
      if (this.session.initializeParams === undefined) {
        throw new UpstreamError(Code.NO_SESSION, `The event stream from ${this.host} ended and the client never initialized a session to renew.`);
      }
      await this.initializeSession();
    })()).finally(() => (this.sseRenewing = undefined));
    return this.sseRenewing;
  }

  /** Closes the stream, if any; what waited for answers on it gets an error (they will not come). */
  private closeSse(reason: string): void {
    const connection = this.sse;
    this.sse = undefined;
    connection?.close();
    const waiting = [...this.sseWaiting];
    this.sseWaiting.clear();
    for (const exchange of waiting) exchange.abandon?.(new UpstreamError(Code.STREAM_CLOSED, `The event stream from ${this.host} ended before the answer came (${reason}).`));
  }

  private sseDropped(connection: LegacySseConnection, reason: string): void {
    if (this.sse !== connection) return;
    this.closeSse(reason);
    if (this.closed || this.session.initializeParams === undefined) return;
    this.opts.logger.info(`the event stream from ${this.host} ended (${reason}); reconnecting`);
    void this.reconnectSse();
  }

  /** Re-opens the stream (and the session) in the background, so server notifications keep coming. */
  private async reconnectSse(): Promise<void> {
    for (let attempt = 0; attempt < SSE_RECONNECT_ATTEMPTS && !this.closed; attempt++) {
      if (!(await this.sleep(500 * 2 ** attempt))) return;
      if (this.sse?.alive || this.closed) return;
      try {
        await this.renewSse();
        return;
      } catch (err) {
        this.opts.logger.warn(`reconnecting to ${this.host} failed: ${(err as Error).message}`);
      }
    }
  }

  /**
   * A dead connection found (a failed ping): drop what may be stale and start over where the
   * transport needs it. HTTP+SSE: a new stream and session. Streamable HTTP: pooled sockets dropped
   * and the GET stream reopened (a session the server forgot is renewed by the 404 on the next request).
   */
  async reconnect(): Promise<void> {
    if (this.closed) return;
    if (this.mode === 'sse') {
      this.closeSse('a ping found the connection dead');
      if (this.session.initializeParams !== undefined) await this.renewSse();
      return;
    }
    this.opts.http.dropIdleConnections();
    if (this.session.id) {
      this.standaloneSession = undefined;
      this.standalone.call?.abort();
      this.openStandaloneStream();
    }
  }

  // ── the standalone GET stream and DELETE ─────────────────────────────────────────────────

  private openStandaloneStream(): void {
    const sessionId = this.session.id;
    if (!sessionId || this.closed || this.standaloneSession?.id === sessionId) return;
    const mark = { id: sessionId };
    this.standaloneSession = mark;
    void runStandaloneStream(this.streams, {
      current: () => !this.closed && this.standaloneSession === mark,
      open: (lastEventId) =>
        sendWithRetries({
          authorizer: this.opts.authorizer,
          closed: () => this.closed,
          wait: (ms) => this.sleep(ms),
          send: async (token) => {
            const headers = this.session.headers(this.getHeaders, token, { sessionId });
            if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
            return { res: await this.start(this.standalone, { method: 'GET', url: this.url, headers, timeoutMs: this.timeoutMs }) };
          },
        }),
    });
  }

  private async deleteSession(sessionId: string): Promise<void> {
    let call: HttpCall | undefined;
    let timer: NodeJS.Timeout | undefined;
    const attempt = (async () => {
      const token = await this.opts.authorizer.getToken();
      call = this.opts.http.request({ method: 'DELETE', url: this.url, headers: this.session.headers({ ...this.opts.headers }, token, { sessionId }), timeoutMs: DELETE_TIMEOUT_MS });
      discard(await call.response);
    })();
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, DELETE_TIMEOUT_MS)));
    try {
      await Promise.race([attempt, deadline]);
    } catch (err) {
      this.opts.logger.debug(`ending the session with ${this.host} failed: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
      call?.abort();
      attempt.catch(() => {});
    }
  }

  // ── routing what comes back ──────────────────────────────────────────────────────────────

  /**
   * One server message (or batch) in, one line per message out to the client. A large one that is
   * one plain message on one line goes on as its bytes, never decoded (unless something reads it).
   */
  private deliver(data: Buffer | MessageBytes, exchange?: Exchange): void {
    if (data.length >= BYTES_PATH_MIN) {
      const bytes = data instanceof MessageBytes ? data : new MessageBytes([data]);
      const message = bytes.pieces.some((p) => p.includes(0x0a) || p.includes(0x0d)) ? undefined : scanMessage(bytes);
      if (message) return this.route(trimmed(bytes), message, exchange);
    }
    const line = asSingleLine(data instanceof MessageBytes ? data.text() : data.toString('utf8')).trim();
    if (!line) return;
    let message: unknown;
    try {
      message = parseMessage(line);
    } catch {
      this.opts.logger.warn(`the MCP server at ${this.host} sent a message that is not JSON; dropped it`);
      return;
    }
    if (Array.isArray(message)) {
      for (const item of message) this.route(JSON.stringify(item), item, exchange);
    } else {
      this.route(line, message, exchange);
    }
  }

  /** `via`: the POST whose stream the message came on (none: the standalone GET stream). */
  private route(line: Line, message: unknown, via?: Exchange): void {
    const m = message as JsonRpcMessage;
    if (typeof m === 'object' && m !== null && m.method === undefined && isId(m.id)) {
      const exchange = this.pending.get(m.id);
      if (exchange) {
        this.pending.delete(m.id);
        exchange.remaining.delete(m.id);
        if (exchange.remaining.size === 0) exchange.answered?.();
        if (exchange.intercept?.(m)) return;
        if (exchange.observe?.(line, m)) return;
      } else if (typeof m.id === 'string' && m.id.startsWith(INTERNAL_ID_PREFIX)) {
        // A late answer to a request of the proxy's own that was given up on (a ping past its timeout).
        this.opts.logger.debug(`a late answer from ${this.host} to ${m.id}; dropped`);
        return;
      }
    } else if (via?.observe?.(line, m)) {
      return;
    }
    this.opts.onMessage(line, m);
  }

  private track(ids: JsonRpcId[], initialize: boolean, intercept?: Exchange['intercept']): Exchange {
    const exchange: Exchange = { remaining: new Set(ids), initialize, renewable: !initialize, intercept, cancelled: false };
    for (const id of ids) this.pending.set(id, exchange);
    return exchange;
  }

  private untrack(exchange: Exchange): void {
    for (const id of exchange.remaining) {
      if (this.pending.get(id) === exchange) this.pending.delete(id);
    }
  }

  private failure(err: unknown, exchange: Exchange): UpstreamError {
    const failure = UpstreamError.from(err, this.host);
    failure.unanswered = [...exchange.remaining].filter((id) => typeof id !== 'string' || !id.startsWith(INTERNAL_ID_PREFIX));
    return failure;
  }

  /** A Retry-After wait for `exchange`: false when it was cancelled, timed out or the client closed. */
  private async waitFor(exchange: Exchange, ms: number): Promise<boolean> {
    exchange.waiting = new AbortController();
    try {
      await sleepFor(ms, undefined, { signal: AbortSignal.any([exchange.waiting.signal, this.closing.signal]) });
      return true;
    } catch {
      return false;
    } finally {
      exchange.waiting = undefined;
    }
  }

  /** Waits `ms`; false when the client closed meanwhile. */
  private async sleep(ms: number): Promise<boolean> {
    try {
      await sleepFor(ms, undefined, { signal: this.closing.signal });
      return true;
    } catch {
      return false;
    }
  }
}

/** The bytes without JSON whitespace before and after the message (views, no copy). */
function trimmed(bytes: MessageBytes): MessageBytes {
  const pieces = bytes.pieces.filter((p) => p.length > 0);
  const space = (c: number | undefined) => c === 0x20 || c === 0x09;
  while (pieces.length && space(pieces[0]![0])) pieces[0] = pieces[0]!.subarray(1);
  while (pieces.length && space(pieces.at(-1)!.at(-1))) pieces[pieces.length - 1] = pieces.at(-1)!.subarray(0, -1);
  return pieces.length === bytes.pieces.length && pieces.every((p, i) => p === bytes.pieces[i]) ? bytes : new MessageBytes(pieces.filter((p) => p.length > 0));
}

function protocolVersionOf(response: JsonRpcMessage): string | undefined {
  const version = (response.result as { protocolVersion?: unknown } | undefined)?.protocolVersion;
  return typeof version === 'string' ? version : undefined;
}

/** True when a refused request's body is a JSON-RPC error -32022 (unsupported protocol version). */
function refusedForProtocolVersion(body: string | undefined): boolean {
  if (!body) return false;
  try {
    return (JSON.parse(body) as JsonRpcMessage).error?.code === UNSUPPORTED_PROTOCOL_VERSION;
  } catch {
    return false;
  }
}
