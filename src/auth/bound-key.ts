// The DPoP key a stored sign-in's tokens are bound to (RFC 9449), as the proxy holds it: read once
// from the secret store, checked against the thumbprint the record names, and kept with
// oauth4webapi's handle (for refreshes: it learns the AS's nonces) and the resource signer (for
// requests to the MCP server: it learns the server's nonces, per origin). Loaded only for a
// sign-in that is bound (stored-authorizer.ts imports this module on demand), so a Bearer sign-in
// never loads it.
import type * as oauth from 'oauth4webapi';
import { bearerPresentation } from '../authorization.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { SignInRecord } from '../store/types.js';
import type { Presenter } from './discovery.js';
import { DpopKey } from './dpop.js';
import { DpopNonces, DpopResourceSigner } from './dpop-requests.js';

export interface BoundKey {
  key: DpopKey;
  /** Token endpoint requests (refresh): oauth4webapi's handle over the same key pair. */
  handle: oauth.DPoPHandle;
  /** Requests to the MCP server. */
  signer: DpopResourceSigner;
}

export class BoundKeys {
  private current?: BoundKey;
  /** Server nonces outlive a key: they belong to the server (its origin), not to the key. */
  private readonly nonces = new DpopNonces();

  constructor(private readonly read: (record: SignInRecord) => Promise<string | undefined>, private readonly logger: Logger) {}

  /** Holds `key` (a sign-in just made with it), unless it is the one held already. */
  adopt(key: DpopKey): BoundKey {
    if (this.current?.key.thumbprint !== key.thumbprint) {
      this.current = { key, handle: key.handle(), signer: new DpopResourceSigner(key, this.nonces) };
    }
    return this.current;
  }

  /**
   * The key `record`'s tokens are bound to; undefined when they are not bound, or when the key is
   * missing from the store, unreadable, or another than the record names (then the tokens cannot be
   * used: the refresh is refused and a new sign-in follows, as for any refused grant).
   */
  async of(record: SignInRecord): Promise<BoundKey | undefined> {
    const jkt = record.dpop?.jkt;
    if (jkt === undefined) return undefined;
    if (this.current?.key.thumbprint === jkt) return this.current;
    let key: DpopKey | undefined;
    try {
      const stored = await this.read(record);
      key = stored === undefined ? undefined : await DpopKey.fromStored(stored);
    } catch (err) {
      this.logger.warn(`the DPoP key of the sign-in to ${record.url} could not be read (${errorMessage(err)}); its tokens cannot be used, a new sign-in is needed`);
      return undefined;
    }
    if (key?.thumbprint !== jkt) {
      this.logger.warn(`the DPoP key of the sign-in to ${record.url} is ${key ? 'not the one its tokens are bound to' : 'missing from the secret store'}; its tokens cannot be used, a new sign-in is needed`);
      return undefined;
    }
    return this.adopt(key);
  }
}

/**
 * How a check (status --check, doctor) presents a stored access token: with proofs by the sign-in's
 * key when the token is DPoP-bound (`tokenType` dpop and the record names a key), else as Bearer.
 * A bound token whose key is gone goes as Bearer (and is refused: what the check should show).
 */
export async function checkPresenter(record: SignInRecord, accessToken: string, tokenType: string | undefined, read: (record: SignInRecord) => Promise<string | undefined>, logger: Logger): Promise<Presenter> {
  const bound = tokenType?.toLowerCase() === 'dpop' ? await new BoundKeys(read, logger).of(record) : undefined;
  if (!bound) return { scheme: 'Bearer', present: async () => bearerPresentation(accessToken) };
  return { scheme: 'DPoP', present: (method, url) => bound.signer.sign(accessToken, method, url) };
}
