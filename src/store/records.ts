// Sign-in records: what is in state.json about each sign-in (server, AS metadata, client, account,
// the access token's non-secret facts) and its secrets in the secret store (access token, refresh
// token, client secret), tied together by a fingerprint. Nothing else knows how a sign-in is split.
//
// Writes are ordered so that the secret that cannot be had again, the (rotating) refresh token, is
// durable first: refresh token, then access token, then state.json; a DPoP key comes before all
// of them (its tokens are worthless without it). A reader checks the access token against the
// fingerprint in the record and treats a mismatch as "refresh needed".
import type { AuthorizationServer } from 'oauth4webapi';
import { AppError, Code, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { migrateLegacySignIn } from './legacy.js';
import type { Lease } from './lock.js';
import { deleteSecret, fingerprint, readSecret, secretName, secretWrites, sha256, storedPartNames, tokensOf, tokenWrites } from './secret-parts.js';
import type { SecretStores } from './secret-stores.js';
import type { SecretStore } from './secrets.js';
import { loadState, updateState } from './state.js';
import type { Account, ClientRecord, DpopBinding, SignIn, SignInRecord, Target, Tokens } from './types.js';

/** What a completed sign-in hands over to be kept. */
export interface NewSignIn {
  target: Target;
  resource: string;
  /** The AS was asked without `resource` (--no-resource): refreshes go without it too. */
  noResource?: boolean;
  as: AuthorizationServer;
  client: ClientRecord;
  /** The client's secret, kept with the sign-in's tokens (the token endpoint needs it for refreshes). */
  clientSecret?: string;
  account?: Account;
  tokens: Tokens;
  /** The DPoP key the tokens are bound to: its binding, and the string that keeps its private half (auth/dpop.ts). */
  dpop?: DpopBinding & { stored: string };
}

/**
 * The key of a target's sign-in: its URL, plus the profile and a hash of the extra headers when
 * there are any, so two client configs that differ in either never share tokens or locks.
 */
export function signInKey(target: Target): string {
  const parts: string[] = [];
  if (target.profile) parts.push(`profile=${encodeURIComponent(target.profile)}`);
  const headers = Object.entries(target.headers ?? {});
  if (headers.length > 0) {
    const canonical = headers.map(([name, value]) => `${name.toLowerCase()}:${value}`).sort().join('\n');
    parts.push(`headers=${sha256(canonical).slice(0, 12)}`);
  }
  return parts.length ? `${target.url}#${parts.join('&')}` : target.url;
}

export class SignInRecords {
  constructor(private readonly dir: string, private readonly logger: Logger, private readonly stores: SecretStores, private readonly now: () => number) {}

  async list(): Promise<SignInRecord[]> {
    const state = await loadState(this.dir, this.logger);
    return Object.values(state.signIns).sort((a, b) => a.key.localeCompare(b.key));
  }

  async record(key: string): Promise<SignInRecord | undefined> {
    return (await loadState(this.dir, this.logger)).signIns[key];
  }

  /**
   * The sign-in for `key` as the stores have it now (another copy may have changed it): without
   * `tokens` when the access token is missing or torn (refresh it). Throws when the secret store
   * cannot be read (keychain locked, timed out).
   */
  async load(key: string): Promise<SignIn | undefined> {
    for (let attempt = 0; ; attempt++) {
      const record = await this.record(key);
      if (!record) return undefined;
      if (record.legacySecret) {
        const migrated = await migrateLegacySignIn(record, this.stores.of(record.store), this.dir, this.logger);
        if (migrated || attempt > 0) return migrated;
        continue; // another copy migrated it meanwhile: read the new layout
      }
      const accessToken = await readSecret(this.stores.of(record.store), secretName(key, 'access'), record.token.parts);
      if (accessToken !== undefined && fingerprint(accessToken) === record.token.fingerprint) {
        return { record, tokens: tokensOf(record.token, accessToken) };
      }
      // Written by another copy between our two reads, or cut short: read once more, then refresh.
      if (attempt > 0) {
        this.logger.debug(`the stored access token for ${record.url} does not match its record; it will be refreshed`);
        return { record };
      }
    }
  }

  /** The refresh token, read only when a refresh is due. */
  refreshToken(record: SignInRecord): Promise<string | undefined> {
    return readSecret(this.stores.of(record.store), secretName(record.key, 'refresh'), 1);
  }

  /** The DPoP key this sign-in's tokens are bound to, as stored (auth/dpop.ts reads it); undefined when missing or torn. */
  dpopKey(record: SignInRecord): Promise<string | undefined> {
    return readSecret(this.stores.of(record.store), secretName(record.key, 'dpop-key'), 1);
  }

  /** The secret of the client this sign-in was made with, when it has one. */
  async clientSecret(record: SignInRecord): Promise<string | undefined> {
    if (!record.client.hasSecret) return undefined;
    return readSecret(this.stores.of(record.store), secretName(record.key, 'client-secret'), 1);
  }

  /** Keeps a completed sign-in, replacing any earlier one for the same target (and its cool-down). */
  async save(input: NewSignIn, store: SecretStore): Promise<SignInRecord> {
    const key = signInKey(input.target);
    const previous = await this.record(key);
    const tokens = tokenWrites(store, key, input.tokens, previous?.store === store.kind ? previous.token : undefined);
    const keyName = secretName(key, 'dpop-key');
    // The key first: a refresh token bound to it is worth nothing without it.
    const changes = input.dpop ? [...secretWrites(store, keyName, input.dpop.stored), ...tokens.changes] : tokens.changes;
    if (!input.dpop && previous?.dpop && previous.store === store.kind) changes.push([keyName, undefined]);
    const { token } = tokens;
    const clientSecretName = secretName(key, 'client-secret');
    if (input.clientSecret !== undefined) changes.push(...secretWrites(store, clientSecretName, input.clientSecret));
    else if (previous?.client.hasSecret && previous.store === store.kind) changes.push([clientSecretName, undefined]);
    await store.write(changes);
    const record = newRecord(input, key, token, store.kind, this.now());
    const replaced = await updateState(this.dir, this.logger, (s) => {
      const old = s.signIns[key];
      s.signIns[key] = record;
      delete s.signInFailures?.[key];
      return old;
    });
    if (replaced && (replaced.store !== store.kind || replaced.legacySecret)) {
      // Signed in again into another store: do not leave the old secrets behind.
      await this.deleteSecrets(replaced).catch((err) => this.logger.warn(`could not delete the previous secrets from ${this.stores.describe(replaced.store)} (${errorMessage(err)})`));
    }
    return record;
  }

  /** Records who signed in, when only userinfo could say it (after the sign-in was saved). */
  async saveAccount(record: SignInRecord, account: Account): Promise<SignInRecord> {
    await updateState(this.dir, this.logger, (s) => {
      if (s.signIns[record.key]) s.signIns[record.key]!.account = account;
    });
    return { ...record, account };
  }

  /**
   * Keeps refreshed tokens: the refresh token first, then the access token, then the record. Throws
   * AppError STORE_SAVE_FAILED (naming where) when any of it could not be written; the caller keeps
   * the tokens in memory and tries again. With the refresh lock's `lease`, each write is made only
   * while the lock is still held (else AppError STORE_LOCK_LOST, and nothing more is written).
   */
  async saveRefresh(record: SignInRecord, tokens: Tokens, lease?: Lease): Promise<SignInRecord> {
    const store = this.stores.of(record.store);
    const { changes, token } = tokenWrites(store, record.key, tokens, record.token);
    await lease?.assertHeld();
    try {
      await store.write(changes);
    } catch (err) {
      throw new AppError(Code.SAVE_FAILED, `could not save the refreshed sign-in to ${store.describe()}: ${errorMessage(err)}`, { cause: err });
    }
    const next: SignInRecord = { ...record, token, updatedAt: this.now() };
    await lease?.assertHeld();
    try {
      await updateState(this.dir, this.logger, (s) => {
        if (s.signIns[record.key]) s.signIns[record.key] = { ...s.signIns[record.key]!, token, updatedAt: next.updatedAt };
      });
    } catch (err) {
      throw new AppError(Code.SAVE_FAILED, `saved the refreshed tokens to ${store.describe()}, but could not update ${this.dir}/state.json: ${errorMessage(err)}`, { cause: err });
    }
    return next;
  }

  /**
   * The AS refused the refresh token for good (invalid_grant): drop it, so that no copy spends
   * another request on it; the sign-in then needs the browser.
   */
  async dropRefreshToken(record: SignInRecord, lease?: Lease): Promise<void> {
    await lease?.assertHeld();
    await deleteSecret(this.stores.of(record.store), secretName(record.key, 'refresh'));
    await updateState(this.dir, this.logger, (s) => {
      const current = s.signIns[record.key];
      if (current) current.token = { ...current.token, hasRefreshToken: false };
    });
  }

  /**
   * Deletes a sign-in's secrets, then its record. When the secrets cannot be deleted the record
   * stays (it is what lets `status` and a second `logout` find them) and the error is thrown.
   */
  async forget(record: SignInRecord): Promise<{ deleted: boolean }> {
    const deleted = await this.deleteSecrets(record);
    await updateState(this.dir, this.logger, (s) => {
      delete s.signIns[record.key];
      delete s.signInFailures?.[record.key];
    });
    return { deleted };
  }

  /** Deletes every entry of a sign-in's secrets; false when there was nothing to delete. */
  private async deleteSecrets(record: SignInRecord): Promise<boolean> {
    const store = this.stores.of(record.store);
    const names = record.legacySecret
      ? ((await store.read(record.legacySecret)) === undefined ? [] : [record.legacySecret])
      : [
          ...await storedPartNames(store, secretName(record.key, 'refresh')),
          ...await storedPartNames(store, secretName(record.key, 'access')),
          ...(record.client.hasSecret ? await storedPartNames(store, secretName(record.key, 'client-secret')) : []),
          ...(record.dpop ? await storedPartNames(store, secretName(record.key, 'dpop-key')) : []),
        ];
    if (names.length === 0) return false;
    await store.write(names.map((name) => [name, undefined] as const));
    return true;
  }
}

function newRecord(input: NewSignIn, key: string, token: SignInRecord['token'], store: SignInRecord['store'], now: number): SignInRecord {
  const headerNames = Object.keys(input.target.headers ?? {}).sort();
  return {
    key,
    url: input.target.url,
    ...(input.target.profile ? { profile: input.target.profile } : {}),
    ...(headerNames.length ? { headerNames } : {}),
    resource: input.resource,
    ...(input.noResource ? { noResource: true as const } : {}),
    as: input.as,
    client: { ...input.client, ...(input.clientSecret !== undefined ? { hasSecret: true } : {}) },
    account: input.account,
    token,
    store,
    ...(input.dpop ? { dpop: { alg: input.dpop.alg, jkt: input.dpop.jkt } } : {}),
    signedInAt: now,
    updatedAt: now,
  };
}
