// The refresh every copy of appwrite-mcp shares. Under the sign-in's refresh lock: the store is read
// again (another copy may have refreshed already: a rotating refresh token may be spent only once),
// the refresh token is spent only when the stored token is no better, and only while the lock is
// still held; the new tokens are used from memory at once and saved before the lock is released.
// When the save fails, the lock stays held (no other copy spends the old refresh token, which would
// end the grant at a rotating AS) and the save is retried until it succeeds.
import { AppError, Code, errorMessage, isAppError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Lease } from '../store/lock.js';
import type { SignIns } from '../store/sign-ins.js';
import type { SignIn, SignInRecord, Tokens } from '../store/types.js';
import type { DPoPHandle } from 'oauth4webapi';
import type { Clock } from './clock.js';
import { isFresh, isUsable } from './freshness.js';
import type { TokenEndpoint } from './token-endpoint.js';

/** A sign-in whose access token is at hand. */
export type Usable = Required<SignIn>;

/** After a failed refresh (AS down), requests fail fast for this long before the next attempt. */
const REFRESH_RETRY_MS = 1_000;
/** How long a copy waits for another copy's refresh before giving up. */
export const REFRESH_LOCK_TIMEOUT_MS = 30_000;
/** Saving refreshed tokens is retried after 1 s, 2 s, 4 s … at most this far apart. */
const MAX_SAVE_RETRY_MS = 30_000;

export interface RefresherOptions {
  signIns: SignIns;
  key: string;
  url: string;
  logger: Logger;
  tokenEndpoint: TokenEndpoint;
  clock: Clock;
  /** The DPoP key's handle a bound sign-in's refresh is made with (RFC 9449 §5); undefined: not bound, or the key is gone. */
  dpop?(record: SignInRecord): Promise<DPoPHandle | undefined>;
  /** Aborted when the authorizer closes: retries in the background stop. */
  closing: AbortSignal;
  /** Runs `run` in turn with the authorizer's other operations. */
  exclusive<T>(run: () => Promise<T>): Promise<T>;
  /** The tokens in use from now on (held in memory). */
  use(signIn: Usable): void;
  inUse(): Usable | undefined;
}

/** Refreshed tokens not saved yet, the lease that keeps other copies off the old refresh token, and its end. */
interface Unsaved {
  signIn: Usable;
  lease: Lease;
  attempts: number;
  settle(): void;
  settled: Promise<void>;
}

export class Refresher {
  /** Why the grant ended, when the AS refused the refresh token (a sign-in-required error's cause). */
  grantLost?: AppError;
  private unsaved?: Unsaved;
  private holding?: Promise<unknown>;
  private failedAt = -Infinity;
  private lastError?: AppError;

  constructor(private readonly o: RefresherOptions) {}

  /** Refreshed tokens are waiting to be saved: memory is newer than the store. */
  get pending(): boolean {
    return this.unsaved !== undefined;
  }

  /**
   * A new access token for `current` (other than `rejected`); undefined when the grant is gone (a
   * sign-in is needed). Throws AppError AUTH_AS_UNREACHABLE when the AS cannot be asked now.
   */
  async refresh(current: SignIn, rejected: string | undefined): Promise<string | undefined> {
    if (this.o.clock.now() - this.failedAt < REFRESH_RETRY_MS && this.lastError) return this.fallback(current, rejected, this.lastError);
    try {
      const token = this.unsaved ? await this.underLease(this.unsaved.lease, current, rejected) : await this.withLock(current, rejected);
      this.failedAt = -Infinity;
      return token;
    } catch (err) {
      return this.failed(err, current, rejected);
    }
  }

  /** A last, bounded try to save what is not saved yet; the lock is released either way. */
  async close(): Promise<void> {
    const unsaved = this.unsaved;
    if (unsaved) await this.o.exclusive(() => this.persist(unsaved.signIn, unsaved.lease, unsaved.attempts)).catch(() => {});
    this.settleUnsaved();
    await this.holding?.catch(() => {});
  }

