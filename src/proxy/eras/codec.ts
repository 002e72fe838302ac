// Protocol eras as codecs around one internal form. The internal form is the 2025 shape of a message
// (a session's vocabulary: initialize, server→client requests on a request's stream, logging/setLevel)
// without the 2026-07-28 envelope; what a 2026-07-28 client says about itself in that envelope
// travels beside the message (`identity`). Each side has a codec for its era:
//
//   client ──▶ ClientCodec.fromClient ──▶ internal ──▶ ServerCodec.toServer ──▶ server
//   client ◀── ClientCodec.toClient   ◀── internal ◀── ServerCodec.fromServer ◀── server
//
// The 2025 codecs pass messages as they are; the 2026-07-28 ones translate. When both sides speak the
// same era nothing is decoded at all: 2025 ⇄ 2025 is the 2025 codecs on both sides (raw bytes), and
// 2026-07-28 ⇄ 2026-07-28 has its own pass-through (modern-pass.ts). Nothing outside src/proxy/eras/
// knows which era is which.
import type { Logger } from '../../log.js';
import type { JsonRpcMessage } from '../jsonrpc.js';
import type { RequestTracker } from '../transports/tracker.js';
import type { Frame, MessageExtra, SendOptions, UpstreamTransport } from '../transports/transport.js';
import type { ServerAbout } from './about.js';
import type { ClientIdentity } from './modern.js';

export type Era = '2025' | 'modern';

export type { ClientIdentity } from './modern.js';

/** A message in the internal form. */
export interface Internal extends Frame {
  identity?: ClientIdentity;
}

/** What every codec may use. */
export interface CodecContext {
  upstream: UpstreamTransport;
  tracker: RequestTracker;
  logger: Logger;
  host: string;
  /** The serverInfo to give when the server gave none: appwrite-mcp's own. */
  ownInfo: { name: string; version: string };
  /** True once the proxy is shutting down: failures are no longer reported. */
  closing(): boolean;
}

/** The server side, as the client codec sees it. */
export interface ServerPort {
  /** An internal message to the server (a response to one of its requests, a notification); failures are reported. */
  send(frame: Internal): Promise<void>;
  /** A request of the proxy's own, through the server's codec; resolves with its response. */
  request(method: string, params: unknown, identity?: ClientIdentity, signal?: AbortSignal): Promise<JsonRpcMessage>;
  /** What the server said about itself, once known. */
  serverAbout(): ServerAbout | undefined;
  /** The server is ready for this client (a 2025 server: the handshake, run with `identity`). */
  ready(identity: ClientIdentity): Promise<void>;
}

/** The client side, as the server codec sees it. */
export interface ClientPort {
  /** An internal message for the client (an answer made here, a server request, a notification). */
  deliver(frame: Frame, extra?: MessageExtra): void;
}

export interface ClientCodec {
  readonly era: Era;
  /** A client message → the internal form; undefined when it was dealt with here. */
  fromClient(frame: Frame): Internal | undefined;
  /** An internal message → zero or more lines to the client. */
  toClient(frame: Frame, extra: MessageExtra): void;
  close(): void;
}

export interface ServerCodec {
  readonly era: Era;
  readonly about: ServerAbout | undefined;
  /** Sends an internal message; resolves once its request is answered, rejects (unreported) when it failed. */
  toServer(frame: Internal, options?: SendOptions): Promise<void>;
  /** A server message (that no request of the proxy's own kept) → the internal form; undefined when dealt with here. */
  fromServer(frame: Frame, extra: MessageExtra): Frame | undefined;
  /** A ping of the proxy's own, in this era; undefined when there is nothing to ping yet. */
  ping?(signal: AbortSignal): Promise<unknown> | undefined;
  /** Makes the server ready for a client that never initializes (a 2025 server: the handshake). */
  connect?(identity: ClientIdentity, signIn?: boolean): Promise<void>;
  close(): void;
}

/** A frame for a message built here. */
export function frameOf(line: string): Frame {
  return { line, message: JSON.parse(line) as JsonRpcMessage };
}
