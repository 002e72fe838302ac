// The one HTTP layer, used by the proxy (raw, streaming) and by sign-in (as a `fetch` for
// oauth4webapi). node:http(s) with keep-alive agents, or, for a target that HTTP(S)_PROXY covers,
// undici's EnvHttpProxyAgent (imported only then, once). NODE_EXTRA_CA_CERTS needs nothing here:
// Node applies it to every TLS connection.
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { AppError, Code } from '../errors.js';
import { classifyNetworkError, describeNetworkError, NetworkAbortedError, NetworkTimeoutError } from './network-error.js';
import { VERSION } from '../version.js';
import { proxyApplies, proxySettings, type Env, type ProxySettings } from './env-proxy.js';

export interface HttpRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  /** A body in pieces (a large message as it arrived) is written piece by piece, with its Content-Length. */
  body?: string | Uint8Array | BodyPieces;
  /** Limit for the response to start (connect + headers). The body may then take as long as it likes. */
  timeoutMs: number;
}

export interface BodyPieces {
  pieces: readonly Uint8Array[];
  length: number;
}

function isPieces(body: HttpRequest['body']): body is BodyPieces {
  return typeof body === 'object' && !(body instanceof Uint8Array);
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

export interface HttpCall {
  response: Promise<HttpResponse>;
  /** Destroys the request, or its response stream once started. */
  abort(): void;
}

/** The response did not start within the request's timeoutMs. */
export class ResponseTimeoutError extends NetworkTimeoutError {
  constructor(timeoutMs: number) {
    super(`no response within ${Math.round(timeoutMs / 1000)} s`);
  }
}

/** The caller aborted the request. */
export class RequestAbortedError extends NetworkAbortedError {}

export function headerValue(headers: HttpResponse['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** A pooled connection the server had already closed fails once; the request goes again on a fresh one. */
const MAX_STALE_RETRIES = 8;
const USER_AGENT = `appwrite-mcp/${VERSION}`;

type Undici = typeof import('undici');

export class HttpClient {
  private readonly settings: ProxySettings;
  private readonly agents = {
    'http:': new http.Agent({ keepAlive: true, scheduling: 'lifo' }),
    'https:': new https.Agent({ keepAlive: true, scheduling: 'lifo' }),
  };
  private undici: Promise<{ undici: Undici; dispatcher: InstanceType<Undici['EnvHttpProxyAgent']> }> | undefined;

  constructor(env: Env = process.env) {
    this.settings = proxySettings(env);
  }

  request(init: HttpRequest): HttpCall {
    const headers = { 'user-agent': USER_AGENT, ...init.headers };
    return proxyApplies(init.url, this.settings) ? this.viaProxy({ ...init, headers }) : this.direct({ ...init, headers });
  }

  /**
   * A WHATWG fetch over this client, for oauth4webapi and discovery: `init.signal` bounds the whole
   * exchange, and a body larger than MAX_FETCH_BODY_BYTES is refused (these are metadata, registration
   * and token responses: small documents; a server sending megabytes is broken or hostile).
   */
  readonly fetch = (async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
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
    const call = this.request({ method: init.method ?? 'GET', url, headers, body, timeoutMs: 24 * 3600_000 });
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

  /** Destroys the idle pooled sockets (after a request found the network dead: they are likely dead too). */
  dropIdleConnections(): void {
    for (const agent of Object.values(this.agents)) {
      for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
    }
  }

  /** Drops pooled connections. */
  close(): void {
    this.agents['http:'].destroy();
    this.agents['https:'].destroy();
    void this.undici?.then(({ dispatcher }) => dispatcher.destroy()).catch(() => {});
  }

  private direct(init: HttpRequest): HttpCall {
    const { url } = init;
    const send = url.protocol === 'https:' ? https.request : http.request;
    const agent = url.protocol === 'https:' ? this.agents['https:'] : this.agents['http:'];
    const target = {
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || undefined,
      path: url.pathname + url.search,
      agent,
    };
    let req!: http.ClientRequest;
    let aborted = false;
    const response = new Promise<HttpResponse>((resolve, reject) => {
      const attempt = (staleRetriesLeft: number) => {
        const body = init.body;
        req = send({ ...target, method: init.method, headers: isPieces(body) ? { ...init.headers, 'content-length': String(body.length) } : init.headers });
        const timer = setTimeout(() => req.destroy(new ResponseTimeoutError(init.timeoutMs)), init.timeoutMs);
        req.once('response', (res) => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
        });
        req.once('error', (err) => {
          clearTimeout(timer);
          // A pooled connection the server had already closed: the request never reached it.
          if (staleRetriesLeft > 0 && !aborted && req.reusedSocket && isStaleConnectionError(err)) attempt(staleRetriesLeft - 1);
          else reject(err);
        });
        if (isPieces(body)) {
          for (const piece of body.pieces) req.write(piece);
          req.end();
        } else {
          req.end(body);
        }
      };
      attempt(MAX_STALE_RETRIES);
    });
    return {
      response,
      abort: () => {
        aborted = true;
        req.destroy(new RequestAbortedError());
      },
    };
  }

  private viaProxy(init: HttpRequest): HttpCall {
    const controller = new AbortController();
    this.undici ??= import('undici').then((undici) => ({
      undici,
      dispatcher: new undici.EnvHttpProxyAgent({ httpProxy: this.settings.httpProxy, httpsProxy: this.settings.httpsProxy, noProxy: this.settings.noProxy }),
    }));
    const response = this.undici.then(async ({ undici, dispatcher }) => {
      const res = await undici.request(init.url, {
        method: init.method as 'GET',
        headers: init.headers,
        body: isPieces(init.body) ? Buffer.concat(init.body.pieces) : init.body,
        dispatcher,
        signal: controller.signal,
        headersTimeout: init.timeoutMs,
        bodyTimeout: 0,
      });
      return { status: res.statusCode, headers: res.headers, body: res.body } satisfies HttpResponse;
    });
    return { response, abort: () => controller.abort(new RequestAbortedError()) };
  }
}

/** The most a fetch reads of a response body (AS metadata, registration and token responses). */
export const MAX_FETCH_BODY_BYTES = 1024 * 1024;

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

function isStaleConnectionError(err: Error): boolean {
  return classifyNetworkError(err).kind === 'reset';
}

/** The error for a server that could not be reached at all; names the origin and why. */
export function unreachable(url: string, err: unknown): AppError {
  return new AppError(Code.UNREACHABLE, `could not reach ${new URL(url).origin} (${describeNetworkError(err)})`, { cause: err });
}
