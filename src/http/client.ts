// The one HTTP layer, used by the proxy (raw, streaming) and by sign-in (as a `fetch` for
// oauth4webapi, see fetch.ts). node:http(s) with keep-alive agents, or, for a target that
// HTTP(S)_PROXY covers, undici's EnvHttpProxyAgent (imported only then, once). A loopback
// destination never goes through a proxy, and a name trusted as loopback (`*.localhost`) may only
// connect to a loopback address (net.ts). NODE_EXTRA_CA_CERTS needs nothing here: Node applies it
// to every TLS connection.
import type { ClientRequest } from 'node:http';
import { createRequire } from 'node:module';
import { AppError, Code } from '../errors.js';
import { isLocalhostName, loopbackLookup, type Lookup } from '../net.js';
import { VERSION } from '../version.js';
import { proxyApplies, proxySettings, type Env, type ProxySettings } from './env-proxy.js';
import { fetchOver } from './fetch.js';
import { classifyNetworkError, describeNetworkError, NetworkAbortedError, NetworkTimeoutError } from './network-error.js';
import type { BodyPieces, HttpCall, HttpRequest, HttpResponse } from './types.js';

// node:http(s) through require, not `import`: an ES import of a builtin evaluates every export of it
// to build the module namespace, and node:http's lazy WebSocket/CloseEvent/MessageEvent getters then
// load Node's bundled undici (and node:http2): measured 6 more internal modules, +7-10 MB RSS and
// ~20 % of a proxy's start-up CPU on Node 22, 24 and 26 for nothing the proxy uses. node:https
// (node:tls, OpenSSL's context: ~5.5 MB RSS) is loaded with the first https:// request only.
const require = createRequire(import.meta.url);
const http = require('node:http') as typeof import('node:http');
type Https = typeof import('node:https');
let httpsModule: Https | undefined;
const https = (): Https => (httpsModule ??= require('node:https') as Https);

export { MAX_FETCH_BODY_BYTES } from './fetch.js';
export type { BodyPieces, HttpCall, HttpRequest, HttpResponse } from './types.js';

