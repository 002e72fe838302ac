// The little of JSON-RPC 2.0 the proxy needs: shapes, checks and error lines. Messages are kept as
// the client or server wrote them; these helpers only look inside.
import { members, topLevel } from './json-text.js';

export type JsonRpcId = string | number;

export interface JsonRpcMessage {
  jsonrpc: '2.0';
  id?: JsonRpcId | null;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  /** The upstream server could not be reached or failed (our own code, in the server-error range). */
  UpstreamFailure: -32000,
  /** No usable sign-in: the message says what to do. */
  AuthorizationFailed: -32001,
} as const;

export function isJsonRpcMessage(value: unknown): value is JsonRpcMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const m = value as JsonRpcMessage;
  if (m.jsonrpc !== '2.0') return false;
  if (typeof m.method === 'string') return m.id === undefined || isId(m.id);
  return (m.id === null || isId(m.id)) && ('result' in m || 'error' in m);
}

/** A request: has a method and an id (so it expects a response). */
export function isRequest(m: JsonRpcMessage): m is JsonRpcMessage & { id: JsonRpcId; method: string } {
  return typeof m.method === 'string' && isId(m.id);
}

export function isResponse(m: JsonRpcMessage): boolean {
  return m.method === undefined && m.id !== undefined;
}

export function isId(id: unknown): id is JsonRpcId {
  return typeof id === 'string' || typeof id === 'number';
}

export function errorLine(id: JsonRpcId | null, code: number, message: string, data?: unknown): string {
  const error = data === undefined ? { code, message } : { code, message, data };
  return JSON.stringify({ jsonrpc: '2.0', id, error });
}

export function resultLine(id: JsonRpcId, result: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', id, result });
}

export function notificationLine(method: string, params?: unknown): string {
  return JSON.stringify(params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params });
}

/**
 * JSON text of one message as a single line. Raw CR/LF cannot occur inside JSON strings, so in
 * valid JSON they are whitespace and can be blanked without parsing.
 */
export function asSingleLine(json: string): string {
  return json.includes('\n') || json.includes('\r') ? json.replace(/[\r\n]/g, ' ') : json;
}

/** From this many characters a message is parsed lazily (see parseMessage): its bulk is never copied for routing. */
export const LAZY_PARSE_CHARS = 16 * 1024;

/**
 * A message's parsed form, for routing. Small messages are parsed whole. A large one (a tool
 * result with a file in it) is scanned for its top-level members; `params` and `result`, where
 * the bulk is, are parsed only if something reads them: the pass-through path never does, so the
 * text is forwarded without a parsed copy. A top-level structure that is not valid throws a
 * SyntaxError, as JSON.parse does.
 */
export function parseMessage(text: string): unknown {
  if (text.length < LAZY_PARSE_CHARS) return JSON.parse(text);
  const start = topLevel(text);
  if (text[start] !== '{') return JSON.parse(text);
  const all = members(text, start);
  const end = all.length ? all[all.length - 1]!.valueEnd : start + 1;
  if (!/^\s*\}\s*$/.test(text.slice(end))) throw new SyntaxError('unexpected text after the message');
  const out: Record<string, unknown> = {};
  for (const m of all) {
    if (m.key === 'params' || m.key === 'result') {
      const key = m.key;
      const raw = text.slice(m.valueStart, m.valueEnd);
      if (raw[0] !== '{' && raw[0] !== '[') {
        out[key] = JSON.parse(raw);
        continue;
      }
      Object.defineProperty(out, key, {
        enumerable: true,
        configurable: true,
        get() {
          const value = JSON.parse(raw) as unknown;
          Object.defineProperty(out, key, { value, enumerable: true, configurable: true, writable: true });
          return value;
        },
        set(value: unknown) {
          Object.defineProperty(out, key, { value, enumerable: true, configurable: true, writable: true });
        },
      });
    } else {
      out[m.key] = JSON.parse(text.slice(m.valueStart, m.valueEnd));
    }
  }
  return out;
}

/** The request a `notifications/cancelled` names, if `message` is one. */
export function cancelledRequestOf(message: JsonRpcMessage): JsonRpcId | undefined {
  if (message.method !== 'notifications/cancelled') return undefined;
  const id = (message.params as { requestId?: unknown } | undefined)?.requestId;
  return isId(id) ? id : undefined;
}
