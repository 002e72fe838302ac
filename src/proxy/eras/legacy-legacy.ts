// 2025 client ⇄ 2025 server: every message goes on as the text it arrived as; the Streamable HTTP
// client keeps the session (re-initialize on 404, DELETE on exit) and the GET stream.
import type { JsonRpcMessage } from '../jsonrpc.js';
import type { Line } from '../message-bytes.js';
import type { ServerAbout } from './about.js';
import { cancelledRequestOf, describe, reportFailure, type Pairing, type PairingContext } from './pairing.js';

export class LegacyPassThrough implements Pairing {
  readonly name = '2025 client ⇄ 2025 server';
  readonly clientEra = '2025';
  readonly serverEra = '2025';
  readonly asIs = true;
  readonly about: ServerAbout | undefined = undefined;

  constructor(private readonly ctx: PairingContext) {}

  receive(line: Line, message: JsonRpcMessage | JsonRpcMessage[]): void {
    this.forward(line, message).catch((err: unknown) => reportFailure(this.ctx, err));
  }

  handle(line: Line, message: JsonRpcMessage): Promise<void> {
    return this.forward(line, message);
  }

  fromServer(line: Line): void {
    this.ctx.toClient(line);
  }

  close(): void {}

  private forward(line: Line, message: JsonRpcMessage | JsonRpcMessage[]): Promise<void> {
    const sent = this.ctx.upstream.send(describe(line, message));
    const cancelled = cancelledRequestOf(message);
    if (cancelled !== undefined) {
      // After the server has the notification, stop waiting on the cancelled request's stream.
      sent.finally(() => this.ctx.upstream.cancel(cancelled)).catch(() => {});
    }
    return sent;
  }
}
