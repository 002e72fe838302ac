// Stand-ins for the two things a unit test of the sign-in policy must control: the OS keychain
// (an in-memory one that can be made to fail or hang, plugged in through the Keychain's
// `openEntry` seam) and the clock (time moves only when the test says so).
import type { Clock } from '../../src/auth/stored-authorizer.js';
import type { KeychainEntry } from '../../src/store/keychain.js';

export type KeychainMode = 'ok' | 'fail' | 'hang';

export class FakeKeychain {
  readonly values = new Map<string, string>();
  /** Every completed write or delete, in order: [account, value | undefined]. */
  readonly log: Array<[string, string | undefined]> = [];
  reads = 0;
  writes: KeychainMode = 'ok';
  readsMode: KeychainMode = 'ok';
  /** Runs before each read of `account` is answered (a test's way to act at that exact moment). */
  beforeRead?: (account: string) => void | Promise<void>;

  readonly openEntry = (_service: string, account: string): KeychainEntry => ({
    getPassword: async (signal) => {
      await this.beforeRead?.(account);
      return this.run(this.readsMode, signal, () => {
        this.reads++;
        return this.values.get(account);
      });
    },
    setPassword: (password, signal) => this.run(this.writes, signal, () => {
      this.values.set(account, password);
      this.log.push([account, password]);
    }),
    deleteCredential: (signal) => this.run(this.writes, signal, () => {
      this.log.push([account, undefined]);
      return this.values.delete(account);
    }),
  });

  private run<T>(mode: KeychainMode, signal: AbortSignal | undefined, op: () => T): Promise<T> {
    if (mode === 'fail') return Promise.reject(new Error('The keychain is locked'));
    if (mode === 'hang') {
      return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true }));
    }
    return Promise.resolve(op());
  }
}

/** Time that moves only on advance(); sleeps resolve when their moment is reached. */
export class FakeClock implements Clock {
  private t = Date.UTC(2026, 10, 29, 12);
  private timers: Array<{ at: number; resolve(): void }> = [];

  now = () => this.t;

  sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = { at: this.t + ms, resolve };
      this.timers.push(timer);
      signal?.addEventListener('abort', () => {
        this.timers = this.timers.filter((x) => x !== timer);
        reject(signal.reason);
      }, { once: true });
    });

  advance(ms: number): void {
    this.t += ms;
    const due = this.timers.filter((x) => x.at <= this.t).sort((a, b) => a.at - b.at);
    this.timers = this.timers.filter((x) => x.at > this.t);
    for (const timer of due) timer.resolve();
  }

  get pendingSleeps(): number {
    return this.timers.length;
  }
}

/** Polls `condition` (no fixed sleep): resolves as soon as it holds, fails after `timeoutMs`. */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Time that runs ahead: every sleep moves it forward by what was asked, fifty times faster than
 * real time (at most 100 ms of real time), and is recorded. For flows that wait between
 * real requests (device-code polling): minutes of waiting in milliseconds, every wait on record.
 */
export class VirtualClock implements Clock {
  private t = Date.UTC(2026, 10, 29, 12);
  /** Every sleep asked for, in ms, in order. */
  readonly sleeps: number[] = [];

  now = () => this.t;

  sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      this.sleeps.push(ms);
      const timer = setTimeout(() => {
        this.t += Math.max(0, ms);
        resolve();
      }, Math.min(Math.max(0, ms) / 50, 100));
      signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(signal.reason);
      }, { once: true });
    });
}
