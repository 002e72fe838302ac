// Reading what a server sends in one HTTP response body: whole (bounded in size and in idle time),
// as text for an error, or not at all (so that its connection goes back to the pool).
import type { Readable } from 'node:stream';
import { Code } from '../../errors.js';
import { headerValue, type HttpResponse } from '../../http/client.js';
import { formatSeconds, messageTooLarge } from '../limits.js';
import { BYTES_PATH_MIN, MessageBytes } from '../message-bytes.js';
import { httpFailureOf, UpstreamError } from './errors.js';

/** Lets the response finish unread so its connection goes back to the pool. */
export function discard(res: HttpResponse): void {
  res.body.on('error', () => {});
  res.body.resume();
}

export function isEventStream(res: HttpResponse): boolean {
  return (headerValue(res.headers, 'content-type') ?? '').startsWith('text/event-stream');
}

export function idleError(host: string, idleMs: number): UpstreamError {
  return new UpstreamError(Code.UPSTREAM_IDLE, `The MCP server at ${host} started answering, then sent nothing for ${formatSeconds(idleMs)}; gave up on the request. If its tools take longer than that without sending progress, raise the bound with --idle-timeout <seconds> in the appwrite-mcp arguments of your client's config.`);
}

/**
 * The whole body (rejects when the connection drops mid-body). Over `limit` bytes: with `truncate`,
 * the first `limit` bytes (the rest is read and dropped); else the body is destroyed and the promise
 * rejects with a message-too-large error. `idleMs`: a body that sends nothing for that long is
 * destroyed and rejects with a timeout. A body of BYTES_PATH_MIN or more comes as the pieces it
 * arrived in, not joined (see message-bytes.ts).
 */
export function readBody(body: Readable, o: { limit?: number; truncate?: boolean; idleMs?: number; host?: string } = {}): Promise<Buffer | MessageBytes> {
  const limit = o.limit ?? Infinity;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let timer: NodeJS.Timeout | undefined;
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      clearTimeout(timer);
      body.destroy();
      reject(err);
    };
    const arm = () => {
      if (o.idleMs === undefined || !Number.isFinite(o.idleMs)) return;
      clearTimeout(timer);
      timer = setTimeout(() => fail(idleError(o.host ?? 'the server', o.idleMs!)), o.idleMs);
    };
    arm();
    body.on('data', (chunk: Buffer) => {
      arm();
      if (size + chunk.length > limit) {
        if (!o.truncate) return fail(new UpstreamError(Code.MESSAGE_TOO_LARGE, messageTooLarge(`the MCP server at ${o.host}`, size + chunk.length, limit, true)));
        if (size < limit) chunks.push(chunk.subarray(0, limit - size));
      } else {
        chunks.push(chunk);
      }
      size += chunk.length;
    });
    body.once('end', () => {
      clearTimeout(timer);
      failed = true;
      const kept = Math.min(size, limit);
      resolve(kept >= BYTES_PATH_MIN ? new MessageBytes(chunks, kept) : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
    body.once('error', (err) => fail(err));
    // 'close' before 'end': the connection dropped mid-body; a truncated message must not be delivered
    body.once('close', () => fail(new Error('the response was cut off')));
  });
}

/**
 * The whole body as text (the first `limit` bytes); rejects when the connection drops mid-body, or
 * when it sends nothing for `idleMs` (an error answer whose body stalls must not hang its request).
 */
export async function readText(body: Readable, limit = Infinity, idleMs?: number): Promise<string> {
  const bytes = await readBody(body, { limit, truncate: true, idleMs });
  return bytes instanceof MessageBytes ? bytes.text() : bytes.toString('utf8');
}

/**
 * The error for a non-2xx answer that no retry could fix, with the useful part of its body. `idleMs`
 * (the --idle-timeout) is required: a server that sends the status and then stalls its body must
 * not hang the request.
 */
export async function httpFailure(res: HttpResponse, url: string, idleMs: number): Promise<UpstreamError> {
  // A body that stalls (idleMs) or drops: the failure is reported without it.
  const body = await readText(res.body, 16_384, idleMs).catch(() => '');
  return httpFailureOf(res.status, body, url, headerValue(res.headers, 'retry-after')?.split(',')[0]);
}
