// The shape every transport of the proxy has: the MCP SDK's Transport (start, send, close,
// onmessage, onerror, onclose; @modelcontextprotocol/sdk shared/transport.ts), for messages that
// keep the bytes they arrived as. A proxy is two of these and a pump between them (../bridge.ts).
import type { JsonRpcId, JsonRpcMessage } from '../jsonrpc.js';
import type { Line } from '../message-bytes.js';

/** One JSON-RPC message as it travels: its exact text (a large one as its bytes) and its parsed form. */
export interface Frame {
  line: Line;
  message: JsonRpcMessage;
}

/** What a transport knows about a message beyond its content. */
export interface MessageExtra {
  /** The request whose response stream carried it (Streamable HTTP); absent on a standalone stream. */
  relatedRequestId?: JsonRpcId;
}

export interface SendOptions {
  /**
   * 2026-07-28: the headers of this message (MCP-Protocol-Version, Mcp-Method, …). Such a message
   * belongs to no session, and a 4xx whose body is a JSON-RPC error for it is its answer.
   */
  headers?: Record<string, string>;
  /** False: a 401/403 fails the send instead of waiting for a sign-in (nothing may wait here). */
  signIn?: boolean;
  /** A stream that may rightly stay quiet for hours (`subscriptions/listen`): no idle bound, no --request-timeout. */
  longLived?: boolean;
  /** Sees each response to a request in this message first; true keeps it from onmessage (the proxy's own requests). */
  onresponse?: (frame: Frame) => boolean;
}

/** The MCP SDK's Transport, over frames. `send` resolves once every request in the message is answered. */
export interface Transport<Out = Frame> {
  start(): Promise<void>;
  send(message: Out, options?: SendOptions): Promise<void>;
  close(): Promise<void>;
  onmessage?: (frame: Frame, extra: MessageExtra) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;
}

/** The server side: a Transport that can also rebuild a connection found dead. */
export interface UpstreamTransport extends Transport<Frame> {
  /** A dead connection found (a failed ping): drop what may be stale, reopen what should be open. */
  reconnect(): Promise<void>;
}

/** The ids of the requests in a message. */
export function requestIds(message: JsonRpcMessage): JsonRpcId[] {
  return typeof message.method === 'string' && (typeof message.id === 'string' || typeof message.id === 'number') ? [message.id] : [];
}
