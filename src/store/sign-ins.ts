// The one home of sign-ins: four units over one config dir. `records` (the sign-ins and their
// secrets), `registrations` (the client-registration cache and issuer pins), `cooldown` (tabs left
// unfinished) and `locks` (refresh and sign-in locks). login, status, logout, doctor and the proxy
// all go through it; none of them knows how a sign-in is split across stores, how a long secret is
// split across keychain entries, which lock files exist, or what is registered for redaction.
import type { Logger } from '../log.js';
import { TabCooldown } from './cooldown.js';
import type { KeychainOptions } from './keychain.js';
import { SignInLocks } from './locks.js';
import { SignInRecords } from './records.js';
import { Registrations } from './registrations.js';
import { SecretStores } from './secret-stores.js';
import type { SecretStore, SecretStoreKind, StorePreference } from './secrets.js';

export { signInKey, type NewSignIn } from './records.js';
export type { CachedClient, RegistrationKey } from './registrations.js';

export interface SignInsOptions {
  /** The config dir: state.json, locks/, and the 0600 secrets file when that is the store. */
  dir: string;
  logger: Logger;
  /** Where a new sign-in's secrets go (`--store`, APPWRITE_MCP_STORE). */
  storePreference: StorePreference;
  /** Timeout per keychain call, platform, and (tests) a stand-in for the native keychain. */
  keychain?: Partial<KeychainOptions>;
  now?: () => number;
}

export class SignIns {
  readonly dir: string;
  readonly records: SignInRecords;
  readonly registrations: Registrations;
  readonly cooldown: TabCooldown;
  readonly locks: SignInLocks;
  private readonly stores: SecretStores;

  constructor(o: SignInsOptions) {
    const now = o.now ?? Date.now;
    this.dir = o.dir;
    this.stores = new SecretStores(o);
    this.records = new SignInRecords(o.dir, o.logger, this.stores, now);
    this.registrations = new Registrations(o.dir, o.logger, this.stores, now);
    this.cooldown = new TabCooldown(o.dir, o.logger, now);
    this.locks = new SignInLocks(o.dir);
  }

  /** Picks (and probes, once) the store for new secrets; done before the browser opens, not after. */
  chooseStore(): Promise<SecretStore> {
    return this.stores.choose();
  }

  /** Where secrets of this kind live, for people ("OS keychain (Secret Service), …", "file … (mode 0600)"). */
  describeStore(kind: SecretStoreKind): string {
    return this.stores.describe(kind);
  }
}
