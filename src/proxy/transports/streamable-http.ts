// The Streamable HTTP transport (MCP 2025-06-18 / 2025-11-25 "Transports", and the stateless POSTs of
// 2026-07-28): one POST per message, answered on its own stream; the session of the 2025 era
// (Mcp-Session-Id and MCP-Protocol-Version after initialize, a new one on 404, DELETE at the end);
// the standalone GET stream for what the server sends on its own. Messages travel as the text the
// client wrote; the only one read for its content is an initialize answer (its version).
import { Code } from '../../errors.js';
import { headerValue, type HttpResponse } from '../../http/client.js';
import { notificationLine, type JsonRpcMessage } from '../jsonrpc.js';
import type { MessageBytes } from '../message-bytes.js';
import { discard, isEventStream } from './body.js';
import type { HttpChannel } from './channel.js';
import { sendFailure, UpstreamError } from './errors.js';
import { runStandaloneStream } from './event-stream.js';
import { framesOf } from './frames.js';
import { readErrorAnswer, readResponse, type Reading } from './responses.js';
import { Session } from './session.js';
import type { Pending, RequestTracker } from './tracker.js';
import { requestIds, type Frame, type MessageExtra, type SendOptions, type UpstreamTransport } from './transport.js';

/** How one message goes: in the session (2025), or on its own (2026-07-28: `headers`). */
interface Route extends SendOptions {
  initialize?: boolean;
  /** May a 404 renew the session? Not for the handshake's own messages. */
  renewable?: boolean;
}

export class StreamableHttpTransport implements UpstreamTransport {
  onmessage?: (frame: Frame, extra: MessageExtra) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;
  readonly session = new Session();
  /** The GET stream's session; a new object per stream, so that a replaced stream's loop ends. */
  private standalone: { id: string; abort: AbortController } | undefined;

  constructor(private readonly channel: HttpChannel, private readonly tracker: RequestTracker) {}

  async start(): Promise<void> {}

  /**
   * POSTs one message. Resolves once every request in it has been answered (the responses go to
   * onmessage, or to options.onresponse); rejects with an UpstreamError naming the requests left
   * unanswered. A request the client cancelled resolves quietly.
   */
  async send(frame: Frame, options: SendOptions = {}): Promise<void> {
    const { message } = frame;
    const initialize = message.method === 'initialize' && !options.headers;
    if (initialize) this.session.initializeParams = message.params ?? {};
    const onresponse = initialize ? this.session.answering(options.onresponse) : options.onresponse;
    await this.tracker.run(requestIds(message), { longLived: options.longLived, onresponse }, async (pending) => {
      if (initialize) this.resetSession();
      else if (!options.headers) await this.session.settled();
      const work = this.exchange(frame, pending, { ...options, initialize, renewable: !initialize && !options.headers });
      await (initialize ? this.session.gate(work) : work);
      if (message.method === 'notifications/initialized' && !options.headers) this.openStandaloneStream();
    }, (err, pending) => sendFailure(err, pending, this.channel.host, this.channel.limits.requestTimeoutMs));
  }

  /** Aborts what is in flight, then ends the session with DELETE (bounded). */
  async close(): Promise<void> {
    if (this.channel.closed) return;
    this.channel.close();
    this.standalone?.abort.abort();
    const sessionId = this.session.id;
    if (sessionId) await this.channel.delete((auth) => this.session.headers({ ...this.channel.o.headers }, auth, { sessionId }));
    this.onclose?.();
  }

  /** Pooled sockets dropped and the GET stream reopened (a session the server forgot is renewed by the 404 on the next request). */
  async reconnect(): Promise<void> {
    if (this.channel.closed) return;
    this.channel.o.http.dropIdleConnections();
    if (this.session.id) {
      this.standalone?.abort.abort();
      this.standalone = undefined;
      this.openStandaloneStream();
    }
  }

  private async exchange(frame: Frame, pending: Pending, route: Route): Promise<void> {
    const sessionId = route.initialize || route.headers ? undefined : this.session.id;
    const res = await this.channel.send({
      method: 'POST',
      body: frame.line,
      pending,
      signIn: route.signIn,
      sessionId,
      renew: route.renewable && sessionId ? (expired) => this.session.recover(expired, () => this.renew()) : undefined,
      headers: (auth) => route.headers
        ? { ...this.channel.postHeaders, ...route.headers, ...auth }
        : this.session.headers(this.channel.postHeaders, auth, { initialize: route.initialize }),
    });
    const reading = this.reading(pending, frame.message, route.longLived);
    if (res.status < 200 || res.status >= 300) {
      if (route.headers && res.status >= 400 && res.status < 500 && res.status !== 401 && res.status !== 403) return readErrorAnswer(res, reading);
      throw await this.channel.failure(res);
    }
    if (route.initialize) this.session.id = headerValue(res.headers, 'mcp-session-id') || undefined;
    await readResponse(res, reading);
  }

