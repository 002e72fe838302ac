// How a request recovers from the answers that a retry can fix: a 401 (a new token from the
// authorizer), a 403 insufficient_scope (step-up), a 404 on a session (a new session), and a 429 or
// 503 with a Retry-After the request can wait for (the server did not process the request: RFC 6585
// §4, RFC 9110 §15.6.4). The first three at most once per request, Retry-After at most
// MAX_RETRY_AFTER_RETRIES times, each wait at most MAX_RETRY_AFTER_MS and within the request's
// --request-timeout; so a server that keeps refusing gets a clear error, not a loop. A connection
// the server's host refused (nothing listening: a server restarting) reached no one, so the request
// is sent again a few times over about 4 s (CONNECTION_REFUSED_DELAYS_MS). A DPoP-bound token's
// `use_dpop_nonce` challenge (RFC 9449 §9) is answered before any of these, once per token, with a
// new proof carrying the server's nonce: it never costs a refresh or a sign-in.
import { parseAuthChallenge, type AuthChallenge, type Authorizer, type Presentation } from '../../authorization.js';
import { headerValue, RequestAbortedError, type HttpResponse } from '../../http/client.js';
import { classifyNetworkError } from '../../http/network-error.js';
import { discard } from './body.js';
import { retryAfterMs } from './errors.js';

export const MAX_RETRY_AFTER_RETRIES = 2;
export const MAX_RETRY_AFTER_MS = 10_000;
export const CONNECTION_REFUSED_DELAYS_MS = [250, 500, 1000, 2000];

export interface Attempt {
  res: HttpResponse;
  /** The session the request was sent in, if any. */
  sessionId?: string;
  /** How the token went with it (absent: sent without one). */
  presented?: Presentation;
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
  /** Waits out a Retry-After; false when the request was given up meanwhile. Absent: no such retries. */
  wait?(ms: number): Promise<boolean>;
  /** What is left of the request's time (Infinity: no --request-timeout). */
  budgetMs?(): number;
}

/** Sends until an answer no retry applies to, which is returned (2xx or not). */
export async function sendWithRetries(o: RetryOptions): Promise<HttpResponse> {
  let token = await o.authorizer.getToken();
  let refreshed = o.signIn === false;
  let steppedUp = o.signIn === false;
  let renewed = !o.renewSession;
  let waits = 0;
  let refusals = 0;
  let nonceRetried: string | undefined;
  for (;;) {
    if (o.closed()) throw new RequestAbortedError();
    let attempt: Attempt;
    try {
      attempt = await o.send(token);
    } catch (err) {
      const delay = CONNECTION_REFUSED_DELAYS_MS[refusals];
      if (!connectionRefused(err) || !o.wait || delay === undefined || delay >= (o.budgetMs?.() ?? Infinity)) throw err;
      refusals++;
      if (!(await o.wait(delay))) throw new RequestAbortedError();
      continue;
    }
    const { res, sessionId } = attempt;
    // Every answer is read for a nonce (a 200 may bring the next one); a nonce challenge gets one new proof per token.
    if (attempt.presented?.retryWithNonce?.({ status: res.status, header: (name) => headerValue(res.headers, name) }) && token !== undefined && nonceRetried !== token) {
      nonceRetried = token;
      discard(res);
      continue;
    }
    if (res.status === 401 && !refreshed) {
      refreshed = true;
      discard(res);
      token = await o.authorizer.onUnauthorized(token, challengeOf(res, attempt.presented));
      continue;
    }
    if (res.status === 403 && !steppedUp) {
      const challenge = challengeOf(res, attempt.presented);
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
    if ((res.status === 429 || res.status === 503) && o.wait && waits < MAX_RETRY_AFTER_RETRIES) {
      const ms = retryAfterMs(headerValue(res.headers, 'retry-after'));
      if (ms !== undefined && ms <= MAX_RETRY_AFTER_MS && ms < (o.budgetMs?.() ?? Infinity)) {
        waits++;
        discard(res);
        if (!(await o.wait(ms))) throw new RequestAbortedError();
        continue;
      }
    }
    return res;
  }
}

function connectionRefused(err: unknown): boolean {
  return classifyNetworkError(err).kind === 'refused';
}

/** The challenge of the answer, of the scheme the token was presented with when there are several. */
export function challengeOf(res: HttpResponse, presented?: Presentation): AuthChallenge {
  const scheme = presented?.headers.authorization?.startsWith('DPoP ') ? 'DPoP' : 'Bearer';
  return parseAuthChallenge(headerValue(res.headers, 'www-authenticate'), scheme) ?? {};
}