function isPieces(body: HttpRequest['body']): body is BodyPieces {
  return typeof body === 'object' && !(body instanceof Uint8Array);
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

const USER_AGENT = `appwrite-mcp/${VERSION}`;

type Undici = typeof import('undici');

export interface HttpClientDeps {
  /** How names are resolved (dns.lookup); a name trusted as loopback goes through loopbackLookup over it. */
  lookup?: Lookup;
}

export class HttpClient {
  private readonly settings: ProxySettings;
  private readonly agents: { 'http:': import('node:http').Agent; 'https:'?: import('node:https').Agent } = {
    'http:': new http.Agent({ keepAlive: true, scheduling: 'lifo' }),
  };
  private readonly localhostLookup: Lookup;
  private undici: Promise<{ undici: Undici; dispatcher: InstanceType<Undici['EnvHttpProxyAgent']> }> | undefined;

  constructor(env: Env = process.env, deps: HttpClientDeps = {}) {
    this.settings = proxySettings(env);
    this.localhostLookup = loopbackLookup(deps.lookup);
  }

  request(init: HttpRequest): HttpCall {
    const headers = { 'user-agent': USER_AGENT, ...init.headers };
    return proxyApplies(init.url, this.settings) ? this.viaProxy({ ...init, headers }) : this.direct({ ...init, headers });
  }

  /** A WHATWG fetch over this client (see fetch.ts). */
  readonly fetch = fetchOver((init) => this.request(init));

  /** Destroys the idle pooled sockets (after a request found the network dead: they are likely dead too). */
  dropIdleConnections(): void {
    for (const agent of Object.values(this.agents)) {
      if (!agent) continue;
      for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
    }
  }

  /** Drops pooled connections. */
  close(): void {
    this.agents['http:'].destroy();
    this.agents['https:']?.destroy();
    void this.undici?.then(({ dispatcher }) => dispatcher.destroy()).catch(() => {});
  }

  /**
   * node:http(s). A request that failed on a reused (pooled) connection is sent again on another,
   * once, and only when it provably never reached the server: the connection failed before the
   * request was entirely handed to the operating system (no 'finish'), so the server cannot have a
   * complete request to act on. Once written, a reset may come after the server ran it (a
   * `tools/call` that then crashed the connection): that is reported, never repeated.
   */
  private direct(init: HttpRequest): HttpCall {
    const { url } = init;
    const secure = url.protocol === 'https:';
    const send = secure ? https().request : http.request;
    const hostname = url.hostname.replace(/^\[|\]$/g, '');
    const target = {
      protocol: url.protocol,
      hostname,
      port: url.port || undefined,
      path: url.pathname + url.search,
      agent: secure ? (this.agents['https:'] ??= new (https().Agent)({ keepAlive: true, scheduling: 'lifo' })) : this.agents['http:'],
      ...(isLocalhostName(hostname) ? { lookup: this.localhostLookup as never } : {}),
    };
    let req!: ClientRequest;
    let aborted = false;
    const response = new Promise<HttpResponse>((resolve, reject) => {
      const attempt = (mayResend: boolean) => {
        const body = init.body;
        req = send({ ...target, method: init.method, headers: isPieces(body) ? { ...init.headers, 'content-length': String(body.length) } : init.headers });
        let written = false;
        req.once('finish', () => (written = true));
        const timer = setTimeout(() => req.destroy(new ResponseTimeoutError(init.timeoutMs)), init.timeoutMs);
        req.once('response', (res) => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
        });
        req.once('error', (err) => {
          clearTimeout(timer);
          const stale = req.reusedSocket && classifyNetworkError(err).kind === 'reset';
          // The other pooled connections were idle as long as this one: likely dead too.
          if (stale) this.dropIdleConnections();
          if (stale && mayResend && !written && !aborted) attempt(false);
          else reject(err);
        });
        if (isPieces(body)) {
          for (const piece of body.pieces) req.write(piece);
          req.end();
        } else {
          req.end(body);
        }
      };
      attempt(true);
    });
    return {
      response,
      abort: () => {
        aborted = true;
        req.destroy(new RequestAbortedError());
      },
    };
  }

  /**
   * undici through the proxy. Its headersTimeout starts only once the tunnel is up: a proxy that
   * never answers CONNECT would hold the request until --request-timeout, so the whole start of the
   * exchange (connect, CONNECT, headers) is bounded here by timeoutMs.
   */
  private viaProxy(init: HttpRequest): HttpCall {
    const controller = new AbortController();
    this.undici ??= import('undici').then((undici) => ({
      undici,
      dispatcher: new undici.EnvHttpProxyAgent({ httpProxy: this.settings.httpProxy, httpsProxy: this.settings.httpsProxy, noProxy: this.settings.noProxy }),
    }));
    const started = this.undici.then(async ({ undici, dispatcher }) => {
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
    // undici does not see the signal while it waits for the proxy's answer to CONNECT: race it.
    let timer: NodeJS.Timeout | undefined;
    let stop!: (err: Error) => void;
    const stopped = new Promise<never>((_, reject) => (stop = reject));
    timer = setTimeout(() => stop(new ResponseTimeoutError(init.timeoutMs)), init.timeoutMs);
    const response = Promise.race([started, stopped]).finally(() => clearTimeout(timer));
    response.catch((err: unknown) => {
      controller.abort(err);
      started.then((res) => res.body.destroy(), () => {});
    });
    return { response, abort: () => stop(new RequestAbortedError()) };
  }
}

/** The error for a server that could not be reached at all; names the origin and why. */
export function unreachable(url: string, err: unknown): AppError {
  return new AppError(Code.UNREACHABLE, `could not reach ${new URL(url).origin} (${describeNetworkError(err)})`, { cause: err });
}
