// Where secrets live: the OS keychain when it works, else a 0600 JSON file in the config dir.
// A store keeps named strings; what they mean (and how a long one is split to fit a keychain
// entry) is decided by sign-ins.ts.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError, Code, isAppError } from '../errors.js';
import { jsonSyntaxError, type Logger } from '../log.js';
import { Keychain, type KeychainOptions } from './keychain.js';
import { withLock } from './lock.js';
import { PRIVATE_FILE_MODE, tightenMode, writePrivateFile } from './private-file.js';

export const KEYCHAIN_SERVICE = 'appwrite-mcp';
export const SECRETS_FILE_NAME = 'secrets.json';
const PROBE_ACCOUNT = 'appwrite-mcp probe';

export type SecretStoreKind = 'keychain' | 'file';
export type StorePreference = 'auto' | SecretStoreKind;

/** A change to a store: a value to write, or undefined to delete the entry. */
export type SecretChange = readonly [name: string, value: string | undefined];

export interface SecretStore {
  readonly kind: SecretStoreKind;
  /**
   * The longest value one entry takes. Windows Credential Manager caps a credential at 2,560 bytes
   * and keyring-rs stores a password there as UTF-16, so keychain entries stay at 1,000 characters
   * (2,000 bytes) on every platform; longer secrets are split by the caller.
   */
  readonly maxValueLength: number;
  /** Where the secrets live, for `status` ("OS keychain (Secret Service), service \"appwrite-mcp\"" / "file /x/secrets.json (mode 0600)"). */
  describe(): string;
  read(name: string): Promise<string | undefined>;
  /** Applies the changes in order (the keychain one call at a time; the file in one atomic write). */
  write(changes: readonly SecretChange[]): Promise<void>;
}

export class KeychainSecretStore implements SecretStore {
  readonly kind = 'keychain';
  readonly maxValueLength = 1000;
  private readonly keychain: Keychain;
  private readonly platform: NodeJS.Platform;

  constructor(options: Partial<KeychainOptions> = {}) {
    this.platform = options.platform ?? process.platform;
    this.keychain = new Keychain({ service: KEYCHAIN_SERVICE, ...options });
  }

  describe(): string {
    const where = this.platform === 'darwin' ? 'macOS Keychain' : this.platform === 'win32' ? 'Windows Credential Manager' : 'OS keychain (Secret Service)';
    return `${where}, service ${JSON.stringify(this.keychain.service)}`;
  }

  read(name: string): Promise<string | undefined> {
    return this.keychain.get(name);
  }

  async write(changes: readonly SecretChange[]): Promise<void> {
    for (const [name, value] of changes) {
      if (value === undefined) await this.keychain.delete(name);
      else await this.keychain.set(name, value);
    }
  }

  /** One cheap read that proves the keychain answers. */
  async probe(): Promise<void> {
    await this.keychain.get(PROBE_ACCOUNT);
  }
}

/** Secrets in `<dir>/secrets.json` (mode 0600): a JSON map from name to value. */
export class FileSecretStore implements SecretStore {
  readonly kind = 'file';
  readonly maxValueLength = Infinity;
  readonly path: string;

  constructor(private readonly dir: string, private readonly logger: Logger) {
    this.path = join(dir, SECRETS_FILE_NAME);
  }

  describe(): string {
    return `file ${this.path} (mode 0600)`;
  }

  async read(name: string): Promise<string | undefined> {
    const all = await this.readAll();
    return Object.hasOwn(all, name) ? all[name] : undefined;
  }

  /** Read-modify-write under a lock, so processes writing different entries do not lose each other's. */
  write(changes: readonly SecretChange[]): Promise<void> {
    return withLock(this.dir, 'secrets', async () => {
      const all = await this.readAll();
      for (const [name, value] of changes) {
        if (value === undefined) delete all[name];
        else all[name] = value;
      }
      await writePrivateFile(this.path, `${JSON.stringify(all, null, 2)}\n`, this.logger);
    });
  }

  private async readAll(): Promise<Record<string, string>> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new AppError(Code.SECRETS_UNREADABLE, `could not read ${this.path} (${(error as Error).message})`, { cause: error });
    }
    await tightenMode(this.path, PRIVATE_FILE_MODE, this.logger);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      // V8's message quotes a slice of the file: say where it is broken, never what is there.
      throw new AppError(Code.SECRETS_UNREADABLE, `${this.path} is not valid JSON (${jsonSyntaxError(error, text)})`, {
        hint: 'Delete it and sign in again.',
      });
    }
    const all: Record<string, string> = {};
    for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
      if (typeof value === 'string') all[name] = value;
      else this.logger.warn(`ignoring entry ${JSON.stringify(name)} in ${this.path}: it is not a string`);
    }
    return all;
  }
}

export interface OpenSecretStoreOptions {
  /** The config dir, where the file store lives. */
  dir: string;
  logger: Logger;
  /** How keychain entries are reached (timeout per call, platform, a test double). */
  keychain?: Partial<KeychainOptions>;
}

/**
 * Picks the secret store for a new sign-in. Precedence:
 *   1. `prefer: 'file'` (the `--store file` flag): the 0600 file in `dir`, no probe.
 *   2. `prefer: 'keychain'` (`--store keychain`): the OS keychain, probed with one read so that a
 *      keychain that does not work fails now instead of falling back.
 *   3. `prefer: 'auto'`: the same probe (bounded by the keychain timeout); the OS keychain if it answers,
 *   4. else the 0600 file, with a loud warning saying what failed and how to fix it.
 */
export async function openSecretStore(options: OpenSecretStoreOptions & { prefer: StorePreference }): Promise<SecretStore> {
  if (options.prefer === 'file') return new FileSecretStore(options.dir, options.logger);
  const keychain = new KeychainSecretStore(options.keychain);
  try {
    await keychain.probe();
    return keychain;
  } catch (error) {
    if (options.prefer === 'keychain' || !isAppError(error, Code.KEYCHAIN_TIMEOUT, Code.KEYCHAIN_UNAVAILABLE, Code.KEYCHAIN_FAILED)) throw error;
    const file = new FileSecretStore(options.dir, options.logger);
    options.logger.warn([
      `THE OS KEYCHAIN IS NOT USABLE: ${error.message}.`,
      `Tokens will be stored in plain text in ${file.path} (readable only by you, mode 0600).`,
      'To fix: install or unlock a keychain (on Linux: a Secret Service such as gnome-keyring or KeePassXC on the D-Bus session bus),',
      'or pass `--store file` to keep using the file and silence this warning.',
    ].join('\n  '));
    return file;
  }
}

/** The store of a known kind, for a sign-in that records where its secrets are (no probe). */
export function secretStoreOfKind(kind: SecretStoreKind, options: OpenSecretStoreOptions): SecretStore {
  return kind === 'file' ? new FileSecretStore(options.dir, options.logger) : new KeychainSecretStore(options.keychain);
}
