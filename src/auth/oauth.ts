// What every auth step shares: the context (fetch, logger, timeout), oauth4webapi's request
// options, and reading OAuth error responses.
import * as oauth from 'oauth4webapi';
import { AppError, Code } from '../errors.js';
import { unreachable } from '../http/client.js';
import type { Logger } from '../log.js';
import { isLoopbackHttp } from '../net.js';
import type { Clock } from './clock.js';

/** What every auth step needs; injected so tests and the proxy can supply their own. */
export interface AuthContext {
  /** The fetch of the one HTTP layer (src/http/client.ts). */
  fetch: typeof fetch;
  logger: Logger;
  /** Bound on every single HTTP request to the AS or the resource server. */
  requestTimeoutMs: number;
  /** Time for the waits between requests (the device flow's polling); default the system's. */
  clock?: Clock;
}

/**
 * Request options for oauth4webapi: our fetch (with the context's timeout) and, for an endpoint on a
 * loopback address only, permission to use plain http (the library refuses it otherwise).
 */
export function requestOptions(ctx: AuthContext, endpoint: string | undefined) {
  const insecure = endpoint ? isLoopbackHttp(new URL(endpoint)) : false;
  return {
    [oauth.customFetch]: (url: string, init: RequestInit) => ctx.fetch(url, { ...init, signal: AbortSignal.timeout(ctx.requestTimeoutMs) }),
    ...(insecure ? { [oauth.allowInsecureRequests]: true } : {}),
  } as const;
}

/** fetch with the context's timeout; network failures become AppError UNREACHABLE. */
export async function request(ctx: AuthContext, url: string, init: RequestInit = {}): Promise<Response> {
  const signal = init.signal ? AbortSignal.any([init.signal, AbortSignal.timeout(ctx.requestTimeoutMs)]) : AbortSignal.timeout(ctx.requestTimeoutMs);
  ctx.logger.debug(`${init.method ?? 'GET'} ${url}`);
  try {
    const res = await ctx.fetch(url, { ...init, signal });
    ctx.logger.debug(`→ ${res.status} ${url}`);
    return res;
  } catch (err) {
    throw unreachable(url, err);
  }
}

/** A response body as text; a body cut off, too slow or too large is an AppError naming `url`. */
export function readBody(res: Response, url: string): Promise<string> {
  return res.text().catch((err: unknown) => {
    throw err instanceof AppError ? err : unreachable(url, err);
  });
}

/** The JSON object in a response body; AppError INVALID_RESPONSE (with the text in `cause`) otherwise. */
export async function readJsonObject(res: Response, url: string, what: string): Promise<Record<string, unknown>> {
  const text = await readBody(res, url);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new AppError(Code.INVALID_RESPONSE, `${what} at ${url} is not JSON`, { cause: text.slice(0, 200) });
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new AppError(Code.INVALID_RESPONSE, `${what} at ${url} is not a JSON object`, { cause: body });
  }
  return body as Record<string, unknown>;
}

export function publicClient(clientId: string): oauth.Client {
  return { client_id: clientId, token_endpoint_auth_method: 'none' };
}

/** The `error` of an OAuth error response (RFC 6749 §5.2), whatever oauth4webapi wrapped it in. */
export function oauthErrorCode(err: unknown): string | undefined {
  if (err instanceof oauth.ResponseBodyError || err instanceof oauth.AuthorizationResponseError) return err.error;
  return undefined;
}

export function oauthErrorText(err: unknown): string {
  if (err instanceof oauth.ResponseBodyError || err instanceof oauth.AuthorizationResponseError) {
    return err.error_description ? `${err.error}: ${err.error_description}` : err.error;
  }
  // oauth4webapi wraps what reading the body failed with ("failed to parse … as JSON"): say that instead.
  const cause = (err as { cause?: unknown })?.cause;
  if (cause instanceof AppError) return cause.message;
  return (err as Error)?.message ?? String(err);
}
