// The pump between the client's transport (stdio) and the server's (Streamable HTTP or HTTP+SSE),
// and what only it can do: tell a 2025 client (its first message is `initialize`) from a 2026-07-28
// one (its messages carry the `_meta` envelope) and get a route for it (eras/negotiate.ts); hold
// messages while that route connects, and a modern client's later messages until its first request
// is answered (the gate); answer as a placeholder while sign-in is not finished; the user's tool
// filter; batches; pings. Which era each side speaks is the route's business.
import type { Authorizer } from '../authorization.js';
import type { Logger } from '../log.js';
import { VERSION } from '../version.js';
import { Batches } from './batches.js';
import type { EraCache } from './eras/cache.js';
import type { Era } from './eras/codec.js';
import { isSignInPending } from './eras/detect.js';
import { identityOf, isModernMessage } from './eras/modern.js';
import { Eras, type ProtocolChoice } from './eras/negotiate.js';
import { failureLines, type Route, type RouteContext } from './eras/route.js';
import { cancelledRequestOf, isRequest, type JsonRpcId, type JsonRpcMessage } from './jsonrpc.js';
import { textOf, type Line } from './message-bytes.js';
import { FirstRequestGate } from './gate.js';
import type { Pinger, PingerOptions } from './pinger.js';
import type { SignInWait } from './sign-in-wait.js';
import type { ToolFilter } from './tool-filter.js';
import type { StdioTransport } from './transports/stdio.js';
import type { RequestTracker } from './transports/tracker.js';
import type { Frame, MessageExtra, UpstreamTransport } from './transports/transport.js';

export interface BridgeOptions {
  client: StdioTransport;
  upstream: UpstreamTransport;
  tracker: RequestTracker;
  authorizer: Authorizer;
  logger: Logger;
  host: string;
  protocol: ProtocolChoice;
  eraCache: EraCache;
  /** Only when a tool filter was asked for: without one, no message is looked into for it. */
  tools?: ToolFilter;
  /** Makes the pinger (--ping-interval), given what to ping. */
  pinger?: (o: Pick<PingerOptions, 'ping' | 'reconnect'>) => Pinger;
}

export class Bridge {
  private mode: 'ready' | 'opening' | 'placeholder' = 'ready';
  /** Messages that arrived while a route was connecting, in order. */
  private held: Frame[] = [];
  private route: Route | undefined;
  private waiting: SignInWait | undefined;
  private readonly gate = new FirstRequestGate();
  private readonly closing = new AbortController();
  private readonly ctx: RouteContext;
  private readonly eras: Eras;
  private readonly batches: Batches;
  private readonly tools: ToolFilter | undefined;
  private readonly pinger: Pinger | undefined;

  constructor(private readonly o: BridgeOptions) {
    this.batches = new Batches((line) => void o.client.send(line));
    this.tools = o.tools;
    this.ctx = {
      upstream: o.upstream,
      tracker: o.tracker,
      logger: o.logger,
      host: o.host,
      ownInfo: { name: 'appwrite-mcp', version: VERSION },
      closing: () => this.closing.signal.aborted,
      toClient: (line) => this.toClient(line),
    };
    this.eras = new Eras({ ctx: this.ctx, cache: o.eraCache, protocol: o.protocol });
    this.pinger = o.pinger?.({ ping: (signal) => (this.mode === 'ready' ? this.route?.ping(signal) : undefined), reconnect: () => o.upstream.reconnect() });
    o.client.onmessage = (frame) => this.receive(frame);
    o.client.onbatch = (members) => {
      for (const [line, message] of this.batches.open(members)) this.receive({ line, message });
    };
    o.upstream.onmessage = (frame, extra) => this.fromServer(frame, extra);
  }

  close(): void {
    this.pinger?.stop();
    this.closing.abort();
    this.route?.close();
  }

  /** Every line to the client goes through here, in the client's era: the one place to filter tools/list. */
  private toClient(line: Line): void {
    this.pinger?.touch();
    if (this.gate.holding) this.gate.see(textOf(line));
    if (this.tools?.listing) line = this.tools.filter(textOf(line));
    if (this.batches.pending && this.batches.take(textOf(line))) return;
    void this.o.client.send(line);
  }

  private fromServer(frame: Frame, extra: MessageExtra): void {
    this.pinger?.touch();
    if (this.route) this.route.fromServer(frame, extra);
    else this.toClient(frame.line);
  }

