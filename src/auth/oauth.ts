import * as oauth from 'oauth4webapi';
import { isLoopbackHttp } from '../net.js';
import type { AuthContext } from './http.js';

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
  return (err as Error)?.message ?? String(err);
}
