// The stdio side: newline-delimited JSON-RPC on stdin, one message per line on stdout.
// Unlike the SDK's StdioServerTransport this reports stdin EOF, answers malformed lines instead of
// dropping them, and never validates message schemas (the upstream server does that).
import type { Readable, Writable } from 'node:stream';
import { Code, rpcReason } from '../errors.js';
import type { Logger } from '../log.js';
import { ErrorCode, errorLine, isId, isJsonRpcMessage, parseMessage, type JsonRpcMessage } from './jsonrpc.js';
import { idOfTruncated, messageTooLarge } from './limits.js';
import { BYTES_PATH_MIN, MessageBytes, scanMessage, type Line } from './message-bytes.js';

export interface StdioServerOptions {
  input?: Readable;
  output?: Writable;
  logger: Logger;
  /**
   * One valid message: `line` is the exact text received (a large one as its bytes, see
   * message-bytes.ts), `message` its parsed form.
   */
  onMessage(line: Line, message: JsonRpcMessage): void;
  /** A batch (JSON-RPC 2.0 §6): a non-empty array, its members as parsed (each may be invalid). */
  onBatch(members: unknown[]): void;
  /** The most bytes one line may have (default: no limit). A longer line is answered with an error and skipped. */
  maxLineBytes?: number;
  /** stdin ended or closed. Called once. */
  onClose(): void;
}

const NEWLINE = 0x0a;
/** How much of the start and the end of an oversized line is kept, to find its id. */
const KEEP_BYTES = 512;
const LARGE_LINE_CHARS = 64 * 1024;

/** A line over the limit: not buffered, only its size counted and its ends kept. */
interface Skipping {
  bytes: number;
  head: Buffer;
  tail: Buffer;
}

export class StdioServer {
  private readonly input: Readable;
  private readonly output: Writable;
  /** Pieces of a line not yet terminated; joined once when its newline arrives. */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private skipping: Skipping | undefined;
  private readonly maxLineBytes: number;
  private queue: Line[] = [];
  private waitingForDrain = false;
  private closed = false;

  constructor(private readonly opts: StdioServerOptions) {
    this.input = opts.input ?? process.stdin;
    this.output = opts.output ?? process.stdout;
    this.maxLineBytes = opts.maxLineBytes ?? Infinity;
  }

  start(): void {
    this.input.on('data', this.onData);
    this.input.once('end', this.onEnd);
    this.input.once('close', this.onEnd);
    this.input.on('error', this.onInputError);
    this.output.on('error', this.onOutputError);
  }

  /** Writes one message (a single line of JSON) to the client, in order, respecting backpressure. */
  send(line: Line): void {
    if (this.closed) return;
    if (this.waitingForDrain) {
      this.queue.push(line);
      return;
    }
    if (!this.write(line)) this.waitForDrain();
  }

  /** One line out: a large one and its newline as two writes, so that it is not copied to add one. */
  private write(line: Line): boolean {
    if (typeof line !== 'string') {
      for (const piece of line.pieces) this.output.write(piece);
      return this.output.write('\n');
    }
    if (line.length < LARGE_LINE_CHARS) return this.output.write(line + '\n');
    this.output.write(line);
    return this.output.write('\n');
  }

  /** Stops reading. Lines already queued for output are still written. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.input.off('close', this.onEnd);
    this.input.pause(); // lets the process exit when stdin is still open
  }

  private readonly onData = (chunk: Buffer | string): void => {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    let nl: number;
    while ((nl = buf.indexOf(NEWLINE, start)) !== -1) {
      const piece = buf.subarray(start, nl);
      start = nl + 1;
      if (this.skipping || this.partialBytes + piece.length > this.maxLineBytes) {
        this.skip(piece);
        this.endSkipping();
      } else {
        if (this.partial.length === 0) {
          this.handleLine(piece);
        } else {
          const pieces = this.partial;
          pieces.push(piece);
          this.partial = [];
          this.partialBytes = 0;
          this.handleLine(pieces);
        }
      }
      if (this.closed) return;
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
  };

  /** Counts (and forgets) a piece of a line over the limit, keeping its first and last bytes. */
  private skip(piece: Buffer): void {
    if (!this.skipping) {
      const held = this.partial.length ? Buffer.concat(this.partial) : Buffer.alloc(0);
      this.partial = [];
      this.partialBytes = 0;
      this.skipping = { bytes: held.length, head: Buffer.from(held.subarray(0, KEEP_BYTES)), tail: Buffer.alloc(0) };
      this.skipping.tail = Buffer.from(held.subarray(Math.max(0, held.length - KEEP_BYTES)));
    }
    const s = this.skipping;
    if (s.head.length < KEEP_BYTES) s.head = Buffer.concat([s.head, piece.subarray(0, KEEP_BYTES - s.head.length)]);
    s.tail = piece.length >= KEEP_BYTES
      ? Buffer.from(piece.subarray(piece.length - KEEP_BYTES))
      : Buffer.concat([s.tail, piece]).subarray(-KEEP_BYTES);
    s.bytes += piece.length;
  }

