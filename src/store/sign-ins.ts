// The one home of sign-ins. A sign-in is a record in state.json (server, AS metadata, client,
// account, the access token's non-secret facts) plus its secrets in the secret store (the access
// token, the refresh token), tied together by a fingerprint. `login`, `status`, `logout` and the
// proxy all go through this module; none of them knows how a sign-in is split across stores, how
// a long secret is split across keychain entries, which locks exist, or what is registered for
// redaction.
//
// Writes are ordered so that the secret that cannot be had again, the (rotating) refresh token,
// is durable first: refresh token, then access token, then state.json. A reader checks every
// access token against the fingerprint in the record and treats a mismatch as "refresh needed".
import { createHash } from 'node:crypto';
import type { AuthorizationServer } from 'oauth4webapi';
import { AppError, Code, errorMessage } from '../errors.js';
import { registerSecret, type Logger } from '../log.js';
import type { KeychainOptions } from './keychain.js';
import { acquireLock, withLock, type Lease, type LockHandle, type LockOptions } from './lock.js';
import { openSecretStore, secretStoreOfKind, type SecretChange, type SecretStore, type SecretStoreKind, type StorePreference } from './secrets.js';
import { loadState, updateState } from './state.js';
import type { Account, ClientPurpose, ClientRecord, SignInRecord, Target, TokenInfo, Tokens } from './types.js';

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

/** A sign-in as read back: the record and, when it reads back intact, the access token. */
export interface StoredSignIn {
  record: SignInRecord;
  /** Undefined when the access token is missing or does not match the record: refresh it. */
  tokens?: Tokens;
}

/** What a completed browser sign-in hands over to be kept. */
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
}

export type LockPurpose = 'tokens' | 'sign-in';

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

export class SignIns {
  readonly dir: string;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly stores = new Map<SecretStoreKind, SecretStore>();
  private chosen?: Promise<SecretStore>;

  constructor(private readonly o: SignInsOptions) {
    this.dir = o.dir;
    this.logger = o.logger;
    this.now = o.now ?? Date.now;
  }

  // ── reading ──────────────────────────────────────────────────────────────────────────────

  async list(): Promise<SignInRecord[]> {
    const state = await loadState(this.dir, this.logger);
    return Object.values(state.signIns).sort((a, b) => a.key.localeCompare(b.key));
  }

  async record(key: string): Promise<SignInRecord | undefined> {
    return (await loadState(this.dir, this.logger)).signIns[key];
  }

