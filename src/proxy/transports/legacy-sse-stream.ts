// The event stream of the HTTP+SSE transport (MCP 2024-11-05): a GET on the server URL opens it, and
// its first event, `endpoint`, names the URL to POST messages to; everything the server sends
// arrives as `message` events on it. The session lives as long as the stream.
//
// The endpoint must be on the server's own origin (MCP 2024-11-05, "Transports": the client must
// validate it): the Bearer token goes to it, so another origin is refused.
import { Code } from '../../errors.js';
import type { HttpResponse } from '../../http/client.js';
import type { Logger } from '../../log.js';
import { MessageBytes } from '../message-bytes.js';
import { discard, isEventStream } from './body.js';
import { UpstreamError } from './errors.js';
import { SseParser } from './sse-parser.js';

export interface LegacySseOptions {
  /** The server URL (what the GET went to; the endpoint is resolved against it). */
  url: URL;
  logger: Logger;
  /** Bound on the wait for the `endpoint` event once the stream is open. */
  timeoutMs: number;
  /** One server message (or batch) as JSON text (UTF-8 bytes). */
  deliver(text: Buffer | MessageBytes): void;
  /** An event larger than this drops the stream (`--max-message-size`). */
  maxMessageBytes?: number;
  /** The stream ended (not called after close()). */
  onDrop(connection: LegacySseConnection, reason: string): void;
  /** Drops the GET. */
  abort(): void;
}

export class LegacySseConnection {
  /** Where to POST messages. */
  endpoint!: URL;
  private dropped = false;
  private closed = false;

  private constructor(private readonly o: LegacySseOptions) {}

  /**
   * Reads the answer to the GET: resolves once the `endpoint` event arrived; rejects with an
   * UpstreamError when the answer is not an event stream (the server does not speak this transport:
   * its status, body start included, so that the caller can tell), the endpoint is on another
   * origin, or no endpoint came in time.
   */
  static async open(res: HttpResponse, o: LegacySseOptions): Promise<LegacySseConnection> {
    const host = o.url.host;
    if (res.status !== 200 || !isEventStream(res)) {
      discard(res);
      throw new UpstreamError(Code.UPSTREAM_HTTP_ERROR, `The MCP server at ${host} does not offer the HTTP+SSE transport (GET answered HTTP ${res.status}${res.status === 200 ? ', not an event stream' : ''}).`, { status: res.status === 200 ? 406 : res.status });
    }
    const connection = new LegacySseConnection(o);
    await connection.read(res);
    return connection;
  }

  get alive(): boolean {
    return !this.dropped && !this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.o.abort();
  }

  private read(res: HttpResponse): Promise<void> {
    const { url, logger } = this.o;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (err: UpstreamError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.close();
        reject(err);
      };
      const timer = setTimeout(() => fail(new UpstreamError(Code.UPSTREAM_TIMEOUT, `The MCP server at ${url.host} opened an event stream but named no endpoint within ${Math.round(this.o.timeoutMs / 1000)} s (HTTP+SSE transport).`)), this.o.timeoutMs);
      timer.unref();
      const parser = new SseParser((event) => {
        if (event.type === 'endpoint') {
          if (settled) return; // a second endpoint changes nothing
          let endpoint: URL;
          const named = event.data instanceof MessageBytes ? '' : event.data.toString('utf8');
          try {
            endpoint = new URL(named.trim(), url);
          } catch {
            return fail(new UpstreamError(Code.UPSTREAM_HTTP_ERROR, `The MCP server at ${url.host} named an endpoint that is not a URL: ${JSON.stringify(named.slice(0, 200))}.`));
          }
          if (endpoint.origin !== url.origin) {
            return fail(new UpstreamError(Code.UPSTREAM_HTTP_ERROR, `The MCP server at ${url.host} named an endpoint on another origin (${endpoint.origin}); appwrite-mcp sends your sign-in only to ${url.origin}, so it refuses to use it.`));
          }
          this.endpoint = endpoint;
          settled = true;
          clearTimeout(timer);
          logger.debug(`HTTP+SSE transport: posting to ${endpoint.pathname} on ${url.host}`);
          resolve();
        } else if (event.type === 'message' && event.data.length > 0) {
          if (settled) this.o.deliver(event.data);
          else logger.debug(`HTTP+SSE transport: a message before the endpoint from ${url.host}; dropped`);
        }
      }, this.o.maxMessageBytes);
      const ended = (reason: string) => {
        if (!settled) return fail(new UpstreamError(Code.STREAM_CLOSED, `The MCP server at ${url.host} closed the event stream before naming an endpoint (HTTP+SSE transport).`));
        if (this.dropped || this.closed) return;
        this.dropped = true;
        this.o.onDrop(this, reason);
      };
      res.body.on('data', (chunk: Buffer) => {
        parser.push(chunk);
        if (parser.oversized !== undefined) {
          logger.warn(`the MCP server at ${url.host} sent an event of over ${parser.oversized} bytes on its HTTP+SSE stream, more than --max-message-size allows: the stream is dropped`);
          this.o.abort();
        }
      });
      res.body.once('end', () => ended('the server ended it'));
      res.body.once('close', () => ended('the connection closed'));
      res.body.once('error', (err) => ended(err.message));
    });
  }
}
