// A Streamable HTTP client for one MCP endpoint (MCP 2025-06-18 / 2025-11-25, "Transports").
// Messages travel as the text the client wrote; the only server message read for its content is
// each response, to know which request it answers (and the initialize result, for its version).
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { Logger } from '../log.js';
import { parseBearerChallenge } from '../challenge.js';
import { loginCommand } from '../target.js';
import { AuthorizationError, type Authorizer } from './authorizer.js';
import type { Env } from './env-proxy.js';
import { ErrorCode, asSingleLine, isId, notificationLine, type JsonRpcId, type JsonRpcMessage } from './jsonrpc.js';
import { createRequester, headerValue, RequestAbortedError, type HttpCall, type HttpRequestInit, type HttpResponse, type Requester } from './request.js';
import { SseParser } from './sse.js';
import { UpstreamError } from './upstream-error.js';

export interface StreamableHttpClientOptions {
  url: string;
  /** Extra headers sent with every request (`--header K:V`). */
  headers?: Record<string, string>;
  authorizer: Authorizer;
  logger: Logger;
  /** Limit for a response to start; a streaming response may then run as long as it needs. */
  requestTimeoutMs?: number;
  /** Each server→client message, as one line of JSON. */
  onMessage(line: string): void;
  /** Where HTTP(S)_PROXY / NO_PROXY are read from. */
  env?: Env;
}

/** A client message to POST. */
export interface OutgoingMessage {
  /** The exact text the client sent. */
  body: string;
  /** Ids of the requests in it: the send completes once each has its response. */
  requestIds: JsonRpcId[];
  /** Set for the client's `initialize`: its params, kept for re-initializing an expired session. */
  initializeParams?: unknown;
  /** True for `notifications/initialized`: the standalone GET stream opens after it. */
  initialized?: boolean;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_RETRY_MS = 1_000;
const MAX_RETRY_MS = 10_000;
const MAX_RESUME_ATTEMPTS = 3;
const MAX_STANDALONE_FAILURES = 5;
const DELETE_TIMEOUT_MS = 800;
const INITIALIZED = notificationLine('notifications/initialized');

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
  cancelled: boolean;
}

export class StreamableHttpClient {
  private readonly url: URL;
  private readonly host: string;
  private readonly requester: Requester;
  private readonly postHeaders: Record<string, string>;
  private readonly getHeaders: Record<string, string>;
  private readonly timeoutMs: number;
  private sessionId: string | undefined;
  private protocolVersion: string | undefined;
  private initializeParams: unknown;
  /** An initialize (the client's or a re-initialize) in flight: other messages wait for it. */
  private handshake: Promise<unknown> | undefined;
  private recovering: Promise<unknown> | undefined;
  private readonly pending = new Map<JsonRpcId, Exchange>();
  private readonly openCalls = new Set<HttpCall>();
  private standaloneSession: string | undefined;
  private readonly standalone: CallHolder = {};
  private internalIds = 0;
  private closed = false;
  private readonly closing = new AbortController();

