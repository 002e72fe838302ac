// The one classifier of network failures: why a request never got an answer (or lost it midway),
// for every layer that reports one (sign-in, the proxy, doctor). Callers branch on `kind`, never on
// an error's `name` or message. Node's errors carry a `code` (ECONNREFUSED, ENOTFOUND, …) on the
// error itself or on its `cause` (undici, fetch); TLS verification failures carry OpenSSL's codes.

/** What kind of network failure it was. */
export type NetworkFailureKind =
  /** No answer in time (a response or connect deadline). */
  | 'timeout'
  /** We gave up on it ourselves (cancelled, or an AbortSignal). */
  | 'aborted'
  /** Nothing listens there: the connection was refused (it never reached a server). */
  | 'refused'
  /** The host name does not resolve. */
  | 'dns'
  /** An established connection was reset or closed under us (ECONNRESET, EPIPE). */
  | 'reset'
  /** The TLS certificate is not trusted or does not match. */
  | 'tls'
  /** Anything else (its code or message is in `detail`). */
  | 'other';

export interface NetworkFailure {
  kind: NetworkFailureKind;
  /** The system or OpenSSL error code, when there is one. */
  code?: string;
  /** A few words for people: "connection refused", "timed out", the TLS advice. */
  description: string;
}

/** A deadline of ours passed (set by the HTTP layer or doctor); `kind` 'timeout'. */
export class NetworkTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimeoutError';
  }
}

/** The caller gave the request up; `kind` 'aborted'. */
export class NetworkAbortedError extends Error {
  constructor(message = 'request aborted') {
    super(message);
    this.name = 'AbortError';
  }
}

const TLS_ERROR_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE',
]);

const REFUSED = new Set(['ECONNREFUSED']);
const DNS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_NODATA']);
const RESET = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const TIMEOUT = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** For a certificate error code, what the user can do about it; undefined for other errors. */
export function tlsHint(code: string | undefined): string | undefined {
  if (!code || !TLS_ERROR_CODES.has(code)) return undefined;
  return `the server's TLS certificate is not trusted (${code}); if your network uses its own certificate authority, set NODE_EXTRA_CA_CERTS to its certificate file`;
}

interface ErrorLike { name?: string; code?: unknown; message?: string; cause?: unknown }

/** The error's own code, else its cause's (fetch and undici wrap the socket's error). */
function codeOf(err: ErrorLike | undefined): string | undefined {
  for (let e: ErrorLike | undefined = err, depth = 0; e && depth < 4; e = e.cause as ErrorLike | undefined, depth++) {
    if (typeof e.code === 'string') return e.code;
  }
  return undefined;
}

/** Classifies any error a request failed with. */
export function classifyNetworkError(err: unknown): NetworkFailure {
  const e = (typeof err === 'object' && err !== null ? err : undefined) as ErrorLike | undefined;
  if (err instanceof NetworkTimeoutError) return { kind: 'timeout', description: err.message || 'timed out' };
  if (err instanceof NetworkAbortedError) return { kind: 'aborted', description: 'aborted' };
  // DOMExceptions from AbortSignal.timeout() and AbortController (they have no code of their own).
  if (e?.name === 'TimeoutError' && typeof e.code !== 'string') return { kind: 'timeout', description: 'timed out' };
  if (e?.name === 'AbortError' && typeof e.code !== 'string') return { kind: 'aborted', description: 'aborted' };
  const code = codeOf(e);
  const hint = tlsHint(code);
  if (hint) return { kind: 'tls', code, description: hint };
  if (code && REFUSED.has(code)) return { kind: 'refused', code, description: 'connection refused' };
  if (code && DNS.has(code)) return { kind: 'dns', code, description: 'host not found' };
  if (code && RESET.has(code)) return { kind: 'reset', code, description: 'connection reset' };
  if (code && TIMEOUT.has(code)) return { kind: 'timeout', code, description: 'timed out' };
  const cause = e?.cause as ErrorLike | undefined;
  return { kind: 'other', code, description: code ?? cause?.message ?? e?.message ?? String(err) };
}

/** Why a request never got an answer, in a few words ("connection refused", "timed out", a TLS hint). */
export function describeNetworkError(err: unknown): string {
  return classifyNetworkError(err).description;
}
