// Newline-delimited input, on bytes: splits chunks into lines without joining a line's pieces until
// its newline comes, and never buffers a line over `maxLineBytes` (only its size is counted and its
// first and last bytes kept, to find its id for the error that answers it).

const NEWLINE = 0x0a;
/** How much of the start and the end of an oversized line is kept, to find its id. */
const KEEP_BYTES = 512;

export interface LineSink {
  /** One line's bytes (without its LF): one piece, or the pieces it arrived in. */
  line(bytes: Buffer | Buffer[]): void;
  /** A line over the limit ended: its size, and its first and last KEEP_BYTES. */
  oversized(bytes: number, head: Buffer, tail: Buffer): void;
}

interface Skipping {
  bytes: number;
  head: Buffer;
  tail: Buffer;
}

export class LineReader {
  /** Pieces of a line not yet terminated. */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private skipping: Skipping | undefined;

  constructor(private readonly sink: LineSink, private readonly maxLineBytes = Infinity) {}

  /** Feeds a chunk; `stopped()` is asked after each line (the reader stops early once it holds). */
  push(buf: Buffer, stopped: () => boolean): void {
    let start = 0;
    let nl: number;
    while ((nl = buf.indexOf(NEWLINE, start)) !== -1) {
      const piece = buf.subarray(start, nl);
      start = nl + 1;
      if (this.skipping || this.partialBytes + piece.length > this.maxLineBytes) {
        this.skip(piece);
        const s = this.skipping!;
        this.skipping = undefined;
        this.sink.oversized(s.bytes, s.head, s.tail);
      } else if (this.partial.length === 0) {
        this.sink.line(piece);
      } else {
        const pieces = this.partial;
        pieces.push(piece);
        this.partial = [];
        this.partialBytes = 0;
        this.sink.line(pieces);
      }
      if (stopped()) return;
    }
    if (start < buf.length) {
      const rest = buf.subarray(start);
      if (this.skipping || this.partialBytes + rest.length > this.maxLineBytes) {
        this.skip(rest);
      } else {
        this.partial.push(rest);
        this.partialBytes += rest.length;
      }
    }
  }

  /** Counts (and forgets) a piece of a line over the limit, keeping its first and last bytes. */
  private skip(piece: Buffer): void {
    if (!this.skipping) {
      const held = this.partial.length ? Buffer.concat(this.partial) : Buffer.alloc(0);
      this.partial = [];
      this.partialBytes = 0;
      this.skipping = { bytes: held.length, head: Buffer.from(held.subarray(0, KEEP_BYTES)), tail: Buffer.from(held.subarray(Math.max(0, held.length - KEEP_BYTES))) };
    }
    const s = this.skipping;
    if (s.head.length < KEEP_BYTES) s.head = Buffer.concat([s.head, piece.subarray(0, KEEP_BYTES - s.head.length)]);
    s.tail = piece.length >= KEEP_BYTES
      ? Buffer.from(piece.subarray(piece.length - KEEP_BYTES))
      : Buffer.concat([s.tail, piece]).subarray(-KEEP_BYTES);
    s.bytes += piece.length;
  }
}
