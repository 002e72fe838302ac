// The contract between the proxy (which knows HTTP and JSON-RPC) and the auth side (which knows
// OAuth, the store and the cross-process lock), and the challenge parser both sides read. It sits
// on the ground floor: the proxy and auth import it; it imports neither.

/** A parsed `WWW-Authenticate: Bearer ...` challenge (RFC 6750 §3, RFC 9728 §5.1). */
export interface BearerChallenge {
  error?: string;
  errorDescription?: string;
  scope?: string;
  resourceMetadata?: string;
}

/**
 * Where the proxy gets its tokens. Auth follows the server: requests go out without a token until
 * the server asks for one (a 401), and then the authorizer signs in. Every method throws AppError
 * (codes SIGN_IN_REQUIRED, SIGN_IN_PENDING, AS_UNREACHABLE, TOKEN_REJECTED, STEP_UP_FAILED) with a
 * message written for the user (what happened, what to do); the proxy puts it in the JSON-RPC error
 * it answers with.
 */
export interface Authorizer {
  /**
   * The bearer token to send now, or undefined when there is no sign-in (the request goes without
   * one). A stored token is refreshed first when it has less than a minute left. Never opens a
   * browser. Fast path: a token held in memory, no I/O.
   */
  getToken(): Promise<string | undefined>;
  /**
   * The server answered 401 to a request sent with `rejected` (undefined: sent without a token).
   * Returns a different token: a refresh, another copy's newer sign-in, or a browser sign-in (one
   * for every copy). A request waits for a browser sign-in only so long (the client's own bound);
   * then SIGN_IN_PENDING, while the sign-in goes on.
   */
  onUnauthorized(rejected: string | undefined, challenge: BearerChallenge): Promise<string>;
  /**
   * The server answered 403 insufficient_scope. Re-authorizes with the union of the granted and the
   * required scopes (browser), bounded like onUnauthorized; returns the new token.
   */
  onInsufficientScope(rejected: string | undefined, challenge: BearerChallenge): Promise<string>;
  /** Resolves when a usable token is available (e.g. a browser sign-in finished). */
  whenReady(signal?: AbortSignal): Promise<void>;
}

/**
 * Parses a `WWW-Authenticate` header value (RFC 9110 §11.6.1) and returns the parameters of its
 * Bearer challenge (RFC 6750 §3, RFC 9728 §5.1), or undefined when there is none. Handles several
 * challenges in one value, quoted strings with backslash escapes and token68 forms.
 */
export function parseBearerChallenge(header: string | null | undefined): BearerChallenge | undefined {
  if (!header) return undefined;
  for (const challenge of parseChallenges(header)) {
    if (challenge.scheme.toLowerCase() !== 'bearer') continue;
    const p = challenge.params;
    return {
      error: p.error,
      errorDescription: p.error_description,
      scope: p.scope,
      resourceMetadata: p.resource_metadata,
    };
  }
  return undefined;
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

function parseChallenges(input: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = input.length;
  const skipWs = () => { while (i < n && (input[i] === ' ' || input[i] === '\t')) i++; };
  const readToken = () => {
    const start = i;
    while (i < n && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(input[i]!)) i++;
    return input.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < n) {
    skipWs();
    if (input[i] === ',') { i++; continue; }
    const token = readToken();
    if (!token) { i++; continue; }
    skipWs();
    if (input[i] === '=' && current) {
      // auth-param: token "=" ( token / quoted-string )
      i++;
      skipWs();
      let value = '';
      if (input[i] === '"') {
        i++;
        while (i < n && input[i] !== '"') {
          if (input[i] === '\\' && i + 1 < n) i++;
          value += input[i++];
        }
        i++;
      } else {
        value = readToken();
        // token68 padding ("abc==") belongs to the value
        while (input[i] === '=') value += input[i++];
      }
      current.params[token.toLowerCase()] = value;
    } else {
      current = { scheme: token, params: {} };
      out.push(current);
      // token68 right after the scheme: skip it
      const save = i;
      const t68 = readToken();
      while (input[i] === '=') i++;
      skipWs();
      if (!(t68 && (i >= n || input[i] === ','))) i = save;
    }
  }
  return out;
}
