// DPoP on the wire: the nonces servers hand out (RFC 9449 §8, §9), the headers a request to the MCP
// server carries with a DPoP-bound token (§7.1), and the one retry a nonce challenge earns, at the
// MCP server (a 401) and at the token endpoint (a 400, through oauth4webapi's DPoP handle).
import * as oauth from 'oauth4webapi';
import type { DpopKey } from './dpop.js';

/** How many servers' nonces are remembered (as many as oauth4webapi's DPoP handle keeps). */
const MAX_ORIGINS = 100;

/** What `observe` needs of a response: its status and a header lookup (fetch's or the proxy's). */
export interface ObservedResponse {
  status: number;
  header(name: string): string | null | undefined;
}

/** The latest DPoP-Nonce of each server, by origin (RFC 9449 §8.2, §9): a new one replaces the old. */
export class DpopNonces {
  private readonly byOrigin = new Map<string, string>();

  get(url: URL): string | undefined {
    return this.byOrigin.get(url.origin);
  }

  /** Keeps `nonce` (when there is one) as url's origin's latest. */
  remember(url: URL, nonce: string | null | undefined): void {
    if (!nonce) return;
    this.byOrigin.delete(url.origin);
    if (this.byOrigin.size >= MAX_ORIGINS) this.byOrigin.delete(this.byOrigin.keys().next().value!);
    this.byOrigin.set(url.origin, nonce);
  }
}

/**
 * Is this `WWW-Authenticate` a DPoP challenge with error `use_dpop_nonce` (RFC 9449 §9)? The error
 * is a registered token; the scheme may share the header with a Bearer challenge (§7.2).
 */
export function isUseDpopNonceChallenge(wwwAuthenticate: string | null | undefined): boolean {
  if (!wwwAuthenticate) return false;
  return /(?:^|,)\s*dpop(?=\s|,|$)/i.test(wwwAuthenticate) && /\berror\s*=\s*"?use_dpop_nonce\b/i.test(wwwAuthenticate);
}

/** One signed request: its headers, and what its answer means for a retry. */
export interface SignedRequest {
  /** `authorization: DPoP <token>` and `dpop: <proof>` (RFC 9449 §7.1). */
  headers: { authorization: string; dpop: string };
  /**
   * Reads the answer: keeps its DPoP-Nonce (any status may carry one, §8.2), and says whether it is
   * a use_dpop_nonce challenge with a nonce this request did not carry, which a new proof answers.
   */
  retryWithNonce(res: ObservedResponse): boolean;
}

/**
 * Requests to resource servers with a DPoP-bound access token: `Authorization: DPoP <token>` and a
 * fresh proof bound to the method, the URL and the token, carrying the server's latest nonce.
 * Callers send a request whose answer asks for a nonce once more, and only once: a server that
 * keeps asking gets its 401 back.
 */
export class DpopResourceSigner {
  constructor(readonly key: DpopKey, private readonly nonces: DpopNonces = new DpopNonces()) {}

  /** One attempt of a request: a new proof (new `jti`) every call. */
  async sign(accessToken: string, method: string, url: URL): Promise<SignedRequest> {
    const sent = this.nonces.get(url);
    const dpop = await this.key.proof({ method, url, accessToken, nonce: sent });
    return {
      headers: { authorization: `DPoP ${accessToken}`, dpop },
      retryWithNonce: (res) => {
        const nonce = res.header('dpop-nonce');
        this.nonces.remember(url, nonce);
        // Compared with what this request carried, not with what is kept: requests that were in
        // flight together each get their retry when the first answer brings the nonce.
        return res.status === 401 && Boolean(nonce) && nonce !== sent && isUseDpopNonceChallenge(res.header('www-authenticate'));
      },
    };
  }
}

/**
 * A token endpoint exchange (oauth4webapi's request and its processing) made with a DPoP handle.
 * When the authorization server answers use_dpop_nonce (RFC 9449 §8: a 400 with a DPoP-Nonce), the
 * handle has kept that nonce, and the exchange runs once more, its new proof carrying it.
 */
export async function withDpopNonceRetry<T>(exchange: () => Promise<T>): Promise<T> {
  try {
    return await exchange();
  } catch (err) {
    if (!oauth.isDPoPNonceError(err)) throw err;
    return exchange();
  }
}
