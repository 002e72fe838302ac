/**
 * Why a refresh did not work: the grant is gone (sign in again), or the AS could not be asked
 * (retry later). In its own module so the proxy can tell them apart without loading oauth4webapi.
 */
export class RefreshError extends Error {
  readonly kind: 'invalid_grant' | 'invalid_client' | 'unreachable' | 'server_error';
  constructor(kind: RefreshError['kind'], message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'RefreshError';
    this.kind = kind;
  }
}
