// The vocabulary of the stateless revision (MCP 2026-07-28) that the bridge needs: the `_meta`
// envelope every request carries, the HTTP headers derived from each message (SEP-2243:
// MCP-Protocol-Version, Mcp-Method, Mcp-Name, Mcp-Param-*), and which results carry cache hints.
import type { JsonRpcMessage } from '../jsonrpc.js';

export const MODERN_VERSION = '2026-07-28';

export const META = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  logLevel: 'io.modelcontextprotocol/logLevel',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
  subscriptionId: 'io.modelcontextprotocol/subscriptionId',
} as const;

/** The envelope keys a 2025 server must not see. */
export const ENVELOPE_KEYS: readonly string[] = [META.protocolVersion, META.clientInfo, META.clientCapabilities, META.logLevel];

/** JSON-RPC error codes of the revision. */
export const ModernErrorCode = {
  HeaderMismatch: -32020,
  MissingRequiredClientCapability: -32021,
  UnsupportedProtocolVersion: -32022,
} as const;

/** Results that must carry `ttlMs` and `cacheScope` in this revision. */
export const CACHEABLE_METHODS: ReadonlySet<string> = new Set(['tools/list', 'prompts/list', 'resources/list', 'resources/templates/list', 'resources/read', 'server/discover']);

/** Revisions are dates: a version at or after 2026-07-28 is modern. */
export function isModernVersion(version: unknown): version is string {
  return typeof version === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(version) && version >= MODERN_VERSION;
}

/** The envelope (`params._meta`) of a request or notification, if it carries one. */
export function envelopeOf(message: JsonRpcMessage): Record<string, unknown> | undefined {
  const meta = (message.params as { _meta?: unknown } | undefined)?._meta;
  if (typeof meta !== 'object' || meta === null) return undefined;
  return META.protocolVersion in meta ? meta as Record<string, unknown> : undefined;
}

/** True for a message a 2026-07-28 client sent: it names a modern revision in its envelope. */
export function isModernMessage(message: JsonRpcMessage): boolean {
  const envelope = envelopeOf(message);
  return envelope !== undefined && isModernVersion(envelope[META.protocolVersion]);
}

/** The envelope members, as JSON text for splicing into a `_meta` object. */
export interface Envelope {
  protocolVersion: string;
  clientInfo?: unknown;
  clientCapabilities: unknown;
  logLevel?: string;
}

export function envelopeMembers(envelope: Envelope): Record<string, string> {
  const out: Record<string, string> = {
    [META.protocolVersion]: JSON.stringify(envelope.protocolVersion),
    [META.clientCapabilities]: JSON.stringify(envelope.clientCapabilities ?? {}),
  };
  if (envelope.clientInfo !== undefined) out[META.clientInfo] = JSON.stringify(envelope.clientInfo);
  if (envelope.logLevel !== undefined) out[META.logLevel] = JSON.stringify(envelope.logLevel);
  return out;
}

export function envelopeObject(envelope: Envelope): Record<string, unknown> {
  const out: Record<string, unknown> = { [META.protocolVersion]: envelope.protocolVersion, [META.clientCapabilities]: envelope.clientCapabilities ?? {} };
  if (envelope.clientInfo !== undefined) out[META.clientInfo] = envelope.clientInfo;
  if (envelope.logLevel !== undefined) out[META.logLevel] = envelope.logLevel;
  return out;
}

/** Where a method's `Mcp-Name` comes from (SEP-2243). */
const NAME_PARAM: Record<string, string> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'tasks/get': 'taskId',
  'tasks/update': 'taskId',
  'tasks/cancel': 'taskId',
};

/** Tool name → its arguments mirrored into headers (`x-mcp-header` in the input schema): [argument, header name]. */
export type ParamHeaders = Map<string, Array<[string, string]>>;

/**
 * The headers a 2026-07-28 POST must carry for `message`, derived from the message itself (and, for
 * `tools/call`, from the tool's declared `x-mcp-header` arguments).
 */
export function modernHeaders(message: JsonRpcMessage, version: string, params?: ParamHeaders): Record<string, string> {
  const headers: Record<string, string> = { 'mcp-protocol-version': version };
  const method = message.method;
  if (method === undefined) return headers;
  headers['mcp-method'] = method;
  const p = message.params as Record<string, unknown> | undefined;
  const nameParam = NAME_PARAM[method];
  if (nameParam !== undefined) {
    const name = p?.[nameParam];
    if (typeof name === 'string') headers['mcp-name'] = headerText(name);
  }
  if (method === 'tools/call' && params && typeof p?.name === 'string') {
    const declared = params.get(p.name);
    const args = p.arguments as Record<string, unknown> | undefined;
    if (declared && args) {
      for (const [argument, header] of declared) {
        const value = args[argument];
        if (typeof value === 'string') headers[`mcp-param-${header.toLowerCase()}`] = headerText(value);
        else if (typeof value === 'number' || typeof value === 'boolean') headers[`mcp-param-${header.toLowerCase()}`] = String(value);
      }
    }
  }
  return headers;
}

/**
 * A header value as SEP-2243 sends it: as is when it is plain visible ASCII without surrounding
 * whitespace, else `=?base64?<base64 of its UTF-8>?=`.
 */
export function headerText(value: string): string {
  const plain = value.length > 0 && /^[\x20-\x7e\t]*$/.test(value) && value.trim() === value && !/^=\?base64\?.*\?=$/i.test(value);
  return plain ? value : `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/** The `x-mcp-header` declarations in a `tools/list` result, added to `into`. */
export function learnParamHeaders(result: unknown, into: ParamHeaders): void {
  const tools = (result as { tools?: unknown } | undefined)?.tools;
  if (!Array.isArray(tools)) return;
  for (const tool of tools as Array<{ name?: unknown; inputSchema?: { properties?: Record<string, unknown> } }>) {
    if (typeof tool?.name !== 'string') continue;
    const declared: Array<[string, string]> = [];
    for (const [argument, schema] of Object.entries(tool.inputSchema?.properties ?? {})) {
      const header = (schema as { 'x-mcp-header'?: unknown } | null)?.['x-mcp-header'];
      if (typeof header === 'string' && /^[A-Za-z0-9-]+$/.test(header)) declared.push([argument, header]);
    }
    if (declared.length) into.set(tool.name, declared);
    else into.delete(tool.name);
  }
}

/** A `-32020` error about an `Mcp-Param-*` header: the tool's declarations were not known (or changed). */
export function isParamHeaderMismatch(message: JsonRpcMessage): boolean {
  const error = message.error;
  if (error?.code !== ModernErrorCode.HeaderMismatch) return false;
  const header = (error.data as { mismatch?: { header?: unknown } } | undefined)?.mismatch?.header;
  return /mcp-param-/i.test(typeof header === 'string' ? header : '') || /Mcp-Param-/i.test(error.message);
}
