// The proxy: the client's stdio on one side, the hosted server's Streamable HTTP endpoint on the
// other, and a short pump between them. Which protocol era each side speaks is the business of the
// pairing the bridge gets from Eras (./eras/): the bridge only tells a 2025 client (its first
// message is `initialize`) from a 2026-07-28 one (its messages carry the `_meta` envelope), holds
// messages while the pairing connects, and answers as a placeholder until sign-in is ready.
import type { Readable, Writable } from 'node:stream';
import type { Authorizer } from '../authorization.js';
import { Code, isAppError } from '../errors.js';
import type { HttpClient } from '../http/client.js';
import type { Logger } from '../log.js';
import { VERSION } from '../version.js';
import { modernResultMembers } from './eras/about.js';
import { MemoryEraCache, type EraCache } from './eras/cache.js';
import { isSignInPending } from './eras/detect.js';
import { LegacyPassThrough } from './eras/legacy-legacy.js';
import { isModernMessage, META, MODERN_VERSION } from './eras/modern.js';
import { Eras, type ProtocolChoice } from './eras/negotiate.js';
import { cancelledRequestOf, reportFailure, type ClientEra, type Pairing, type PairingContext } from './eras/pairing.js';
import { Batches } from './batches.js';
import { isRequest, notificationLine, resultLine, type JsonRpcId, type JsonRpcMessage } from './jsonrpc.js';
import { DEFAULT_LIMITS, type ProxyLimits } from './limits.js';
import { textOf, type Line } from './message-bytes.js';
import { LIST_CHANGED_NOTIFICATIONS, LIST_UPDATES_BY_ITSELF, PlaceholderServer } from './placeholder.js';
import { StdioServer } from './stdio.js';
import { Pinger } from './pinger.js';
import { ToolFilter, type ToolFilterOptions } from './tool-filter.js';
import { StreamableHttpClient, type TransportChoice } from './upstream/client.js';

export interface ProxyOptions {
  url: string;
  headers?: Record<string, string>;
  authorizer: Authorizer;
  logger: Logger;
  stdin?: Readable;
  stdout?: Writable;
  /** Message size and time bounds (default: DEFAULT_LIMITS). */
  limits?: Partial<ProxyLimits>;
  /** Stops the proxy when aborted. Default: SIGINT / SIGTERM (see exitOnSignals). */
  signal?: AbortSignal;
  /** The HTTP layer (keep-alive agents, HTTP(S)_PROXY); closed when the proxy stops. */
  http: HttpClient;
  /** The server's protocol era: detected (`auto`, the default) or fixed. */
  protocol?: ProtocolChoice;
  /** What was learned about the server's era, kept across runs (default: this process only). */
  eraCache?: EraCache;
  /** Streamable HTTP, the HTTP+SSE transport of 2024-11-05, or either (`auto`, the default; the verdict is kept in eraCache). */
  transport?: TransportChoice;
  /** Ping the server after this long without traffic (ms); default never. */
  pingIntervalMs?: number;
  /** Which tools the client sees and may call (`--ignore-tool`, `--allow-tool`, `--read-only`); default all. */
  tools?: ToolFilterOptions;
}

