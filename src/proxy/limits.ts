// The proxy's bounds (issue "Hardening"): how large one message may be, and how long the server may
// take. Each is a flag of the proxy command; the defaults and the reasons for them are here.
import { skipValue } from './json-text.js';
import type { JsonRpcId } from './jsonrpc.js';

const MB = 1024 * 1024;

export interface ProxyLimits {
  /** The most bytes one JSON-RPC message (a stdin line, an SSE event, a JSON body) may have. */
  maxMessageBytes: number;
  /** Connect + response headers, per HTTP request. */
  connectTimeoutMs: number;
  /** Overall bound on one request's answer (undefined: none beyond the idle bound). */
  requestTimeoutMs: number | undefined;
  /** The most a started response (SSE stream or JSON body) may go without sending a byte. */
  idleTimeoutMs: number;
}

/**
 * 16 MB: an order of magnitude above the largest messages seen in practice (a tool result with a
 * base64 screenshot or a file of a few MB), small enough that a runaway line costs tens of MB, not
 * hundreds. A message is held about three times over (bytes, text, parsed) while it passes.
 */
export const DEFAULT_MAX_MESSAGE_MB = 16;
/** As before the flag existed: a server that does not start answering in 30 s is down or stuck. */
export const DEFAULT_CONNECT_TIMEOUT_S = 30;
/**
 * 5 minutes: tools that run long without sending progress (a deployment, a large query) must not be
 * cut off, and a stream that sent nothing at all — not even an SSE comment — for that long is stuck.
 */
export const DEFAULT_IDLE_TIMEOUT_S = 300;

export const DEFAULT_LIMITS: ProxyLimits = {
  maxMessageBytes: DEFAULT_MAX_MESSAGE_MB * MB,
  connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_S * 1000,
  requestTimeoutMs: undefined,
  idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_S * 1000,
};

export function formatBytes(bytes: number): string {
  if (bytes >= MB) return `${Number((bytes / MB).toFixed(1))} MB`;
  if (bytes >= 1024) return `${Number((bytes / 1024).toFixed(1))} KB`;
  return `${bytes} bytes`;
}

export function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(ms < 10_000 ? 1 : 0))} s`;
}

/** The words of a message-too-large error; `size` is at least what was seen (the whole, when known). */
export function messageTooLarge(who: string, size: number, limit: number, atLeast = false): string {
  return `Message too large: ${who} sent a message of ${atLeast ? 'more than ' : ''}${formatBytes(size)}, over the limit of ${formatBytes(limit)}. Raise the limit with --max-message-size <MB> in the appwrite-mcp arguments of your client's config.`;
}

/**
 * The id of a JSON-RPC request from the first and last bytes of its text, when the rest is not kept:
 * a top-level `"id"` member among the complete members at its start, or as its last member.
 */
export function idOfTruncated(head: string, tail: string): JsonRpcId | null {
  return idFromHead(head) ?? idFromTail(tail) ?? null;
}

function idFromHead(head: string): JsonRpcId | undefined {
  let i = head.search(/\S/);
  if (head[i] !== '{') return undefined;
  try {
    for (i++; ;) {
      const keyStart = head.indexOf('"', i);
      if (keyStart === -1) return undefined;
      const keyEnd = skipValue(head, keyStart);
      const key = JSON.parse(head.slice(keyStart, keyEnd)) as string;
      const colon = head.indexOf(':', keyEnd);
      if (colon === -1) return undefined;
      const valueStart = colon + 1 + (head.slice(colon + 1).search(/\S/));
      const valueEnd = skipValue(head, valueStart);
      if (valueEnd >= head.length) return undefined; // may be cut off
      if (key === 'id') return asId(head.slice(valueStart, valueEnd));
      const comma = head.slice(valueEnd).search(/\S/);
      if (comma === -1 || head[valueEnd + comma] !== ',') return undefined;
      i = valueEnd + comma + 1;
    }
  } catch {
    return undefined; // a value cut off by the end of the head
  }
}

const TAIL_ID = /[{,]\s*"id"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*\}\s*$/;

function idFromTail(tail: string): JsonRpcId | undefined {
  const m = TAIL_ID.exec(tail);
  return m ? asId(m[1]!) : undefined;
}

function asId(text: string): JsonRpcId | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'string' || typeof value === 'number' ? value : undefined;
  } catch {
    return undefined;
  }
}
