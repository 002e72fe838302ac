// Reading what the server sends: response bodies, the event stream of a POST (resumed with
// Last-Event-ID when it drops before its answers came), and the standalone GET stream that
// carries server-initiated messages for the life of a session.
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { HttpResponse } from '../../http/client.js';
import { headerValue } from '../../http/client.js';
import { isAppError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { SseParser } from './sse.js';

const DEFAULT_RETRY_MS = 1_000;
const MAX_RETRY_MS = 10_000;
const MAX_RESUME_ATTEMPTS = 3;
const MAX_STANDALONE_FAILURES = 5;

export interface StreamContext {
  host: string;
  logger: Logger;
  /** One server message (or batch) as JSON text. */
  deliver(text: string): void;
  /** Waits `ms`; false when the client closed meanwhile. */
  sleep(ms: number): Promise<boolean>;
}

/** Lets the response finish unread so its connection goes back to the pool. */
export function discard(res: HttpResponse): void {
  res.body.on('error', () => {});
  res.body.resume();
}

/** The whole body as text (the first `limit` bytes); rejects when the connection drops mid-body. */
export function readText(body: Readable, limit = Infinity): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.on('data', (chunk: Buffer) => {
      if (size < limit) chunks.push(chunk);
      size += chunk.length;
    });
    body.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    body.once('error', reject);
    // 'close' before 'end': the connection dropped mid-body; a truncated message must not be delivered
    body.once('close', () => reject(new Error('the response was cut off')));
  });
}

export function isEventStream(res: HttpResponse): boolean {
  return (headerValue(res.headers, 'content-type') ?? '').startsWith('text/event-stream');
}

function retryDelay(retryMs: number | undefined): number {
  return Math.min(retryMs ?? DEFAULT_RETRY_MS, MAX_RETRY_MS);
}

/**
 * Reads a POST's event stream until `answered()`; when it drops before that, resumes it with
 * `resume(lastEventId)` (a GET with Last-Event-ID) after the server's retry delay, a few times,
 * unless `abandoned()`. Returns false when it ended unanswered.
 */
export async function readEventStream(
  ctx: StreamContext,
  first: HttpResponse,
  o: { answered(): boolean; abandoned(): boolean; resume(lastEventId: string): Promise<HttpResponse | undefined> },
): Promise<boolean> {
  const { answered, resume } = o;
  let res: HttpResponse | undefined = first;
  let lastEventId: string | undefined;
  let retryMs: number | undefined;
  for (let attempt = 0; ; attempt++) {
    if (res) {
      const parser = parserFor(ctx, lastEventId);
      await pump(ctx, res.body, parser, res === first ? undefined : answered);
      lastEventId = parser.lastEventId;
      retryMs = parser.retryMs ?? retryMs;
    }
    if (answered()) return true;
    if (lastEventId === undefined || attempt >= MAX_RESUME_ATTEMPTS || o.abandoned()) return false;
    if (!(await ctx.sleep(retryDelay(retryMs)))) return false;
    res = await resume(lastEventId).catch((err: unknown) => {
      ctx.logger.debug(`resuming a stream from ${ctx.host} failed: ${(err as Error).message}`);
      return undefined;
    });
  }
}

export interface StandaloneStreamOptions {
  /** Opens the GET (with Last-Event-ID when given). A 401 is retried once by the caller's open. */
  open(lastEventId: string | undefined): Promise<HttpResponse>;
  /** Still the current session's stream? */
  current(): boolean;
}

/** The GET stream for server-initiated messages, kept open (and reopened) while `current()`. */
export async function runStandaloneStream(ctx: StreamContext, o: StandaloneStreamOptions): Promise<void> {
  let failures = 0;
  let lastEventId: string | undefined;
  let retryMs: number | undefined;
  while (o.current()) {
    try {
      const res = await o.open(lastEventId);
      if (res.status === 405 || res.status === 404) {
        // 405: the server offers no such stream. 404: the session is gone; the next POST renews it.
        discard(res);
        ctx.logger.debug(`no standalone stream from ${ctx.host} (HTTP ${res.status})`);
        return;
      }
      if (res.status !== 200) {
        discard(res);
        throw new Error(`HTTP ${res.status}`);
      }
      failures = 0;
      const parser = parserFor(ctx, lastEventId);
      await pump(ctx, res.body, parser);
      lastEventId = parser.lastEventId;
      retryMs = parser.retryMs ?? retryMs;
    } catch (err) {
      if (!o.current()) return;
      if (isAppError(err)) {
        ctx.logger.warn(`the stream of server notifications from ${ctx.host} stopped: ${err.message}`);
        return;
      }
      if (++failures >= MAX_STANDALONE_FAILURES) {
        ctx.logger.warn(`the stream of server notifications from ${ctx.host} failed ${failures} times (${(err as Error).message}); giving up on it`);
        return;
      }
    }
    if (!(await ctx.sleep(retryDelay(retryMs) * 2 ** failures))) return;
  }
}

function parserFor(ctx: StreamContext, lastEventId: string | undefined): SseParser {
  const parser = new SseParser((event) => {
    // An event with an empty data field carries no message: the priming event (an id, for resuming)
    // that MCP 2025-11-25 servers send first on each stream.
    if (event.type === 'message' && event.data !== '') ctx.deliver(event.data);
  });
  parser.lastEventId = lastEventId;
  return parser;
}

/** Feeds `body` to `parser` until it ends; with `until`, stops early once that holds. */
function pump(ctx: StreamContext, body: Readable, parser: SseParser, until?: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const decoder = new StringDecoder('utf8');
    const onData = (chunk: Buffer) => {
      parser.push(decoder.write(chunk));
      if (until?.()) {
        body.destroy();
        finish();
      }
    };
    const finish = () => {
      body.off('data', onData);
      resolve();
    };
    body.on('data', onData);
    body.once('end', finish);
    body.once('close', finish);
    body.once('error', (err) => {
      ctx.logger.debug(`a stream from ${ctx.host} dropped: ${err.message}`);
      finish();
    });
  });
}
