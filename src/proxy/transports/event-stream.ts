// Event streams from the server: the stream a POST is answered on (resumed with Last-Event-ID when
// it drops before its answers came), and the standalone GET stream that carries server-initiated
// messages for the life of a session.
import type { Readable } from 'node:stream';
import type { HttpResponse } from '../../http/client.js';
import { Code, isAppError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { formatSeconds, messageTooLarge } from '../limits.js';
import type { MessageBytes } from '../message-bytes.js';
import { discard, idleError } from './body.js';
import { UpstreamError } from './errors.js';
import { SseParser } from './sse-parser.js';

const DEFAULT_RETRY_MS = 1_000;
const MAX_RETRY_MS = 10_000;
const MAX_RESUME_ATTEMPTS = 3;
const MAX_STANDALONE_FAILURES = 5;

export interface StreamContext {
  host: string;
  logger: Logger;
  /** One server message (or batch) as JSON text (UTF-8 bytes, in one piece or several). */
  deliver(text: Buffer | MessageBytes): void;
  /** The most bytes one message (an SSE event's data, a JSON body) may have. */
  maxMessageBytes: number;
  /** The most a started response may go without sending a byte (Infinity: no bound). */
  idleTimeoutMs: number;
  /** Waits `ms`; false when the client closed meanwhile. */
  sleep(ms: number): Promise<boolean>;
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
      const outcome = await pump(ctx, res.body, parser, res === first ? undefined : answered);
      if (outcome !== 'ended' && !answered()) throw streamFailure(ctx, outcome, parser);
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
      const outcome = await pump(ctx, res.body, parser);
      if (outcome === 'oversized') {
        // Resuming would replay the same event: start afresh (what the server sent meanwhile is lost).
        ctx.logger.warn(streamFailure(ctx, outcome, parser).message);
        lastEventId = undefined;
        if (++failures >= MAX_STANDALONE_FAILURES) return;
        if (!(await ctx.sleep(retryDelay(retryMs) * 2 ** failures))) return;
        continue;
      }
      // Idle: a stream of server notifications may rightly be quiet for hours; after the idle bound
      // it is reopened (resumed with Last-Event-ID, so a server that keeps events loses none),
      // which also finds a connection that died without a word.
      if (outcome === 'idle') ctx.logger.debug(`the stream of server notifications from ${ctx.host} was idle for ${formatSeconds(ctx.idleTimeoutMs)}; reopening it`);
      lastEventId = parser.lastEventId;
      retryMs = parser.retryMs ?? retryMs;
      if (outcome === 'idle') continue;
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
    if (event.type === 'message' && event.data.length !== 0) ctx.deliver(event.data);
  }, ctx.maxMessageBytes);
  parser.lastEventId = lastEventId;
  return parser;
}

type PumpOutcome = 'ended' | 'idle' | 'oversized';

function streamFailure(ctx: StreamContext, outcome: 'idle' | 'oversized', parser: SseParser): UpstreamError {
  if (outcome === 'idle') return idleError(ctx.host, ctx.idleTimeoutMs);
  return new UpstreamError(Code.MESSAGE_TOO_LARGE, messageTooLarge(`the MCP server at ${ctx.host}`, parser.oversized!, ctx.maxMessageBytes, true));
}

/**
 * Feeds `body` to `parser` until it ends; with `until`, stops early once that holds. Drops the
 * stream (destroys it) when it is idle for ctx.idleTimeoutMs or an event goes over the size limit.
 */
function pump(ctx: StreamContext, body: Readable, parser: SseParser, until?: () => boolean): Promise<PumpOutcome> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const idle = Number.isFinite(ctx.idleTimeoutMs);
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => stop('idle'), ctx.idleTimeoutMs);
    };
    const onData = (chunk: Buffer) => {
      if (idle) arm();
      parser.push(chunk);
      if (parser.oversized !== undefined) stop('oversized');
      else if (until?.()) stop('ended');
    };
    const stop = (outcome: PumpOutcome) => {
      body.destroy();
      finish(outcome);
    };
    const finish = (outcome: PumpOutcome = 'ended') => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      body.off('data', onData);
      resolve(outcome);
    };
    if (idle) arm();
    body.on('data', onData);
    body.once('end', () => finish());
    body.once('close', () => finish());
    body.once('error', (err) => {
      ctx.logger.debug(`a stream from ${ctx.host} dropped: ${err.message}`);
      finish();
    });
  });
}
