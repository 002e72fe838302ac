// The little of JSON-RPC 2.0 the proxy needs: shapes, checks and error lines. Messages are kept as
// the client or server wrote them; these helpers only look inside.

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
