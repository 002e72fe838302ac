// The routing view of a large message kept as bytes (message-bytes.ts): its top-level members found
// by a scan of the bytes, `params` and `result` parsed only if something reads them.
import type { JsonRpcMessage } from './jsonrpc.js';
import type { MessageBytes } from './message-bytes.js';

/** A top-level member other than params/result larger than this: not scanned here (the text path parses it). */
const SMALL_MEMBER_MAX = 64 * 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** The bytes that matter inside a nested value, found by the regex engine (native code). */
const STRUCTURE = /["{}[\]]/g;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** A position in a list of pieces. */
class Cursor {
  private p = 0;
  private i = 0;
  private base = 0;
  /** The current piece as latin1 text (one char per byte), for the regex search of skipValue. */
  private text: string | undefined;
  private textPiece = -1;

  constructor(private readonly pieces: readonly Buffer[]) {
    this.settle();
  }

  get pos(): number {
    return this.base + this.i;
  }

  /** The byte here, or -1 at the end. */
  peek(): number {
    return this.p < this.pieces.length ? this.pieces[this.p]![this.i]! : -1;
  }

  advance(): void {
    this.i++;
    this.settle();
  }

  skipSpace(): void {
    while (isSpace(this.peek())) this.advance();
  }

  /** Here is a `"`: moves past its closing quote; false when there is none. */
  skipString(): boolean {
    this.advance();
    for (;;) {
      if (this.p >= this.pieces.length) return false;
      const piece = this.pieces[this.p]!;
      // The piece's latin1 text when skipValue made it (many short strings: a string search is
      // cheaper than a call into Buffer's); else the bytes (a long string is never decoded).
      const q = this.textPiece === this.p ? this.text!.indexOf('"', this.i) : piece.indexOf(QUOTE, this.i);
      if (q === -1) {
        this.i = piece.length;
        this.settle();
        continue;
      }
      this.i = q + 1;
      const escaped = this.backslashesBefore(q) % 2 === 1;
      this.settle();
      if (!escaped) return true;
    }
  }

  /** How many backslashes come right before byte `q` of the current piece (across pieces). */
  private backslashesBefore(q: number): number {
    let n = 0;
    let p = this.p;
    let k = q - 1;
    for (;;) {
      if (k < 0) {
        if (--p < 0) return n;
        k = this.pieces[p]!.length - 1;
        continue;
      }
      if (this.pieces[p]![k] !== BACKSLASH) return n;
      n++;
      k--;
    }
  }

  /** Moves past the value that starts here; false when it does not end. */
  skipValue(): boolean {
    const c = this.peek();
    if (c === QUOTE) return this.skipString();
    if (c !== 0x7b && c !== 0x5b) {
      // a literal: up to the next delimiter
      for (let d = c; d !== -1 && !isSpace(d) && d !== 0x2c && d !== 0x7d && d !== 0x5d; d = this.peek()) this.advance();
      return true;
    }
    // Structural bytes are found by the regex engine in a latin1 view of the piece: a byte loop
    // in JavaScript is several times slower, most of all before V8 has optimized it.
    // UTF-8 never uses bytes below 0x80 inside a multi-byte character, so none is mistaken.
    let depth = 0;
    for (;;) {
      if (this.p >= this.pieces.length) return false;
      const text = this.latin1();
      STRUCTURE.lastIndex = this.i;
      let quote = -1;
      for (let m = STRUCTURE.exec(text); m !== null; m = STRUCTURE.exec(text)) {
        const c = text.charCodeAt(m.index);
        if (c === QUOTE) {
          quote = m.index;
          break;
        }
        if (c === 0x7b || c === 0x5b) depth++;
        else if (--depth === 0) {
          this.i = m.index + 1;
          this.settle();
          return true;
        }
      }
      this.i = quote === -1 ? text.length : quote;
      this.settle();
      if (quote !== -1 && !this.skipString()) return false;
    }
  }

  private latin1(): string {
    if (this.textPiece !== this.p) {
      this.text = this.pieces[this.p]!.toString('latin1');
      this.textPiece = this.p;
    }
    return this.text!;
  }

  private settle(): void {
    while (this.p < this.pieces.length && this.i >= this.pieces[this.p]!.length) {
      this.i -= this.pieces[this.p]!.length;
      this.base += this.pieces[this.p]!.length;
      this.p++;
    }
  }
}

/**
 * The routing view of a message given as bytes: a JSON object scanned for its direct members, each
 * parsed except `params` and `result` (parsed from the bytes on first read). Undefined when the
 * bytes are not such an object (a batch, a member too large to scan here, text that is not JSON):
 * the caller then takes the text path, which answers or reports as before. As for large messages
 * on the text path (parseMessage), nested values are checked for structure, not parsed.
 */
export function scanMessage(bytes: MessageBytes): JsonRpcMessage | undefined {
  const c = new Cursor(bytes.pieces);
  c.skipSpace();
  if (c.peek() !== 0x7b) return undefined;
  c.advance();
  c.skipSpace();
  const out: Record<string, unknown> = {};
  try {
    if (c.peek() !== 0x7d) {
      for (;;) {
        if (c.peek() !== QUOTE) return undefined;
        const keyStart = c.pos;
        if (!c.skipString() || c.pos - keyStart > 1024) return undefined;
        const key = JSON.parse(bytes.slice(keyStart, c.pos).toString('utf8')) as string;
        if (Object.prototype.hasOwnProperty.call(out, key) || key === '__proto__') return undefined;
        c.skipSpace();
        if (c.peek() !== 0x3a) return undefined;
        c.advance();
        c.skipSpace();
        const valueStart = c.pos;
        const first = c.peek();
        if (!c.skipValue()) return undefined;
        const valueEnd = c.pos;
        if (valueEnd === valueStart) return undefined;
        if ((key === 'params' || key === 'result') && (first === 0x7b || first === 0x5b)) {
          defineLazy(out, key, bytes, valueStart, valueEnd);
        } else {
          if (valueEnd - valueStart > SMALL_MEMBER_MAX) return undefined;
          out[key] = JSON.parse(bytes.slice(valueStart, valueEnd).toString('utf8'));
        }
        c.skipSpace();
        const next = c.peek();
        c.advance();
        if (next === 0x7d) break;
        if (next !== 0x2c) return undefined;
        c.skipSpace();
      }
    } else {
      c.advance();
    }
  } catch {
    return undefined; // a key or small value that is not JSON
  }
  c.skipSpace();
  return c.peek() === -1 ? (out as unknown as JsonRpcMessage) : undefined;
}

function defineLazy(out: Record<string, unknown>, key: string, bytes: MessageBytes, start: number, end: number): void {
  Object.defineProperty(out, key, {
    enumerable: true,
    configurable: true,
    get() {
      const value = JSON.parse(bytes.slice(start, end).toString('utf8')) as unknown;
      Object.defineProperty(out, key, { value, enumerable: true, configurable: true, writable: true });
      return value;
    },
    set(value: unknown) {
      Object.defineProperty(out, key, { value, enumerable: true, configurable: true, writable: true });
    },
  });
}
