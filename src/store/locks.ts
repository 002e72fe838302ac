// The two cross-process locks of a sign-in (store/lock.ts does the locking): the refresh lock, so a
// rotating refresh token is spent by one copy at a time and its successor saved before another
// looks, and the sign-in lock, so all copies share one browser tab. Named by a hash of the sign-in key.
import { withLock, type Lease, type LockOptions } from './lock.js';
import { sha256 } from './secret-parts.js';

export type { Lease, LockOptions };

export class SignInLocks {
  constructor(private readonly dir: string) {}

  /** Runs `fn` holding the refresh lock of sign-in `key`; `fn` checks `lease.assertHeld()` before it spends or saves. */
  withRefreshLock<T>(key: string, fn: (lease: Lease) => Promise<T>, options?: LockOptions): Promise<T> {
    return withLock(this.dir, `tokens-${sha256(key).slice(0, 16)}`, fn, options);
  }

  /** Runs `fn` holding the browser sign-in lock of sign-in `key`. */
  withSignInLock<T>(key: string, fn: (lease: Lease) => Promise<T>, options?: LockOptions): Promise<T> {
    return withLock(this.dir, `signin-${sha256(key).slice(0, 16)}`, fn, options);
  }
}
