// Where token sets live: the OS keychain when it works, else a 0600 JSON file in the config dir.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { registerSecret, silentLogger, type Logger } from '../log.js';
import { Keychain, KeychainUnavailableError } from './keychain.js';
import { withLock, type LockOptions } from './lock.js';
import { PRIVATE_FILE_MODE, tightenMode, writePrivateFile } from './private-file.js';
import type { SecretStore, SecretStoreKind, TokenSet } from './types.js';

export const KEYCHAIN_SERVICE = 'appwrite-mcp';
export const SECRETS_FILE_NAME = 'secrets.json';
const PROBE_ACCOUNT = 'appwrite-mcp probe';

/** The secret-store key for the tokens of one resource at one authorization server. */
export function secretKeyFor(resource: string, issuer: string): string {
  return `${resource} @ ${issuer}`;
}

export class KeychainSecretStore implements SecretStore {
  readonly kind = 'keychain';
  private readonly keychain: Keychain;
  private readonly platform: NodeJS.Platform;
  private readonly logger: Logger;

  constructor(options: { keychain?: Keychain; timeoutMs?: number; platform?: NodeJS.Platform; logger?: Logger } = {}) {
    this.platform = options.platform ?? process.platform;
    this.keychain = options.keychain ?? new Keychain({ service: KEYCHAIN_SERVICE, timeoutMs: options.timeoutMs, platform: this.platform });
    this.logger = options.logger ?? silentLogger;
  }

  describe(): string {
    const where = this.platform === 'darwin' ? 'macOS Keychain' : this.platform === 'win32' ? 'Windows Credential Manager' : 'OS keychain (Secret Service)';
    return `${where}, service ${JSON.stringify(this.keychain.service)}`;
  }

  async get(key: string): Promise<TokenSet | undefined> {
    const text = await this.keychain.get(key);
    if (text === undefined) return undefined;
    const tokens = toTokenSet(parseJson(text));
    if (!tokens) this.logger.warn(`ignoring keychain entry ${JSON.stringify(key)} (service ${JSON.stringify(this.keychain.service)}): it is not a valid token set`);
    return tokens;
  }

  async set(key: string, tokens: TokenSet): Promise<void> {
    registerTokens(tokens);
    await this.keychain.set(key, JSON.stringify(tokens));
  }

  delete(key: string): Promise<boolean> {
    return this.keychain.delete(key);
  }

  /** One cheap read that proves the keychain answers. */
  async probe(): Promise<void> {
    await this.keychain.get(PROBE_ACCOUNT);
  }
}

/** Token sets in `<dir>/secrets.json` (mode 0600), a JSON map from key to TokenSet. */
export class FileSecretStore implements SecretStore {
  readonly kind = 'file';
  readonly path: string;
  private readonly dir: string;
  private readonly logger: Logger;
  private readonly lock?: LockOptions;

  constructor(options: { dir: string; logger?: Logger; lock?: LockOptions }) {
    this.dir = options.dir;
    this.path = join(options.dir, SECRETS_FILE_NAME);
    this.logger = options.logger ?? silentLogger;
    this.lock = options.lock;
  }

  describe(): string {
    return `file ${this.path} (mode 0600)`;
  }

  async get(key: string): Promise<TokenSet | undefined> {
    const all = await this.readAll();
    return Object.hasOwn(all, key) ? all[key] : undefined;
  }

  async set(key: string, tokens: TokenSet): Promise<void> {
    registerTokens(tokens);
    await this.change((all) => ({ ...all, [key]: tokens }));
  }

  async delete(key: string): Promise<boolean> {
    let existed = false;
    await this.change((all) => {
      existed = Object.hasOwn(all, key);
      const { [key]: _removed, ...rest } = all;
      return rest;
    });
    return existed;
  }

  /** Read-modify-write under a lock, so processes writing different keys do not lose each other's. */
  private change(fn: (all: Record<string, TokenSet>) => Record<string, TokenSet>): Promise<void> {
    return withLock(this.dir, 'secrets', async () => {
      const next = fn(await this.readAll());
      await writePrivateFile(this.path, `${JSON.stringify(next, null, 2)}\n`, this.logger);
    }, this.lock);
  }

  private async readAll(): Promise<Record<string, TokenSet>> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw error;
    }
    await tightenMode(this.path, PRIVATE_FILE_MODE, this.logger);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new Error(`${this.path} is not valid JSON (${(error as Error).message}); delete it and sign in again`, { cause: error });
    }
    const all: Record<string, TokenSet> = {};
    for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
      const tokens = toTokenSet(value);
      if (tokens) all[key] = tokens;
      else this.logger.warn(`ignoring entry ${JSON.stringify(key)} in ${this.path}: it is not a valid token set`);
    }
    return all;
  }
}

export type StorePreference = 'auto' | SecretStoreKind;

export interface OpenSecretStoreOptions {
  /** The config dir, where the file store lives. */
  dir: string;
  logger: Logger;
  /** Per keychain call. Default 3000 ms. */
  timeoutMs?: number;
  platform?: NodeJS.Platform;
}

/**
 * Picks the secret store for a new sign-in. Precedence:
 *   1. `prefer: 'file'` (the `--store file` flag): the 0600 file in `dir`, no probe.
 *   2. `prefer: 'keychain'` (`--store keychain`): the OS keychain, probed with one read so that a
 *      keychain that does not work fails now, with KeychainUnavailableError, instead of falling back.
 *   3. `prefer: 'auto'`: the same probe (bounded by `timeoutMs`); the OS keychain if it answers,
 *   4. else the 0600 file, with a loud warning saying what failed and how to fix it.
 */
export async function openSecretStore(options: OpenSecretStoreOptions & { prefer: StorePreference }): Promise<SecretStore> {
  if (options.prefer === 'file') return new FileSecretStore(options);
  const keychain = new KeychainSecretStore(options);
  try {
    await keychain.probe();
    return keychain;
  } catch (error) {
    if (options.prefer === 'keychain' || !(error instanceof KeychainUnavailableError)) throw error;
    const file = new FileSecretStore(options);
    options.logger.warn([
      `THE OS KEYCHAIN IS NOT USABLE: ${error.message}.`,
      `Tokens will be stored in plain text in ${file.path} (readable only by you, mode 0600).`,
      'To fix: install or unlock a keychain (on Linux: a Secret Service such as gnome-keyring or KeePassXC on the D-Bus session bus),',
      'or pass `--store file` to keep using the file and silence this warning.',
    ].join('\n  '));
    return file;
  }
}

/** The store of a known kind, for when the state already records where a server's secrets are (no probe). */
export function openSecretStoreOfKind(kind: SecretStoreKind, options: OpenSecretStoreOptions): SecretStore {
  return kind === 'file' ? new FileSecretStore(options) : new KeychainSecretStore(options);
}

/** The TokenSet in `value`, or undefined when it is not shaped like one. Registers its tokens for redaction. */
function toTokenSet(value: unknown): TokenSet | undefined {
  if (typeof value !== 'object' || value === null || typeof (value as TokenSet).accessToken !== 'string') return undefined;
  const tokens = value as TokenSet;
  registerTokens(tokens);
  return tokens;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function registerTokens(tokens: TokenSet): void {
  registerSecret(tokens.accessToken);
  registerSecret(tokens.refreshToken);
  registerSecret(tokens.idToken);
}
