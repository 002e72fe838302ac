// The data of one server-sent event while it is gathered (see sse-parser.ts).
import { BYTES_PATH_MIN, MessageBytes } from '../message-bytes.js';

/** A `data:` value below this size is copied into the event's own buffer rather than kept as a view. */
const SMALL_VALUE = 4 * 1024;
const SCRATCH_MIN = 4 * 1024;
const SCRATCH_MAX = 64 * 1024;
const NEWLINE_BYTE = Buffer.from('\n');

/**
 * One event's data. A single value stays a view of the chunk it arrived in (the usual event: one
 * JSON message). With several, small values and the "\n" between them are copied into buffers of
 * the event's own, so that many short lines cost their bytes, not an object each; large values stay
 * views.
 */
export class EventData {
  readonly pieces: Buffer[] = [];
  bytes = 0;
  values = 0;
  private scratch: Buffer | undefined;
  private used = 0;

  add(value: Buffer | Buffer[]): void {
    if (this.values++ > 0) this.copy(NEWLINE_BYTE);
    const pieces = Array.isArray(value) ? value : [value];
    for (const piece of pieces) {
      if (piece.length === 0) continue;
      if (this.values === 1 || piece.length >= SMALL_VALUE) {
        this.seal();
        this.pieces.push(piece);
      } else {
        this.copy(piece);
      }
      this.bytes += piece.length;
    }
  }

  /** The data as one Buffer, or as pieces (a large event). */
  take(): Buffer | MessageBytes {
    this.seal();
    if (this.pieces.length === 1) return this.pieces[0]!;
    return this.bytes >= BYTES_PATH_MIN ? new MessageBytes(this.pieces, this.bytes) : Buffer.concat(this.pieces, this.bytes);
  }

  private copy(bytes: Buffer): void {
    if (bytes === NEWLINE_BYTE) this.bytes += 1;
    let offset = 0;
    while (offset < bytes.length) {
      if (!this.scratch || this.used === this.scratch.length) {
        this.seal();
        this.scratch = Buffer.allocUnsafe(Math.min(SCRATCH_MAX, Math.max(SCRATCH_MIN, this.bytes)));
      }
      const n = bytes.copy(this.scratch, this.used, offset);
      this.used += n;
      offset += n;
    }
  }

  private seal(): void {
    if (this.scratch && this.used > 0) this.pieces.push(this.scratch.subarray(0, this.used));
    this.scratch = undefined;
    this.used = 0;
  }
}

