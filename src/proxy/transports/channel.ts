// What the two HTTP transports share: the server's URL and the user's headers, the HTTP layer and
// the authorizer, the requests in progress (dropped when the proxy closes, or when the exchange
// they belong to is given up), and one request with its retries (retry.ts).
import { setTimeout as sleepFor } from 'node:timers/promises';
import { bearerPresentation, type Authorizer, type Presentation } from '../../authorization.js';
import { headerValue, RequestAbortedError, type HttpCall, type HttpClient, type HttpRequest, type HttpResponse } from '../../http/client.js';
import type { Logger } from '../../log.js';
import type { ProxyLimits } from '../limits.js';
import type { Line } from '../message-bytes.js';
import { discard, httpFailure } from './body.js';
import type { UpstreamError } from './errors.js';
import { sendWithRetries } from './retry.js';
import type { Pending } from './tracker.js';

const DELETE_TIMEOUT_MS = 800;

export interface ChannelOptions {
  url: string;
  /** Extra headers sent with every request (`--header K:V`). */
  headers?: Record<string, string>;
  authorizer: Authorizer;
  http: HttpClient;
  logger: Logger;
  limits: ProxyLimits;
}

/** One request: how to build its headers around the token's, and what may be retried. */
export interface Exchange {
  method: 'GET' | 'POST';
  /** Default: the server URL. A function is asked at each attempt (the HTTP+SSE endpoint may change). */
  url?: URL | (() => URL);
  /** The request's headers, with `auth` (the token's: Authorization, and DPoP with a DPoP-bound one) when there is a token. */
  headers(auth: Record<string, string> | undefined): Record<string, string>;
  body?: Line;
  /** The requests it carries: their cancellation and deadline bound it. */
  pending?: Pending;
  signIn?: boolean;
  /** A 404 on session `sessionId` renews it (once), then the request goes again. */
  sessionId?: string;
  renew?: (expired: string) => Promise<void>;
}

export class HttpChannel {
  readonly url: URL;
  readonly host: string;
  readonly postHeaders: Record<string, string>;
  readonly getHeaders: Record<string, string>;
  private readonly calls = new Set<HttpCall>();
  private readonly closing = new AbortController();

  constructor(readonly o: ChannelOptions) {
    this.url = new URL(o.url);
    this.host = this.url.host;
    this.postHeaders = { ...o.headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    this.getHeaders = { ...o.headers, accept: 'text/event-stream' };
  }

  get limits(): ProxyLimits {
    return this.o.limits;
  }

  get logger(): Logger {
    return this.o.logger;
  }

  get closed(): boolean {
    return this.closing.signal.aborted;
  }

  /** Sends `x` until an answer no retry applies to (2xx or not), which is returned. */
  send(x: Exchange): Promise<HttpResponse> {
    const pending = x.pending;
    return sendWithRetries({
      authorizer: this.o.authorizer,
      closed: () => this.closed || pending?.why !== undefined,
      signIn: x.signIn,
      wait: (ms) => this.sleep(ms, pending?.signal),
      budgetMs: () => pending?.budgetMs() ?? Infinity,
      renewSession: x.renew,
      send: async (token) => {
        const url = typeof x.url === 'function' ? x.url() : x.url ?? this.url;
        const presented = await this.present(token, x.method, url);
        const res = await this.start({ method: x.method, url, headers: x.headers(presented?.headers), body: x.body, timeoutMs: this.o.limits.connectTimeoutMs }, pending?.signal);
        return { res, sessionId: x.sessionId, presented };
      },
    });
  }

  /** How `token` goes on one attempt of a request (a DPoP proof is made for each attempt). */
  present(token: string | undefined, method: string, url: URL): Promise<Presentation | undefined> {
    if (token === undefined) return Promise.resolve(undefined);
    return this.o.authorizer.present?.(token, method, url) ?? Promise.resolve(bearerPresentation(token));
  }

  /** One HTTP request, dropped when `signal` aborts or the channel closes. */
  async start(init: HttpRequest, signal?: AbortSignal): Promise<HttpResponse> {
    if (signal?.aborted || this.closed) throw new RequestAbortedError();
    const call = this.o.http.request(init);
    this.calls.add(call);
    const abort = () => call.abort();
    signal?.addEventListener('abort', abort, { once: true });
    // Forget the call once it is over: aborting a finished request could destroy a pooled socket.
    const forget = () => {
      this.calls.delete(call);
      signal?.removeEventListener('abort', abort);
    };
    try {
      const res = await call.response;
      res.body.once('close', forget);
      return res;
    } catch (err) {
      forget();
      throw err;
    }
  }

  /** The error for a non-2xx answer, with what its body says. */
  failure(res: HttpResponse): Promise<UpstreamError> {
    return httpFailure(res, this.o.url, this.o.limits.idleTimeoutMs);
  }

  /** Waits `ms`; false when `signal` aborted or the channel closed meanwhile. */
  async sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
    try {
      await sleepFor(ms, undefined, { signal: signal ? AbortSignal.any([signal, this.closing.signal]) : this.closing.signal });
      return true;
    } catch {
      return false;
    }
  }

  /**
   * A DELETE (ending a session), bounded by DELETE_TIMEOUT_MS whatever happens (a DPoP nonce
   * challenge's one retry included); failures are only logged.
   */
  async delete(headers: (auth: Record<string, string> | undefined) => Record<string, string>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let abort = () => {};
    const attempt = (async () => {
      const token = await this.o.authorizer.getToken();
      for (let attempts = 1; ; attempts++) {
        const presented = await this.present(token, 'DELETE', this.url);
        const call = this.o.http.request({ method: 'DELETE', url: this.url, headers: headers(presented?.headers), timeoutMs: DELETE_TIMEOUT_MS });
        abort = () => call.abort();
        const res = await call.response;
        discard(res);
        if (attempts > 1 || !presented?.retryWithNonce?.({ status: res.status, header: (name) => headerValue(res.headers, name) })) return;
      }
    })();
    try {
      await Promise.race([attempt, new Promise<void>((resolve) => (timer = setTimeout(resolve, DELETE_TIMEOUT_MS)))]);
    } catch (err) {
      this.o.logger.debug(`ending the session with ${this.host} failed: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
      abort();
      attempt.catch(() => {});
    }
  }

  /** Drops every request in progress; nothing more is sent. */
  close(): void {
    this.closing.abort();
    for (const call of this.calls) call.abort();
    this.calls.clear();
  }
}