/** Runs until the client closes stdin or `signal` aborts; the session is ended (DELETE) before it resolves. */
export async function runProxy(opts: ProxyOptions): Promise<void> {
  const termination = opts.signal ? undefined : exitOnSignals();
  const signal = opts.signal ?? termination!.signal;
  let stopped!: () => void;
  const stop = new Promise<void>((resolve) => (stopped = resolve));
  const eraCache = opts.eraCache ?? new MemoryEraCache();
  const limits: ProxyLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  // Read now, so that the client's first message does not wait for the file.
  eraCache.load().catch(() => {});

  const stdio: StdioServer = new StdioServer({
    input: opts.stdin,
    output: opts.stdout,
    logger: opts.logger,
    onMessage: (line, message) => bridge.receive(line, message),
    onBatch: (members) => bridge.receiveBatch(members),
    onClose: () => stopped(),
    maxLineBytes: limits.maxMessageBytes,
  });
  const upstream = new StreamableHttpClient({
    url: opts.url,
    headers: opts.headers,
    authorizer: opts.authorizer,
    logger: opts.logger,
    limits,
    http: opts.http,
    onMessage: (line, message) => bridge.fromServer(line, message),
    transport: opts.transport,
    transportMemory: {
      load: async () => (await eraCache.load())?.transport,
      save: (transport) => eraCache.save({ transport }),
    },
  });
  const bridge = new Bridge(opts, stdio, upstream, eraCache);

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

type Mode = 'ready' | 'opening' | 'placeholder';

interface Placeholder {
  server: PlaceholderServer;
  /** What the user must do (the sign_in tool's description). */
  message: string;
  clientEra: ClientEra;
  /** A modern client's `subscriptions/listen` requests, held open until the switch. */
  listens: Array<[Line, JsonRpcMessage]>;
}

class Bridge {
  private mode: Mode = 'ready';
  /** Messages that arrived while a pairing was connecting, in order. */
  private held: Array<[Line, JsonRpcMessage | JsonRpcMessage[]]> = [];
  private pairing: Pairing | undefined;
  private placeholder: Placeholder | undefined;
  /** While a modern client's first request is on its way: released by the first answer to it. */
  private gate: { id: JsonRpcId; release(): void } | undefined;
  private readonly host: string;
  private readonly closing = new AbortController();
  private readonly ctx: PairingContext;
  private readonly eras: Eras;
  /** Batches from the client whose answers are being gathered into one line. */
  private readonly batches: Batches;
  /** Only when a tool filter was asked for: without one, no message is looked into for it. */
  private readonly tools: ToolFilter | undefined;
  private readonly pinger: Pinger | undefined;
  private readonly upstream: StreamableHttpClient;

  constructor(
    private readonly opts: ProxyOptions,
    private readonly stdio: StdioServer,
    upstream: StreamableHttpClient,
    eraCache: EraCache,
  ) {
    this.host = new URL(opts.url).host;
    this.batches = new Batches((line) => this.stdio.send(line));
    this.tools = ToolFilter.from(opts.tools ?? {});
    this.upstream = upstream;
    if (opts.pingIntervalMs) {
      this.pinger = new Pinger({
        intervalMs: opts.pingIntervalMs,
        logger: opts.logger,
        host: this.host,
        ping: (signal) => this.ping(signal),
        reconnect: () => upstream.reconnect(),
      });
    }
    this.ctx = {
      upstream,
      toClient: (line) => this.toClient(line),
      logger: opts.logger,
      host: this.host,
      ownInfo: { name: 'appwrite-mcp', version: VERSION },
      closing: () => this.closing.signal.aborted,
    };
    this.eras = new Eras({ ctx: this.ctx, cache: eraCache, protocol: opts.protocol ?? 'auto' });
  }

  /**
   * A batch (JSON-RPC 2.0 §6): each member goes on as a message of its own, in every pairing (MCP
   * 2025-06-18 and later have no batches; a 2025-03-26 client may still send them), and the answers
   * to its requests go back together as one array line.
   */
  receiveBatch(members: unknown[]): void {
    for (const [line, message] of this.batches.open(members)) this.receive(line, message);
  }

  /** Every line to the client goes through here, from every pairing, in the client's era: the one place to filter tools/list. */
  private toClient(line: Line): void {
    this.pinger?.touch();
    if (this.gate && answers(textOf(line), this.gate.id)) this.gate.release();
    if (this.tools?.listing) line = this.tools.filter(textOf(line));
    if (this.batches.pending && this.batches.take(textOf(line))) return;
    this.stdio.send(line);
  }

  /** A message for the pairing: as bytes only to one that forwards it as it is (else decoded). */
  private forPairing(line: Line): Line {
    return this.pairing?.asIs ? line : textOf(line);
  }

  receive(line: Line, message: JsonRpcMessage | JsonRpcMessage[]): void {
    const cancelled = this.batches.pending ? cancelledRequestOf(message) : undefined;
    if (cancelled !== undefined) this.batches.cancelled(cancelled);
    this.pinger?.touch();
    // Checked once connected (held messages come back through here); the placeholder's own tool is never filtered.
    if (this.tools && this.mode === 'ready') {
      const allowed = this.refuseHiddenTools(line, message);
      if (!allowed) return;
      [line, message] = allowed;
    }
    if (this.mode === 'opening') {
      this.held.push([line, message]);
      return;
    }
    if (this.mode === 'placeholder') {
      for (const m of Array.isArray(message) ? message : [message]) this.answerAsPlaceholder(m === message ? line : JSON.stringify(m), m);
      return;
    }
    if (Array.isArray(message)) {
      // Batches exist in the 2025 era only.
      (this.pairing ??= new LegacyPassThrough(this.ctx)).receive(textOf(line), message);
      return;
    }
    if (message.method === 'server/discover' && isRequest(message)) {
      // Answered here, never held for a sign-in; only a 2026-07-28 server the bridge knows nothing about yet is asked.
      if (!this.pairing) void this.discover(message);
      else if (!this.pairing.about && this.pairing.serverEra === 'modern') this.pairing.receive(this.forPairing(line), message);
      else this.toClient(this.eras.discoverAnswer(message, this.pairing));
      return;
    }
    if (message.method === 'initialize' && isRequest(message) && !isModernMessage(message)) {
      void this.open('2025', textOf(line), message);
    } else if (this.pairing) {
      this.pairing.receive(this.forPairing(line), message);
    } else if (isModernMessage(message)) {
      if (isRequest(message)) void this.open('modern', textOf(line), message);
      else this.opts.logger.debug(`${message.method ?? 'a response'} before any request: nothing to do with it`);
    } else {
      // A 2025 client that sent something before initialize (or never initializes): pass it on.
      this.pairing = new LegacyPassThrough(this.ctx);
      this.pairing.receive(line, message);
    }
  }

  /** Answers each `tools/call` for a hidden tool; what is left to forward, if anything. */
  private refuseHiddenTools(line: Line, message: JsonRpcMessage | JsonRpcMessage[]): [Line, JsonRpcMessage | JsonRpcMessage[]] | undefined {
    const tools = this.tools!;
    if (!Array.isArray(message)) {
      const refusal = tools.check(message);
      if (refusal === undefined) return [line, message];
      this.toClient(refusal);
      return undefined;
    }
    const rest = message.filter((m) => {
      const refusal = tools.check(m);
      if (refusal !== undefined) this.toClient(refusal);
      return refusal === undefined;
    });
    if (rest.length === message.length) return [line, message];
    return rest.length ? [JSON.stringify(rest), rest] : undefined;
  }

  /**
   * The proxy's own ping, in the server's era: within the 2025 session (once there is one), or as a
   * stateless 2026-07-28 request with the proxy's own envelope. Never waits for a sign-in.
   */
  private ping(signal: AbortSignal): Promise<unknown> | undefined {
    const pairing = this.pairing;
    if (!pairing || this.mode !== 'ready') return undefined;
    if (pairing.serverEra === '2025') {
      if (!this.upstream.sessionInfo.protocolVersion) return undefined;
      return this.upstream.call('ping', undefined, { signIn: false, signal });
    }
    const meta = { [META.protocolVersion]: MODERN_VERSION, [META.clientInfo]: this.ctx.ownInfo, [META.clientCapabilities]: {} };
    return this.upstream.call('ping', undefined, {
      build: (id) => JSON.stringify({ jsonrpc: '2.0', id, method: 'ping', params: { _meta: meta } }),
      headers: { 'mcp-protocol-version': MODERN_VERSION, 'mcp-method': 'ping' },
      stateless: true,
      signIn: false,
      signal,
    });
  }

  /** A server message that no request claimed. */
  fromServer(line: Line, message: JsonRpcMessage): void {
    this.pinger?.touch();
    if (this.pairing) this.pairing.fromServer(this.forPairing(line), message);
    else this.ctx.toClient(line);
  }

  close(): void {
    this.pinger?.stop();
    this.closing.abort();
    this.pairing?.close();
  }

  /**
   * Connects a pairing for the client's first message (a 2025 `initialize`, or a modern client's
   * first request) and has it answered. If the server asks for a sign-in that does not complete
   * within the authorizer's hold, the placeholder answers it and the bridge connects once signed
   * in. Messages after it wait for the outcome.
   */
  private async open(era: ClientEra, line: string, message: JsonRpcMessage): Promise<void> {
    this.mode = 'opening';
    this.pairing?.close();
    this.pairing = undefined;
    try {
      if (era === '2025') {
        this.pairing = await this.eras.for2025Client(message.params ?? {}, { line, message });
      } else {
        this.pairing = await this.eras.forModernClient(Eras.identityOf(message));
        await this.first(this.pairing, line, message);
      }
      this.opts.logger.debug(`${this.pairing.name}`);
    } catch (err) {
      if (this.closing.signal.aborted) return;
      if (isSignInPending(err)) {
        this.startPlaceholder(era, (err as Error).message, line, message);
      } else {
        reportFailure(this.ctx, err, message.id as JsonRpcId);
        // A 2025 client goes on as before: its messages are forwarded as they are.
        this.pairing = era === '2025' ? new LegacyPassThrough(this.ctx) : undefined;
      }
    }
    if (this.mode === 'opening') this.mode = 'ready';
    this.flushHeld();
  }

  /** Sends a modern client's first request; resolves once it is answered (or has failed). */
  private async first(pairing: Pairing, line: string, message: JsonRpcMessage): Promise<void> {
    let release!: () => void;
    const answered = new Promise<'answered'>((resolve) => (release = () => resolve('answered')));
    this.gate = { id: message.id as JsonRpcId, release };
    const handled = pairing.handle(line, message).then(() => 'handled' as const);
    try {
      // An input round answers the request long before it is done: stop holding messages then.
      if ((await Promise.race([handled, answered])) === 'answered') handled.catch((err: unknown) => reportFailure(this.ctx, err, message.id as JsonRpcId));
    } finally {
      this.gate = undefined;
    }
  }

  private async discover(message: JsonRpcMessage): Promise<void> {
    this.mode = 'opening';
    this.pairing = await this.eras.discover(message).catch((err: unknown) => {
      this.opts.logger.debug(`server/discover: ${(err as Error).message}`);
      return undefined;
    });
    if (this.mode === 'opening') this.mode = 'ready';
    this.flushHeld();
  }

  private flushHeld(): void {
    const held = this.held;
    this.held = [];
    for (const [heldLine, heldMessage] of held) this.receive(heldLine, heldMessage);
  }

  // ── until sign-in is ready ───────────────────────────────────────────────────────────────

  private startPlaceholder(clientEra: ClientEra, reason: string, line: Line, message: JsonRpcMessage): void {
    this.opts.logger.info(`answering as a placeholder until sign-in to ${this.host} is complete`);
    const text = `${reason} ${LIST_UPDATES_BY_ITSELF}`;
    this.placeholder = { server: new PlaceholderServer({ version: VERSION, message: text }), message: text, clientEra, listens: [] };
    this.mode = 'placeholder';
    this.tools?.forget(message.id);
    this.answerAsPlaceholder(line, message);
    void this.switchWhenSignedIn(clientEra, message);
  }

  private answerAsPlaceholder(line: Line, message: JsonRpcMessage): void {
    const p = this.placeholder!;
    if (p.clientEra === '2025') {
      const answer = p.server.answer(message);
      if (answer) this.toClient(answer);
      return;
    }
    // A 2026-07-28 client: the same answers in that revision's shape.
    if (message.method === 'server/discover' && isRequest(message)) {
      this.toClient(this.eras.discoverAnswer(message, undefined, p.message));
    } else if (message.method === 'subscriptions/listen' && isRequest(message)) {
      p.listens.push([line, message]);
      const notifications = (message.params as { notifications?: unknown } | undefined)?.notifications ?? {};
      this.stdio.send(notificationLine('notifications/subscriptions/acknowledged', { notifications, _meta: { [META.subscriptionId]: message.id } }));
    } else if (cancelledRequestOf(message) !== undefined) {
      p.listens = p.listens.filter(([, m]) => m.id !== cancelledRequestOf(message));
    } else {
      const answer = p.server.answer(message);
      if (answer) this.toClient(modernAnswer(answer, message.method));
    }
  }

  private async switchWhenSignedIn(clientEra: ClientEra, first: JsonRpcMessage): Promise<void> {
    try {
      await this.opts.authorizer.whenReady(this.closing.signal);
      const pairing = await this.connectAfterSignIn(() =>
        clientEra === '2025' ? this.eras.for2025Client(first.params ?? {}) : this.eras.forModernClient(Eras.identityOf(first)));
      if (this.closing.signal.aborted) return;
      const listens = this.placeholder?.listens ?? [];
      this.pairing = pairing;
      this.placeholder = undefined;
      this.mode = 'ready';
      this.opts.logger.info(`signed in: now connected to ${this.host}`);
      if (clientEra === '2025') {
        for (const method of LIST_CHANGED_NOTIFICATIONS) this.stdio.send(notificationLine(method));
        return;
      }
      // A modern client hears of list changes only on the subscriptions it opened.
      for (const [listenLine, listen] of listens) {
        for (const method of LIST_CHANGED_NOTIFICATIONS) this.stdio.send(notificationLine(method, { _meta: { [META.subscriptionId]: listen.id } }));
        pairing.receive(pairing.asIs ? listenLine : textOf(listenLine), listen);
      }
    } catch (err) {
      if (this.closing.signal.aborted) return;
      this.opts.logger.error(`could not connect to ${this.host} after sign-in: ${(err as Error).message}`);
    }
  }

  private async connectAfterSignIn(connect: () => Promise<Pairing>): Promise<Pairing> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await connect();
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

/**
 * True when `line` answers request `id` (read only while a gate is up): its response, or for a
 * `subscriptions/listen` (answered only when it ends) the acknowledgment that opens it.
 */
function answers(line: string, id: JsonRpcId): boolean {
  try {
    const m = JSON.parse(line) as JsonRpcMessage;
    if (m.method === 'notifications/subscriptions/acknowledged') {
      return (m.params as { _meta?: Record<string, unknown> } | undefined)?._meta?.[META.subscriptionId] === id;
    }
    return m.method === undefined && m.id === id;
  } catch {
    return false;
  }
}

/** A placeholder answer in the shape a 2026-07-28 client requires. */
function modernAnswer(answer: string, method: string | undefined): string {
  const m = JSON.parse(answer) as JsonRpcMessage;
  if (!m.result || typeof m.result !== 'object') return answer;
  const result = m.result as Record<string, unknown>;
  for (const [key, value] of Object.entries(modernResultMembers(method, (k) => k in result))) result[key] = JSON.parse(value);
  return resultLine(m.id as JsonRpcId, result);
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
