// A thin wrapper over @napi-rs/keyring: every call is raced against a timeout (and aborted
// natively), not-found becomes undefined/false, and every failure is an AppError with a
// KEYCHAIN_* code.
import { AppError, Code, type ErrorCode } from '../errors.js';
import { probeSecretService, SecretServiceProbeError, sessionBusSocketPath } from './dbus-probe.js';

/** One credential, as @napi-rs/keyring's AsyncEntry offers it. */
export interface KeychainEntry {
  getPassword(signal?: AbortSignal): Promise<string | null | undefined>;
  setPassword(password: string, signal?: AbortSignal): Promise<void>;
  deleteCredential(signal?: AbortSignal): Promise<boolean>;
}

export interface KeychainOptions {
  service: string;
  /** Upper bound for each call, including connecting to the keychain. Default 3000 ms. */
  timeoutMs?: number;
  platform?: NodeJS.Platform;
  env?: NodeJS.ProcessEnv;
  /** Where entries come from; default @napi-rs/keyring pinned to the Secret Service on Linux. */
  openEntry?: (service: string, account: string) => KeychainEntry | Promise<KeychainEntry>;
}

/** Bound on each keychain call: APPWRITE_MCP_KEYCHAIN_TIMEOUT_MS, else 3 s. */
export function keychainTimeoutMs(env: NodeJS.ProcessEnv): number {
  const n = Number(env.APPWRITE_MCP_KEYCHAIN_TIMEOUT_MS);
  return Number.isFinite(n) && n > 0 ? n : 3000;
}

export class Keychain {
  readonly service: string;
  readonly timeoutMs: number;
  private readonly platform: NodeJS.Platform;
  private readonly env: NodeJS.ProcessEnv;
  private readonly openEntry: (service: string, account: string) => KeychainEntry | Promise<KeychainEntry>;
  private readonly entries = new Map<string, KeychainEntry>();
  private busAnswered = false;

  constructor(options: KeychainOptions) {
    this.service = options.service;
    this.timeoutMs = options.timeoutMs ?? 3000;
    this.platform = options.platform ?? process.platform;
    this.env = options.env ?? process.env;
    this.openEntry = options.openEntry ?? openNativeEntry;
  }

  async get(account: string): Promise<string | undefined> {
    return (await this.call(`read ${JSON.stringify(account)}`, account, (entry, signal) => entry.getPassword(signal))) ?? undefined;
  }

  set(account: string, value: string): Promise<void> {
    return this.call(`write ${JSON.stringify(account)}`, account, (entry, signal) => entry.setPassword(value, signal));
  }

  /** Resolves false when there was no such entry. */
  delete(account: string): Promise<boolean> {
    return this.call(`delete ${JSON.stringify(account)}`, account, (entry, signal) => entry.deleteCredential(signal));
  }

  private async call<T>(what: string, account: string, run: (entry: KeychainEntry, signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new AppError(Code.KEYCHAIN_TIMEOUT, `the OS keychain did not answer within ${this.timeoutMs / 1000} s (while trying to ${what})`);
        controller.abort(error);
        reject(error);
      }, this.timeoutMs);
    });
    const work = (async () => run(await this.entry(account, controller.signal), controller.signal))();
    work.catch(() => {}); // after a timeout, its late rejection is expected and irrelevant
    try {
      return await Promise.race([work, timeout]);
    } catch (error) {
      throw this.wrap(error, what);
    } finally {
      clearTimeout(timer);
    }
  }

  private async entry(account: string, signal: AbortSignal): Promise<KeychainEntry> {
    const cached = this.entries.get(account);
    if (cached) return cached;
    // On Linux the native constructor talks to D-Bus synchronously; make sure the bus answers first.
    if (this.platform === 'linux' && !this.busAnswered && this.openEntry === openNativeEntry) {
      const socketPath = sessionBusSocketPath(this.env);
      if (socketPath) await probeSecretService(socketPath, signal);
      this.busAnswered = true;
    }
    const entry = await this.openEntry(this.service, account);
    this.entries.set(account, entry);
    return entry;
  }

  private wrap(error: unknown, what: string): AppError {
    if (error instanceof AppError) return error;
    const detail = error instanceof Error ? error.message : String(error);
    const code: ErrorCode = error instanceof SecretServiceProbeError || /D-?Bus|ServiceUnknown|org\.freedesktop\.secrets/i.test(detail)
      ? Code.KEYCHAIN_UNAVAILABLE
      : Code.KEYCHAIN_FAILED;
    const message = code === Code.KEYCHAIN_UNAVAILABLE
      ? `no Secret Service on D-Bus (while trying to ${what}): ${detail}`
      : `the OS keychain failed to ${what}: ${detail}`;
    return new AppError(code, message, { cause: error });
  }
}

export async function openNativeEntry(service: string, account: string): Promise<KeychainEntry> {
  const { AsyncEntry } = await import('@napi-rs/keyring'); // lazy: most commands never load the native module
  // Pinning Secret Service makes a missing one an error instead of a silent fallback to the kernel keyring.
  const entry = new AsyncEntry(service, account, { linux: { store: 'secret-service' } });
  return entry as KeychainEntry;
}
