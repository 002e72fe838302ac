// Why a client message could not be delivered to the MCP server, in words for the user: the
// bridge turns an UpstreamError into one JSON-RPC error per request left unanswered.
import { AppError, Code, isAppError, rpcReason, type ErrorCode } from '../../errors.js';
import { RequestAbortedError, ResponseTimeoutError } from '../../http/client.js';
import { classifyNetworkError } from '../../http/network-error.js';
import { loginCommand } from '../../target.js';
import { ErrorCode as RpcCode, type JsonRpcId } from '../jsonrpc.js';
import { formatSeconds } from '../limits.js';

const AUTH_CODES: readonly ErrorCode[] = [Code.SIGN_IN_REQUIRED, Code.AS_UNREACHABLE, Code.TOKEN_REJECTED, Code.STEP_UP_FAILED, Code.UPSTREAM_FORBIDDEN, Code.LOCK_TIMEOUT];

export class UpstreamError extends AppError {
  /** Requests in the failed message that got no response. */
  unanswered: JsonRpcId[] = [];
  readonly status?: number;
  /** The start of the response body of an HTTP error (what era detection reads). */
  readonly body?: string;
  /** When the server said to try again (429/503 Retry-After), in seconds from when it said so. */
  readonly retryAfter?: number;

  constructor(code: ErrorCode, message: string, options: { status?: number; body?: string; cause?: unknown; retryAfter?: number } = {}) {
    super(code, message, { cause: options.cause });
    this.name = 'UpstreamError';
    this.status = options.status;
    this.body = options.body;
    this.retryAfter = options.retryAfter;
  }

  /** The JSON-RPC error code: -32001 when signing in is the problem, -32000 otherwise. */
  get rpcCode(): number {
    return AUTH_CODES.includes(this.code) ? RpcCode.AuthorizationFailed : RpcCode.UpstreamFailure;
  }

  /** The JSON-RPC error `data`. */
  get data(): { reason: string; status?: number; retryAfter?: number } {
    const data: { reason: string; status?: number; retryAfter?: number } = { reason: rpcReason(this.code) };
    if (this.status !== undefined) data.status = this.status;
    if (this.retryAfter !== undefined) data.retryAfter = this.retryAfter;
    return data;
  }

  /** Normalises whatever a send failed with: auth, timeout, network or already an UpstreamError. */
  static from(err: unknown, host: string): UpstreamError {
    if (err instanceof UpstreamError) return err;
    if (isAppError(err)) return new UpstreamError(err.code, err.message, { cause: err });
    if (err instanceof RequestAbortedError) return new UpstreamError(Code.CANCELLED, 'The request was cancelled.', { cause: err });
    if (err instanceof ResponseTimeoutError) return new UpstreamError(Code.UPSTREAM_TIMEOUT, `The MCP server at ${host} did not answer (${err.message}).`, { cause: err });
    const failure = classifyNetworkError(err);
    if (failure.kind === 'tls') return new UpstreamError(Code.UPSTREAM_TLS, `Cannot connect to the MCP server at ${host}: ${failure.description}.`, { cause: err });
    const detail = failure.code ?? (err as Error).message ?? String(err);
    return new UpstreamError(Code.UNREACHABLE, `The MCP server at ${host} is unreachable (${detail}). Check your network connection; requests will work again once it is reachable.`, { cause: err });
  }
}

/** The error for a non-2xx answer that no retry could fix, its body already read (see body.ts httpFailure). */
export function httpFailureOf(status: number, body: string, url: string, retryAfter?: string): UpstreamError {
  const host = new URL(url).host;
  const detail = errorDetail(body);
  const suffix = detail ? `: ${detail}` : '';
  if (status === 429 || status === 503) {
    const ms = retryAfterMs(retryAfter);
    const when = ms === undefined ? 'Try again shortly.' : `It asks to retry in ${formatSeconds(ms)}${ms >= 60_000 ? ` (at ${new Date(Date.now() + ms).toISOString()})` : ''}; try again then.`;
    const what = status === 429 ? `is rate-limiting requests (HTTP 429)` : `is unavailable (HTTP 503)`;
    return new UpstreamError(status === 429 ? Code.UPSTREAM_RATE_LIMITED : Code.UPSTREAM_UNAVAILABLE, `The MCP server at ${host} ${what}${suffix}. ${when}`, { status, body, retryAfter: ms === undefined ? undefined : Math.ceil(ms / 1000) });
  }
  if (status >= 500) {
    return new UpstreamError(Code.UPSTREAM_SERVER_ERROR, `The MCP server at ${host} is unavailable (HTTP ${status})${suffix}. Try again shortly.`, { status, body });
  }
  if (status === 401) {
    return new UpstreamError(Code.TOKEN_REJECTED, `The MCP server at ${host} rejected the sign-in (HTTP 401) even with a fresh token. Run \`${loginCommand(url)}\` in a terminal to sign in again.`, { status, body });
  }
  if (status === 403) {
    return new UpstreamError(Code.UPSTREAM_FORBIDDEN, `The MCP server at ${host} refused access (HTTP ${status})${suffix}.`, { status, body });
  }
  return new UpstreamError(Code.UPSTREAM_HTTP_ERROR, `The MCP server at ${host} answered HTTP ${status}${suffix}`, { status, body });
}

/** The useful part of an error body: a JSON-RPC error message, an OAuth error_description, or short text. */
function errorDetail(text: string): string {
  const trimmed = text.trim();
  if (!trimmed) return '';
  try {
    const body = JSON.parse(trimmed) as { error?: { message?: string } | string; error_description?: string; message?: string };
    if (typeof body.error === 'object' && body.error?.message) return body.error.message;
    return body.error_description ?? body.message ?? (typeof body.error === 'string' ? body.error : '');
  } catch {
    return trimmed.length <= 200 && !trimmed.startsWith('<') ? trimmed : '';
  }
}

/**
 * A Retry-After value (RFC 9110 §10.2.3) in ms from now: delay-seconds or an HTTP-date (a date in
 * the past is 0). Undefined when absent or unreadable.
 */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** What a send failed with, as the client will hear it: a timeout when --request-timeout ended it, with the requests left unanswered. */
export function sendFailure(err: unknown, pending: { why?: string; unanswered(): JsonRpcId[] }, host: string, requestTimeoutMs?: number): UpstreamError {
  const failure = pending.why === 'timeout' && requestTimeoutMs !== undefined
    ? new UpstreamError(Code.UPSTREAM_TIMEOUT, `The MCP server at ${host} did not answer within ${formatSeconds(requestTimeoutMs)} (--request-timeout); gave up on the request. Raise the bound with --request-timeout <seconds> in the appwrite-mcp arguments of your client's config.`)
    : UpstreamError.from(err, host);
  failure.unanswered = pending.unanswered();
  return failure;
}
