// One error shape for the whole CLI: `AppError` with a `code` from `Code`, a message written for
// the person reading it (quoting the bad input), an optional `hint` (what to do), the exit code the
// CLI ends with, and the underlying error or the bad data in `cause`. Callers branch on `code`,
// never on message text. Codes are namespaced by the layer that raises them (as oauth4webapi's
// OAUTH_* codes are): CLI_, HTTP_, OAUTH_, STORE_, AUTH_ (what the proxy is told about tokens),
// MCP_ (the server behind the proxy), ERA_, SETUP_. They are internal: what an MCP client sees in a
// JSON-RPC error's `data.reason` is the public vocabulary of `rpcReason()`, mapped explicitly.

/** Every error code, grouped by where the failure happened. */
export const Code = {
  // The command line
  USAGE: 'CLI_USAGE',
  // Reaching a server at all (DNS, refused, reset, TLS, timeout)
  UNREACHABLE: 'HTTP_UNREACHABLE',
  // A server answered something the protocol does not allow (`cause` holds the bad data)
  INVALID_RESPONSE: 'OAUTH_INVALID_RESPONSE',
  RESOURCE_MISMATCH: 'OAUTH_RESOURCE_MISMATCH',
  NO_RESOURCE_METADATA: 'OAUTH_NO_RESOURCE_METADATA',
  NO_AUTHORIZATION_SERVER: 'OAUTH_NO_AUTHORIZATION_SERVER',
  NO_AS_METADATA: 'OAUTH_NO_AS_METADATA',
  ISSUER_MISMATCH: 'OAUTH_ISSUER_MISMATCH',
  /** Discovery named another authorization server than the one a pre-registered client is pinned to. */
  CLIENT_ISSUER_MISMATCH: 'OAUTH_CLIENT_ISSUER_MISMATCH',
  PKCE_UNSUPPORTED: 'OAUTH_PKCE_UNSUPPORTED',
  /** `--dpop` was given and the authorization server does not offer DPoP with ES256, or did not bind the tokens. */
  DPOP_UNSUPPORTED: 'OAUTH_DPOP_UNSUPPORTED',
  REGISTRATION_UNSUPPORTED: 'OAUTH_REGISTRATION_UNSUPPORTED',
  REGISTRATION_FAILED: 'OAUTH_REGISTRATION_FAILED',
  NO_SIGN_IN_NEEDED: 'OAUTH_NO_SIGN_IN_NEEDED',
  // The browser round trip
  SIGN_IN_TIMEOUT: 'OAUTH_SIGN_IN_TIMEOUT',
  ACCESS_DENIED: 'OAUTH_ACCESS_DENIED',
  CALLBACK_REJECTED: 'OAUTH_CALLBACK_REJECTED',
  AUTHORIZATION_REFUSED: 'OAUTH_AUTHORIZATION_REFUSED',
  /** The authorization endpoint refused the scope before any browser tab opened. */
  SCOPE_REFUSED: 'OAUTH_SCOPE_REFUSED',
  TOKEN_EXCHANGE_FAILED: 'OAUTH_TOKEN_EXCHANGE_FAILED',
  // The device authorization grant (RFC 8628, `login --device-code`)
  /** The AS advertises no `device_authorization_endpoint`. */
  DEVICE_FLOW_UNSUPPORTED: 'OAUTH_DEVICE_FLOW_UNSUPPORTED',
  /** The device code expired (`expired_token`, or its `expires_in` passed) before the user approved. */
  DEVICE_CODE_EXPIRED: 'OAUTH_DEVICE_CODE_EXPIRED',
  // The token endpoint after sign-in
  GRANT_INVALID: 'OAUTH_INVALID_GRANT',
  CLIENT_UNKNOWN: 'OAUTH_INVALID_CLIENT',
  TOKEN_ENDPOINT_FAILED: 'OAUTH_TOKEN_ENDPOINT_FAILED',
  // Where sign-ins are kept
  KEYCHAIN_TIMEOUT: 'STORE_KEYCHAIN_TIMEOUT',
  KEYCHAIN_UNAVAILABLE: 'STORE_KEYCHAIN_UNAVAILABLE',
  KEYCHAIN_FAILED: 'STORE_KEYCHAIN_FAILED',
  SECRETS_UNREADABLE: 'STORE_SECRETS_UNREADABLE',
  STATE_VERSION: 'STORE_STATE_VERSION',
  LOCK_TIMEOUT: 'STORE_LOCK_TIMEOUT',
  /** A lock this process held was taken over (it was frozen past the stale bound): it must not act on it. */
  LOCK_LOST: 'STORE_LOCK_LOST',
  SAVE_FAILED: 'STORE_SAVE_FAILED',
  // What the proxy is told when no token can be had (also JSON-RPC error `data.reason`)
  SIGN_IN_REQUIRED: 'AUTH_SIGN_IN_REQUIRED',
  SIGN_IN_PENDING: 'AUTH_SIGN_IN_PENDING',
  AS_UNREACHABLE: 'AUTH_AS_UNREACHABLE',
  TOKEN_REJECTED: 'AUTH_TOKEN_REJECTED',
  STEP_UP_FAILED: 'AUTH_STEP_UP_FAILED',
  // The MCP server behind the proxy (also JSON-RPC error `data.reason`; unreachable is UNREACHABLE)
  UPSTREAM_TIMEOUT: 'MCP_TIMEOUT',
  /** A started response sent nothing for --idle-timeout. */
  UPSTREAM_IDLE: 'MCP_IDLE_TIMEOUT',
  /** A message over --max-message-size (from the server). */
  MESSAGE_TOO_LARGE: 'MCP_MESSAGE_TOO_LARGE',
  /** 429 or 503 with a Retry-After too far off to wait for. */
  UPSTREAM_RATE_LIMITED: 'MCP_RATE_LIMITED',
  UPSTREAM_UNAVAILABLE: 'MCP_UNAVAILABLE',
  UPSTREAM_TLS: 'MCP_TLS',
  UPSTREAM_SERVER_ERROR: 'MCP_SERVER_ERROR',
  UPSTREAM_HTTP_ERROR: 'MCP_HTTP_ERROR',
  UPSTREAM_FORBIDDEN: 'MCP_FORBIDDEN',
  NO_RESPONSE: 'MCP_NO_RESPONSE',
  STREAM_CLOSED: 'MCP_STREAM_CLOSED',
  NO_SESSION: 'MCP_NO_SESSION',
  INITIALIZE_FAILED: 'MCP_INITIALIZE_FAILED',
  CANCELLED: 'MCP_CANCELLED',
  // Bridging the protocol eras (2025 ⇄ 2026-07-28)
  /** The server's era could not be told, or it speaks none the client can be bridged to. */
  ERA_NEGOTIATION_FAILED: 'ERA_NEGOTIATION_FAILED',
  /** Input the server asked for (elicitation, sampling, roots) could not be had from the client. */
  INPUT_FAILED: 'ERA_INPUT_FAILED',
  // `setup`: a client config that cannot be read, parsed or written
  SETUP_FAILED: 'SETUP_FAILED',
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

/**
 * The public `data.reason` of a JSON-RPC error the proxy sends for an error of this code: a stable
 * vocabulary that clients and users may match on, independent of internal code names. Codes that
 * never reach a JSON-RPC error map to 'internal_error'.
 */
export function rpcReason(code: ErrorCode): string {
  return RPC_REASONS[code] ?? 'internal_error';
}

const RPC_REASONS: Partial<Record<ErrorCode, string>> = {
  [Code.UNREACHABLE]: 'unreachable',
  [Code.SIGN_IN_REQUIRED]: 'sign_in_required',
  [Code.SIGN_IN_PENDING]: 'sign_in_pending',
  [Code.AS_UNREACHABLE]: 'as_unreachable',
  [Code.TOKEN_REJECTED]: 'token_rejected',
  [Code.STEP_UP_FAILED]: 'step_up_failed',
  [Code.LOCK_TIMEOUT]: 'lock_timeout',
  [Code.LOCK_LOST]: 'lock_lost',
  [Code.UPSTREAM_TIMEOUT]: 'timeout',
  [Code.UPSTREAM_IDLE]: 'idle_timeout',
  [Code.MESSAGE_TOO_LARGE]: 'message_too_large',
  [Code.UPSTREAM_RATE_LIMITED]: 'rate_limited',
  [Code.UPSTREAM_UNAVAILABLE]: 'unavailable',
  [Code.UPSTREAM_TLS]: 'tls',
  [Code.UPSTREAM_SERVER_ERROR]: 'server_error',
  [Code.UPSTREAM_HTTP_ERROR]: 'http_error',
  [Code.UPSTREAM_FORBIDDEN]: 'forbidden',
  [Code.NO_RESPONSE]: 'no_response',
  [Code.STREAM_CLOSED]: 'stream_closed',
  [Code.NO_SESSION]: 'no_session',
  [Code.INITIALIZE_FAILED]: 'initialize_failed',
  [Code.CANCELLED]: 'cancelled',
  [Code.ERA_NEGOTIATION_FAILED]: 'era_negotiation_failed',
  [Code.INPUT_FAILED]: 'input_failed',
  [Code.INVALID_RESPONSE]: 'invalid_response',
  [Code.GRANT_INVALID]: 'invalid_grant',
  [Code.KEYCHAIN_TIMEOUT]: 'keychain_timeout',
  [Code.KEYCHAIN_UNAVAILABLE]: 'keychain_unavailable',
  [Code.KEYCHAIN_FAILED]: 'keychain_failed',
  [Code.SAVE_FAILED]: 'save_failed',
};
