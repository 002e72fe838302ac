// A WHATWG fetch over the one HTTP layer, for oauth4webapi and discovery: `init.signal` bounds the
// whole exchange, and a body larger than MAX_FETCH_BODY_BYTES is refused (these are metadata,
// registration and token responses: small documents; a server sending megabytes is broken or hostile).
import type { Readable } from 'node:stream';
import { AppError, Code } from '../errors.js';
import type { HttpCall, HttpRequest, HttpResponse } from './types.js';

/** The most a fetch reads of a response body (AS metadata, registration and token responses). */
export const MAX_FETCH_BODY_BYTES = 1024 * 1024;

export function fetchOver(request: (init: HttpRequest) => HttpCall): typeof fetch {
  return (async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : input);
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => (headers[name] = value));
    let body: string | Uint8Array | undefined;
    if (init.body instanceof URLSearchParams) {
      body = init.body.toString();
      headers['content-type'] ??= 'application/x-www-form-urlencoded;charset=UTF-8';
    } else if (typeof init.body === 'string' || init.body instanceof Uint8Array) {
      body = init.body;
    } else if (init.body != null) {
      throw new TypeError('HttpClient.fetch supports string, Uint8Array and URLSearchParams bodies');
    }
    const signal = init.signal ?? undefined;
    signal?.throwIfAborted();
    const call = request({ method: init.method ?? 'GET', url, headers, body, timeoutMs: 24 * 3600_000 });
    const onAbort = () => call.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    let res: HttpResponse;
    try {
      res = await call.response;
    } catch (err) {
      signal?.removeEventListener('abort', onAbort);
      throw signal?.aborted ? signal.reason : err;
    }
    res.body.once('close', () => signal?.removeEventListener('abort', onAbort));
    const responseHeaders = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) responseHeaders.append(name, v);
    }
    const nullBody = res.status === 204 || res.status === 205 || res.status === 304 || init.method === 'HEAD';
    if (nullBody) res.body.resume();
    const response = new Response(nullBody ? null : webStream(res.body, url, signal), { status: res.status, headers: responseHeaders });
    Object.defineProperty(response, 'url', { value: url.href });
    return response;
  }) as typeof fetch;
}

/**
 * A web stream over a node one, capped at MAX_FETCH_BODY_BYTES. A body that stops coming until the
 * caller's deadline fails as a timeout, not as a half document. (Readable.toWeb trips over undici's
 * body stream on Node 20; these bodies are small, so no backpressure is needed.)
 */
function webStream(body: Readable, url: URL, signal: AbortSignal | undefined): ReadableStream<Uint8Array> {
  let done = false;
  let size = 0;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const fail = (error: Error) => {
        if (done) return;
        done = true;
        controller.error(error);
        body.destroy();
      };
      body.on('data', (chunk: Buffer) => {
        if (done) return;
        size += chunk.length;
        if (size > MAX_FETCH_BODY_BYTES) {
          fail(new AppError(Code.INVALID_RESPONSE, `the response from ${url.href} is larger than ${MAX_FETCH_BODY_BYTES / 1024 / 1024} MiB; refusing to read more of it`));
          return;
        }
        controller.enqueue(new Uint8Array(chunk));
      });
      body.once('end', () => { if (!done) { done = true; controller.close(); } });
      const cutOff = () => fail(signal?.aborted
        ? new AppError(Code.UNREACHABLE, `could not reach ${url.origin} (timed out while it was still sending its answer)`, { cause: signal.reason })
        : new AppError(Code.UNREACHABLE, `could not reach ${url.origin} (the connection dropped in the middle of its answer)`));
      body.once('error', cutOff);
      body.once('close', cutOff);
    },
    cancel() {
      done = true;
      body.destroy();
    },
  });
}
