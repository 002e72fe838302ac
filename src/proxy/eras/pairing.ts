// The interface between the bridge and the protocol eras. A Pairing adapts one client era to one
// server era (2025 ⇄ 2025 as is, 2025 → 2026-07-28, 2026-07-28 ⇄ 2026-07-28, 2026-07-28 → 2025);
// the bridge picks one per client (see Eras in ./negotiate.ts) and from then on only hands it
// messages. Nothing outside src/proxy/eras/ knows which era is which.
import type { Logger } from '../../log.js';
import { errorLine, isRequest, type JsonRpcId, type JsonRpcMessage } from '../jsonrpc.js';
import type { Line } from '../message-bytes.js';
import type { OutgoingMessage, StreamableHttpClient } from '../upstream/client.js';
import { UpstreamError } from '../upstream/errors.js';
import type { ServerAbout } from './about.js';

export type ClientEra = '2025' | 'modern';
export type ServerEra = '2025' | 'modern';

export interface PairingContext {
  upstream: StreamableHttpClient;
  /** Writes one line (one JSON-RPC message) to the stdio client. */
  toClient(line: Line): void;
  logger: Logger;
  host: string;
  /** The serverInfo to give when the server gave none: appwrite-mcp's own. */
  ownInfo: { name: string; version: string };
  /** True once the proxy is shutting down: failures are no longer reported. */
  closing(): boolean;
}

export interface Pairing {
  /** For logs, e.g. "2025 client → 2026-07-28 server". */
  readonly name: string;
  readonly clientEra: ClientEra;
  readonly serverEra: ServerEra;
  /** What the server said about itself, once known. */
  readonly about: ServerAbout | undefined;
  /**
   * True for a pairing that forwards every message as it arrived, both ways: it takes a large
   * message as its bytes (a Line that may be a MessageBytes). The others are given text.
   */
  readonly asIs?: boolean;
  /** One client message (or 2025 batch). A request that fails is answered with a JSON-RPC error. */
  receive(line: Line, message: JsonRpcMessage | JsonRpcMessage[]): void;
  /** One client request, its failure left to the caller (the bridge: sign-in pending → placeholder). */
  handle(line: Line, message: JsonRpcMessage): Promise<void>;
  /** A server message that came on no request's stream (the 2025 GET stream). */
  fromServer(line: Line, message: JsonRpcMessage): void;
  /** Stops what is in flight (the upstream client aborts the HTTP requests themselves). */
  close(): void;
}

/** The OutgoingMessage for a client message forwarded as it is. */
export function describe(line: Line, message: JsonRpcMessage | JsonRpcMessage[]): OutgoingMessage {
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

/** The request a `notifications/cancelled` names, if `message` is one. */
export function cancelledRequestOf(message: JsonRpcMessage | JsonRpcMessage[]): JsonRpcId | undefined {
  if (Array.isArray(message) || message.method !== 'notifications/cancelled') return undefined;
  const id = (message.params as { requestId?: unknown } | undefined)?.requestId;
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}

/**
 * Answers what a failed send left unanswered with JSON-RPC errors that say what happened: the ids
 * the failure names, else `id`.
 */
export function reportFailure(ctx: PairingContext, err: unknown, id?: JsonRpcId): void {
  if (ctx.closing()) return;
  const failure = UpstreamError.from(err, ctx.host);
  const unanswered = failure.unanswered.length ? failure.unanswered : id === undefined ? [] : [id];
  if (unanswered.length === 0) {
    ctx.logger.warn(`a notification to ${ctx.host} was not delivered: ${failure.message}`);
    return;
  }
  ctx.logger.warn(failure.message);
  for (const unansweredId of unanswered) ctx.toClient(errorLine(unansweredId, failure.rpcCode, failure.message, failure.data));
}
