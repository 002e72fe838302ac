// How a POST is answered in Streamable HTTP (MCP 2025-06-18 / 2025-11-25 "Transports"; 2026-07-28):
// a JSON body, an event stream (resumed with GET + Last-Event-ID when it drops before its answers
// came), 202 for a message that needs no answer, or, for a 2026-07-28 request, a 4xx whose body is
// the JSON-RPC error that answers it.
import { Code } from '../../errors.js';
import { headerValue, RequestAbortedError, type HttpResponse } from '../../http/client.js';
import { asSingleLine, isId, type JsonRpcMessage } from '../jsonrpc.js';
import type { MessageBytes } from '../message-bytes.js';
import { discard, isEventStream, readBody, readText } from './body.js';
import type { HttpChannel } from './channel.js';
import { httpFailureOf, UpstreamError } from './errors.js';
import { readEventStream, type StreamContext } from './event-stream.js';
import type { Pending } from './tracker.js';

export interface Reading {
  channel: HttpChannel;
  pending: Pending;
  /** No idle bound (a `subscriptions/listen` stream). */
  longLived?: boolean;
  /** Hands on one server message (or batch), as bytes. */
  deliver(data: Buffer | MessageBytes): void;
  /** GET with Last-Event-ID (the session's headers); undefined when the server will not resume. */
  resume(lastEventId: string): Promise<HttpResponse | undefined>;
}

/** Reads the answer to a POST until every request in it is answered. */
export async function readResponse(res: HttpResponse, r: Reading): Promise<void> {
  const { channel, pending } = r;
  const limits = channel.limits;
  if (isEventStream(res)) {
    const ctx: StreamContext = {
      host: channel.host,
      logger: channel.logger,
      deliver: r.deliver,
      sleep: (ms) => channel.sleep(ms, pending.signal),
      maxMessageBytes: limits.maxMessageBytes,
      idleTimeoutMs: r.longLived ? Infinity : limits.idleTimeoutMs,
    };
    const answered = await readEventStream(ctx, res, {
      answered: () => pending.remaining.size === 0,
      abandoned: () => channel.closed || pending.why !== undefined,
      resume: r.resume,
    });
    if (answered) return;
    if (channel.closed || pending.why !== undefined) throw new RequestAbortedError();
    throw new UpstreamError(Code.STREAM_CLOSED, `The MCP server at ${channel.host} closed the response stream before answering.`);
  }
  const type = headerValue(res.headers, 'content-type') ?? '';
  if (res.status !== 202 && type.includes('json')) {
    const body = await readBody(res.body, { limit: limits.maxMessageBytes, idleMs: r.longLived ? undefined : limits.idleTimeoutMs, host: channel.host });
    if (body.length) r.deliver(body);
  } else {
    discard(res);
  }
  if (pending.remaining.size > 0) {
    throw new UpstreamError(Code.NO_RESPONSE, `The MCP server at ${channel.host} answered HTTP ${res.status} without a response to the request.`, { status: res.status });
  }
}

/** 2026-07-28: a 4xx carrying a JSON-RPC error for the request is its answer; anything else a failure. */
export async function readErrorAnswer(res: HttpResponse, r: Reading): Promise<void> {
  const { channel, pending } = r;
  const text = (await readText(res.body, 1_048_576, channel.limits.idleTimeoutMs).catch(() => '')).trim();
  let message: JsonRpcMessage | undefined;
  try {
    message = JSON.parse(text) as JsonRpcMessage;
  } catch {
    // not JSON: a plain HTTP failure
  }
  if (message && typeof message === 'object' && message.error && isId(message.id) && pending.remaining.has(message.id)) {
    r.deliver(Buffer.from(asSingleLine(text)));
    return;
  }
  throw httpFailureOf(res.status, text, channel.o.url, headerValue(res.headers, 'retry-after'));
}
