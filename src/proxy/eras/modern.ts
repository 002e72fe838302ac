// The vocabulary of the stateless revision (MCP 2026-07-28) that the codecs need: the `_meta`
// envelope every request carries (SEP-2575), its error codes, and which results carry cache hints.
// Its HTTP headers are in headers.ts.
import { editNested, editObject, member, members, topLevel } from '../json-text.js';
import type { JsonRpcId, JsonRpcMessage } from '../jsonrpc.js';

export const MODERN_VERSION = '2026-07-28';

/** Who a 2026-07-28 client is, from the envelope of its request (a 2025 client says it in initialize). */
export interface ClientIdentity {
  clientInfo?: unknown;
  clientCapabilities?: unknown;
  logLevel?: string;
}

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

/** What a modern client's message says about the client (its envelope). */
export function identityOf(message: JsonRpcMessage): ClientIdentity {
  const envelope = envelopeOf(message) ?? {};
  const logLevel = envelope[META.logLevel];
  return { clientInfo: envelope[META.clientInfo], clientCapabilities: envelope[META.clientCapabilities], ...(typeof logLevel === 'string' ? { logLevel } : {}) };
}

/** The revision a modern message names (the default: MODERN_VERSION). */
export function versionOf(message: JsonRpcMessage): string {
  const version = envelopeOf(message)?.[META.protocolVersion];
  return typeof version === 'string' ? version : MODERN_VERSION;
}

/** A result as a 2026-07-28 client must see it: `resultType`, and cache hints on the results that carry them. */
export function modernResultMembers(method: string | undefined, has: (key: string) => boolean): Record<string, string> {
  const set: Record<string, string> = {};
  if (!has('resultType')) set.resultType = '"complete"';
  if (method !== undefined && CACHEABLE_METHODS.has(method)) {
    if (!has('ttlMs')) set.ttlMs = '0';
    if (!has('cacheScope')) set.cacheScope = '"private"';
  }
  return set;
}

/** The request without the envelope keys (a 2025 server must not see them) and without stale retry members. */
export function legacyBody(line: string, message: JsonRpcMessage): string {
  const params = message.params as Record<string, unknown> | undefined;
  if (!params || (!envelopeOf(message) && !('inputResponses' in params) && !('requestState' in params))) return line;
  return editNested(line, ['params'], (text, start) => {
    const meta = member(text, start, '_meta');
    const rest = meta && text[meta.valueStart] === '{' ? members(text, meta.valueStart).filter((m) => !ENVELOPE_KEYS.includes(m.key)) : undefined;
    if (meta && rest && rest.length > 0) {
      text = editObject(text, meta.valueStart, { remove: ENVELOPE_KEYS });
      return editObject(text, start, { remove: ['inputResponses', 'requestState'] });
    }
    return editObject(text, start, { remove: meta && rest ? ['_meta', 'inputResponses', 'requestState'] : ['inputResponses', 'requestState'] });
  });
}

/** A 2025 response as the modern client must see it: `resultType`, cache hints, the client's id. */
export function modernResponse(line: string, m: JsonRpcMessage, clientId: JsonRpcId, method: string): string {
  let out = line;
  const result = m.result;
  if (result && typeof result === 'object' && !Array.isArray(result)) {
    const set = modernResultMembers(method, (key) => key in result);
    if (Object.keys(set).length) out = editNested(out, ['result'], (text, start) => editObject(text, start, { set }));
  }
  if (m.id !== clientId) out = editObject(out, topLevel(out), { set: { id: JSON.stringify(clientId) } });
  return out;
}

