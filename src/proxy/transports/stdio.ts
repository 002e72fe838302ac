// The stdio side: newline-delimited JSON-RPC on stdin, one message per line on stdout. Unlike the
// SDK's StdioServerTransport this reports stdin EOF, answers malformed and oversized lines instead
// of dropping them, keeps a large message as its bytes (message-bytes.ts), and never validates
// message schemas (the upstream server does that).
import type { Readable, Writable } from 'node:stream';
import { Code, rpcReason } from '../../errors.js';
import type { Logger } from '../../log.js';
import { ErrorCode, errorLine, isId, isJsonRpcMessage, parseMessage } from '../jsonrpc.js';
import { idOfTruncated, messageTooLarge } from '../limits.js';
import { BYTES_PATH_MIN, MessageBytes, type Line } from '../message-bytes.js';
import { scanMessage } from '../message-scan.js';
import { LineReader } from './line-reader.js';
import type { Frame, MessageExtra, Transport } from './transport.js';

export interface StdioOptions {
  input?: Readable;
  output?: Writable;
  logger: Logger;
  /** The most bytes one line may have (default: no limit). A longer line is answered with an error and skipped. */
  maxLineBytes?: number;
}

const LARGE_LINE_CHARS = 64 * 1024;

export class StdioTransport implements Transport<Line> {
  /** One valid message: its exact text (a large one as its bytes) and its parsed form. */
  onmessage?: (frame: Frame, extra: MessageExtra) => void;
  /** A batch (JSON-RPC 2.0 §6): a non-empty array, its members as parsed (each may be invalid). */
  onbatch?: (members: unknown[]) => void;
  onerror?: (error: Error) => void;
  /** stdin ended or closed, or stdout broke. Called once. */
  onclose?: () => void;
  private readonly input: Readable;
  private readonly output: Writable;
  private readonly reader: LineReader;
  private readonly maxLineBytes: number;
  private queue: Line[] = [];
  private waitingForDrain = false;
  private closed = false;

  constructor(private readonly opts: StdioOptions) {
    this.input = opts.input ?? process.stdin;
    this.output = opts.output ?? process.stdout;
    this.maxLineBytes = opts.maxLineBytes ?? Infinity;
    this.reader = new LineReader({ line: (bytes) => this.handleLine(bytes), oversized: (bytes, head, tail) => this.oversized(bytes, head, tail) }, this.maxLineBytes);
  }

  async start(): Promise<void> {
    this.input.on('data', this.onData);
    this.input.once('end', this.onEnd);
    this.input.once('close', this.onEnd);
    this.input.on('error', this.onInputError);
    this.output.on('error', this.onOutputError);
  }

  /** Writes one message (a single line of JSON) to the client, in order, respecting backpressure. */
  async send(line: Line): Promise<void> {
    if (this.closed) return;
    if (this.waitingForDrain) {
      this.queue.push(line);
      return;
    }
    if (!this.write(line)) this.waitForDrain();
  }

  /** Stops reading. Lines already queued for output are still written. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.input.off('close', this.onEnd);
    this.input.pause(); // lets the process exit when stdin is still open
  }

  /** One line out: a large one and its newline as separate writes, so that it is not copied to add one. */
  private write(line: Line): boolean {
    if (typeof line !== 'string') {
      for (const piece of line.pieces) this.output.write(piece);
      return this.output.write('\n');
    }
    if (line.length < LARGE_LINE_CHARS) return this.output.write(line + '\n');
    this.output.write(line);
    return this.output.write('\n');
  }

  private readonly onData = (chunk: Buffer | string): void => {
    this.reader.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, () => this.closed);
  };

  /** A line over the limit ended: answer it, and go on with the next line. */
  private oversized(bytes: number, head: Buffer, tail: Buffer): void {
    const id = idOfTruncated(head.toString('utf8'), tail.toString('utf8'));
    this.opts.logger.warn(`the client sent a message of ${bytes} bytes, over the limit of ${this.maxLineBytes} bytes (--max-message-size); answered with an error and skipped it`);
    void this.send(errorLine(id, ErrorCode.InvalidRequest, messageTooLarge('the client', bytes, this.maxLineBytes), { reason: rpcReason(Code.MESSAGE_TOO_LARGE), size: bytes, limit: this.maxLineBytes }));
  }

  /** One line's bytes (without its LF): a large one goes on as its bytes when it is one plain message. */
  private handleLine(bytes: Buffer | Buffer[]): void {
    const size = Array.isArray(bytes) ? bytes.reduce((n, p) => n + p.length, 0) : bytes.length;
    if (size < BYTES_PATH_MIN) {
      this.handleText((Array.isArray(bytes) ? Buffer.concat(bytes, size) : bytes).toString('utf8'));
      return;
    }
    const line = new MessageBytes(withoutTrailingCR(Array.isArray(bytes) ? bytes.filter((p) => p.length > 0) : [bytes]));
    const message = scanMessage(line);
    if (message && isJsonRpcMessage(message)) this.onmessage?.({ line, message }, {});
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
      void this.send(errorLine(null, ErrorCode.ParseError, `Parse error: ${(err as Error).message}`));
      return;
    }
    if (Array.isArray(value)) {
      if (value.length > 0) return this.onbatch?.(value);
      this.opts.logger.warn('the client sent an empty batch; answered with an invalid-request error');
      void this.send(errorLine(null, ErrorCode.InvalidRequest, 'Invalid Request: an empty batch'));
      return;
    }
    if (!isJsonRpcMessage(value)) {
      const id = (value as { id?: unknown } | null)?.id;
      this.opts.logger.warn('the client sent JSON that is not a JSON-RPC 2.0 message; answered with an invalid-request error');
      void this.send(errorLine(isId(id) ? id : null, ErrorCode.InvalidRequest, 'Invalid Request: not a JSON-RPC 2.0 message'));
      return;
    }
    this.onmessage?.({ line, message: value }, {});
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
    void this.close();
    this.onclose?.();
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
