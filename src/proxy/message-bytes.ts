// A large message kept as the bytes it arrived in (issue "Hardening", item 12: memory on the message
// path). A stdin line, an SSE event or a JSON body of BYTES_PATH_MIN or more that a route forwards
// as it is (2025 ⇄ 2025, 2026-07-28 ⇄ 2026-07-28) is never joined, decoded to a string or encoded
// again: its pieces go to the HTTP request (or to stdout) as they are. What routing needs — the
// top-level members other than `params` / `result` — is found by a scan of the bytes; `params` and
// `result` are decoded and parsed only if something reads them (a translating codec, a filter).

/**
 * From this size on a message takes the bytes path; smaller ones are decoded as before. Without V8
 * flag tuning, a 100 KB message held as a string is what makes V8 grow its young generation under
 * load (32 in flight: Node 24 peaked at 240–280 MB in `npm run bench:memory`'s 100 KB workload); as
 * Buffers it stays off the heap (146 MB). Small messages stay text: they are cheaper to decode than
 * to scan as bytes.
 */
export const BYTES_PATH_MIN = 16 * 1024;

export class MessageBytes {
  readonly length: number;

  constructor(readonly pieces: readonly Buffer[], length?: number) {
    this.length = length ?? pieces.reduce((n, p) => n + p.length, 0);
  }

  /** Bytes `start`…`end` as one Buffer: a view when they lie in one piece, else a copy. */
  slice(start: number, end: number): Buffer {
    const out: Buffer[] = [];
    let at = 0;
    for (const p of this.pieces) {
      const pieceEnd = at + p.length;
      if (pieceEnd > start && at < end) out.push(p.subarray(Math.max(0, start - at), Math.min(p.length, end - at)));
      at = pieceEnd;
      if (at >= end) break;
    }
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  /** The text, decoded (for whatever must read or edit it). */
  text(): string {
    return this.slice(0, this.length).toString('utf8');
  }
}

/** One message's JSON text: a string, or (large, forwarded as it is) its bytes. */
export type Line = string | MessageBytes;

export function textOf(line: Line): string {
  return typeof line === 'string' ? line : line.text();
}