  constructor(private readonly opts: StreamableHttpClientOptions) {
    this.url = new URL(opts.url);
    this.host = this.url.host;
    this.requester = createRequester(this.url, opts.env);
    this.timeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.postHeaders = { ...opts.headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    this.getHeaders = { ...opts.headers, accept: 'text/event-stream' };
  }

  /**
   * POSTs one client message. Resolves once every request in it has been answered (the responses
   * go to onMessage); rejects with an UpstreamError naming the requests left unanswered.
   */
  async send(message: OutgoingMessage): Promise<void> {
    if (message.initializeParams !== undefined) return this.sendClientInitialize(message);
    if (this.handshake) await this.handshake.catch(() => {});
    const exchange = this.track(message.requestIds, false);
    try {
      await this.exchange(message.body, exchange);
      if (message.initialized) this.openStandaloneStream();
    } catch (err) {
      if (exchange.cancelled) return;
      throw this.failure(err, exchange);
    } finally {
      this.untrack(exchange);
    }
  }

  /**
   * Starts a session with the given initialize params (from the client, when the proxy answered
   * its initialize itself) and sends `notifications/initialized`. Returns the initialize result.
   */
  initialize(params: unknown): Promise<Record<string, unknown>> {
    this.initializeParams = params;
    return this.gate(this.initializeSession());
  }

  /** The client cancelled request `id`: stop waiting for its response. */
  cancel(id: JsonRpcId): void {
    const exchange = this.pending.get(id);
    if (!exchange) return;
    this.pending.delete(id);
    exchange.remaining.delete(id);
    if (exchange.remaining.size === 0) {
      exchange.cancelled = true;
      exchange.call?.abort();
    }
  }

  /** Aborts open requests and streams, then ends the session with DELETE (bounded). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    for (const call of this.openCalls) call.abort();
    this.openCalls.clear();
    if (this.sessionId) await this.deleteSession(this.sessionId);
    this.requester.close();
  }

  private async sendClientInitialize(message: OutgoingMessage): Promise<void> {
    this.initializeParams = message.initializeParams;
    this.resetSession();
    const exchange = this.track(message.requestIds, true, (response) => {
      this.protocolVersion = protocolVersionOf(response);
      return false;
    });
    try {
      await this.gate(this.exchange(message.body, exchange));
    } catch (err) {
      throw this.failure(err, exchange);
    } finally {
      this.untrack(exchange);
    }
  }

  /** Holds other sends back until `work` settles. */
  private gate<T>(work: Promise<T>): Promise<T> {
    const handshake = work.finally(() => {
      if (this.handshake === handshake) this.handshake = undefined;
    });
    this.handshake = handshake;
    return handshake;
  }

  private async initializeSession(): Promise<Record<string, unknown>> {
    if (this.initializeParams === undefined) {
      throw new UpstreamError(`The session with ${this.host} ended and the client never initialized one to renew.`, ErrorCode.UpstreamFailure, { reason: 'no_session' });
    }
    this.resetSession();
    const id = `appwrite-mcp-initialize-${++this.internalIds}`;
    let response: JsonRpcMessage | undefined;
    const exchange = this.track([id], true, (message) => ((response = message), true));
    try {
      await this.exchange(JSON.stringify({ jsonrpc: '2.0', id, method: 'initialize', params: this.initializeParams }), exchange);
    } finally {
      this.untrack(exchange);
    }
    const result = response?.result as Record<string, unknown> | undefined;
    if (!result) {
      const reason = response?.error?.message ?? 'no result';
      throw new UpstreamError(`The MCP server at ${this.host} refused to initialize a session: ${reason}`, ErrorCode.UpstreamFailure, { reason: 'initialize_failed' });
    }
    this.protocolVersion = protocolVersionOf(response!);
    const initialized = this.track([], false);
    initialized.renewable = false;
    try {
      await this.exchange(INITIALIZED, initialized);
    } finally {
      this.untrack(initialized);
    }
    this.openStandaloneStream();
    return result;
  }

  /** POSTs `body`, retrying once each after a 401, a 403 insufficient_scope and a session 404. */
  private async exchange(body: string, exchange: Exchange): Promise<void> {
    let token = await this.opts.authorizer.getToken();
    let refreshed = false;
    let steppedUp = false;
    let renewed = !exchange.renewable;
    for (;;) {
      if (this.closed) throw new RequestAbortedError();
      const sessionId = exchange.initialize ? undefined : this.sessionId;
      const res = await this.start(exchange, { method: 'POST', headers: this.headersFor(this.postHeaders, token, sessionId), body, timeoutMs: this.timeoutMs });
      if (res.status === 401 && !refreshed) {
        refreshed = true;
        discard(res);
        token = await this.opts.authorizer.onUnauthorized(token, challengeOf(res));
        continue;
      }
      if (res.status === 403 && !steppedUp) {
        const challenge = challengeOf(res);
        if (challenge.error === 'insufficient_scope') {
          steppedUp = true;
          discard(res);
          token = await this.opts.authorizer.onInsufficientScope(token, challenge);
          continue;
        }
      }
      if (res.status === 404 && sessionId !== undefined && !renewed) {
        renewed = true;
        discard(res);
        await this.recoverSession(sessionId);
        continue;
      }
      if (res.status < 200 || res.status >= 300) throw await this.httpFailure(res);
      if (exchange.initialize) this.sessionId = headerValue(res.headers, 'mcp-session-id') || undefined;
      return this.readResponse(res, exchange);
    }
  }

  private async start(holder: CallHolder, init: HttpRequestInit): Promise<HttpResponse> {
    const call = this.requester.request(init);
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

  private headersFor(base: Record<string, string>, token: string, sessionId: string | undefined): Record<string, string> {
    const headers: Record<string, string> = { ...base, authorization: `Bearer ${token}` };
    if (sessionId) headers['mcp-session-id'] = sessionId;
    if (this.protocolVersion) headers['mcp-protocol-version'] = this.protocolVersion;
    return headers;
  }

  /** A 404 on a session: one re-initialize shared by every request that hit it. */
  private async recoverSession(expired: string): Promise<void> {
    if (!this.recovering && this.sessionId === expired) {
      this.opts.logger.info(`the session with ${this.host} expired; starting a new one`);
      this.recovering = this.gate(this.initializeSession()).finally(() => (this.recovering = undefined));
    }
    if (this.recovering) await this.recovering;
    else if (this.handshake) await this.handshake;
  }

  private resetSession(): void {
    this.sessionId = undefined;
    this.protocolVersion = undefined;
    this.standaloneSession = undefined;
    this.standalone.call?.abort();
  }

  private async readResponse(res: HttpResponse, exchange: Exchange): Promise<void> {
    const type = headerValue(res.headers, 'content-type') ?? '';
    if (type.startsWith('text/event-stream')) return this.readEventStream(res, exchange);
    if (res.status !== 202 && type.includes('json')) {
      const text = (await readText(res.body)).trim();
      if (text) this.deliver(text);
    } else {
      discard(res);
    }
    if (exchange.remaining.size > 0) {
      throw new UpstreamError(`The MCP server at ${this.host} answered HTTP ${res.status} without a response to the request.`, ErrorCode.UpstreamFailure, { reason: 'no_response', status: res.status });
    }
  }

  /** Reads a POST's event stream; when it drops before every answer came, resumes it (Last-Event-ID). */
  private async readEventStream(first: HttpResponse, exchange: Exchange): Promise<void> {
    let res: HttpResponse | undefined = first;
    let lastEventId: string | undefined;
    let retryMs: number | undefined;
    for (let attempt = 0; ; attempt++) {
      if (res) {
        const parser = this.parserFor(lastEventId);
        await this.pump(res.body, parser, res === first ? undefined : exchange);
        lastEventId = parser.lastEventId;
        retryMs = parser.retryMs ?? retryMs;
      }
      if (exchange.remaining.size === 0) return;
      if (this.closed || exchange.cancelled) throw new RequestAbortedError();
      if (lastEventId === undefined || attempt >= MAX_RESUME_ATTEMPTS) {
        throw new UpstreamError(`The MCP server at ${this.host} closed the response stream before answering.`, ErrorCode.UpstreamFailure, { reason: 'stream_closed' });
      }
      if (!(await this.sleep(retryDelay(retryMs)))) throw new RequestAbortedError();
      res = await this.resume(lastEventId, exchange).catch((err: unknown) => {
        this.opts.logger.debug(`resuming a stream from ${this.host} failed: ${(err as Error).message}`);
        return undefined;
      });
    }
  }

  private async resume(lastEventId: string, exchange: Exchange): Promise<HttpResponse | undefined> {
    const token = await this.opts.authorizer.getToken();
    const headers = this.headersFor(this.getHeaders, token, this.sessionId);
    headers['last-event-id'] = lastEventId;
    const res = await this.start(exchange, { method: 'GET', headers, timeoutMs: this.timeoutMs });
    if (res.status === 200 && (headerValue(res.headers, 'content-type') ?? '').startsWith('text/event-stream')) return res;
    discard(res);
    this.opts.logger.debug(`resuming a stream from ${this.host}: HTTP ${res.status}`);
    return undefined;
  }

  private parserFor(lastEventId: string | undefined): SseParser {
    const parser = new SseParser((event) => {
      if (event.type === 'message') this.deliver(event.data);
    });
    parser.lastEventId = lastEventId;
    return parser;
  }

  /** Feeds `body` to `parser` until it ends; with `until`, stops early once that exchange is answered. */
  private pump(body: Readable, parser: SseParser, until?: Exchange): Promise<void> {
    return new Promise((resolve) => {
      const decoder = new StringDecoder('utf8');
      const onData = (chunk: Buffer) => {
        parser.push(decoder.write(chunk));
        if (until && until.remaining.size === 0) {
          body.destroy();
          finish();
        }
      };
      const finish = () => {
        body.off('data', onData);
        resolve();
      };
      body.on('data', onData);
      body.once('end', finish);
      body.once('close', finish);
      body.once('error', (err) => {
        this.opts.logger.debug(`a stream from ${this.host} dropped: ${err.message}`);
        finish();
      });
    });
  }

  /** One server message (or batch) in, one line per message out to the client. */
  private deliver(text: string): void {
    const line = asSingleLine(text);
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      this.opts.logger.warn(`the MCP server at ${this.host} sent a message that is not JSON; dropped it`);
      return;
    }
    if (Array.isArray(message)) {
      for (const item of message) this.route(JSON.stringify(item), item);
    } else {
      this.route(line, message);
    }
  }

  private route(line: string, message: unknown): void {
    const m = message as JsonRpcMessage;
    if (typeof m === 'object' && m !== null && m.method === undefined && isId(m.id)) {
      const exchange = this.pending.get(m.id);
      if (exchange) {
        this.pending.delete(m.id);
        exchange.remaining.delete(m.id);
        if (exchange.intercept?.(m)) return;
      }
    }
    this.opts.onMessage(line);
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
    failure.unanswered = [...exchange.remaining].filter((id) => typeof id !== 'string' || !id.startsWith('appwrite-mcp-'));
    return failure;
  }

  private async httpFailure(res: HttpResponse): Promise<UpstreamError> {
    const detail = errorDetail(await readText(res.body, 16_384).catch(() => ''));
    const status = res.status;
    const suffix = detail ? `: ${detail}` : '';
    if (status >= 500) {
      return new UpstreamError(`The MCP server at ${this.host} is unavailable (HTTP ${status})${suffix}. Try again shortly.`, ErrorCode.UpstreamFailure, { reason: 'server_error', status });
    }
    if (status === 401) {
      return new UpstreamError(`The MCP server at ${this.host} rejected the sign-in (HTTP 401) even with a fresh token. Run \`${loginCommand(this.opts.url)}\` in a terminal to sign in again.`, ErrorCode.AuthorizationFailed, { reason: 'token_rejected', status });
    }
    if (status === 403) {
      return new UpstreamError(`The MCP server at ${this.host} refused access (HTTP 403)${suffix}.`, ErrorCode.AuthorizationFailed, { reason: 'forbidden', status });
    }
    return new UpstreamError(`The MCP server at ${this.host} answered HTTP ${status}${suffix}`, ErrorCode.UpstreamFailure, { reason: 'http_error', status });
  }

  /** The GET stream for server-initiated messages, kept open (and reopened) while the session lasts. */
  private openStandaloneStream(): void {
    const sessionId = this.sessionId;
    if (!sessionId || this.closed || this.standaloneSession === sessionId) return;
    this.standaloneSession = sessionId;
    void this.runStandaloneStream(sessionId);
  }

  private async runStandaloneStream(sessionId: string): Promise<void> {
    let failures = 0;
    let lastEventId: string | undefined;
    let retryMs: number | undefined;
    let refreshed = false;
    const current = () => !this.closed && this.standaloneSession === sessionId;
    while (current()) {
      try {
        const token = await this.opts.authorizer.getToken();
        const headers = this.headersFor(this.getHeaders, token, sessionId);
        if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
        const res = await this.start(this.standalone, { method: 'GET', headers, timeoutMs: this.timeoutMs });
        if (res.status === 405 || res.status === 404) {
          // 405: the server offers no such stream. 404: the session is gone; the next POST renews it.
          discard(res);
          this.opts.logger.debug(`no standalone stream from ${this.host} (HTTP ${res.status})`);
          return;
        }
        if (res.status === 401 && !refreshed) {
          refreshed = true;
          discard(res);
          await this.opts.authorizer.onUnauthorized(token, challengeOf(res));
          continue;
        }
        if (res.status !== 200) {
          discard(res);
          throw new Error(`HTTP ${res.status}`);
        }
        failures = 0;
        refreshed = false;
        const parser = this.parserFor(lastEventId);
        await this.pump(res.body, parser);
        lastEventId = parser.lastEventId;
        retryMs = parser.retryMs ?? retryMs;
      } catch (err) {
        if (!current()) return;
        if (err instanceof AuthorizationError) {
          this.opts.logger.warn(`the stream of server notifications from ${this.host} stopped: ${err.message}`);
          return;
        }
        if (++failures >= MAX_STANDALONE_FAILURES) {
          this.opts.logger.warn(`the stream of server notifications from ${this.host} failed ${failures} times (${(err as Error).message}); giving up on it`);
          return;
        }
      }
      if (!(await this.sleep(retryDelay(retryMs) * 2 ** failures))) return;
    }
  }

  private async deleteSession(sessionId: string): Promise<void> {
    let call: HttpCall | undefined;
    let timer: NodeJS.Timeout | undefined;
    const attempt = (async () => {
      const token = await this.opts.authorizer.getToken();
      call = this.requester.request({ method: 'DELETE', headers: this.headersFor({ ...this.opts.headers }, token, sessionId), timeoutMs: DELETE_TIMEOUT_MS });
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

function retryDelay(retryMs: number | undefined): number {
  return Math.min(retryMs ?? DEFAULT_RETRY_MS, MAX_RETRY_MS);
}

function protocolVersionOf(response: JsonRpcMessage): string | undefined {
  const version = (response.result as { protocolVersion?: unknown } | undefined)?.protocolVersion;
  return typeof version === 'string' ? version : undefined;
}

function challengeOf(res: HttpResponse) {
  return parseBearerChallenge(headerValue(res.headers, 'www-authenticate')) ?? {};
}

/** Lets the response finish unread so its connection goes back to the pool. */
function discard(res: HttpResponse): void {
  res.body.on('error', () => {});
  res.body.resume();
}

function readText(body: Readable, limit = Infinity): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.on('data', (chunk: Buffer) => {
      if (size < limit) chunks.push(chunk);
      size += chunk.length;
    });
    body.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    body.once('error', reject);
    // 'close' before 'end': the connection dropped mid-body; a truncated message must not be delivered
    body.once('close', () => reject(new Error('the response was cut off')));
  });
}

/** The useful part of an error body: a JSON-RPC error message, an OAuth error_description, or short text. */
function errorDetail(text: string): string {
  const trimmed = text.trim();
  if (!trimmed) return '';
  try {
    const body = JSON.parse(trimmed) as { error?: { message?: string } | string; error_description?: string; message?: string };
    if (typeof body.error === 'object' && body.error?.message) return body.error.message;
    return body.error_description ?? body.message ?? (typeof body.error === 'string' ? body.error : '');
  } catch {
    return trimmed.length <= 200 && !trimmed.startsWith('<') ? trimmed : '';
  }
}
