// Incremental text/event-stream parser (WHATWG HTML §9.2.6). Fed decoded text as it arrives; a
// line is joined from its pieces once, so a multi-megabyte `data:` line costs O(n), not O(n²).

export interface SseEvent {
  /** The `event:` field, or "message". */
  type: string;
  /** The `data:` lines joined with "\n". */
  data: string;
}

export class SseParser {
  /** The `id:` of the last event seen: what `Last-Event-ID` carries when resuming. */
  lastEventId: string | undefined;
  /** The server's `retry:` reconnection delay in ms. */
  retryMs: number | undefined;

  private partial: string[] = [];
  private endedWithCR = false;
  private data: string[] = [];
  private type = '';

  constructor(private readonly onEvent: (event: SseEvent) => void) {}

  push(text: string): void {
    let start = 0;
    if (this.endedWithCR && text.charCodeAt(0) === 0x0a) start = 1; // the LF of a CRLF split across chunks
    this.endedWithCR = false;
    let lf = text.indexOf('\n', start);
    let cr = text.indexOf('\r', start);
    while (lf !== -1 || cr !== -1) {
      const end = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
      let line = text.slice(start, end);
      if (this.partial.length > 0) {
        this.partial.push(line);
        line = this.partial.join('');
        this.partial = [];
      }
      start = end + 1;
      if (end === cr) {
        if (end + 1 === text.length) this.endedWithCR = true;
        else if (text.charCodeAt(end + 1) === 0x0a) start++;
      }
      this.processLine(line);
      if (lf !== -1 && lf < start) lf = text.indexOf('\n', start);
      if (cr !== -1 && cr < start) cr = text.indexOf('\r', start);
    }
    if (start < text.length) this.partial.push(text.slice(start));
  }

  private processLine(line: string): void {
    if (line === '') return this.dispatch();
    if (line.charCodeAt(0) === 0x3a) return; // ":" comment (keep-alive)
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 0x20) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        break;
      case 'event':
        this.type = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
    }
  }

  private dispatch(): void {
    const type = this.type || 'message';
    this.type = '';
    if (this.data.length === 0) return; // e.g. a priming event that only sets an id
    const data = this.data.length === 1 ? this.data[0]! : this.data.join('\n');
    this.data = [];
    this.onEvent({ type, data });
  }
}
