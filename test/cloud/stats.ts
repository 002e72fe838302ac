// Counters the tests assert on.
export interface CloudStats {
  registrations: number;
  authorizationCodeGrants: number;
  refreshGrants: number;
  refreshFailures: number;
  /**
   * Refresh tokens presented again after they were spent (rotated away): oidc-provider's reuse
   * detection then revokes the whole grant ("refresh token already used").
   */
  refreshReuse: number;
  revocations: number;
  authorizeRequests: number;
  mcpRequests: number;
  mcpUnauthorized: number;
  /** JSON-RPC `ping` requests the 2025-era server received (every layout, HTTP+SSE included). */
  mcpPings: number;
  sessionDeletes: number;
  /** Client ID Metadata Documents fetched by the AS, and those it refused. */
  clientMetadataFetches: number;
  clientMetadataRejections: number;
  /** Device authorization requests answered with a code (RFC 8628 §3.2), and device codes exchanged for tokens. */
  deviceAuthorizations: number;
  deviceCodeGrants: number;
}

/** A poll of the token endpoint with a device code: when it arrived, and its answer (an error code, or `tokens`). */
export interface DevicePoll {
  at: number;
  answer: string;
}

export function zeroStats(): CloudStats {
  return {
    registrations: 0,
    authorizationCodeGrants: 0,
    refreshGrants: 0,
    refreshFailures: 0,
    refreshReuse: 0,
    revocations: 0,
    authorizeRequests: 0,
    mcpRequests: 0,
    mcpUnauthorized: 0,
    mcpPings: 0,
    sessionDeletes: 0,
    clientMetadataFetches: 0,
    clientMetadataRejections: 0,
    deviceAuthorizations: 0,
    deviceCodeGrants: 0,
  };
}
