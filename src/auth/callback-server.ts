import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError, Code } from '../errors.js';

export interface CallbackRequest {
  params: URLSearchParams;
  /** Answers the browser that made this request (once). */
  respond(page: { ok: boolean; title: string; message: string }): void;
  /** Answers it with a redirect instead (once): the same tab goes on to `url`. */
  redirect(url: string): void;
}

export interface CallbackServer {
  redirectUri: string;
  port: number;
  /**
   * The next request to the callback path that carries `code` or `error`, in arrival order. A
   * request the flow rejects (a forged or stale one) is answered and the flow takes the next.
   */
  next(signal: AbortSignal): Promise<CallbackRequest>;
  /**
   * A callback that reached us another way: the address the browser ended on, pasted into the
   * terminal (the browser runs where our loopback is out of reach: SSH, WSL, a container). It goes
   * through the same checks as one the browser delivered.
   */
  deliver(request: CallbackRequest): void;
  close(): Promise<void>;
}

/** Where the loopback redirect is received: `--callback-host`, `--callback-port`, `--callback-path`. */
export interface CallbackAddress {
  /** 127.0.0.1 (the default), localhost (listens on 127.0.0.1) or ::1. */
  host?: '127.0.0.1' | 'localhost' | '::1';
  /** A fixed port (a pre-registered redirect URI must match exactly); taken → an error, not another port. */
  port?: number;
  path?: string;
}

/**
 * The loopback redirect receiver (RFC 8252 §7.3), on 127.0.0.1 unless told otherwise. It tries
 * `preferredPort` (where a cached registration points) and falls back to a free port when that one
 * is taken; a fixed `port` is used or fails.
 */
export async function startCallbackServer(opts: { preferredPort?: number } & CallbackAddress = {}): Promise<CallbackServer> {
  const path = opts.path ?? '/callback';
  const host = opts.host ?? '127.0.0.1';
  const arrived: CallbackRequest[] = [];
  let waiting: ((req: CallbackRequest) => void) | undefined;
  let port = 0;
  const server = createServer((req, res) => {
    if (!isOwnHost(req.headers.host, port)) {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end('Bad Host');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET' || url.pathname !== path || (!url.searchParams.has('code') && !url.searchParams.has('error'))) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end('Not found');
      return;
    }
    deliver({ params: url.searchParams, respond: (page) => answer(res, page), redirect: (to) => redirect(res, to) });
  });
  const deliver = (request: CallbackRequest) => {
    if (waiting) waiting(request);
    else arrived.push(request);
  };
  const answer = (res: ServerResponse, page: { ok: boolean; title: string; message: string }) => {
    if (res.headersSent) return;
    res.writeHead(page.ok ? 200 : 400, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      connection: 'close',
    });
    res.end(renderPage(page));
  };
  const redirect = (res: ServerResponse, to: string) => {
    if (res.headersSent) return;
    res.writeHead(302, { location: to, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', connection: 'close' });
    res.end();
  };
  const close = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });
  const bind = host === '::1' ? '::1' : '127.0.0.1';
  if (opts.port !== undefined) {
    port = await listen(server, bind, opts.port).catch((err: NodeJS.ErrnoException) => {
      throw new AppError(Code.USAGE, err.code === 'EADDRINUSE'
        ? `the sign-in callback port ${opts.port} on ${host} is taken (by another program, or another sign-in in progress)`
        : `cannot listen for the sign-in callback on ${host}:${opts.port} (${err.message})`, {
        hint: 'Free it, or pass another --callback-port (the redirect URI registered for the client must then match).',
      });
    });
  } else {
    port = await listen(server, bind, opts.preferredPort).catch(() => listen(server, bind, 0));
  }
  return {
    port,
    redirectUri: `http://${host === '::1' ? '[::1]' : host}:${port}${path}`,
    next: (signal) =>
      new Promise<CallbackRequest>((resolve, reject) => {
        const queued = arrived.shift();
        if (queued) return resolve(queued);
        const onAbort = () => {
          waiting = undefined;
          reject(signal.reason);
        };
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        waiting = (req) => {
          waiting = undefined;
          signal.removeEventListener('abort', onAbort);
          resolve(req);
        };
      }),
    deliver,
    close,
  };
}

/**
 * A request addressed to this server by a loopback name and its own port. Anything else (a
 * DNS-rebinding page's "evil.example:<port>") gets 400 and never reaches the sign-in.
 */
function isOwnHost(host: string | undefined, port: number): boolean {
  const m = /^(127\.0\.0\.1|localhost|\[::1\]):(\d+)$/i.exec(host ?? '');
  return m !== null && Number(m[2]) === port;
}

function listen(server: Server, host: string, port = 0): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function renderPage(page: { ok: boolean; title: string; message: string }): string {
  const color = page.ok ? '#0a7d4f' : '#b42318';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(page.title)}</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;background:#f7f7f8;color:#1d1d20;display:flex;min-height:100vh;margin:0;align-items:center;justify-content:center}
main{background:#fff;border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.1);padding:32px 40px;max-width:480px}
h1{font-size:20px;margin:0 0 12px;color:${color}}p{line-height:1.5;margin:0}</style></head>
<body><main><h1 id="result" data-ok="${page.ok}">${escapeHtml(page.title)}</h1><p>${escapeHtml(page.message)}</p></main></body></html>`;
}
