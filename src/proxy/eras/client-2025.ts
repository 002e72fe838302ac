// The 2025 client codec: a 2025 client speaks the internal form already; its messages pass as the
// bytes they arrived as, both ways.
import type { Line } from '../message-bytes.js';
import type { Frame } from '../transports/transport.js';
import type { ClientCodec, Internal } from './codec.js';

export class Client2025 implements ClientCodec {
  readonly era = '2025';

  constructor(private readonly write: (line: Line) => void) {}

  fromClient(frame: Frame): Internal {
    return frame;
  }

  toClient(frame: Frame): void {
    this.write(frame.line);
  }

  close(): void {}
}
