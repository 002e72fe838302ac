// A thin wrapper over @napi-rs/keyring: every call is raced against a timeout (and aborted
// natively), not-found becomes undefined/false, and every failure is a KeychainUnavailableError.
import type { AsyncEntry } from '@napi-rs/keyring';
import { probeSecretService, SecretServiceProbeError, sessionBusSocketPath } from './dbus-probe.js';

export type KeychainErrorCode = 'KEYCHAIN_TIMEOUT' | 'KEYCHAIN_NO_SERVICE' | 'KEYCHAIN_FAILED';

export class KeychainUnavailableError extends Error {
  constructor(readonly code: KeychainErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeychainUnavailableError';
  }
}

export interface KeychainOptions {
  service: string;
  /** Upper bound for each call, including connecting to the keychain. Default 3000 ms. */
  timeoutMs?: number;
  platform?: NodeJS.Platform;
  env?: NodeJS.ProcessEnv;
}

export class Keychain {
  readonly service: string;
  readonly timeoutMs: number;
  private readonly platform: NodeJS.Platform;
  private readonly env: NodeJS.ProcessEnv;
  private readonly entries = new Map<string, AsyncEntry>();
  private busAnswered = false;

  constructor(options: KeychainOptions) {
    this.service = options.service;
    this.timeoutMs = options.timeoutMs ?? 3000;
    this.platform = options.platform ?? process.platform;
    this.env = options.env ?? process.env;
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

  private async call<T>(what: string, account: string, run: (entry: AsyncEntry, signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new KeychainUnavailableError('KEYCHAIN_TIMEOUT', `the OS keychain did not answer within ${this.timeoutMs / 1000} s (while trying to ${what})`);
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

  private async entry(account: string, signal: AbortSignal): Promise<AsyncEntry> {
    const cached = this.entries.get(account);
    if (cached) return cached;
    // On Linux the constructor talks to D-Bus synchronously; make sure the bus answers first.
    if (this.platform === 'linux' && !this.busAnswered) {
      const socketPath = sessionBusSocketPath(this.env);
      if (socketPath) await probeSecretService(socketPath, signal);
      this.busAnswered = true;
    }
    const { AsyncEntry } = await import('@napi-rs/keyring'); // lazy: most commands never load the native module
    // Pinning Secret Service makes a missing one an error instead of a silent fallback to the kernel keyring.
    const entry = new AsyncEntry(this.service, account, { linux: { store: 'secret-service' } });
    this.entries.set(account, entry);
    return entry;
  }

  private wrap(error: unknown, what: string): KeychainUnavailableError {
    if (error instanceof KeychainUnavailableError) return error;
    const detail = error instanceof Error ? error.message : String(error);
    if (error instanceof SecretServiceProbeError || /D-?Bus|ServiceUnknown|org\.freedesktop\.secrets/i.test(detail)) {
      return new KeychainUnavailableError('KEYCHAIN_NO_SERVICE', `no Secret Service on D-Bus (while trying to ${what}): ${detail}`, { cause: error });
    }
    return new KeychainUnavailableError('KEYCHAIN_FAILED', `the OS keychain failed to ${what}: ${detail}`, { cause: error });
  }
}