  private withLock(current: SignIn, rejected: string | undefined): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      this.holding = this.o.signIns.locks.withRefreshLock(this.o.key, async (lease) => {
        resolve(await this.underLease(lease, current, rejected));
        // Refreshed tokens not saved yet keep the lock until they are (or are given up).
        if (this.unsaved?.lease === lease) await this.unsaved.settled;
      }, { timeoutMs: REFRESH_LOCK_TIMEOUT_MS });
      this.holding.catch(reject);
    });
  }

  private async underLease(lease: Lease, current: SignIn, rejected: string | undefined): Promise<string | undefined> {
    let base: SignIn;
    let refreshToken: string | undefined;
    if (this.unsaved) {
      base = this.unsaved.signIn;
      refreshToken = this.unsaved.signIn.tokens.refreshToken;
    } else {
      const latest = (await this.o.signIns.records.load(this.o.key)) ?? current;
      if (this.isNewer(latest, current, rejected)) {
        this.o.use(latest as Usable); // another copy refreshed while we waited
        return latest.tokens!.accessToken;
      }
      base = latest;
      refreshToken = await this.o.signIns.records.refreshToken(latest.record);
    }
    if (!refreshToken) return undefined;
    let tokens: Tokens | string;
    try {
      tokens = await this.spend(base, refreshToken, rejected, lease);
    } catch (err) {
      if (!isAppError(err, Code.GRANT_INVALID, Code.CLIENT_UNKNOWN)) throw err;
      await this.grantEnded(err, base.record, lease);
      return undefined;
    }
    if (typeof tokens === 'string') return tokens;
    const refreshed: Usable = { record: base.record, tokens };
    this.o.use(refreshed); // used at once, whether or not the save below works
    this.o.logger.debug('access token refreshed');
    await this.persist(refreshed, lease, this.unsaved?.attempts ?? 0);
    return tokens.accessToken;
  }

  /**
   * One refresh grant, made only while the lock is still ours. When the AS says the refresh token is
   * spent, the store is read once more: a copy that did not wait for our lock may have saved newer
   * tokens, which are then used (or their refresh token spent) instead of giving the sign-in up.
   * Returns a token string when a stored one is good as is.
   */
  private async spend(base: SignIn, refreshToken: string, rejected: string | undefined, lease: Lease): Promise<Tokens | string> {
    try {
      await lease.assertHeld();
      return await this.o.tokenEndpoint.refresh(base.record, refreshToken, await this.o.signIns.records.clientSecret(base.record), await this.o.dpop?.(base.record));
    } catch (err) {
      if (!isAppError(err, Code.GRANT_INVALID) || this.unsaved) throw err;
      const again = await this.o.signIns.records.load(this.o.key);
      if (again && this.isNewer(again, base, rejected)) {
        this.o.use(again as Usable);
        return again.tokens!.accessToken;
      }
      const newer = again && (await this.o.signIns.records.refreshToken(again.record));
      if (!again || !newer || newer === refreshToken) throw err;
      this.o.logger.debug('the refresh token was spent by another copy, which saved a newer one; using that');
      await lease.assertHeld();
      return this.o.tokenEndpoint.refresh(again.record, newer, await this.o.signIns.records.clientSecret(again.record), await this.o.dpop?.(again.record));
    }
  }

  /** The AS refused the refresh token (or no longer knows the client): the grant is gone for every copy. */
  private async grantEnded(err: AppError, record: SignInRecord, lease: Lease): Promise<void> {
    this.o.logger.warn(`${errorMessage(err)}; a new sign-in is needed`);
    this.grantLost = err;
    if (err.code === Code.CLIENT_UNKNOWN) await this.o.signIns.registrations.forgetClientOf(record).catch(() => {});
    // Spent for good: no copy asks the AS with it again (each would fail the same way).
    if (!this.unsaved) await this.o.signIns.records.dropRefreshToken(record, lease).catch(() => {});
    this.settleUnsaved(); // what was not saved is worthless now
  }

  /**
   * Saves refreshed tokens. On failure they stay in memory, the lock stays held, the user is told
   * once, and the save is retried in the background. A lock found lost: nothing is written (the copy
   * that took it over owns the sign-in now); these tokens serve this copy until they expire.
   */
  private async persist(pending: Usable, lease: Lease, attempts: number): Promise<void> {
    try {
      const record = await this.o.signIns.records.saveRefresh(pending.record, pending.tokens, lease);
      if (this.o.inUse()?.tokens === pending.tokens) this.o.use({ record, tokens: pending.tokens });
      if (this.unsaved) this.o.logger.info(`saved the refreshed sign-in to ${this.o.url} (after ${this.unsaved.attempts + 1} attempts)`);
      this.settleUnsaved();
    } catch (err) {
      if (isAppError(err, Code.LOCK_LOST)) {
        this.o.logger.warn(`${errorMessage(err)}; the refreshed tokens are kept in memory only`);
        this.settleUnsaved();
        return;
      }
      const first = !this.unsaved;
      this.unsaved = { ...(this.unsaved ?? settlement()), signIn: pending, lease, attempts: attempts + 1 };
      if (first) this.o.logger.warn(`${errorMessage(err)}. Using the new tokens from memory and trying again; other copies of appwrite-mcp wait for this one until it is saved.`);
      else this.o.logger.debug(`saving the refreshed sign-in failed again: ${errorMessage(err)}`);
      this.scheduleRetry(this.unsaved.attempts);
    }
  }

  private scheduleRetry(attempts: number): void {
    if (this.o.closing.aborted) return;
    const delay = Math.min(1000 * 2 ** (attempts - 1), MAX_SAVE_RETRY_MS);
    this.o.clock.sleep(delay, this.o.closing).then(
      () => this.o.exclusive(async () => {
        const unsaved = this.unsaved;
        if (unsaved) await this.persist(unsaved.signIn, unsaved.lease, unsaved.attempts);
      }),
      () => {},
    );
  }

  /** Refreshed tokens not saved yet are worthless now (a new sign-in replaced them): let the lock go. */
  discardUnsaved(): void {
    this.settleUnsaved();
  }

  private settleUnsaved(): void {
    this.unsaved?.settle();
    this.unsaved = undefined;
  }

  private failed(err: unknown, current: SignIn, rejected: string | undefined): string {
    this.failedAt = this.o.clock.now();
    if (isAppError(err, Code.LOCK_LOST)) {
      // Frozen past the lock's stale bound and taken over: another copy refreshes now; the store tells.
      this.o.logger.warn(`${errorMessage(err)}; leaving the refresh to the copy that took it over`);
      this.settleUnsaved();
    }
    this.lastError = isAppError(err, Code.LOCK_TIMEOUT)
      ? new AppError(Code.AS_UNREACHABLE, `Another appwrite-mcp process has been refreshing the sign-in to ${this.o.url} for ${REFRESH_LOCK_TIMEOUT_MS / 1000} s without finishing. appwrite-mcp tries again on the next request.`, { cause: err })
      : new AppError(Code.AS_UNREACHABLE, `Could not refresh the sign-in to ${this.o.url}: ${errorMessage(err)}. appwrite-mcp retries by itself on the next request; check your network or the authorization server's status.`, { cause: err });
    return this.fallback(current, rejected, this.lastError);
  }

  /** What is left of the current token when no new one can be had now; else the error. */
  private fallback(current: SignIn, rejected: string | undefined, error: AppError): string {
    if (current.tokens && current.tokens.accessToken !== rejected && isUsable(current.tokens, this.o.clock.now())) return current.tokens.accessToken;
    throw error;
  }

  /** `latest` holds a token that is due for nothing yet and is neither `than`'s nor the rejected one. */
  private isNewer(latest: SignIn, than: SignIn, rejected: string | undefined): latest is Usable {
    const t = latest.tokens;
    return Boolean(t && t.accessToken !== than.tokens?.accessToken && t.accessToken !== rejected && isFresh(t, this.o.clock.now()));
  }
}

function settlement(): Pick<Unsaved, 'settle' | 'settled'> {
  let settle!: () => void;
  const settled = new Promise<void>((resolve) => (settle = resolve));
  return { settle, settled };
}
