// While a sign-in is not finished: the placeholder server answers the client in its own era (a
// 2026-07-28 client gets results with `resultType` and cache hints, `server/discover` answered, and
// its `subscriptions/listen` requests acknowledged and held), so that nothing waits on the browser.
// Once signed in, the route is connected (a few tries: the server may be briefly unreachable), the
// list changes are announced, and the held listens go to the route.
import type { Authorizer } from '../authorization.js';
import { Code, isAppError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Route } from './eras/route.js';
import type { Era } from './eras/codec.js';
import { META, modernResultMembers } from './eras/modern.js';
import { cancelledRequestOf, isRequest, notificationLine, resultLine, type JsonRpcId, type JsonRpcMessage } from './jsonrpc.js';
import type { Line } from './message-bytes.js';
import { LIST_CHANGED_NOTIFICATIONS, LIST_UPDATES_BY_ITSELF, PlaceholderServer } from './placeholder.js';
import type { Frame } from './transports/transport.js';
import { VERSION } from '../version.js';

export interface SignInWaitOptions {
  clientEra: Era;
  /** Why the sign-in is not finished, and what the user must do. */
  reason: string;
  write(line: Line): void;
  /** The answer to `server/discover` with these instructions. */
  discover(message: JsonRpcMessage, instructions: string): string;
}

export class SignInWait {
  /** A modern client's `subscriptions/listen` requests, held open until the switch. */
  listens: Frame[] = [];
  readonly message: string;
  private readonly server: PlaceholderServer;

  constructor(private readonly o: SignInWaitOptions) {
    this.message = `${o.reason} ${LIST_UPDATES_BY_ITSELF}`;
    this.server = new PlaceholderServer({ version: VERSION, message: this.message });
  }

  /** Signed in and connected: the client is told its lists changed, and the held listens go to `route`. */
  handOver(route: Route, send: (line: string) => void): void {
    if (this.o.clientEra === '2025') {
      for (const method of LIST_CHANGED_NOTIFICATIONS) send(notificationLine(method));
      return;
    }
    // A modern client hears of list changes only on the subscriptions it opened.
    for (const listen of this.listens) {
      for (const method of LIST_CHANGED_NOTIFICATIONS) send(notificationLine(method, { _meta: { [META.subscriptionId]: listen.message.id } }));
      route.fromClient(listen);
    }
  }

  answer(frame: Frame): void {
    const message = frame.message;
    if (this.o.clientEra === '2025') {
      const answer = this.server.answer(message);
      if (answer) this.o.write(answer);
      return;
    }
    const cancelled = cancelledRequestOf(message);
    if (message.method === 'server/discover' && isRequest(message)) {
      this.o.write(this.o.discover(message, this.message));
    } else if (message.method === 'subscriptions/listen' && isRequest(message)) {
      this.listens.push(frame);
      const notifications = (message.params as { notifications?: unknown } | undefined)?.notifications ?? {};
      this.o.write(notificationLine('notifications/subscriptions/acknowledged', { notifications, _meta: { [META.subscriptionId]: message.id } }));
    } else if (cancelled !== undefined) {
      this.listens = this.listens.filter((f) => f.message.id !== cancelled);
    } else {
      const answer = this.server.answer(message);
      if (answer) this.o.write(modernAnswer(answer, message.method));
    }
  }
}

/** After sign-in the server may still be briefly unreachable: a few tries, backing off, then give up. */
const SWITCH_ATTEMPTS = 5;

export interface SwitchOptions {
  authorizer: Authorizer;
  logger: Logger;
  host: string;
  signal: AbortSignal;
  /** Gets the route once signed in. */
  connect(): Promise<Route>;
}

/** Waits for the sign-in, then connects; undefined when the proxy closed meanwhile or connecting failed (logged). */
export async function connectWhenSignedIn(o: SwitchOptions): Promise<Route | undefined> {
  try {
    await o.authorizer.whenReady(o.signal);
    for (let attempt = 1; ; attempt++) {
      try {
        return await o.connect();
      } catch (err) {
        if (attempt >= SWITCH_ATTEMPTS || o.signal.aborted || isAppError(err, Code.SIGN_IN_REQUIRED, Code.TOKEN_REJECTED, Code.STEP_UP_FAILED)) throw err;
        o.logger.warn(`connecting to ${o.host} after sign-in failed (${(err as Error).message}); trying again`);
        await new Promise((resolve) => setTimeout(resolve, 1000 * 2 ** (attempt - 1)).unref());
      }
    }
  } catch (err) {
    if (!o.signal.aborted) o.logger.error(`could not connect to ${o.host} after sign-in: ${(err as Error).message}`);
    return undefined;
  }
}

/** A placeholder answer in the shape a 2026-07-28 client requires. */
function modernAnswer(answer: string, method: string | undefined): string {
  const m = JSON.parse(answer) as JsonRpcMessage;
  if (!m.result || typeof m.result !== 'object') return answer;
  const result = m.result as Record<string, unknown>;
  for (const [key, value] of Object.entries(modernResultMembers(method, (k) => k in result))) result[key] = JSON.parse(value);
  return resultLine(m.id as JsonRpcId, result);
}