  /**
   * The sign-in for `key` as the stores have it now (another copy may have changed it). Throws when
   * the secret store cannot be read (keychain locked, timed out).
   */
  async load(key: string): Promise<StoredSignIn | undefined> {
    for (let attempt = 0; ; attempt++) {
      const record = await this.record(key);
      if (!record) return undefined;
      if (record.legacySecret) {
        const migrated = await this.migrateLegacy(record);
        if (migrated || attempt > 0) return migrated;
        continue; // another copy migrated it meanwhile: read the new layout
      }
      const accessToken = await readSecret(this.storeOf(record.store), secretName(key, 'access'), record.token.parts);
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
    return readSecret(this.storeOf(record.store), secretName(record.key, 'refresh'), 1);
  }

  /** The secret of the client this sign-in was made with, when it has one. */
  async clientSecret(record: SignInRecord): Promise<string | undefined> {
    if (!record.client.hasSecret) return undefined;
    return readSecret(this.storeOf(record.store), secretName(record.key, 'client-secret'), 1);
  }

  describeStore(kind: SecretStoreKind): string {
    return this.storeOf(kind).describe();
  }

  // ── writing ──────────────────────────────────────────────────────────────────────────────

  /** Picks (and probes, once) the store for new secrets; done before the browser opens, not after. */
  chooseStore(): Promise<SecretStore> {
    this.chosen ??= openSecretStore({ prefer: this.o.storePreference, dir: this.dir, logger: this.logger, keychain: this.o.keychain });
    return this.chosen;
  }

  /** Keeps a completed sign-in, replacing any earlier one for the same target. */
  async saveSignIn(input: NewSignIn, store: SecretStore): Promise<SignInRecord> {
    const key = signInKey(input.target);
    const previous = await this.record(key);
    const { changes, token } = secretChanges(store, key, input.tokens, previous?.store === store.kind ? previous.token : undefined);
    const clientSecretName = secretName(key, 'client-secret');
    if (input.clientSecret !== undefined) changes.push(...encodeParts(input.clientSecret, store.maxValueLength).map((v, i) => [partNames(clientSecretName, MAX_PARTS)[i]!, v] as const));
    else if (previous?.client.hasSecret && previous.store === store.kind) changes.push([clientSecretName, undefined]);
    await store.write(changes);
    const now = this.now();
    const record: SignInRecord = {
      key,
      url: input.target.url,
      ...(input.target.profile ? { profile: input.target.profile } : {}),
      ...(input.target.headers && Object.keys(input.target.headers).length ? { headerNames: Object.keys(input.target.headers).sort() } : {}),
      resource: input.resource,
      ...(input.noResource ? { noResource: true as const } : {}),
      as: input.as,
      client: { ...input.client, ...(input.clientSecret !== undefined ? { hasSecret: true } : {}) },
      account: input.account,
      token,
      store: store.kind,
      signedInAt: now,
      updatedAt: now,
    };
    const replaced = await updateState(this.dir, this.logger, (s) => {
      const old = s.signIns[key];
      s.signIns[key] = record;
      delete s.signInFailures?.[key];
      return old;
    });
    this.stores.set(store.kind, store);
    if (replaced && (replaced.store !== store.kind || replaced.legacySecret)) {
      // Signed in again into another store: do not leave the old secrets behind.
      await this.deleteSecrets(replaced).catch((err) => this.logger.warn(`could not delete the previous secrets from ${this.describeStore(replaced.store)} (${errorMessage(err)})`));
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
   * AppError SAVE_FAILED (naming where) when any of it could not be written; the caller keeps the
   * tokens in memory and tries again. With the refresh lock's `lease`, each write is made only while
   * the lock is still held (else AppError STORE_LOCK_LOST, and nothing more is written).
   */
  async saveRefresh(record: SignInRecord, tokens: Tokens, lease?: Lease): Promise<SignInRecord> {
    const store = this.storeOf(record.store);
    const { changes, token } = secretChanges(store, record.key, tokens, record.token);
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
    const store = this.storeOf(record.store);
    await lease?.assertHeld();
    await store.write((await storedPartNames(store, secretName(record.key, 'refresh'))).map((name) => [name, undefined] as const));
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

  /** Forgets every cached client registration (and its secret) and remembered sign-in failure (`logout --all`). */
  async forgetClients(): Promise<void> {
    const clients = await updateState(this.dir, this.logger, (s) => {
      const all = Object.entries(s.clients);
      s.clients = {};
      s.signInFailures = {};
      return all;
    });
    for (const [cacheKey, client] of clients) {
      if (client.hasSecret) await this.deleteEntry(client.secretStore ?? 'file', clientSecretName(cacheKey)).catch((err) => this.logger.warn(`could not delete the secret of client ${client.clientId} (${errorMessage(err)})`));
    }
  }

  // ── client registrations (per AS issuer and MCP server, and what they are for) ─────────

  /**
   * The registration cached for `issuer`, `resource` and `purpose`, with its secret when it has one.
   * One whose secret cannot be read (or has expired) is as good as none: the caller registers again.
   */
  async cachedClient(registration: RegistrationKey): Promise<{ client: ClientRecord; secret?: string } | undefined> {
    const state = await loadState(this.dir, this.logger);
    let key = clientCacheKey(registration);
    let client = state.clients[key];
    if (!client) {
      // appwrite-mcp before 0.2 cached one registration per issuer: still good for the servers it signed in to.
      key = legacyClientCacheKey(registration);
      client = state.clients[key];
      const usedHere = client && Object.values(state.signIns).some((s) => s.client.clientId === client!.clientId && s.resource === registration.resource);
      if (!usedHere) return undefined;
    }
    const issuer = registration.issuer;
    if (client.secretExpiresAt !== undefined && client.secretExpiresAt <= this.now() + 60_000) return undefined;
    if (!client.hasSecret) return { client };
    const secret = await readSecret(this.storeOf(client.secretStore ?? 'file'), clientSecretName(key), 1).catch((err: unknown) => {
      this.logger.debug(`the cached client's secret for ${issuer} could not be read: ${errorMessage(err)}`);
      return undefined;
    });
    return secret === undefined ? undefined : { client, secret };
  }

  /**
   * Caches a registration for reuse by later sign-ins with this AS to this MCP server (never another:
   * a server that names a legitimate AS must not get our client id and the consent the user gave it);
   * its secret goes to the secret store.
   */
  async saveClient(registration: RegistrationKey, client: ClientRecord, secret: string | undefined): Promise<void> {
    const key = clientCacheKey(registration);
    let cached = client;
    if (secret !== undefined) {
      const store = await this.chooseStore();
      const name = clientSecretName(key);
      await store.write(encodeParts(secret, store.maxValueLength).map((v, i) => [partNames(name, MAX_PARTS)[i]!, v] as const));
      cached = { ...client, hasSecret: true, secretStore: store.kind };
    }
    await updateState(this.dir, this.logger, (s) => { s.clients[key] = cached; });
  }

  /** The AS no longer knows this client: the next sign-in registers anew. */
  async forgetClient(registration: RegistrationKey, clientId: string): Promise<void> {
    for (const key of [clientCacheKey(registration), legacyClientCacheKey(registration)]) {
      const forgotten = await updateState(this.dir, this.logger, (s) => {
        const cached = s.clients[key];
        if (cached?.clientId !== clientId) return undefined;
        delete s.clients[key];
        return cached;
      });
      if (forgotten?.hasSecret) await this.deleteEntry(forgotten.secretStore ?? 'file', clientSecretName(key));
    }
  }

  /** The issuer a pre-registered client is pinned to, if any. */
  async pinnedIssuer(clientId: string): Promise<string | undefined> {
    return (await loadState(this.dir, this.logger)).clientIssuers?.[clientId];
  }

  async pinIssuer(clientId: string, issuer: string): Promise<void> {
    await updateState(this.dir, this.logger, (s) => { s.clientIssuers = { ...s.clientIssuers, [clientId]: issuer }; });
  }

  // ── browser sign-ins the proxy started and that were not completed ───────────────────────

  async lastSignInFailure(key: string): Promise<number> {
    return (await loadState(this.dir, this.logger)).signInFailures?.[key] ?? 0;
  }

  async recordSignInFailure(key: string): Promise<void> {
    const at = this.now();
    await updateState(this.dir, this.logger, (s) => { s.signInFailures = { ...s.signInFailures, [key]: at }; });
  }

  // ── locks ────────────────────────────────────────────────────────────────────────────────

  /** Runs `fn` holding the cross-process lock for this purpose and sign-in. */
  withLock<T>(purpose: LockPurpose, key: string, fn: (lease: Lease) => Promise<T>, options?: LockOptions): Promise<T> {
    return withLock(this.dir, lockName(purpose, key), fn, options);
  }

  /** The same lock, held until released (refreshed tokens that could not be saved yet keep it). */
  acquireLock(purpose: LockPurpose, key: string, options?: LockOptions): Promise<LockHandle> {
    return acquireLock(this.dir, lockName(purpose, key), options);
  }

  // ── internals ────────────────────────────────────────────────────────────────────────────

  private async deleteEntry(kind: SecretStoreKind, name: string): Promise<void> {
    const store = this.storeOf(kind);
    await store.write((await storedPartNames(store, name)).map((n) => [n, undefined] as const));
  }

  private storeOf(kind: SecretStoreKind): SecretStore {
    let store = this.stores.get(kind);
    if (!store) {
      store = secretStoreOfKind(kind, { dir: this.dir, logger: this.logger, keychain: this.o.keychain });
      this.stores.set(kind, store);
    }
    return store;
  }

  /** Deletes every entry of a sign-in's secrets; false when there was nothing to delete. */
  private async deleteSecrets(record: SignInRecord): Promise<boolean> {
    const store = this.storeOf(record.store);
    const names = record.legacySecret
      ? ((await store.read(record.legacySecret)) === undefined ? [] : [record.legacySecret])
      : [
          ...await storedPartNames(store, secretName(record.key, 'refresh')),
          ...await storedPartNames(store, secretName(record.key, 'access')),
          ...(record.client.hasSecret ? await storedPartNames(store, secretName(record.key, 'client-secret')) : []),
        ];
    if (names.length === 0) return false;
    await store.write(names.map((name) => [name, undefined] as const));
    return true;
  }

  /** Moves a sign-in saved by appwrite-mcp 0.1 (one JSON entry) to the current layout. */
  private async migrateLegacy(record: SignInRecord): Promise<StoredSignIn | undefined> {
    const store = this.storeOf(record.store);
    const text = await store.read(record.legacySecret!);
    if (text === undefined) return undefined;
    let legacy: { accessToken?: unknown; refreshToken?: unknown; expiresAt?: unknown; obtainedAt?: unknown; scope?: unknown; tokenType?: unknown };
    try {
      legacy = JSON.parse(text);
    } catch {
      legacy = {};
    }
    if (typeof legacy.accessToken !== 'string') {
      this.logger.warn(`ignoring the saved sign-in for ${record.url}: its entry in ${store.describe()} is not a token set`);
      return undefined;
    }
    const tokens: Tokens = {
      accessToken: legacy.accessToken,
      refreshToken: typeof legacy.refreshToken === 'string' ? legacy.refreshToken : undefined,
      expiresAt: typeof legacy.expiresAt === 'number' ? legacy.expiresAt : record.token.expiresAt,
      obtainedAt: typeof legacy.obtainedAt === 'number' ? legacy.obtainedAt : record.token.obtainedAt,
      scopes: typeof legacy.scope === 'string' ? legacy.scope.split(/\s+/).filter(Boolean) : record.token.scopes,
      tokenType: typeof legacy.tokenType === 'string' ? legacy.tokenType : undefined,
    };
    registerSecret(tokens.accessToken);
    registerSecret(tokens.refreshToken);
    const { changes, token } = secretChanges(store, record.key, tokens, undefined);
    await store.write(changes);
    const migrated: SignInRecord = { ...record, token };
    delete migrated.legacySecret;
    await updateState(this.dir, this.logger, (s) => { s.signIns[record.key] = migrated; });
    await store.write([[record.legacySecret!, undefined]]).catch(() => {});
    this.logger.debug(`moved the saved sign-in for ${record.url} to the current layout`);
    return { record: migrated, tokens: tokensOf(token, tokens.accessToken) };
  }
}

// ── how secrets are named and split ──────────────────────────────────────────────────────────

/** A secret longer than a store entry is split; more parts than this means something is wrong. */
const MAX_PARTS = 16;

function secretName(key: string, which: 'access' | 'refresh' | 'client-secret'): string {
  return `${key} ${which}`;
}

/** What a cached registration is for: one authorization server, one MCP server (its RFC 8707 resource), one grant. */
export interface RegistrationKey {
  issuer: string;
  resource: string;
  purpose?: ClientPurpose;
}

/**
 * Where a registration is cached in state.json: `<issuer> <resource>`, with ` device` for the device
 * flow's (an issuer has no fragment and a space cannot be in a URL, so keys never collide).
 */
function clientCacheKey(r: RegistrationKey): string {
  return `${r.issuer} ${r.resource}${r.purpose === 'device' ? ' device' : ''}`;
}

/** The key of appwrite-mcp 0.1: the issuer alone (`<issuer>#device` for the device flow's). */
function legacyClientCacheKey(r: RegistrationKey): string {
  return r.purpose === 'device' ? `${r.issuer}#device` : r.issuer;
}

/** The secret of a cached registration, by its cache key (a sign-in keeps its own copy). */
function clientSecretName(cacheKey: string): string {
  return `client ${cacheKey} secret`;
}

/** Entry names of a secret's parts: `<name>`, `<name> (2)`, `<name> (3)`, … */
function partNames(name: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => (i === 0 ? name : `${name} (${i + 1})`));
}

/**
 * Each part is stored as `<fingerprint>.<index>.<count>:<text>`, so that a reader can tell the
 * parts of one secret from a mix left by two writers, and a stale tail from a live part.
 */
function encodeParts(secret: string, maxLength: number): string[] {
  const fp = fingerprint(secret);
  const header = (i: number, n: number) => `${fp}.${i}.${n}:`;
  const room = maxLength - header(MAX_PARTS, MAX_PARTS).length;
  const n = Math.max(1, Math.ceil(secret.length / room));
  if (n > MAX_PARTS) throw new AppError(Code.SAVE_FAILED, `a token of ${secret.length} characters does not fit in ${MAX_PARTS} keychain entries`);
  return Array.from({ length: n }, (_, i) => header(i + 1, n) + secret.slice(i * room, (i + 1) * room));
}

const PART = /^([0-9a-f]{16})\.(\d+)\.(\d+):/;

async function readSecret(store: SecretStore, name: string, expectedParts: number): Promise<string | undefined> {
  const names = partNames(name, Math.min(Math.max(1, expectedParts), MAX_PARTS));
  const values = await Promise.all(names.map((n) => store.read(n)));
  const first = values[0] === undefined ? undefined : PART.exec(values[0]);
  if (!first) return undefined;
  const count = Number(first[3]);
  if (count > MAX_PARTS) return undefined;
  if (count > values.length) values.push(...(await Promise.all(partNames(name, count).slice(values.length).map((n) => store.read(n)))));
  let secret = '';
  for (let i = 0; i < count; i++) {
    const part = values[i] === undefined ? undefined : PART.exec(values[i]!);
    if (!part || part[1] !== first[1] || Number(part[2]) !== i + 1 || Number(part[3]) !== count) return undefined;
    secret += values[i]!.slice(part[0].length);
  }
  if (fingerprint(secret) !== first[1]) return undefined;
  registerSecret(secret);
  return secret;
}

/**
 * The writes that store `tokens` for `key`, in durability order (refresh token, then access
 * token, then stale tails removed), and the record's new token facts.
 */
function secretChanges(store: SecretStore, key: string, tokens: Tokens, previous: TokenInfo | undefined): { changes: SecretChange[]; token: TokenInfo } {
  const changes: SecretChange[] = [];
  const refreshName = secretName(key, 'refresh');
  if (tokens.refreshToken) {
    const parts = encodeParts(tokens.refreshToken, store.maxValueLength);
    partNames(refreshName, parts.length).forEach((name, i) => changes.push([name, parts[i]]));
  }
  const access = encodeParts(tokens.accessToken, store.maxValueLength);
  partNames(secretName(key, 'access'), access.length).forEach((name, i) => changes.push([name, access[i]]));
  if (!tokens.refreshToken && previous?.hasRefreshToken) changes.push([refreshName, undefined]);
  for (const name of partNames(secretName(key, 'access'), previous?.parts ?? 0).slice(access.length)) changes.push([name, undefined]);
  const token: TokenInfo = {
    fingerprint: fingerprint(tokens.accessToken),
    parts: access.length,
    expiresAt: tokens.expiresAt,
    obtainedAt: tokens.obtainedAt,
    scopes: tokens.scopes,
    ...(tokens.tokenType ? { tokenType: tokens.tokenType } : {}),
    hasRefreshToken: Boolean(tokens.refreshToken),
  };
  return { changes, token };
}

function tokensOf(info: TokenInfo, accessToken: string): Tokens {
  return { accessToken, expiresAt: info.expiresAt, obtainedAt: info.obtainedAt, scopes: info.scopes, tokenType: info.tokenType };
}

/** The entry names a stored secret occupies, read from its first part's header. */
async function storedPartNames(store: SecretStore, name: string): Promise<string[]> {
  const first = await store.read(name);
  if (first === undefined) return [];
  const part = PART.exec(first);
  return partNames(name, part ? Math.min(Number(part[3]), MAX_PARTS) : 1);
}

function fingerprint(secret: string): string {
  return sha256(secret).slice(0, 16);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function lockName(purpose: LockPurpose, key: string): string {
  return `${purpose === 'tokens' ? 'tokens' : 'signin'}-${sha256(key).slice(0, 16)}`;
}

