// While a sign-in is not finished: the placeholder server answers the client in its own era (a
// 2026-07-28 client gets results with `resultType` and cache hints, `server/discover` answered, and
// its `subscriptions/listen` requests acknowledged and held), so that nothing waits on the browser.
// Once signed in, the bridge takes the held listens over and announces the list changes.
import { modernResultMembers } from './eras/about.js';
import type { Era } from './eras/codec.js';
import { META } from './eras/modern.js';
import { cancelledRequestOf, isRequest, notificationLine, resultLine, type JsonRpcId, type JsonRpcMessage } from './jsonrpc.js';
import type { Line } from './message-bytes.js';
import { LIST_UPDATES_BY_ITSELF, PlaceholderServer } from './placeholder.js';
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

/** A placeholder answer in the shape a 2026-07-28 client requires. */
function modernAnswer(answer: string, method: string | undefined): string {
  const m = JSON.parse(answer) as JsonRpcMessage;
  if (!m.result || typeof m.result !== 'object') return answer;
  const result = m.result as Record<string, unknown>;
  for (const [key, value] of Object.entries(modernResultMembers(method, (k) => k in result))) result[key] = JSON.parse(value);
  return resultLine(m.id as JsonRpcId, result);
}
