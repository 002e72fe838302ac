// The HTTP headers of the 2026-07-28 era (SEP-2243, "Standard MCP request headers" and "Custom
// headers from tool parameters"): MCP-Protocol-Version, Mcp-Method and Mcp-Name derived from each
// message, and Mcp-Param-{Name} for the tool arguments a tool declares with `x-mcp-header`.
//
// A declaration must name an RFC 9110 token, unique in its tool regardless of case, on a property of
// type string, integer or boolean that is reachable from the schema's root through `properties`
// alone; a tool that breaks any of this is invalid, and a client must not use it: ToolHeaders hides
// it from tools/list results and refuses calls to it. (The rules as the spec and the SDK v2 client,
// @modelcontextprotocol/client src/shared/mcpParamHeaders.ts, apply them.)
import { errorLine, ErrorCode, type JsonRpcId, type JsonRpcMessage } from '../jsonrpc.js';
import { ModernErrorCode } from './modern.js';

/** Where a method's `Mcp-Name` comes from. */
const NAME_PARAM: Record<string, string> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'tasks/get': 'taskId',
  'tasks/update': 'taskId',
  'tasks/cancel': 'taskId',
};

/** MCP-Protocol-Version, Mcp-Method and Mcp-Name for `message`. */
export function standardHeaders(message: JsonRpcMessage, version: string): Record<string, string> {
  const headers: Record<string, string> = { 'mcp-protocol-version': version };
  const method = message.method;
  if (method === undefined) return headers;
  headers['mcp-method'] = method;
  const nameParam = NAME_PARAM[method];
  const name = nameParam === undefined ? undefined : (message.params as Record<string, unknown> | undefined)?.[nameParam];
  if (typeof name === 'string') headers['mcp-name'] = headerText(name);
  return headers;
}

const SENTINEL = /^=\?base64\?.*\?=$/i;

