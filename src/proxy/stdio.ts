// The stdio side: newline-delimited JSON-RPC on stdin, one message per line on stdout.
// Unlike the SDK's StdioServerTransport this reports stdin EOF, answers malformed lines instead of
// dropping them, and never validates message schemas (the upstream server does that).
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '../log.js';
import { ErrorCode, errorLine, isId, isJsonRpcMessage, type JsonRpcMessage } from './jsonrpc.js';

export interface StdioServerOptions {
  input?: Readable;
  output?: Writable;
  logger: Logger;
  /** One valid message or batch: `line` is the exact text received, `message` its parsed form. */
  onMessage(line: string, message: JsonRpcMessage | JsonRpcMessage[]): void;
  /** stdin ended or closed. Called once. */
  onClose(): void;
}

const NEWLINE = 0x0a;

export class StdioServer {
  private readonly input: Readable;
  private readonly output: Writable;
  /** Pieces of a line not yet terminated; joined once when its newline arrives. */
  private partial: Buffer[] = [];
  private queue: string[] = [];
  private waitingForDrain = false;
  private closed = false;

  constructor(private readonly opts: StdioServerOptions) {
    this.input = opts.input ?? process.stdin;
    this.output = opts.output ?? process.stdout;
  }

  start(): void {
    this.input.on('data', this.onData);
    this.input.once('end', this.onEnd);
    this.input.once('close', this.onEnd);
    this.input.on('error', this.onInputError);
    this.output.on('error', this.onOutputError);
  }

  /** Writes one message (a single line of JSON) to the client, in order, respecting backpressure. */
  send(line: string): void {
    if (this.closed) return;
    if (this.waitingForDrain) {
      this.queue.push(line);
      return;
    }
    if (!this.output.write(line + '\n')) this.waitForDrain();
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
      let line = buf.subarray(start, nl);
      if (this.partial.length > 0) {
        this.partial.push(line);
        line = Buffer.concat(this.partial);
        this.partial = [];
      }
      start = nl + 1;
      this.handleLine(line.toString('utf8'));
      if (this.closed) return;
    }
    if (start < buf.length) this.partial.push(buf.subarray(start));
  };

  private handleLine(raw: string): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      this.opts.logger.warn('the client sent a line that is not JSON; answered with a parse error');
      this.send(errorLine(null, ErrorCode.ParseError, `Parse error: ${(err as Error).message}`));
      return;
    }
    const valid = Array.isArray(value) ? value.length > 0 && value.every(isJsonRpcMessage) : isJsonRpcMessage(value);
    if (!valid) {
      const id = (value as { id?: unknown } | null)?.id;
      this.opts.logger.warn('the client sent JSON that is not a JSON-RPC 2.0 message; answered with an invalid-request error');
      this.send(errorLine(isId(id) ? id : null, ErrorCode.InvalidRequest, 'Invalid Request: not a JSON-RPC 2.0 message'));
      return;
    }
    this.opts.onMessage(line, value as JsonRpcMessage | JsonRpcMessage[]);
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
      if (!this.output.write(queue[i] + '\n')) {
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
