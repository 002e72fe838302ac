// Which HTTP transport a server speaks (--transport): `http` Streamable HTTP only; `sse` the HTTP+SSE
// transport of 2024-11-05 only; `auto` Streamable HTTP, falling back to HTTP+SSE when the server
// refuses the `initialize` POST with 400/404/405 and answers a GET with an event stream (MCP
// 2025-03-26, "Backwards Compatibility"); `sse-first` the other way round (what `auto` does once it
// has learned that a server speaks HTTP+SSE). The verdict of `auto` is remembered (TransportMemory).
import { Code } from '../../errors.js';
import type { JsonRpcMessage } from '../jsonrpc.js';
import type { HttpChannel } from './channel.js';
import { UpstreamError } from './errors.js';
import type { LegacySseTransport } from './legacy-sse.js';
import { StreamableHttpTransport } from './streamable-http.js';
import type { RequestTracker } from './tracker.js';
import type { Frame, MessageExtra, SendOptions, UpstreamTransport } from './transport.js';

export type TransportChoice = 'auto' | 'http' | 'sse' | 'sse-first';

/** Where the verdict of `auto` is kept across runs (beside the protocol era). */
export interface TransportMemory {
  load(): Promise<'http' | 'sse' | undefined>;
  save(transport: 'http' | 'sse'): Promise<void>;
}

/** The statuses of a refused `initialize` POST after which `auto` tries HTTP+SSE. */
const SSE_FALLBACK_STATUSES = new Set([400, 404, 405]);
/** A 2026-07-28-only server's refusal of a 2025 initialize (-32022): not a transport matter. */
const UNSUPPORTED_PROTOCOL_VERSION = -32022;

export class FallbackTransport implements UpstreamTransport {
  onmessage?: (frame: Frame, extra: MessageExtra) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;
  private readonly http: StreamableHttpTransport;
  private sse: LegacySseTransport | undefined;
  private mode: 'http' | 'sse' | undefined;
  /** Whether the other transport may still be tried when this one is refused. */
  private fallback = false;
  private decided: Promise<void> | undefined;

  constructor(private readonly channel: HttpChannel, private readonly tracker: RequestTracker, private readonly choice: TransportChoice = 'auto', private readonly memory?: TransportMemory) {
    this.http = this.wire(new StreamableHttpTransport(channel, tracker));
  }

  async start(): Promise<void> {}

  async send(frame: Frame, options: SendOptions = {}): Promise<void> {
    if (!this.mode) await (this.decided ??= this.decide());
    const handshake = frame.message.method === 'initialize' && !options.headers && this.fallback;
    if (this.mode === 'sse') {
      const sse = await this.legacy();
      if (!handshake) return sse.send(frame, options);
      try {
        await sse.send(frame, options);
        return this.settle('sse');
      } catch (err) {
        // Learned (or `sse-first`) but not so: back to Streamable HTTP, remembered.
        if (!refusedWithStatus(err)) throw err;
        this.channel.logger.info(`${this.channel.host} does not offer the HTTP+SSE transport (HTTP ${(err as UpstreamError).status}): using Streamable HTTP`);
        this.mode = 'http';
        return this.handshakeOverHttp(frame, options);
      }
    }
    if (!handshake) return this.http.send(frame, options);
    return this.handshakeOverHttp(frame, options);
  }

  async close(): Promise<void> {
    await this.http.close();
    await this.sse?.close();
    this.onclose?.();
  }

  async reconnect(): Promise<void> {
    await (this.mode === 'sse' ? this.sse?.reconnect() : this.http.reconnect());
  }

  private async handshakeOverHttp(frame: Frame, options: SendOptions): Promise<void> {
    try {
      await this.http.send(frame, options);
      return this.settle('http');
    } catch (err) {
      if (!this.fallback || !refusedWithStatus(err) || !SSE_FALLBACK_STATUSES.has((err as UpstreamError).status!) || refusedForProtocolVersion(err as UpstreamError)) throw err;
      if (!(await this.trySse(err as UpstreamError, options.signIn))) throw err;
    }
    await this.sse!.send(frame, options);
    this.settle('sse');
  }

  /** `auto`: the initialize POST was refused; a GET shows whether the server speaks HTTP+SSE. */
  private async trySse(failure: UpstreamError, signIn?: boolean): Promise<boolean> {
    const sse = await this.legacy();
    try {
      await sse.open(signIn);
    } catch (err) {
      if (refusedWithStatus(err)) {
        this.channel.logger.debug(`${this.channel.host}: no HTTP+SSE transport either (${(err as Error).message})`);
        return false;
      }
      throw err;
    }
    this.channel.logger.info(`${this.channel.host} refused Streamable HTTP (HTTP ${failure.status}) and speaks the older HTTP+SSE transport (2024-11-05): using that`);
    this.mode = 'sse';
    return true;
  }

  private async decide(): Promise<void> {
    if (this.choice === 'http' || this.choice === 'sse') {
      this.mode = this.choice;
      return;
    }
    const learned = this.choice === 'sse-first' ? 'sse' : await this.memory?.load().catch(() => undefined);
    this.mode = learned === 'sse' ? 'sse' : 'http';
    this.fallback = true;
  }

  /** A handshake worked on `mode`: no more falling back; `auto` remembers it when it was news. */
  private settle(mode: 'http' | 'sse'): void {
    if (!this.fallback) return;
    this.fallback = false;
    if (this.choice !== 'auto') return;
    void this.memory?.load().catch(() => undefined).then((learned) => {
      if (learned !== mode && !(learned === undefined && mode === 'http')) return this.memory?.save(mode);
    }).catch(() => {});
  }

  /** The HTTP+SSE transport, loaded only for a server that needs it: most runs never do. */
  private async legacy(): Promise<LegacySseTransport> {
    if (!this.sse) {
      const { LegacySseTransport } = await import('./legacy-sse.js');
      this.sse ??= this.wire(new LegacySseTransport(this.channel, this.tracker));
    }
    return this.sse;
  }

  private wire<T extends UpstreamTransport>(transport: T): T {
    transport.onmessage = (frame, extra) => this.onmessage?.(frame, extra);
    transport.onerror = (error) => this.onerror?.(error);
    return transport;
  }
}

/** An HTTP answer the server chose to give (not a network failure, not an auth refusal). */
function refusedWithStatus(err: unknown): boolean {
  return err instanceof UpstreamError && err.code === Code.UPSTREAM_HTTP_ERROR && err.status !== undefined;
}

/** True when a refused request's body is a JSON-RPC error -32022 (unsupported protocol version). */
function refusedForProtocolVersion(err: UpstreamError): boolean {
  try {
    return (JSON.parse(err.body ?? '') as JsonRpcMessage).error?.code === UNSUPPORTED_PROTOCOL_VERSION;
  } catch {
    return false;
  }
}