/** A header value as SEP-2243 sends it: as is when it is plain visible ASCII without surrounding spaces, else `=?base64?…?=`. */
export function headerText(value: string): string {
  const plain = value.length > 0 && /^[\x20-\x7e]*$/.test(value) && value.trim() === value && !SENTINEL.test(value);
  return plain ? value : `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/** A `-32020` error about an `Mcp-Param-*` header: the tool's declarations were not known (or changed). */
export function isParamHeaderMismatch(message: JsonRpcMessage): boolean {
  const error = message.error;
  if (error?.code !== ModernErrorCode.HeaderMismatch) return false;
  const header = (error.data as { mismatch?: { header?: unknown } } | undefined)?.mismatch?.header;
  return /mcp-param-/i.test(typeof header === 'string' ? header : '') || /Mcp-Param-/i.test(error.message);
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const TYPES = new Set(['string', 'integer', 'boolean']);
/** Keywords under which a declaration is unreachable through `properties` (and so invalid). */
const ELSEWHERE = ['items', 'prefixItems', 'contains', 'additionalProperties', 'unevaluatedProperties', 'unevaluatedItems', 'propertyNames', 'patternProperties', 'dependentSchemas', 'oneOf', 'anyOf', 'allOf', 'not', 'if', 'then', 'else', '$defs', 'definitions'];
const MAPS = new Set(['patternProperties', 'dependentSchemas', '$defs', 'definitions']);

interface Declaration {
  path: string[];
  header: string;
}

/** A tool's declarations, or why they are invalid. */
export function declarationsOf(inputSchema: unknown): Declaration[] | { invalid: string } {
  const found: Declaration[] = [];
  const seen = new Map<string, string>();
  const visit = (node: unknown, path: string[], reachable: boolean): string | undefined => {
    if (typeof node !== 'object' || node === null) return undefined;
    const schema = node as Record<string, unknown>;
    if ('x-mcp-header' in schema) {
      const where = path.join('.') || 'the schema itself';
      const header = schema['x-mcp-header'];
      if (!reachable || path.length === 0) return `x-mcp-header on ${where}, which is not a property reached through "properties" alone`;
      if (typeof header !== 'string' || header.length === 0) return `an empty x-mcp-header on ${where}`;
      if (!TOKEN.test(header)) return `x-mcp-header ${JSON.stringify(header)} on ${where} is not an HTTP token`;
      if (typeof schema.type !== 'string' || !TYPES.has(schema.type)) return `x-mcp-header on ${where}, of type ${JSON.stringify(schema.type ?? null)} (string, integer or boolean only)`;
      const prior = seen.get(header.toLowerCase());
      if (prior !== undefined) return `x-mcp-header ${JSON.stringify(header)} declared twice (also as ${JSON.stringify(prior)})`;
      seen.set(header.toLowerCase(), header);
      found.push({ path, header });
    }
    const properties = schema.properties;
    if (typeof properties === 'object' && properties !== null) {
      for (const [key, child] of Object.entries(properties)) {
        const why = visit(child, [...path, key], reachable);
        if (why) return why;
      }
    }
    for (const keyword of ELSEWHERE) {
      const sub = schema[keyword];
      if (sub === undefined) continue;
      const branches = Array.isArray(sub) ? sub : MAPS.has(keyword) && typeof sub === 'object' && sub !== null ? Object.values(sub) : [sub];
      for (const branch of branches) {
        const why = visit(branch, [...path, `<${keyword}>`], false);
        if (why) return why;
      }
    }
    return undefined;
  };
  const invalid = visit(inputSchema, [], true);
  return invalid === undefined ? found : { invalid };
}

/** A primitive argument as a header value; undefined for what is not sent (null, absent, not a primitive). */
function valueText(value: unknown): string | undefined {
  if (typeof value === 'string') return headerText(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' && Number.isFinite(value) && (!Number.isInteger(value) || Number.isSafeInteger(value))) return String(value);
  return undefined;
}

/** What the tools/list results that passed by said about each tool's `x-mcp-header` declarations. */
export class ToolHeaders {
  private readonly declared = new Map<string, Declaration[]>();
  private readonly invalid = new Map<string, string>();

  /** A tools/list result: learns its tools; returns the tools to show when some are invalid (undefined: all are fine). */
  learn(result: unknown): unknown[] | undefined {
    const tools = (result as { tools?: unknown } | undefined)?.tools;
    if (!Array.isArray(tools)) return undefined;
    const kept: unknown[] = [];
    for (const tool of tools as Array<{ name?: unknown; inputSchema?: unknown }>) {
      if (typeof tool?.name !== 'string') {
        kept.push(tool);
        continue;
      }
      const found = declarationsOf(tool.inputSchema);
      if (Array.isArray(found)) {
        this.invalid.delete(tool.name);
        if (found.length) this.declared.set(tool.name, found);
        else this.declared.delete(tool.name);
        kept.push(tool);
      } else {
        this.declared.delete(tool.name);
        this.invalid.set(tool.name, found.invalid);
      }
    }
    return kept.length === tools.length ? undefined : kept;
  }

  /** The tools the last lists hid, with why. */
  get hidden(): ReadonlyMap<string, string> {
    return this.invalid;
  }

  /** Why tool `name` must not be called, if it must not. */
  refusal(name: string): string | undefined {
    return this.invalid.get(name);
  }

  /** The headers of a `tools/call` (the standard ones and the tool's Mcp-Param-*). */
  headersFor(message: JsonRpcMessage, version: string): Record<string, string> {
    const headers = standardHeaders(message, version);
    if (message.method !== 'tools/call') return headers;
    const p = message.params as { name?: unknown; arguments?: unknown } | undefined;
    const declared = typeof p?.name === 'string' ? this.declared.get(p.name) : undefined;
    for (const { path, header } of declared ?? []) {
      let value: unknown = p!.arguments;
      for (const key of path) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
      const text = valueText(value);
      if (text !== undefined) headers[`mcp-param-${header.toLowerCase()}`] = text;
    }
    return headers;
  }
}

/** The answer to a call of a tool whose `x-mcp-header` declarations are invalid (SEP-2243: it must not be used). */
export function invalidTool(id: JsonRpcId, name: string, why: string): string {
  return errorLine(id, ErrorCode.InvalidParams, `Tool "${name}" is not available: its definition is invalid (${why}), and MCP 2026-07-28 forbids using it.`, { reason: 'TOOL_INVALID', tool: name });
}

