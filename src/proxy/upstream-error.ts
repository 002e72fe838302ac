import { tlsHint } from '../net.js';
import { AuthorizationError } from './authorizer.js';
import { ErrorCode, type JsonRpcId } from './jsonrpc.js';
import { RequestAbortedError, ResponseTimeoutError } from './request.js';

/** Why a message could not be delivered; the bridge turns it into JSON-RPC errors for `unanswered`. */
export class UpstreamError extends Error {
  /** Requests in the failed message that got no response. */
  unanswered: JsonRpcId[] = [];
  constructor(
    message: string,
    readonly code: number,
    readonly data: { reason: string; status?: number },
  ) {
    super(message);
    this.name = 'UpstreamError';
  }

  /** Normalises whatever a send failed with: auth, timeout, network or already an UpstreamError. */
  static from(err: unknown, host: string): UpstreamError {
    if (err instanceof UpstreamError) return err;
    if (err instanceof AuthorizationError) return new UpstreamError(err.message, ErrorCode.AuthorizationFailed, { reason: err.code });
    if (err instanceof RequestAbortedError) return new UpstreamError('The request was cancelled.', ErrorCode.UpstreamFailure, { reason: 'cancelled' });
    if (err instanceof ResponseTimeoutError) {
      return new UpstreamError(`The MCP server at ${host} did not answer (${err.message}).`, ErrorCode.UpstreamFailure, { reason: 'timeout' });
    }
    const code = (err as { code?: string }).code;
    const tls = tlsHint(code);
    if (tls) return new UpstreamError(`Cannot connect to the MCP server at ${host}: ${tls}.`, ErrorCode.UpstreamFailure, { reason: 'tls' });
    const detail = code ?? (err as Error).message ?? String(err);
    return new UpstreamError(`The MCP server at ${host} is unreachable (${detail}). Check your network connection; requests will work again once it is reachable.`, ErrorCode.UpstreamFailure, { reason: 'unreachable' });
  }
}
