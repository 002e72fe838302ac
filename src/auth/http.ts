import type { Logger } from '../log.js';
import { tlsHint } from '../net.js';

/** What every auth step needs; injected so tests and the proxy can supply their own. */
export interface AuthContext {
  fetch: typeof fetch;
  logger: Logger;
  /** Bound on every single HTTP request to the AS or the resource server. */
  requestTimeoutMs: number;
}

/** An authorization-server or resource-server answer that breaks the protocol; `cause` holds the bad data. */
export class ProtocolError extends Error {
  readonly code: string;
  constructor(code: string, message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'ProtocolError';
    this.code = code;
  }
}

/** The server could not be reached at all (DNS, refused, reset, timeout). */
export class UnreachableError extends Error {
  readonly url: string;
  constructor(url: string, cause: unknown) {
    const why = describeNetworkError(cause);
    super(`could not reach ${new URL(url).origin} (${why})`, { cause });
    this.name = 'UnreachableError';
    this.url = url;
  }
}

export function describeNetworkError(err: unknown): string {
  const e = err as { name?: string; code?: string; cause?: { code?: string; message?: string }; message?: string };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timed out';
  const code = e?.cause?.code ?? e?.code;
  const tls = tlsHint(code);
  if (tls) return tls;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  if (code === 'ECONNRESET') return 'connection reset';
  return code ?? e?.cause?.message ?? e?.message ?? String(err);
}

/** fetch with the context's timeout; network failures become UnreachableError. */
export async function request(ctx: AuthContext, url: string, init: RequestInit = {}): Promise<Response> {
  const signal = init.signal
    ? AbortSignal.any([init.signal, AbortSignal.timeout(ctx.requestTimeoutMs)])
    : AbortSignal.timeout(ctx.requestTimeoutMs);
  ctx.logger.debug(`${init.method ?? 'GET'} ${url}`);
  try {
    const res = await ctx.fetch(url, { ...init, signal, redirect: init.redirect ?? 'manual' });
    ctx.logger.debug(`→ ${res.status} ${url}`);
    return res;
  } catch (err) {
    throw new UnreachableError(url, err);
  }
}

export async function readJsonObject(res: Response, what: string): Promise<Record<string, unknown>> {
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ProtocolError('invalid_json', `${what} at ${res.url || 'the server'} is not JSON`, text.slice(0, 200));
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new ProtocolError('invalid_json', `${what} at ${res.url || 'the server'} is not a JSON object`, body);
  }
  return body as Record<string, unknown>;
}
