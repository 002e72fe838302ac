// The proxy: the client's stdio on one side, the hosted server's Streamable HTTP endpoint on the
// other, and a short pump between them. Until sign-in is ready it answers as a placeholder server.
import type { Readable, Writable } from 'node:stream';
import type { Authorizer } from '../authorization.js';
import { Code, isAppError } from '../errors.js';
import type { HttpClient } from '../http/client.js';
import type { Logger } from '../log.js';
import { VERSION } from '../version.js';
import { errorLine, isRequest, notificationLine, type JsonRpcMessage } from './jsonrpc.js';
import { LIST_CHANGED_NOTIFICATIONS, LIST_UPDATES_BY_ITSELF, PlaceholderServer } from './placeholder.js';
import { StdioServer } from './stdio.js';
import { StreamableHttpClient, type OutgoingMessage } from './upstream/client.js';
import { UpstreamError } from './upstream/errors.js';

export interface ProxyOptions {
  url: string;
  headers?: Record<string, string>;
  authorizer: Authorizer;
  logger: Logger;
  stdin?: Readable;
  stdout?: Writable;
  /** Limit for each upstream response to start (default 30 s). */
  requestTimeoutMs?: number;
  /** Stops the proxy when aborted. Default: SIGINT / SIGTERM (see exitOnSignals). */
  signal?: AbortSignal;
  /** The HTTP layer (keep-alive agents, HTTP(S)_PROXY); closed when the proxy stops. */
  http: HttpClient;
}

/** Runs until the client closes stdin or `signal` aborts; the session is ended (DELETE) before it resolves. */
export async function runProxy(opts: ProxyOptions): Promise<void> {
  const termination = opts.signal ? undefined : exitOnSignals();
  const signal = opts.signal ?? termination!.signal;
  let stopped!: () => void;
  const stop = new Promise<void>((resolve) => (stopped = resolve));

  const stdio: StdioServer = new StdioServer({
    input: opts.stdin,
    output: opts.stdout,
    logger: opts.logger,
    onMessage: (line, message) => bridge.receive(line, message),
    onClose: () => stopped(),
  });
  const upstream = new StreamableHttpClient({
    url: opts.url,
    headers: opts.headers,
    authorizer: opts.authorizer,
    logger: opts.logger,
    requestTimeoutMs: opts.requestTimeoutMs,
    http: opts.http,
    onMessage: (line) => stdio.send(line),
  });
  const bridge = new Bridge(opts, stdio, upstream);

  if (signal.aborted) stopped();
  signal.addEventListener('abort', () => stopped(), { once: true });
  stdio.start();
  await stop;

  bridge.close();
  stdio.close();
  await upstream.close();
  opts.http.close();
  termination?.dispose();
}

type Mode = 'forwarding' | 'initializing' | 'placeholder';

class Bridge {
  private mode: Mode = 'forwarding';
  /** Messages that arrived while the client's initialize was in flight, in order. */
  private held: Array<[string, JsonRpcMessage | JsonRpcMessage[]]> = [];
  private placeholder: PlaceholderServer | undefined;
  private readonly host: string;
  private readonly closing = new AbortController();

  constructor(
    private readonly opts: ProxyOptions,
    private readonly stdio: StdioServer,
    private readonly upstream: StreamableHttpClient,
  ) {
    this.host = new URL(opts.url).host;
  }

  receive(line: string, message: JsonRpcMessage | JsonRpcMessage[]): void {
    if (this.mode === 'initializing') {
      this.held.push([line, message]);
    } else if (this.mode === 'placeholder') {
      for (const m of Array.isArray(message) ? message : [message]) {
        const answer = this.placeholder!.answer(m);
        if (answer) this.stdio.send(answer);
      }
    } else if (!Array.isArray(message) && message.method === 'initialize' && isRequest(message)) {
      void this.initialize(line, message);
    } else {
      this.forward(line, message);
    }
  }

  close(): void {
    this.closing.abort();
  }

  private forward(line: string, message: JsonRpcMessage | JsonRpcMessage[]): void {
    const outgoing = describe(line, message);
    const sent = this.upstream.send(outgoing);
    const cancelled = cancelledRequestOf(message);
    if (cancelled !== undefined) {
      // After the server has the notification, stop waiting on the cancelled request's stream.
      sent.finally(() => this.upstream.cancel(cancelled)).catch(() => {});
    }
    sent.catch((err: unknown) => this.reportFailure(err));
  }

