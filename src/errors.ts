// One error shape for the whole CLI: `AppError` with a `code` from `Code`, a message written for
// the person reading it (quoting the bad input), an optional `hint` (what to do), the exit code the
// CLI ends with, and the underlying error or the bad data in `cause`. Callers branch on `code`,
// never on message text.

/** Every error code, grouped by where the failure happened. */
export const Code = {
  // The command line
  USAGE: 'usage',
  // Reaching a server at all (DNS, refused, reset, TLS, timeout)
  UNREACHABLE: 'unreachable',
  // A server answered something the protocol does not allow (`cause` holds the bad data)
  INVALID_RESPONSE: 'invalid_response',
  RESOURCE_MISMATCH: 'resource_mismatch',
  NO_RESOURCE_METADATA: 'no_resource_metadata',
  NO_AUTHORIZATION_SERVER: 'no_authorization_server',
  NO_AS_METADATA: 'no_as_metadata',
  ISSUER_MISMATCH: 'issuer_mismatch',
  PKCE_UNSUPPORTED: 'pkce_unsupported',
  REGISTRATION_UNSUPPORTED: 'registration_unsupported',
  REGISTRATION_FAILED: 'registration_failed',
  NO_SIGN_IN_NEEDED: 'no_sign_in_needed',
  // The browser round trip
  SIGN_IN_TIMEOUT: 'sign_in_timeout',
  ACCESS_DENIED: 'access_denied',
  CALLBACK_REJECTED: 'callback_rejected',
  AUTHORIZATION_REFUSED: 'authorization_refused',
  /** The authorization endpoint refused the scope before any browser tab opened. */
  SCOPE_REFUSED: 'scope_refused',
  TOKEN_EXCHANGE_FAILED: 'token_exchange_failed',
  // The device authorization grant (RFC 8628, `login --device-code`)
  /** The AS advertises no `device_authorization_endpoint`. */
  DEVICE_FLOW_UNSUPPORTED: 'device_flow_unsupported',
  /** The device code expired (`expired_token`, or its `expires_in` passed) before the user approved. */
  DEVICE_CODE_EXPIRED: 'device_code_expired',
  // The token endpoint after sign-in
  GRANT_INVALID: 'invalid_grant',
  CLIENT_UNKNOWN: 'invalid_client',
  TOKEN_ENDPOINT_FAILED: 'token_endpoint_failed',
  // Where sign-ins are kept
  KEYCHAIN_TIMEOUT: 'keychain_timeout',
  KEYCHAIN_UNAVAILABLE: 'keychain_unavailable',
  KEYCHAIN_FAILED: 'keychain_failed',
  SECRETS_UNREADABLE: 'secrets_unreadable',
  STATE_VERSION: 'state_version',
  LOCK_TIMEOUT: 'lock_timeout',
  SAVE_FAILED: 'save_failed',
  // What the proxy is told when no token can be had (also JSON-RPC error `data.reason`)
  SIGN_IN_REQUIRED: 'sign_in_required',
  SIGN_IN_PENDING: 'sign_in_pending',
  AS_UNREACHABLE: 'as_unreachable',
  TOKEN_REJECTED: 'token_rejected',
  STEP_UP_FAILED: 'step_up_failed',
  // The MCP server behind the proxy (also JSON-RPC error `data.reason`; unreachable is UNREACHABLE)
  UPSTREAM_TIMEOUT: 'timeout',
  /** A started response sent nothing for --idle-timeout. */
  UPSTREAM_IDLE: 'idle_timeout',
  /** A message over --max-message-size (from the server). */
  MESSAGE_TOO_LARGE: 'message_too_large',
  /** 429 or 503 with a Retry-After too far off to wait for. */
  UPSTREAM_RATE_LIMITED: 'rate_limited',
  UPSTREAM_UNAVAILABLE: 'unavailable',
  UPSTREAM_TLS: 'tls',
  UPSTREAM_SERVER_ERROR: 'server_error',
  UPSTREAM_HTTP_ERROR: 'http_error',
  UPSTREAM_FORBIDDEN: 'forbidden',
  NO_RESPONSE: 'no_response',
  STREAM_CLOSED: 'stream_closed',
  NO_SESSION: 'no_session',
  INITIALIZE_FAILED: 'initialize_failed',
  CANCELLED: 'cancelled',
  // Bridging the protocol eras (2025 ⇄ 2026-07-28)
  /** The server's era could not be told, or it speaks none the client can be bridged to. */
  ERA_NEGOTIATION_FAILED: 'era_negotiation_failed',
  /** Input the server asked for (elicitation, sampling, roots) could not be had from the client. */
  INPUT_FAILED: 'input_failed',
  // `setup`: a client config that cannot be read, parsed or written
  SETUP_FAILED: 'setup_failed',
} as const;

export type ErrorCode = (typeof Code)[keyof typeof Code];

/** Exit codes, documented in the README. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  notSignedIn: 3,
  needsAttention: 4,
  timeout: 5,
  denied: 6,
} as const;

export interface AppErrorOptions {
  hint?: string;
  exitCode?: number;
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly exitCode: number;
  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? (code === Code.USAGE ? ExitCode.usage : ExitCode.failure);
  }
}

/** True when `err` is an AppError with one of `codes` (any code when none are given). */
export function isAppError(err: unknown, ...codes: ErrorCode[]): err is AppError {
  return err instanceof AppError && (codes.length === 0 || codes.includes(err.code));
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
