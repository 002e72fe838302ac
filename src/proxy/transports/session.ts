// The MCP session with the server (Streamable HTTP, 2025 era): its id and negotiated protocol
// version (sent on every request after initialize), the client's initialize params (kept to
// renew an expired session), and a gate that holds other messages while a handshake runs.
import type { Frame } from './transport.js';

export class Session {
  id: string | undefined;
  protocolVersion: string | undefined;
  /** The client's initialize params, for a re-initialize after the server forgot the session. */
  initializeParams: unknown;
  private handshake: Promise<unknown> | undefined;
  private renewing: Promise<unknown> | undefined;

  /** Headers for a request: the user's, the token's (`auth`), the session id and protocol version. */
  headers(base: Record<string, string>, auth: Record<string, string> | undefined, opts: { initialize?: boolean; sessionId?: string } = {}): Record<string, string> {
    const headers: Record<string, string> = auth ? { ...base, ...auth } : { ...base };
    const sessionId = opts.initialize ? undefined : opts.sessionId ?? this.id;
    if (sessionId) headers['mcp-session-id'] = sessionId;
    if (this.protocolVersion && !opts.initialize) headers['mcp-protocol-version'] = this.protocolVersion;
    return headers;
  }

  /** Sees an initialize answer go by (its protocol version is the session's), then hands it on. */
  answering(onresponse?: (frame: Frame) => boolean): (frame: Frame) => boolean {
    return (frame) => {
      const version = (frame.message.result as { protocolVersion?: unknown } | undefined)?.protocolVersion;
      this.protocolVersion = typeof version === 'string' ? version : undefined;
      return onresponse?.(frame) ?? false;
    };
  }

  reset(): void {
    this.id = undefined;
    this.protocolVersion = undefined;
  }

  /** Holds other sends back until `work` settles. */
  gate<T>(work: Promise<T>): Promise<T> {
    const handshake = work.finally(() => {
      if (this.handshake === handshake) this.handshake = undefined;
    });
    this.handshake = handshake;
    return handshake;
  }

  /** Waits for a handshake in progress, if any (its failure is the handshake's to report). */
  async settled(): Promise<void> {
    if (this.handshake) await this.handshake.catch(() => {});
  }

  /** A 404 on session `expired`: one `renew` shared by every request that hit it. */
  async recover(expired: string, renew: () => Promise<unknown>): Promise<void> {
    if (!this.renewing && this.id === expired) {
      this.renewing = this.gate(renew()).finally(() => (this.renewing = undefined));
    }
    if (this.renewing) await this.renewing;
    else if (this.handshake) await this.handshake;
  }
}
