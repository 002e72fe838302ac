// The requests in flight to the server, shared by the transports and whatever sends through them:
// which send waits for which responses, --request-timeout, and cancellation (the client gave up on
// a request: its exchange is aborted once nothing else in it is awaited). The proxy's own requests
// (probes, pings, handshakes) get ids with INTERNAL_ID_PREFIX and are never reported to the client.
import type { JsonRpcId } from '../jsonrpc.js';
import type { Frame } from './transport.js';

export const INTERNAL_ID_PREFIX = 'appwrite-mcp-';

export function isInternalId(id: unknown): boolean {
  return typeof id === 'string' && id.startsWith(INTERNAL_ID_PREFIX);
}

/** Why an exchange was given up before its answers came. */
export type GiveUp = 'cancelled' | 'timeout' | 'closed';

/** The requests of one message sent, until each has its response. */
export class Pending {
  readonly remaining: Set<JsonRpcId>;
  /** Aborted when the exchange is given up (see `why`). */
  readonly controller = new AbortController();
  why: GiveUp | undefined;
  /** When --request-timeout ends it (ms since the epoch). */
  deadline: number | undefined;
  timer: NodeJS.Timeout | undefined;
  readonly answered: Promise<void>;
  private resolveAnswered!: () => void;

  constructor(ids: JsonRpcId[], readonly onresponse?: (frame: Frame) => boolean) {
    this.remaining = new Set(ids);
    this.answered = new Promise((resolve) => (this.resolveAnswered = resolve));
    if (ids.length === 0) this.resolveAnswered();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** What is left of its time (Infinity: no deadline). */
  budgetMs(): number {
    return this.deadline === undefined ? Infinity : this.deadline - Date.now();
  }

  /** The ids left unanswered that the client should hear about. */
  unanswered(): JsonRpcId[] {
    return [...this.remaining].filter((id) => !isInternalId(id));
  }

  answer(id: JsonRpcId): void {
    this.remaining.delete(id);
    if (this.remaining.size === 0) this.resolveAnswered();
  }

  giveUp(why: GiveUp): void {
    if (this.why) return;
    this.why = why;
    this.controller.abort();
  }
}

export class RequestTracker {
  private readonly byId = new Map<JsonRpcId, Pending>();
  private readonly open = new Set<Pending>();
  private seq = 0;

  constructor(private readonly requestTimeoutMs?: number) {}

  /** A new id for a request of the proxy's own. */
  nextId(method: string): string {
    return `${INTERNAL_ID_PREFIX}${method.replace(/\W+/g, '-')}-${++this.seq}`;
  }

  /** The requests `ids` are being sent; `longLived` ones have no deadline. Pair with finish(). */
  begin(ids: JsonRpcId[], o: { longLived?: boolean; onresponse?: (frame: Frame) => boolean } = {}): Pending {
    const pending = new Pending(ids, o.onresponse);
    for (const id of ids) this.byId.set(id, pending);
    this.open.add(pending);
    const ms = this.requestTimeoutMs;
    if (ms !== undefined && !o.longLived && ids.length > 0) {
      pending.deadline = Date.now() + ms;
      pending.timer = setTimeout(() => pending.giveUp('timeout'), ms);
    }
    return pending;
  }

  /**
   * Sends the requests `ids` with `send` (begin … finish). An exchange the client cancelled ends
   * quietly; any other failure is rethrown as `failure(err, pending)`.
   */
  async run(ids: JsonRpcId[], o: { longLived?: boolean; onresponse?: (frame: Frame) => boolean }, send: (pending: Pending) => Promise<void>, failure: (err: unknown, pending: Pending) => Error): Promise<void> {
    const pending = this.begin(ids, o);
    try {
      await send(pending);
    } catch (err) {
      if (pending.why === 'cancelled') return;
      throw failure(err, pending);
    } finally {
      this.finish(pending);
    }
  }

  /** The send of `pending` is over (answered or failed). */
  finish(pending: Pending): void {
    clearTimeout(pending.timer);
    this.open.delete(pending);
    for (const id of pending.remaining) if (this.byId.get(id) === pending) this.byId.delete(id);
  }

  /**
   * A message came from the server: when it is a response, its request is answered. True when the
   * message is dealt with here: kept by the sender (onresponse), or a late answer to a request of
   * the proxy's own that was given up on.
   */
  settle(frame: Frame): boolean {
    const m = frame.message;
    if (m.method !== undefined || (typeof m.id !== 'string' && typeof m.id !== 'number')) return false;
    const pending = this.byId.get(m.id);
    if (!pending) return isInternalId(m.id);
    this.byId.delete(m.id);
    pending.answer(m.id);
    return pending.onresponse?.(frame) ?? false;
  }

  /** True while request `id` waits for its response. */
  waiting(id: JsonRpcId): boolean {
    return this.byId.has(id);
  }

  /** The client cancelled request `id`: it is no longer waited for; its exchange stops once nothing in it is. */
  cancel(id: JsonRpcId): void {
    const pending = this.byId.get(id);
    if (!pending) return;
    this.byId.delete(id);
    pending.remaining.delete(id);
    if (pending.remaining.size === 0) pending.giveUp('cancelled');
  }

  /** The proxy is closing: every exchange is given up. */
  closeAll(): void {
    for (const pending of this.open) pending.giveUp('closed');
  }
}
