// Which of the server's tools the client may see and call: `--ignore-tool <glob>` (hidden),
// `--allow-tool <glob>` (an allow-list: only these), `--read-only` (only tools the server annotates
// `readOnlyHint: true`). Globs are mcp-remote's: `*` matches any run of characters, case-insensitive.
//
// Filtering works on the two messages that matter, whatever era either side speaks: the results of
// the client's `tools/list` requests (every page; a client re-lists after `list_changed`), edited
// in place so that everything else in them (`nextCursor`, a 2026-07-28 result's `resultType` and
// cache hints) stays byte for byte; and the client's `tools/call`, refused here with a JSON-RPC
// error (never forwarded) when it names a hidden tool. Nothing is parsed when no filter is set: the
// bridge holds no ToolFilter then.
//
// `--read-only` needs the tool's annotations, which only a `tools/list` result carries. A call for a
// tool that no list result has shown yet is refused (fail closed), with a message that says so;
// every MCP client lists the tools before calling them, so in practice this only stops a client that
// guesses names.
import { editNested, editObject, rawValue } from './json-text.js';
import { errorLine, isRequest, type JsonRpcId, type JsonRpcMessage } from './jsonrpc.js';

export interface ToolFilterOptions {
  ignore?: readonly string[];
  allow?: readonly string[];
  readOnly?: boolean;
}

/** JSON-RPC "Invalid params": what MCP servers answer for an unknown tool. */
const UNKNOWN_TOOL = -32602;

interface Tool {
  name?: unknown;
  annotations?: { readOnlyHint?: unknown };
}

export class ToolFilter {
  private readonly ignore: Array<[string, RegExp]>;
  private readonly allow: Array<[string, RegExp]>;
  private readonly readOnly: boolean;
  /** The client's `tools/list` requests whose results have not passed yet. */
  private readonly lists = new Set<JsonRpcId>();
  /** `--read-only`: what each listed tool's annotations said (true: read-only). */
  private readonly readOnlyTools = new Map<string, boolean>();

  private constructor(o: ToolFilterOptions) {
    this.ignore = (o.ignore ?? []).map((g) => [g, globToRegExp(g)]);
    this.allow = (o.allow ?? []).map((g) => [g, globToRegExp(g)]);
    this.readOnly = o.readOnly === true;
  }

  /** A filter, or undefined when the options ask for none (the proxy then parses nothing extra). */
  static from(o: ToolFilterOptions): ToolFilter | undefined {
    if (!o.ignore?.length && !o.allow?.length && !o.readOnly) return undefined;
    return new ToolFilter(o);
  }

  /** True while a `tools/list` result is awaited: only then do lines to the client need a look. */
  get listing(): boolean {
    return this.lists.size > 0;
  }

  /**
   * A client message on its way to the server: remembers `tools/list` requests, and returns the
   * error line that answers a `tools/call` for a hidden tool (the call is then not forwarded).
   */
  check(message: JsonRpcMessage): string | undefined {
    if (!isRequest(message)) return undefined;
    if (message.method === 'tools/list') {
      this.lists.add(message.id);
      return undefined;
    }
    if (message.method !== 'tools/call') return undefined;
    const name = (message.params as { name?: unknown } | undefined)?.name;
    if (typeof name !== 'string') return undefined; // the server's to refuse
    const why = this.hiddenBecause(name);
    return why === undefined ? undefined : errorLine(message.id, UNKNOWN_TOOL, `Tool "${name}" is not available: ${why}.`, { reason: 'TOOL_FILTERED', tool: name });
  }

  /** Request `id` was answered some other way (the sign-in placeholder): no result will pass. */
  forget(id: JsonRpcId | null | undefined): void {
    if (id !== undefined && id !== null) this.lists.delete(id);
  }

  /** A line on its way to the client: a `tools/list` result loses the hidden tools; anything else is returned as it is. */
  filter(line: string): string {
    let id: unknown;
    try {
      const raw = rawValue(line, ['id']);
      id = raw === undefined ? undefined : JSON.parse(raw);
    } catch {
      return line;
    }
    if ((typeof id !== 'string' && typeof id !== 'number') || !this.lists.has(id)) return line;
    this.lists.delete(id);
    const toolsText = rawValue(line, ['result', 'tools']);
    if (toolsText === undefined) return line; // an error, or not a list result
    let tools: unknown;
    try {
      tools = JSON.parse(toolsText);
    } catch {
      return line;
    }
    if (!Array.isArray(tools)) return line;
    const kept: unknown[] = [];
    for (const tool of tools as Tool[]) {
      const name = typeof tool?.name === 'string' ? tool.name : undefined;
      if (name !== undefined && this.readOnly) this.readOnlyTools.set(name, tool.annotations?.readOnlyHint === true);
      if (name === undefined || this.hiddenBecause(name) === undefined) kept.push(tool);
    }
    if (kept.length === tools.length) return line;
    return editNested(line, ['result'], (text, start) => editObject(text, start, { set: { tools: JSON.stringify(kept) } }));
  }

  /** Why `name` is hidden, in words for the error message; undefined when it is shown. */
  private hiddenBecause(name: string): string | undefined {
    const ignored = this.ignore.find(([, re]) => re.test(name));
    if (ignored) return `appwrite-mcp hides it (--ignore-tool ${ignored[0]})`;
    if (this.allow.length && !this.allow.some(([, re]) => re.test(name))) return `appwrite-mcp shows only the tools --allow-tool names (${this.allow.map(([g]) => g).join(', ')})`;
    if (this.readOnly) {
      const readOnly = this.readOnlyTools.get(name);
      if (readOnly === undefined) return 'appwrite-mcp runs with --read-only and has not seen this tool in a tools/list result yet (list the tools first)';
      if (!readOnly) return 'appwrite-mcp runs with --read-only and the server does not annotate this tool as read-only (readOnlyHint)';
    }
    return undefined;
  }
}

/** mcp-remote's glob: `*` is any run of characters, everything else literal; whole name, case-insensitive. */
export function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')).join('.*')}$`, 'i');
}
