// The contract between the proxy (which knows HTTP and JSON-RPC) and the auth side (which knows
// OAuth, the store and the cross-process lock), and the challenge parser both sides read. It sits
// on the ground floor: the proxy and auth import it; it imports neither.

/**
 * A parsed `WWW-Authenticate` challenge of the Bearer (RFC 6750 §3) or DPoP (RFC 9449 §7.1) scheme,
 * with RFC 9728 §5.1's `resource_metadata`.
 */
export interface AuthChallenge {
  error?: string;
  errorDescription?: string;
  scope?: string;
  resourceMetadata?: string;
  /** The challenge these parameters come from is a DPoP one (absent: a Bearer one). */
  scheme?: 'DPoP';
  /**
   * The header carries a DPoP challenge (alone or beside a Bearer one, RFC 9449 §7.2): the server
   * takes DPoP-bound tokens, one of the two signs sign-in reads to bind tokens to a key.
   */
  dpop?: boolean;
  /** The DPoP challenge's `algs` (RFC 9449 §7.1). */
  dpopAlgs?: string[];
}

/** The name the challenge had while only Bearer was parsed; the same type. */
export type BearerChallenge = AuthChallenge;

/**
 * How one request presents a token (RFC 6750 §2.1, RFC 9449 §7.1): its headers, and, for a
 * DPoP-bound token, what its answer means for a retry.
 */
export interface Presentation {
  /** `authorization: Bearer <token>`, or `authorization: DPoP <token>` and `dpop: <proof>`. */
  headers: Record<string, string>;
  /**
   * Reads the answer to the request (every answer: a 200 may bring a new DPoP nonce, RFC 9449
   * §8.2); true when it is a `use_dpop_nonce` challenge (§9) that a new proof answers: send the
   * request once more, presenting the token again. Absent for a Bearer token.
   */
  retryWithNonce?(res: { status: number; header(name: string): string | null | undefined }): boolean;
}

/** A Bearer presentation (RFC 6750 §2.1): the same headers every time. */
export function bearerPresentation(token: string): Presentation {
  return { headers: { authorization: `Bearer ${token}` } };
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
  onUnauthorized(rejected: string | undefined, challenge: AuthChallenge): Promise<string>;
  /**
   * The server answered 403 insufficient_scope. Re-authorizes with the union of the granted and the
   * required scopes (browser), bounded like onUnauthorized; returns the new token.
   */
  onInsufficientScope(rejected: string | undefined, challenge: AuthChallenge): Promise<string>;
  /** Resolves when a usable token is available (e.g. a browser sign-in finished). */
  whenReady(signal?: AbortSignal): Promise<void>;
  /**
   * How `token` (one this authorizer handed out) goes on one request: as a Bearer token, or, when
   * it is bound to the sign-in's DPoP key, with a fresh proof for `method` and `url` (RFC 9449 §7.1).
   * Asked again for every attempt of a request (a proof is good for one request only). Absent:
   * every token goes as Bearer.
   */
  present?(token: string, method: string, url: URL): Promise<Presentation>;
}

/**
 * Parses a `WWW-Authenticate` header value (RFC 9110 §11.6.1: several challenges in one value,
 * quoted strings with backslash escapes, token68 forms) and returns the challenge to act on
 * (RFC 6750 §3, RFC 9449 §7.1, with RFC 9728 §5.1's resource_metadata): the one of the
 * scheme `prefer` (the one the rejected token was presented with) when there is one, else the
 * first Bearer or DPoP challenge; `dpop` says whether any DPoP challenge is there. Undefined when
 * the header has neither scheme.
 */
export function parseAuthChallenge(header: string | null | undefined, prefer: 'Bearer' | 'DPoP' = 'Bearer'): AuthChallenge | undefined {
  if (!header) return undefined;
  const known = parseChallenges(header).filter((c) => /^(bearer|dpop)$/i.test(c.scheme));
  if (known.length === 0) return undefined;
  const chosen = known.find((c) => c.scheme.toLowerCase() === prefer.toLowerCase()) ?? known[0]!;
  const dpop = known.find((c) => c.scheme.toLowerCase() === 'dpop');
  const p = chosen.params;
  return {
    error: p.error,
    errorDescription: p.error_description,
    scope: p.scope,
    resourceMetadata: p.resource_metadata,
    ...(chosen.scheme.toLowerCase() === 'dpop' ? { scheme: 'DPoP' as const } : {}),
    ...(dpop ? { dpop: true } : {}),
    ...(dpop?.params.algs ? { dpopAlgs: dpop.params.algs.split(/\s+/).filter(Boolean) } : {}),
  };
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
