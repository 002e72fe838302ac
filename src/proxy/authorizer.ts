// The contract between the proxy (which knows HTTP and JSON-RPC) and the auth side (which knows
// OAuth, the store and the cross-process lock). The proxy never reaches into discovery details.

/** A parsed `WWW-Authenticate: Bearer ...` challenge (RFC 6750 §3, RFC 9728 §5.1). */
export interface BearerChallenge {
  error?: string;
  errorDescription?: string;
  scope?: string;
  resourceMetadata?: string;
}

/**
 * Thrown by an Authorizer when no usable token can be had. `message` is written for the user
 * (what happened, what to do) and is what the proxy puts in the JSON-RPC error it answers with.
 */
export class AuthorizationError extends Error {
  readonly code: 'sign_in_required' | 'sign_in_pending' | 'refresh_failed' | 'as_unreachable' | 'token_rejected' | 'step_up_failed';
  constructor(code: AuthorizationError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuthorizationError';
    this.code = code;
  }
}

export interface Authorizer {
  /**
   * A bearer token to use now: valid for at least another minute (refreshed first when it is not),
   * shared with the other running copies. May wait for a sign-in in progress. Fast path: a cached
   * in-memory token, no I/O. Throws AuthorizationError.
   */
  getToken(): Promise<string>;
  /**
   * The server answered 401 to a request sent with `rejected`. Returns a different token (at most
   * one refresh, single-flight across requests and processes) or throws AuthorizationError.
   */
  onUnauthorized(rejected: string, challenge: BearerChallenge): Promise<string>;
  /**
   * The server answered 403 insufficient_scope. Re-authorizes with the union of the granted and the
   * required scopes (browser), bounded; returns the new token or throws AuthorizationError.
   */
  onInsufficientScope(rejected: string, challenge: BearerChallenge): Promise<string>;
  /** Resolves when a usable token is available (e.g. a browser sign-in finished). */
  whenReady(signal?: AbortSignal): Promise<void>;
}
