// How a request recovers from the answers that a retry can fix: a 401 (a new token from the
// authorizer), a 403 insufficient_scope (step-up), and a 404 on a session (a new session). Each
// at most once per request, so a server that keeps refusing gets a clear error, not a loop.
import { parseBearerChallenge, type Authorizer, type BearerChallenge } from '../../authorization.js';
import { headerValue, RequestAbortedError, type HttpResponse } from '../../http/client.js';
import { discard } from './streams.js';

export interface Attempt {
  res: HttpResponse;
  /** The session the request was sent in, if any. */
  sessionId?: string;
}

export interface RetryOptions {
  authorizer: Authorizer;
  /** Sends the request with this bearer token (none while there is no sign-in). */
  send(token: string | undefined): Promise<Attempt>;
  /** Renews the session `expired`; absent for requests that must not renew (the handshake's own). */
  renewSession?: (expired: string) => Promise<void>;
  /** False: a 401 or 403 is returned as is; the authorizer is not asked (it could start a browser sign-in). */
  signIn?: boolean;
  closed(): boolean;
}

/** Sends until an answer no retry applies to, which is returned (2xx or not). */
export async function sendWithRetries(o: RetryOptions): Promise<HttpResponse> {
  let token = await o.authorizer.getToken();
  let refreshed = o.signIn === false;
  let steppedUp = o.signIn === false;
  let renewed = !o.renewSession;
  for (;;) {
    if (o.closed()) throw new RequestAbortedError();
    const { res, sessionId } = await o.send(token);
    if (res.status === 401 && !refreshed) {
      refreshed = true;
      discard(res);
      token = await o.authorizer.onUnauthorized(token, challengeOf(res));
      continue;
    }
    if (res.status === 403 && !steppedUp) {
      const challenge = challengeOf(res);
      if (challenge.error === 'insufficient_scope') {
        steppedUp = true;
        discard(res);
        token = await o.authorizer.onInsufficientScope(token, challenge);
        continue;
      }
    }
    if (res.status === 404 && sessionId !== undefined && !renewed) {
      renewed = true;
      discard(res);
      await o.renewSession!(sessionId);
      continue;
    }
    return res;
  }
}

export function challengeOf(res: HttpResponse): BearerChallenge {
  return parseBearerChallenge(headerValue(res.headers, 'www-authenticate')) ?? {};
}