  private reading(pending: Pending, message: JsonRpcMessage, longLived?: boolean): Reading {
    const related = requestIds(message)[0];
    return {
      channel: this.channel,
      pending,
      longLived,
      deliver: (data) => this.deliver(data, related),
      resume: (lastEventId) => this.resume(lastEventId, pending),
    };
  }

  /** Each server message in `data`: settled with the tracker, else handed to onmessage. */
  private deliver(data: Buffer | MessageBytes, related?: Frame['message']['id']): void {
    const frames = framesOf(data, () => this.channel.logger.warn(`the MCP server at ${this.channel.host} sent a message that is not JSON; dropped it`));
    for (const frame of frames) {
      if (this.tracker.settle(frame)) continue;
      this.onmessage?.(frame, related === undefined || related === null ? {} : { relatedRequestId: related });
    }
  }

  /** GET with Last-Event-ID to pick up a POST's stream where it dropped (one request, as before; a DPoP-bound token goes with a proof). */
  private async resume(lastEventId: string, pending: Pending): Promise<HttpResponse | undefined> {
    const token = await this.channel.o.authorizer.getToken();
    const presented = await this.channel.present(token, 'GET', this.channel.url);
    const headers = { ...this.session.headers(this.channel.getHeaders, presented?.headers), 'last-event-id': lastEventId };
    const res = await this.channel.start({ method: 'GET', url: this.channel.url, headers, timeoutMs: this.channel.limits.connectTimeoutMs }, pending.signal);
    if (res.status === 200 && isEventStream(res)) return res;
    discard(res);
    this.channel.logger.debug(`resuming a stream from ${this.channel.host}: HTTP ${res.status}`);
    return undefined;
  }

  /** A new session with the client's initialize params, after the server forgot the last one. */
  private async renew(): Promise<void> {
    if (this.session.initializeParams === undefined) {
      throw new UpstreamError(Code.NO_SESSION, `The session with ${this.channel.host} ended and the client never initialized one to renew.`);
    }
    this.channel.logger.info(`the session with ${this.channel.host} expired; starting a new one`);
    this.resetSession();
    const id = this.tracker.nextId('initialize');
    let response: JsonRpcMessage | undefined;
    const init = this.tracker.begin([id], { onresponse: this.session.answering((f) => ((response = f.message), true)) });
    try {
      await this.exchange({ line: JSON.stringify({ jsonrpc: '2.0', id, method: 'initialize', params: this.session.initializeParams }), message: { jsonrpc: '2.0', id, method: 'initialize' } }, init, { initialize: true });
    } finally {
      this.tracker.finish(init);
    }
    if (!response?.result) {
      throw new UpstreamError(Code.INITIALIZE_FAILED, `The MCP server at ${this.channel.host} refused to initialize a session: ${response?.error?.message ?? 'no result'}`);
    }
    const initialized = this.tracker.begin([]);
    try {
      await this.exchange({ line: INITIALIZED, message: { jsonrpc: '2.0', method: 'notifications/initialized' } }, initialized, {});
    } finally {
      this.tracker.finish(initialized);
    }
    this.openStandaloneStream();
  }

  private resetSession(): void {
    this.session.reset();
    this.standalone?.abort.abort();
    this.standalone = undefined;
  }

  private openStandaloneStream(): void {
    const sessionId = this.session.id;
    if (!sessionId || this.channel.closed || this.standalone?.id === sessionId) return;
    const mark = { id: sessionId, abort: new AbortController() };
    this.standalone = mark;
    const ctx = { host: this.channel.host, logger: this.channel.logger, deliver: (data: Buffer | MessageBytes) => this.deliver(data), sleep: (ms: number) => this.channel.sleep(ms, mark.abort.signal), maxMessageBytes: this.channel.limits.maxMessageBytes, idleTimeoutMs: this.channel.limits.idleTimeoutMs };
    void runStandaloneStream(ctx, {
      current: () => !this.channel.closed && this.standalone === mark,
      open: (lastEventId) => this.channel.send({
        method: 'GET',
        headers: (auth) => ({ ...this.session.headers(this.channel.getHeaders, auth, { sessionId }), ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }) }),
      }),
    });
  }
}

const INITIALIZED = notificationLine('notifications/initialized');
