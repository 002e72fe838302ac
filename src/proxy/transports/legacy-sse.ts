// The HTTP+SSE transport of MCP 2024-11-05, for servers that never moved to Streamable HTTP: every
// message is POSTed to the endpoint the event stream named (answered 202), and the responses arrive
// on that one stream, where the tracker matches them to the sends waiting for them. When the stream
// ends, the server has forgotten the session: a new stream and a new `initialize` (with the client's
// params) follow, in the background so that server notifications keep coming.
import { Code } from '../../errors.js';
import { RequestAbortedError } from '../../http/client.js';
import type { JsonRpcMessage } from '../jsonrpc.js';
import { notificationLine } from '../jsonrpc.js';
import type { MessageBytes } from '../message-bytes.js';
import { discard } from './body.js';
import type { HttpChannel } from './channel.js';
import { sendFailure, UpstreamError } from './errors.js';
import { framesOf } from './frames.js';
import { LegacySseConnection } from './legacy-sse-stream.js';
import { Session } from './session.js';
import type { Pending, RequestTracker } from './tracker.js';
import { requestIds, type Frame, type MessageExtra, type SendOptions, type UpstreamTransport } from './transport.js';

const RECONNECT_ATTEMPTS = 5;

export class LegacySseTransport implements UpstreamTransport {
  onmessage?: (frame: Frame, extra: MessageExtra) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;
  private readonly session = new Session();
  private connection: LegacySseConnection | undefined;
  /** Opened by open() (the fallback's test), not used by a session yet: the initialize takes it. */
  private unused = false;
  private renewing: Promise<void> | undefined;
  /** Sends waiting for their answers on the stream: told when it ends. */
  private readonly waiting = new Set<(err: Error) => void>();
  private closed = false;

  constructor(private readonly channel: HttpChannel, private readonly tracker: RequestTracker) {}

  async start(): Promise<void> {}

  /**
   * Opens the event stream: resolves once the server named its endpoint; rejects with an UpstreamError
   * carrying the GET's status when the server does not speak this transport.
   */
  async open(signIn?: boolean): Promise<void> {
    this.drop('a new session replaced it');
    const res = await this.channel.send({ method: 'GET', headers: (auth) => ({ ...this.channel.getHeaders, ...auth }), signIn });
    if (res.status === 401 || res.status === 403 || res.status >= 500) throw await this.channel.failure(res);
    this.connection = await LegacySseConnection.open(res, {
      url: this.channel.url,
      logger: this.channel.logger,
      timeoutMs: this.channel.limits.connectTimeoutMs,
      maxMessageBytes: this.channel.limits.maxMessageBytes,
      deliver: (data) => this.deliver(data),
      onDrop: (dropped, reason) => this.dropped(dropped, reason),
      abort: () => res.body.destroy(),
    });
    this.unused = true;
  }

  async send(frame: Frame, options: SendOptions = {}): Promise<void> {
    if (options.headers) {
      // 2026-07-28 requests have no place on this transport: an answer era detection reads as "2025".
      throw new UpstreamError(Code.UPSTREAM_HTTP_ERROR, `The MCP server at ${this.channel.host} speaks the HTTP+SSE transport (2024-11-05), which has no stateless requests.`, { status: 405 });
    }
    const { message } = frame;
    const initialize = message.method === 'initialize';
    const onresponse = initialize ? this.session.answering(options.onresponse) : options.onresponse;
    await this.tracker.run(requestIds(message), { longLived: options.longLived, onresponse }, async (pending) => {
      if (initialize) {
        this.session.initializeParams = message.params ?? {};
        if (!this.unused || !this.connection?.alive) await this.open(options.signIn);
        this.unused = false;
      } else if (!this.connection?.alive) {
        await this.renew();
      }
      await this.post(frame, pending, options.signIn, !initialize);
    }, (err, pending) => sendFailure(err, pending, this.channel.host, this.channel.limits.requestTimeoutMs));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.channel.close();
    this.drop('the proxy is closing');
    this.onclose?.();
  }

  /** A ping found the connection dead: a new stream and session. */
  async reconnect(): Promise<void> {
    if (this.closed) return;
    this.drop('a ping found the connection dead');
    if (this.session.initializeParams !== undefined) await this.renew();
  }