  private receive(frame: Frame): void {
    const { message } = frame;
    const cancelled = this.batches.pending ? cancelledRequestOf(message) : undefined;
    if (cancelled !== undefined) this.batches.cancelled(cancelled);
    this.pinger?.touch();
    // Checked once connected (held messages come back through here); the placeholder's own tool is never filtered.
    const refusal = this.tools && this.mode === 'ready' ? this.tools.check(message) : undefined;
    if (refusal !== undefined) return this.toClient(refusal);
    if (this.mode === 'opening') return void this.held.push(frame);
    if (this.mode === 'placeholder') return this.waiting!.answer(frame);
    if (message.method === 'server/discover' && isRequest(message)) {
      // Answered here, never held for a sign-in; only a 2026-07-28 server the bridge knows nothing about yet is asked.
      if (!this.route) return void this.discover(message);
      if (!this.route.about && this.route.serverEra === 'modern') return this.route.fromClient(frame);
      return this.toClient(this.eras.discoverAnswer(message, this.route));
    }
    if (message.method === 'initialize' && isRequest(message) && !isModernMessage(message)) return void this.open('2025', frame);
    if (this.route) return this.route.fromClient(frame);
    if (!isModernMessage(message)) {
      // A 2025 client that sent something before initialize (or never initializes): pass it on.
      this.route = this.eras.passThrough2025();
      return this.route.fromClient(frame);
    }
    if (isRequest(message)) void this.open('modern', frame);
    else this.o.logger.debug(`${message.method ?? 'a response'} before any request: nothing to do with it`);
  }

  /**
   * Gets a route for the client's first message (a 2025 `initialize`, or a modern client's first
   * request) and has it answered. If the server asks for a sign-in that does not complete within the
   * authorizer's hold, the placeholder answers and the bridge connects once signed in. Messages after
   * it wait for the outcome.
   */
  private async open(era: Era, frame: Frame): Promise<void> {
    this.mode = 'opening';
    this.route?.close();
    this.route = undefined;
    try {
      if (era === '2025') {
        this.route = await this.eras.for2025Client(frame);
      } else {
        this.route = await this.eras.forModernClient(identityOf(frame.message));
        await this.gate.pass(this.route, frame);
      }
      this.o.logger.debug(this.route.name);
    } catch (err) {
      if (this.closing.signal.aborted) return;
      if (isSignInPending(err)) {
        await this.startWaiting(era, (err as Error).message, frame);
      } else {
        for (const line of failureLines(this.ctx, err, frame.message.id as JsonRpcId)) this.toClient(line);
        // A 2025 client goes on as before: its messages are forwarded as they are.
        this.route = era === '2025' ? this.eras.passThrough2025() : undefined;
      }
    }
    if (this.mode === 'opening') this.mode = 'ready';
    this.flushHeld();
  }

  private async discover(message: JsonRpcMessage): Promise<void> {
    this.mode = 'opening';
    this.route = await this.eras.discover(message);
    if (this.mode === 'opening') this.mode = 'ready';
    this.flushHeld();
  }

  private flushHeld(): void {
    const held = this.held;
    this.held = [];
    for (const frame of held) this.receive(frame);
  }

  private async startWaiting(clientEra: Era, reason: string, first: Frame): Promise<void> {
    this.o.logger.info(`answering as a placeholder until sign-in to ${this.o.host} is complete`);
    // Loaded only when a sign-in keeps the client waiting.
    const { SignInWait } = await import('./sign-in-wait.js');
    this.waiting = new SignInWait({ clientEra, reason, write: (line) => this.toClient(line), discover: (m, instructions) => this.eras.discoverAnswer(m, undefined, instructions) });
    this.mode = 'placeholder';
    this.tools?.forget(first.message.id);
    this.waiting.answer(first);
    void this.switchWhenSignedIn(this.waiting, clientEra, first.message);
  }

  private async switchWhenSignedIn(wait: SignInWait, clientEra: Era, first: JsonRpcMessage): Promise<void> {
    const { connectWhenSignedIn } = await import('./sign-in-wait.js');
    const route = await connectWhenSignedIn({
      authorizer: this.o.authorizer,
      logger: this.o.logger,
      host: this.o.host,
      signal: this.closing.signal,
      connect: () => (clientEra === '2025' ? this.eras.reconnect2025(first.params ?? {}) : this.eras.forModernClient(identityOf(first))),
    });
    if (!route || this.closing.signal.aborted) return;
    this.route = route;
    this.waiting = undefined;
    this.mode = 'ready';
    this.o.logger.info(`signed in: now connected to ${this.o.host}`);
    wait.handOver(route, (line) => void this.o.client.send(line));
  }
}
