// Incremental text/event-stream parser (WHATWG HTML §9.2.6), on bytes: fed the response's Buffers as
// they arrive, it splits lines on CR/LF bytes (which never occur inside a UTF-8 multi-byte
// sequence), keeps `data:` values as views of the chunks, and joins an event's data once, when it
// is dispatched. A multi-megabyte `data:` line costs O(n) and one copy. An event larger than
// `maxEventBytes` is not gathered: the parser stops and reports it (the caller drops the stream).

export interface SseEvent {
  /** The `event:` field, or "message". */
  type: string;
  /**
   * The `data:` lines joined with "\n", as UTF-8 bytes; an event of BYTES_PATH_MIN or more as the
   * pieces it arrived in (never joined: see message-bytes.ts).
   */
  data: Buffer | MessageBytes;
}

import { BYTES_PATH_MIN, MessageBytes } from '../message-bytes.js';

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;
const NEWLINE = Buffer.from('\n');
const DATA_FIELD = Buffer.from('data:');

export class SseParser {
  /** The `id:` of the last event seen: what `Last-Event-ID` carries when resuming. */
  lastEventId: string | undefined;
  /** The server's `retry:` reconnection delay in ms. */
  retryMs: number | undefined;
  /** Set once an event went over maxEventBytes: its size so far. Nothing more is parsed. */
  oversized: number | undefined;

  private partial: Buffer[] = [];
  private partialBytes = 0;
  private endedWithCR = false;
  /** The event's `data:` values so far, each as one Buffer or (a large one) its pieces. */
  private data: Array<Buffer | Buffer[]> = [];
  private dataBytes = 0;
  private type = '';

  constructor(private readonly onEvent: (event: SseEvent) => void, private readonly maxEventBytes = Infinity) {}

  /** Bytes of the event being gathered (0 between events). */
  get gathering(): number {
    return this.dataBytes + this.partialBytes;
  }

  push(input: Buffer | string): void {
    if (this.oversized !== undefined) return;
    const chunk = typeof input === 'string' ? Buffer.from(input) : input;
    let start = 0;
    if (this.endedWithCR && chunk[0] === LF) start = 1; // the LF of a CRLF split across chunks
    this.endedWithCR = false;
    let lf = chunk.indexOf(LF, start);
    let cr = chunk.indexOf(CR, start);
    while (lf !== -1 || cr !== -1) {
      const end = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
      let line = chunk.subarray(start, end);
      let pieces: Buffer[] | undefined;
      if (this.partial.length > 0) {
        this.partial.push(line);
        // A large `data:` line is kept in the pieces it arrived in; anything else is joined.
        if (this.partialBytes + line.length >= BYTES_PATH_MIN && startsWith(this.partial[0]!, DATA_FIELD)) pieces = this.partial;
        else line = Buffer.concat(this.partial);
        this.partial = [];
        this.partialBytes = 0;
      }
      start = end + 1;
      if (end === cr) {
        if (end + 1 === chunk.length) this.endedWithCR = true;
        else if (chunk[end + 1] === LF) start++;
      }
      if (pieces) this.dataPieces(pieces);
      else this.processLine(line);
      if (this.oversized !== undefined) return;
      if (lf !== -1 && lf < start) lf = chunk.indexOf(LF, start);
      if (cr !== -1 && cr < start) cr = chunk.indexOf(CR, start);
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.partial.push(rest);
      this.partialBytes += rest.length;
      if (this.dataBytes + this.partialBytes > this.maxEventBytes) this.overflow(this.dataBytes + this.partialBytes);
    }
  }

  private overflow(bytes: number): void {
    this.oversized = bytes;
    this.partial = [];
    this.data = [];
  }

  private processLine(line: Buffer): void {
    if (line.length === 0) return this.dispatch();
    if (line[0] === COLON) return; // a comment (keep-alive)
    const colon = line.indexOf(COLON);
    const field = (colon === -1 ? line : line.subarray(0, colon)).toString('latin1');
    let value = colon === -1 ? line.subarray(line.length) : line.subarray(colon + 1);
    if (value[0] === SPACE) value = value.subarray(1);
    switch (field) {
      case 'data':
        this.dataBytes += value.length + (this.data.length ? 1 : 0);
        if (this.dataBytes > this.maxEventBytes) return this.overflow(this.dataBytes);
        this.data.push(value);
        break;
      case 'event':
        this.type = value.toString('utf8');
        break;
      case 'id': {
        const id = value.toString('utf8');
        if (!id.includes('\0')) this.lastEventId = id;
        break;
      }
      case 'retry': {
        const retry = value.toString('latin1');
        if (/^\d+$/.test(retry)) this.retryMs = Number(retry);
        break;
      }
    }
  }

  /** A `data:` line of BYTES_PATH_MIN or more, in pieces (the first starts with "data:"). */
  private dataPieces(pieces: Buffer[]): void {
    let first = pieces[0]!.subarray(DATA_FIELD.length);
    if (first[0] === SPACE) first = first.subarray(1);
    const value = [first, ...pieces.slice(1)].filter((p) => p.length > 0);
    const length = value.reduce((n, p) => n + p.length, 0);
    this.dataBytes += length + (this.data.length ? 1 : 0);
    if (this.dataBytes > this.maxEventBytes) return this.overflow(this.dataBytes);
    this.data.push(value);
  }

  private dispatch(): void {
    const type = this.type || 'message';
    this.type = '';
    if (this.data.length === 0) return; // e.g. a priming event that only sets an id
    const values = this.data;
    const bytes = this.dataBytes;
    this.data = [];
    this.dataBytes = 0;
    if (values.length === 1 && !Array.isArray(values[0])) return this.onEvent({ type, data: values[0] });
    const pieces = values.flatMap((d, i) => [...(i ? [NEWLINE] : []), ...(Array.isArray(d) ? d : [d])]);
    this.onEvent({ type, data: bytes >= BYTES_PATH_MIN ? new MessageBytes(pieces, bytes) : Buffer.concat(pieces) });
  }
}

function startsWith(buffer: Buffer, prefix: Buffer): boolean {
  return buffer.length >= prefix.length && buffer.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}
