// The secret stores one process uses: the one new secrets go to (chosen, and probed, once) and the
// one each existing sign-in names, opened without a probe.
import type { Logger } from '../log.js';
import type { KeychainOptions } from './keychain.js';
import { openSecretStore, secretStoreOfKind, type SecretStore, type SecretStoreKind, type StorePreference } from './secrets.js';

export interface SecretStoresOptions {
  dir: string;
  logger: Logger;
  /** Where a new sign-in's secrets go (`--store`, APPWRITE_MCP_STORE). */
  storePreference: StorePreference;
  /** Timeout per keychain call, platform, and (tests) a stand-in for the native keychain. */
  keychain?: Partial<KeychainOptions>;
}

export class SecretStores {
  private readonly stores = new Map<SecretStoreKind, SecretStore>();
  private chosen?: Promise<SecretStore>;

  constructor(private readonly o: SecretStoresOptions) {}

  /** Picks (and probes, once) the store for new secrets; done before the browser opens, not after. */
  choose(): Promise<SecretStore> {
    this.chosen ??= openSecretStore({ prefer: this.o.storePreference, dir: this.o.dir, logger: this.o.logger, keychain: this.o.keychain }).then((store) => {
      this.stores.set(store.kind, store);
      return store;
    });
    return this.chosen;
  }

  of(kind: SecretStoreKind): SecretStore {
    let store = this.stores.get(kind);
    if (!store) {
      store = secretStoreOfKind(kind, { dir: this.o.dir, logger: this.o.logger, keychain: this.o.keychain });
      this.stores.set(kind, store);
    }
    return store;
  }

  describe(kind: SecretStoreKind): string {
    return this.of(kind).describe();
  }
}
