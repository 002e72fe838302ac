// One HTTP exchange with the upstream server: node:http(s) with a keep-alive agent, or, when
// HTTP(S)_PROXY applies to the target, undici's EnvHttpProxyAgent (imported only then).
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { proxyApplies, proxySettings, type Env, type ProxySettings } from './env-proxy.js';

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

export interface HttpRequestInit {
  method: 'GET' | 'POST' | 'DELETE';
  headers: Record<string, string>;
  body?: string;
  /** Limit for the response to start (connect + headers). The body may then take as long as it likes. */
  timeoutMs: number;
}

export interface HttpCall {
  response: Promise<HttpResponse>;
  /** Destroys the request, or its response stream once started. */
  abort(): void;
}

export interface Requester {
  request(init: HttpRequestInit): HttpCall;
  /** Drops pooled connections. */
  close(): void;
}

export class ResponseTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no response within ${Math.round(timeoutMs / 1000)} s`);
    this.name = 'ResponseTimeoutError';
  }
}

export class RequestAbortedError extends Error {
  constructor() {
    super('request aborted');
    this.name = 'AbortError';
  }
}

export function headerValue(headers: HttpResponse['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

export function createRequester(url: URL, env: Env = process.env): Requester {
  const settings = proxySettings(env);
  return proxyApplies(url, settings) ? createProxiedRequester(url, settings) : createDirectRequester(url);
}

function createDirectRequester(url: URL): Requester {
  const secure = url.protocol === 'https:';
  const agent = secure ? new https.Agent({ keepAlive: true, scheduling: 'lifo' }) : new http.Agent({ keepAlive: true, scheduling: 'lifo' });
  const send = secure ? https.request : http.request;
  const target = {
    protocol: url.protocol,
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port || undefined,
    path: url.pathname + url.search,
    agent,
  };
  return {
    request(init) {
      let req!: http.ClientRequest;
      let aborted = false;
      const response = new Promise<HttpResponse>((resolve, reject) => {
        const attempt = (staleRetriesLeft: number) => {
          req = send({ ...target, method: init.method, headers: init.headers });
          const timer = setTimeout(() => req.destroy(new ResponseTimeoutError(init.timeoutMs)), init.timeoutMs);
          req.once('response', (res) => {
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
          });
          req.once('error', (err) => {
            clearTimeout(timer);
            // A pooled connection the server had already closed: the request never reached it, so it
            // goes again (each stale connection fails once and is dropped; a new one is never stale).
            if (staleRetriesLeft > 0 && !aborted && req.reusedSocket && isStaleConnectionError(err)) attempt(staleRetriesLeft - 1);
            else reject(err);
          });
          req.end(init.body);
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
    },
    close: () => agent.destroy(),
  };
}

const MAX_STALE_RETRIES = 8;

function isStaleConnectionError(err: Error): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}

function createProxiedRequester(url: URL, settings: ProxySettings): Requester {
  type Undici = typeof import('undici');
  let loaded: Promise<{ undici: Undici; dispatcher: InstanceType<Undici['EnvHttpProxyAgent']> }> | undefined;
  const load = () =>
    (loaded ??= import('undici').then((undici) => ({
      undici,
      dispatcher: new undici.EnvHttpProxyAgent({ httpProxy: settings.httpProxy, httpsProxy: settings.httpsProxy, noProxy: settings.noProxy }),
    })));
  return {
    request(init) {
      const controller = new AbortController();
      const response = load().then(async ({ undici, dispatcher }) => {
        const res = await undici.request(url, {
          method: init.method,
          headers: init.headers,
          body: init.body,
          dispatcher,
          signal: controller.signal,
          headersTimeout: init.timeoutMs,
          bodyTimeout: 0,
        });
        return { status: res.statusCode, headers: res.headers, body: res.body } satisfies HttpResponse;
      });
      return { response, abort: () => controller.abort(new RequestAbortedError()) };
    },
    close: () => void loaded?.then(({ dispatcher }) => dispatcher.destroy()).catch(() => {}),
  };
}