  private reportFailure(err: unknown): void {
    if (this.closing.signal.aborted) return;
    const failure = UpstreamError.from(err, this.host);
    if (failure.unanswered.length === 0) {
      this.opts.logger.warn(`a notification to ${this.host} was not delivered: ${failure.message}`);
      return;
    }
    this.opts.logger.warn(failure.message);
    for (const id of failure.unanswered) this.stdio.send(errorLine(id, failure.rpcCode, failure.message, failure.data));
  }

  /**
   * The client's initialize goes to the server (with the stored token, or none). If the server asks
   * for a sign-in that does not complete within the authorizer's hold, the placeholder answers it
   * and the bridge switches to the server once signed in. Messages after it wait for the outcome.
   */
  private async initialize(line: string, message: JsonRpcMessage): Promise<void> {
    this.mode = 'initializing';
    const failure = await this.upstream.send(describe(line, message)).then(() => undefined, (err: unknown) => err);
    if (this.closing.signal.aborted) return;
    if (isAppError(failure, Code.SIGN_IN_PENDING, Code.SIGN_IN_REQUIRED)) {
      this.opts.logger.info(`answering as a placeholder until sign-in to ${this.host} is complete`);
      this.placeholder = new PlaceholderServer({ version: VERSION, message: `${failure.message} ${LIST_UPDATES_BY_ITSELF}` });
      this.mode = 'placeholder';
      this.stdio.send(this.placeholder.answer(message)!);
      void this.switchWhenSignedIn(message.params ?? {});
    } else {
      this.mode = 'forwarding';
      if (failure) this.reportFailure(failure);
    }
    const held = this.held;
    this.held = [];
    for (const [heldLine, heldMessage] of held) this.receive(heldLine, heldMessage);
  }

  private async switchWhenSignedIn(initializeParams: unknown): Promise<void> {
    try {
      await this.opts.authorizer.whenReady(this.closing.signal);
      const result = await this.initializeUpstream(initializeParams);
      if (this.closing.signal.aborted) return;
      const requested = (initializeParams as { protocolVersion?: unknown }).protocolVersion;
      if (result.protocolVersion !== PlaceholderServer.negotiate(requested)) {
        this.opts.logger.warn(`${this.host} chose protocol version ${String(result.protocolVersion)}, not the one the client was given`);
      }
      this.mode = 'forwarding';
      this.placeholder = undefined;
      this.opts.logger.info(`signed in: now connected to ${this.host}`);
      for (const method of LIST_CHANGED_NOTIFICATIONS) this.stdio.send(notificationLine(method));
    } catch (err) {
      if (this.closing.signal.aborted) return;
      this.opts.logger.error(`could not connect to ${this.host} after sign-in: ${(err as Error).message}`);
    }
  }

  private async initializeUpstream(initializeParams: unknown): Promise<Record<string, unknown>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.upstream.initialize(initializeParams);
      } catch (err) {
        if (attempt >= SWITCH_ATTEMPTS || this.closing.signal.aborted || isAppError(err, Code.SIGN_IN_REQUIRED, Code.TOKEN_REJECTED, Code.STEP_UP_FAILED)) throw err;
        this.opts.logger.warn(`connecting to ${this.host} after sign-in failed (${(err as Error).message}); trying again`);
        await new Promise((resolve) => setTimeout(resolve, 1000 * 2 ** (attempt - 1)).unref());
      }
    }
  }
}

/** After sign-in the server may still be briefly unreachable: a few tries, backing off, then give up. */
const SWITCH_ATTEMPTS = 5;

function describe(line: string, message: JsonRpcMessage | JsonRpcMessage[]): OutgoingMessage {
  if (!Array.isArray(message)) {
    return {
      body: line,
      requestIds: isRequest(message) ? [message.id] : [],
      initializeParams: message.method === 'initialize' ? message.params ?? {} : undefined,
      initialized: message.method === 'notifications/initialized',
    };
  }
  return {
    body: line,
    requestIds: message.filter(isRequest).map((m) => m.id),
    initialized: message.some((m) => m.method === 'notifications/initialized'),
  };
}

function cancelledRequestOf(message: JsonRpcMessage | JsonRpcMessage[]): string | number | undefined {
  if (Array.isArray(message) || message.method !== 'notifications/cancelled') return undefined;
  const id = (message.params as { requestId?: unknown } | undefined)?.requestId;
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}

/** Hard limit for a signal-triggered shutdown; the DELETE inside it is bounded well below. */
const FORCED_EXIT_MS = 1_000;

/**
 * An AbortSignal that fires on SIGINT or SIGTERM. After the signal the process exits by itself
 * within FORCED_EXIT_MS even if something else keeps the event loop alive.
 */
export function exitOnSignals(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = () => {
    controller.abort();
    setTimeout(() => process.exit(0), FORCED_EXIT_MS).unref();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
