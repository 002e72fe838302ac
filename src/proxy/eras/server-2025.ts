// The 2025 server codec: the internal form goes to the server as it is, in the Streamable HTTP
// session the transport keeps (re-initialize on 404, DELETE at the end). For a client that never
// initializes (a 2026-07-28 client) it runs the handshake itself, with what the client's envelope
// says about it, and turns a change of the envelope's log level into `logging/setLevel`.
import { Code } from '../../errors.js';
import { cancelledRequestOf, isRequest, notificationLine } from '../jsonrpc.js';
import { UpstreamError } from '../transports/errors.js';
import type { Frame, SendOptions } from '../transports/transport.js';
import { aboutFromInitialize, KNOWN_PROTOCOL_VERSIONS, type ServerAbout } from './about.js';
import type { ClientIdentity, CodecContext, Internal, ServerCodec } from './codec.js';
import { isModernVersion } from './modern.js';
import { requestThrough } from './route.js';

const INITIALIZED: Frame = { line: notificationLine('notifications/initialized'), message: { jsonrpc: '2.0', method: 'notifications/initialized' } };

export class Server2025 implements ServerCodec {
  readonly era = '2025';
  about: ServerAbout | undefined;
  /** A session is open (the client's initialize was answered, or the handshake run here). */
  private open = false;
  private handshake: Promise<void> | undefined;
  private logLevel: string | undefined;

  constructor(private readonly ctx: CodecContext, about?: ServerAbout) {
    this.about = about;
  }

  async toServer(frame: Internal, options: SendOptions = {}): Promise<void> {
    if (frame.identity) await this.prepare(frame.identity);
    const message = frame.message;
    if (message.method === 'initialize' && isRequest(message)) {
      const keep = options.onresponse;
      options = { ...options, onresponse: (f) => (this.learn(f.message.result), keep?.(f) ?? false) };
    }
    const sent = this.ctx.upstream.send(frame, options);
    const cancelled = cancelledRequestOf(message);
    // After the server has the notification, stop waiting on the cancelled request's stream.
    if (cancelled !== undefined) void sent.finally(() => this.ctx.tracker.cancel(cancelled)).catch(() => {});
    return sent;
  }

  fromServer(frame: Frame): Frame {
    return frame;
  }

  /** Runs the handshake for a client that never initializes; `signIn: false` fails on a 401 instead of waiting. */
  connect(identity: ClientIdentity, signIn = true): Promise<void> {
    return this.connectWith({ protocolVersion: KNOWN_PROTOCOL_VERSIONS[0], capabilities: identity.clientCapabilities ?? {}, clientInfo: identity.clientInfo ?? this.ctx.ownInfo }, signIn);
  }

  /** Runs the handshake with these initialize params (a 2025 client's, after the placeholder answered its own). */
  connectWith(params: unknown, signIn = true): Promise<void> {
    this.handshake ??= this.initialize(params, signIn).catch((err: unknown) => {
      this.handshake = undefined;
      throw err;
    });
    return this.handshake;
  }

  ping(signal: AbortSignal): Promise<unknown> | undefined {
    if (!this.open) return undefined;
    return requestThrough(this.ctx, (f, o) => this.ctx.upstream.send(f, { ...o, signIn: false }), 'ping', undefined, signal);
  }

  close(): void {}

  private async prepare(identity: ClientIdentity): Promise<void> {
    await this.connect(identity);
    const level = identity.logLevel;
    if (level === undefined || level === this.logLevel || !this.about?.capabilities.logging) return;
    this.logLevel = level;
    try {
      await requestThrough(this.ctx, (f, o) => this.ctx.upstream.send(f, o), 'logging/setLevel', { level });
    } catch (err) {
      this.ctx.logger.debug(`setting the log level at ${this.ctx.host} failed: ${(err as Error).message}`);
    }
  }

  private async initialize(params: unknown, signIn: boolean): Promise<void> {
    const response = await requestThrough(this.ctx, (f, o) => this.ctx.upstream.send(f, { ...o, signIn }), 'initialize', params);
    if (!response.result) {
      throw new UpstreamError(Code.INITIALIZE_FAILED, `The MCP server at ${this.ctx.host} refused to initialize a session: ${response.error?.message ?? 'no result'}`);
    }
    const version = (response.result as { protocolVersion?: unknown }).protocolVersion;
    if (isModernVersion(version)) {
      throw new UpstreamError(Code.ERA_NEGOTIATION_FAILED, `The MCP server at ${this.ctx.host} answered a 2025 initialize with protocol version ${version}.`);
    }
    this.learn(response.result);
    await this.ctx.upstream.send(INITIALIZED, { signIn });
  }

  private learn(result: unknown): void {
    if (!result || typeof result !== 'object') return;
    this.about = aboutFromInitialize(result as Record<string, unknown>);
    this.open = true;
  }
}
