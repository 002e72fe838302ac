// JSON-RPC 2.0 §6 batches from the client. The proxy splits a batch into its members, each handled
// as if it had come alone (so it works with every server era: MCP 2025-06-18 and later removed
// batches, and a 2026-07-28 server never had them), and gathers the answers into one array line:
//  - an invalid member gets its own Invalid Request error entry (with its id when it has a valid one);
//  - notifications and responses (the client answering the server) get no entry;
//  - a batch with nothing to answer gets no answer at all;
//  - a request the client cancels (notifications/cancelled) is no longer waited for.
// Only responses are taken from the way to the client: server requests and notifications that come
// while a batch is open pass as usual.
import { members, topLevel } from './json-text.js';
import { ErrorCode, errorLine, isId, isJsonRpcMessage, isRequest, type JsonRpcId, type JsonRpcMessage } from './jsonrpc.js';

interface Batch {
  /** Entries so far, as JSON text. */
  entries: string[];
  waiting: Set<JsonRpcId>;
}

export class Batches {
  private readonly byId = new Map<JsonRpcId, Batch>();

  constructor(private readonly send: (line: string) => void) {}

  /** True while some batch waits for answers (the bridge looks at outgoing lines only then). */
  get pending(): boolean {
    return this.byId.size > 0;
  }

  /** Registers a batch; returns its valid members, each with its own line, to handle one by one. */
  open(batch: unknown[]): Array<[string, JsonRpcMessage]> {
    const out: Array<[string, JsonRpcMessage]> = [];
    const b: Batch = { entries: [], waiting: new Set() };
    for (const member of batch) {
      if (!isJsonRpcMessage(member)) {
        const id = (member as { id?: unknown } | null)?.id;
        b.entries.push(errorLine(isId(id) ? id : null, ErrorCode.InvalidRequest, 'Invalid Request: a batch member that is not a JSON-RPC 2.0 message'));
        continue;
      }
      if (isRequest(member)) {
        if (b.waiting.has(member.id) || this.byId.has(member.id)) {
          b.entries.push(errorLine(member.id, ErrorCode.InvalidRequest, `Invalid Request: the id ${JSON.stringify(member.id)} is already in use by a request waiting for its answer`));
          continue;
        }
        b.waiting.add(member.id);
        this.byId.set(member.id, b);
      }
      out.push([JSON.stringify(member), member]);
    }
    this.flushIfDone(b);
    return out;
  }

  /** Takes `line` into its batch when it answers a batch member; false when it is not for a batch. */
  take(line: string): boolean {
    const id = responseId(line);
    if (id === undefined) return false;
    const b = this.byId.get(id);
    if (!b) return false;
    this.byId.delete(id);
    b.waiting.delete(id);
    b.entries.push(line);
    this.flushIfDone(b);
    return true;
  }

  /** The client cancelled request `id`: its answer is not waited for (if one comes, it is kept). */
  cancelled(id: JsonRpcId): void {
    const b = this.byId.get(id);
    if (!b) return;
    this.byId.delete(id);
    b.waiting.delete(id);
    this.flushIfDone(b);
  }

  private flushIfDone(b: Batch): void {
    if (b.waiting.size > 0 || b.entries.length === 0) return;
    const entries = b.entries;
    b.entries = [];
    this.send(`[${entries.join(',')}]`);
  }
}

/** The id of a response line (one that has no method), read from its top-level members only. */
function responseId(line: string): JsonRpcId | undefined {
  try {
    const all = members(line, topLevel(line));
    if (all.some((m) => m.key === 'method')) return undefined;
    const id = all.find((m) => m.key === 'id');
    if (!id) return undefined;
    const value = JSON.parse(line.slice(id.valueStart, id.valueEnd)) as unknown;
    return isId(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