  /** The newline of a line over the limit came: answer it, and go on with the next line. */
  private endSkipping(): void {
    const s = this.skipping!;
    this.skipping = undefined;
    const id = idOfTruncated(s.head.toString('utf8'), s.tail.toString('utf8'));
    this.opts.logger.warn(`the client sent a message of ${s.bytes} bytes, over the limit of ${this.maxLineBytes} bytes (--max-message-size); answered with an error and skipped it`);
    this.send(errorLine(id, ErrorCode.InvalidRequest, messageTooLarge('the client', s.bytes, this.maxLineBytes), { reason: rpcReason(Code.MESSAGE_TOO_LARGE), size: s.bytes, limit: this.maxLineBytes }));
  }

  /** One line's bytes (without its LF): a large one goes on as its bytes when it is one plain message. */
  private handleLine(bytes: Buffer | Buffer[]): void {
    const size = Array.isArray(bytes) ? bytes.reduce((n, p) => n + p.length, 0) : bytes.length;
    if (size < BYTES_PATH_MIN) {
      this.handleText((Array.isArray(bytes) ? Buffer.concat(bytes, size) : bytes).toString('utf8'));
      return;
    }
    const pieces = withoutTrailingCR(Array.isArray(bytes) ? bytes.filter((p) => p.length > 0) : [bytes]);
    const line = new MessageBytes(pieces);
    const message = scanMessage(line);
    if (message && isJsonRpcMessage(message)) this.opts.onMessage(line, message);
    else this.handleText(line.text());
  }

  private handleText(raw: string): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = parseMessage(line);
    } catch (err) {
      this.opts.logger.warn('the client sent a line that is not JSON; answered with a parse error');
      this.send(errorLine(null, ErrorCode.ParseError, `Parse error: ${(err as Error).message}`));
      return;
    }
    if (Array.isArray(value)) {
      if (value.length === 0) {
        this.opts.logger.warn('the client sent an empty batch; answered with an invalid-request error');
        this.send(errorLine(null, ErrorCode.InvalidRequest, 'Invalid Request: an empty batch'));
        return;
      }
      this.opts.onBatch(value);
      return;
    }
    if (!isJsonRpcMessage(value)) {
      const id = (value as { id?: unknown } | null)?.id;
      this.opts.logger.warn('the client sent JSON that is not a JSON-RPC 2.0 message; answered with an invalid-request error');
      this.send(errorLine(isId(id) ? id : null, ErrorCode.InvalidRequest, 'Invalid Request: not a JSON-RPC 2.0 message'));
      return;
    }
    this.opts.onMessage(line, value);
  }

  private waitForDrain(): void {
    this.waitingForDrain = true;
    this.output.once('drain', this.flushQueue);
  }

  private readonly flushQueue = (): void => {
    this.waitingForDrain = false;
    const queue = this.queue;
    this.queue = [];
    for (let i = 0; i < queue.length; i++) {
      if (!this.write(queue[i]!)) {
        this.queue = queue.slice(i + 1).concat(this.queue);
        this.waitForDrain();
        return;
      }
    }
  };

  private readonly onEnd = (): void => {
    if (this.closed) return;
    this.close();
    this.opts.onClose();
  };

  private readonly onInputError = (err: Error): void => {
    this.opts.logger.debug(`stdin error: ${err.message}`);
    this.onEnd();
  };

  private readonly onOutputError = (err: Error): void => {
    // The client went away (EPIPE): nothing more can be delivered, so stop as on EOF.
    this.opts.logger.debug(`stdout error: ${err.message}`);
    this.queue = [];
    this.onEnd();
  };
}

/** The pieces of a line, less the CR of a CRLF ending. */
function withoutTrailingCR(pieces: Buffer[]): Buffer[] {
  const last = pieces[pieces.length - 1];
  if (last?.[last.length - 1] !== 0x0d) return pieces;
  const out = pieces.slice(0, -1);
  if (last.length > 1) out.push(last.subarray(0, last.length - 1));
  return out;
}
