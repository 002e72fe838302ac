// The client-registration cache: the clients this machine registered (RFC 7591) or was given, per
// authorization server and MCP server, and the issuer each pre-registered client is pinned to
// (auth/pinning.ts). A registration is never reused with another AS, nor with another MCP server
// that names the same AS: that server would get our client id and the consent the user gave it.
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { deleteSecret, readSecret, secretWrites } from './secret-parts.js';
import type { SecretStores } from './secret-stores.js';
import { loadState, updateState } from './state.js';
import type { ClientPurpose, ClientRecord, SignInRecord } from './types.js';

/** What a cached registration is for: one authorization server, one MCP server (its RFC 8707 resource), one grant. */
export interface RegistrationKey {
  issuer: string;
  resource: string;
  purpose?: ClientPurpose;
}

/** A registration as the sign-in uses it: the client and its secret, when it has one. */
export interface CachedClient {
  client: ClientRecord;
  secret?: string;
}

/** The grant type that makes a registration the device flow's. */
const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export class Registrations {
  /** Registrations saved by this process: the AS has just accepted them, no need to check again. */
  private readonly savedHere = new Set<string>();

  constructor(private readonly dir: string, private readonly logger: Logger, private readonly stores: SecretStores, private readonly now: () => number) {}

  /**
   * The registration cached for `r`, with its secret when it has one. One whose secret cannot be
   * read (or has expired) is as good as none: the caller registers again.
   */
  async cached(r: RegistrationKey): Promise<CachedClient | undefined> {
    const state = await loadState(this.dir, this.logger);
    let key = cacheKey(r);
    let client = state.clients[key];
    if (!client) {
      // appwrite-mcp 0.1 cached one registration per issuer: still good for the servers it signed in to.
      key = legacyCacheKey(r);
      client = state.clients[key];
      const usedHere = client && Object.values(state.signIns).some((s) => s.client.clientId === client!.clientId && s.resource === r.resource);
      if (!usedHere) return undefined;
    }
    if (client.secretExpiresAt !== undefined && client.secretExpiresAt <= this.now() + 60_000) return undefined;
    if (!client.hasSecret) return { client };
    const secret = await readSecret(this.stores.of(client.secretStore ?? 'file'), secretNameOf(key), 1).catch((err: unknown) => {
      this.logger.debug(`the cached client's secret for ${r.issuer} could not be read: ${errorMessage(err)}`);
      return undefined;
    });
    return secret === undefined ? undefined : { client, secret };
  }

  /** Caches a registration for `r`; its secret goes to the secret store. */
  async save(r: RegistrationKey, client: ClientRecord, secret: string | undefined): Promise<void> {
    const key = cacheKey(r);
    let cached = client;
    if (secret !== undefined) {
      const store = await this.stores.choose();
      await store.write(secretWrites(store, secretNameOf(key), secret));
      cached = { ...client, hasSecret: true, secretStore: store.kind };
    }
    await updateState(this.dir, this.logger, (s) => { s.clients[key] = cached; });
    this.savedHere.add(client.clientId);
  }

  /** This process registered the client itself (so the AS knows it). */
  madeHere(clientId: string): boolean {
    return this.savedHere.has(clientId);
  }

  /** The AS no longer knows this client: the next sign-in registers anew. */
  async forget(r: RegistrationKey, clientId: string): Promise<void> {
    for (const key of [cacheKey(r), legacyCacheKey(r)]) {
      const forgotten = await updateState(this.dir, this.logger, (s) => {
        const cached = s.clients[key];
        if (cached?.clientId !== clientId) return undefined;
        delete s.clients[key];
        return cached;
      });
      if (forgotten?.hasSecret) await deleteSecret(this.stores.of(forgotten.secretStore ?? 'file'), secretNameOf(key));
    }
  }

  /** The AS no longer knows the client a sign-in was made with. */
  forgetClientOf(record: SignInRecord): Promise<void> {
    const purpose: ClientPurpose = record.client.grantTypes?.includes(DEVICE_CODE_GRANT) ? 'device' : 'browser';
    return this.forget({ issuer: record.as.issuer, resource: record.resource, purpose }, record.client.clientId);
  }

  /** Forgets every cached registration (and its secret) and every pin (`logout --all`). */
  async forgetAll(): Promise<void> {
    const clients = await updateState(this.dir, this.logger, (s) => {
      const all = Object.entries(s.clients);
      s.clients = {};
      delete s.clientIssuers;
      return all;
    });
    for (const [key, client] of clients) {
      if (client.hasSecret) await deleteSecret(this.stores.of(client.secretStore ?? 'file'), secretNameOf(key)).catch((err) => this.logger.warn(`could not delete the secret of client ${client.clientId} (${errorMessage(err)})`));
    }
  }

  /** The issuer a pre-registered client is pinned to, if any. */
  async pinnedIssuer(clientId: string): Promise<string | undefined> {
    return (await loadState(this.dir, this.logger)).clientIssuers?.[clientId];
  }

  async pinIssuer(clientId: string, issuer: string): Promise<void> {
    await updateState(this.dir, this.logger, (s) => { s.clientIssuers = { ...s.clientIssuers, [clientId]: issuer }; });
  }
}

/**
 * Where a registration is cached in state.json: `<issuer> <resource>`, with ` device` for the device
 * flow's (a space cannot be in a URL, so keys never collide).
 */
function cacheKey(r: RegistrationKey): string {
  return `${r.issuer} ${r.resource}${r.purpose === 'device' ? ' device' : ''}`;
}

/** The key of appwrite-mcp 0.1: the issuer alone (`<issuer>#device` for the device flow's). */
function legacyCacheKey(r: RegistrationKey): string {
  return r.purpose === 'device' ? `${r.issuer}#device` : r.issuer;
}

/** The secret of a cached registration, by its cache key (a sign-in keeps its own copy). */
function secretNameOf(key: string): string {
  return `client ${key} secret`;
}
