// Incremental text/event-stream parser (WHATWG HTML §9.2.6), on bytes: fed the response's Buffers as
// they arrive, it splits lines on CR/LF bytes (which never occur inside a UTF-8 multi-byte
// sequence) and gathers an event's data in EventData. A multi-megabyte `data:` line costs O(n) and
// one copy at most. Every `data:` line is charged what it took on the wire (field name and line end
// included) against `maxEventBytes`; an event over it is not gathered: the parser stops and reports
// it (the caller drops the stream).
import { BYTES_PATH_MIN, type MessageBytes } from '../message-bytes.js';
import { EventData } from './sse-event-data.js';

export interface SseEvent {
  /** The `event:` field, or "message". */
  type: string;
  /**
   * The `data:` lines joined with "\n", as UTF-8 bytes; an event of BYTES_PATH_MIN or more as the
   * pieces it arrived in (never joined: see message-bytes.ts).
   */
  data: Buffer | MessageBytes;
}

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;
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
  private data = new EventData();
  /** What the event's `data:` lines took on the wire so far. */
  private cost = 0;
  private type = '';

  constructor(private readonly onEvent: (event: SseEvent) => void, private readonly maxEventBytes = Infinity) {}

  /** Bytes of the event being gathered (0 between events). */
  get gathering(): number {
    return this.cost + this.partialBytes;
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
      if (this.cost + this.partialBytes > this.maxEventBytes) this.overflow(this.cost + this.partialBytes);
    }
  }

  private overflow(bytes: number): void {
    this.oversized = bytes;
    this.partial = [];
    this.data = new EventData();
  }

  /** Charges a `data:` line of `lineBytes` (its end included); false once the event is over the limit. */
  private charge(lineBytes: number): boolean {
    this.cost += lineBytes + 1;
    if (this.cost <= this.maxEventBytes) return true;
    this.overflow(this.cost);
    return false;
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
        if (this.charge(line.length)) this.data.add(value);
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
    if (!this.charge(pieces.reduce((n, p) => n + p.length, 0))) return;
    let first = pieces[0]!.subarray(DATA_FIELD.length);
    if (first[0] === SPACE) first = first.subarray(1);
    this.data.add([first, ...pieces.slice(1)]);
  }

  private dispatch(): void {
    const type = this.type || 'message';
    this.type = '';
    const data = this.data;
    this.data = new EventData();
    this.cost = 0;
    if (data.values === 0) return; // e.g. a priming event that only sets an id
    this.onEvent({ type, data: data.take() });
  }
}

function startsWith(buffer: Buffer, prefix: Buffer): boolean {
  return buffer.length >= prefix.length && buffer.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}