  /** POSTs to the endpoint (202), then waits for the responses on the stream. */
  private async post(frame: Frame, pending: Pending, signIn: boolean | undefined, renewable: boolean): Promise<void> {
    const res = await this.channel.send({
      method: 'POST',
      url: () => this.endpoint(),
      body: frame.line,
      pending,
      signIn,
      sessionId: 'sse',
      // The stream ended (or the server forgot it: 404): a new stream and a new session, once.
      renew: renewable ? () => this.renew() : undefined,
      headers: (auth) => this.session.headers(this.channel.postHeaders, auth, { initialize: !renewable }),
    });
    if (res.status < 200 || res.status >= 300) throw await this.channel.failure(res);
    discard(res);
    if (pending.remaining.size === 0) return;
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error) => {
        this.waiting.delete(fail);
        pending.signal.removeEventListener('abort', aborted);
        reject(err);
      };
      const aborted = () => fail(new RequestAbortedError());
      this.waiting.add(fail);
      pending.signal.addEventListener('abort', aborted, { once: true });
      void pending.answered.then(() => {
        this.waiting.delete(fail);
        pending.signal.removeEventListener('abort', aborted);
        resolve();
      });
      if (!this.connection?.alive) fail(new UpstreamError(Code.STREAM_CLOSED, `The MCP server at ${this.channel.host} closed the event stream before answering (HTTP+SSE transport).`));
    });
  }

  /** A new stream and session with the client's initialize params, shared by every send that needs it. */
  private renew(): Promise<void> {
    this.renewing ??= this.session.gate((async () => {
      if (this.session.initializeParams === undefined) {
        throw new UpstreamError(Code.NO_SESSION, `The event stream from ${this.channel.host} ended and the client never initialized a session to renew.`);
      }
      await this.open();
      this.unused = false;
      const id = this.tracker.nextId('initialize');
      let answer: JsonRpcMessage | undefined;
      const init = this.tracker.begin([id], { onresponse: this.session.answering((f) => ((answer = f.message), true)) });
      try {
        await this.post({ line: JSON.stringify({ jsonrpc: '2.0', id, method: 'initialize', params: this.session.initializeParams }), message: { jsonrpc: '2.0', id, method: 'initialize' } }, init, undefined, false);
      } finally {
        this.tracker.finish(init);
      }
      if (!answer?.result) throw new UpstreamError(Code.INITIALIZE_FAILED, `The MCP server at ${this.channel.host} refused to initialize a session: ${answer?.error?.message ?? 'no result'}`);
      const initialized = this.tracker.begin([]);
      try {
        await this.post({ line: notificationLine('notifications/initialized'), message: { jsonrpc: '2.0', method: 'notifications/initialized' } }, initialized, undefined, false);
      } finally {
        this.tracker.finish(initialized);
      }
    })()).finally(() => (this.renewing = undefined));
    return this.renewing;
  }

  private endpoint(): URL {
    if (!this.connection?.alive) throw new UpstreamError(Code.STREAM_CLOSED, `The event stream from ${this.channel.host} ended (HTTP+SSE transport).`);
    return this.connection.endpoint;
  }

  private deliver(data: Buffer | MessageBytes): void {
    const frames = framesOf(data, () => this.channel.logger.warn(`the MCP server at ${this.channel.host} sent a message that is not JSON; dropped it`));
    for (const frame of frames) if (!this.tracker.settle(frame)) this.onmessage?.(frame, {});
  }

  /** Closes the stream, if any; what waited for answers on it gets an error (they will not come). */
  private drop(reason: string): void {
    const connection = this.connection;
    this.connection = undefined;
    connection?.close();
    for (const fail of [...this.waiting]) fail(new UpstreamError(Code.STREAM_CLOSED, `The event stream from ${this.channel.host} ended before the answer came (${reason}).`));
  }

  private dropped(connection: LegacySseConnection, reason: string): void {
    if (this.connection !== connection) return;
    this.drop(reason);
    if (this.closed || this.session.initializeParams === undefined) return;
    this.channel.logger.info(`the event stream from ${this.channel.host} ended (${reason}); reconnecting`);
    void this.reconnectInBackground();
  }

  private async reconnectInBackground(): Promise<void> {
    for (let attempt = 0; attempt < RECONNECT_ATTEMPTS && !this.closed; attempt++) {
      if (!(await this.channel.sleep(500 * 2 ** attempt))) return;
      if (this.connection?.alive || this.closed) return;
      try {
        await this.renew();
        return;
      } catch (err) {
        this.channel.logger.warn(`reconnecting to ${this.channel.host} failed: ${(err as Error).message}`);
      }
    }
  }
}
