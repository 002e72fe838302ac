// A modern client's first request opens its route (and may need a sign-in): the bridge holds the
// client's later messages until that request is answered. The gate is that wait: it opens on the
// first line to the client that answers the request, or when the request is done (whichever comes
// first: an input round answers a request long before it is done).
import { META } from './eras/modern.js';
import type { Route } from './eras/route.js';
import type { JsonRpcId, JsonRpcMessage } from './jsonrpc.js';
import type { Frame } from './transports/transport.js';

export class FirstRequestGate {
  private open: { id: JsonRpcId; release(): void } | undefined;

  /** True while a first request is on its way. */
  get holding(): boolean {
    return this.open !== undefined;
  }

  /** Sends `frame` through `route`; resolves once it is answered (or has failed: reported then). */
  async pass(route: Route, frame: Frame): Promise<void> {
    let release!: () => void;
    const answered = new Promise<'answered'>((resolve) => (release = () => resolve('answered')));
    this.open = { id: frame.message.id as JsonRpcId, release };
    const handled = route.first(frame).then(() => 'handled' as const);
    try {
      if ((await Promise.race([handled, answered])) === 'answered') handled.catch((err: unknown) => route.report(err, frame.message));
    } finally {
      this.open = undefined;
    }
  }

  /** A line on its way to the client: opens the gate when it answers the first request. */
  see(line: string): void {
    if (this.open && answers(line, this.open.id)) this.open.release();
  }
}

/**
 * True when `line` answers request `id`: its response, or for a `subscriptions/listen` (answered
 * only when it ends) the acknowledgment that opens it.
 */
function answers(line: string, id: JsonRpcId): boolean {
  try {
    const m = JSON.parse(line) as JsonRpcMessage;
    if (m.method === 'notifications/subscriptions/acknowledged') {
      return (m.params as { _meta?: Record<string, unknown> } | undefined)?._meta?.[META.subscriptionId] === id;
    }
    return m.method === undefined && m.id === id;
  } catch {
    return false;
  }
}
