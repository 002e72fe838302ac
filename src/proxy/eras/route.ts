// A route is how one client's messages reach the server and back: the bridge picks one per client
// (negotiate.ts) and from then on only hands it messages. CodecRoute joins a client codec and a
// server codec (codec.ts) and reports what failed, in the client's era.
import { Code } from '../../errors.js';
import { errorLine, isRequest, type JsonRpcId, type JsonRpcMessage } from '../jsonrpc.js';
import type { Line } from '../message-bytes.js';
import { UpstreamError } from '../transports/errors.js';
import type { Frame, MessageExtra } from '../transports/transport.js';
import type { ServerAbout } from './about.js';
import { frameOf, type ClientCodec, type ClientIdentity, type ClientPort, type CodecContext, type Era, type Internal, type ServerCodec, type ServerPort } from './codec.js';

export interface Route {
  /** For logs, e.g. "2025 client → 2026-07-28 server". */
  readonly name: string;
  readonly clientEra: Era;
  readonly serverEra: Era;
  /** What the server said about itself, once known. */
  readonly about: ServerAbout | undefined;
  /** One client message; a request that fails is answered with a JSON-RPC error. */
  fromClient(frame: Frame): void;
  /** A client's first request, its failure left to the caller (sign-in pending → placeholder). */
  first(frame: Frame): Promise<void>;
  /** A server message that no request of the proxy's own kept. */
  fromServer(frame: Frame, extra: MessageExtra): void;
  /** A ping of the proxy's own, in the server's era; undefined when there is nothing to ping yet. */
  ping(signal: AbortSignal): Promise<unknown> | undefined;
  /** Answers what a failed send of `message` left unanswered, in the client's era. */
  report(err: unknown, message: JsonRpcMessage): void;
  close(): void;
}

export interface RouteContext extends CodecContext {
  /** Writes one line to the client (through the bridge: tool filter, batches, gate). */
  toClient(line: Line): void;
}

const ERA_NAMES: Record<Era, string> = { '2025': '2025', modern: '2026-07-28' };

export class CodecRoute implements Route, ServerPort, ClientPort {
  readonly name: string;
  readonly client: ClientCodec;
  readonly server: ServerCodec;

  constructor(private readonly ctx: RouteContext, client: (port: ServerPort, write: (line: Line) => void) => ClientCodec, server: (port: ClientPort) => ServerCodec) {
    this.client = client(this, (line) => ctx.toClient(line));
    this.server = server(this);
    this.name = `${ERA_NAMES[this.client.era]} client ${this.client.era === this.server.era ? '⇄' : '→'} ${ERA_NAMES[this.server.era]} server`;
  }

  get clientEra(): Era {
    return this.client.era;
  }

  get serverEra(): Era {
    return this.server.era;
  }

  get about(): ServerAbout | undefined {
    return this.server.about;
  }

  serverAbout(): ServerAbout | undefined {
    return this.server.about;
  }

  fromClient(frame: Frame): void {
    const internal = this.client.fromClient(frame);
    if (internal) this.send(internal);
  }

  first(frame: Frame): Promise<void> {
    const internal = this.client.fromClient(frame);
    return internal ? this.server.toServer(internal) : Promise.resolve();
  }

  fromServer(frame: Frame, extra: MessageExtra): void {
    const internal = this.server.fromServer(frame, extra);
    if (internal) this.deliver(internal, extra);
  }

  ping(signal: AbortSignal): Promise<unknown> | undefined {
    return this.server.ping?.(signal);
  }

  close(): void {
    this.client.close();
    this.server.close();
  }

  // ── the ports ──────────────────────────────────────────────────────────────────────────────

  send(frame: Internal): Promise<void> {
    return this.server.toServer(frame).catch((err: unknown) => this.report(err, frame.message));
  }

  async ready(identity: ClientIdentity): Promise<void> {
    await this.server.connect?.(identity);
  }

  async request(method: string, params: unknown, identity?: ClientIdentity, signal?: AbortSignal): Promise<JsonRpcMessage> {
    return requestThrough(this.ctx, (frame, options) => this.server.toServer({ ...frame, identity }, options), method, params, signal);
  }

  deliver(frame: Frame, extra: MessageExtra = {}): void {
    this.client.toClient(frame, extra);
  }

  /** Answers what a failed send left unanswered (the ids the failure names, else the message's). */
  report(err: unknown, message: JsonRpcMessage): void {
    for (const line of failureLines(this.ctx, err, isRequest(message) ? message.id : undefined)) this.deliver(frameOf(line));
  }
}

/** A request of the proxy's own through `send`; resolves with its response (kept from the client). */
export async function requestThrough(
  ctx: CodecContext,
  send: (frame: Frame, options: { onresponse(frame: Frame): boolean }) => Promise<void>,
  method: string,
  params: unknown,
  signal?: AbortSignal,
  build?: (id: string) => string,
): Promise<JsonRpcMessage> {
  const id = ctx.tracker.nextId(method);
  const line = build ? build(id) : JSON.stringify(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params });
  let response: JsonRpcMessage | undefined;
  const cancel = () => ctx.tracker.cancel(id);
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    await send({ line, message: { jsonrpc: '2.0', id, method, params } }, { onresponse: (f) => (f.message.id === id ? ((response = f.message), true) : false) });
  } finally {
    signal?.removeEventListener('abort', cancel);
  }
  if (!response) throw new UpstreamError(signal?.aborted ? Code.CANCELLED : Code.NO_RESPONSE, `The MCP server at ${ctx.host} did not answer ${method}.`);
  return response;
}

/** The JSON-RPC error lines for a failed send: one per request it left unanswered. */
export function failureLines(ctx: CodecContext, err: unknown, id?: JsonRpcId): string[] {
  if (ctx.closing()) return [];
  const failure = UpstreamError.from(err, ctx.host);
  const unanswered = failure.unanswered.length ? failure.unanswered : id === undefined ? [] : [id];
  if (unanswered.length === 0) {
    ctx.logger.warn(`a notification to ${ctx.host} was not delivered: ${failure.message}`);
    return [];
  }
  ctx.logger.warn(failure.message);
  return unanswered.map((unansweredId) => errorLine(unansweredId, failure.rpcCode, failure.message, failure.data));
}
