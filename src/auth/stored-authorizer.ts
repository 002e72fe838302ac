// The proxy's source of tokens: the stored sign-in, shared by every running copy.
//
// - Fast path: the token held in memory, while it has more than a minute left. No I/O.
// - Otherwise, under a per-sign-in cross-process lock: re-read the store (another copy may have
//   refreshed already; a rotating refresh token may be spent only once) and refresh only if the
//   stored token is no better. The new tokens are used from memory at once and saved before the
//   lock is released. When the save fails, the lock stays held (so no other copy spends the old
//   refresh token) and the save is retried until it succeeds.
// - No sign-in at all (or the grant was revoked): requests go without a token; when the server
//   answers 401, one browser sign-in, under a second lock, so one tab opens for all copies; the
//   others wait for it and read its result. A request waits for it at most `holdMs`, then gets
//   SIGN_IN_PENDING while the sign-in goes on. After a sign-in that was not completed, no copy
//   opens another tab for a while, so there is no storm of tabs.
//
// Operations run one at a time (a queue), so a burst of requests makes one refresh and the rest
// find its result in memory.
import type { Authorizer, BearerChallenge } from '../authorization.js';
import { AppError, Code, errorMessage, isAppError } from '../errors.js';
import type { Logger } from '../log.js';
import type { LockHandle } from '../store/lock.js';
import { signInKey, type SignIns, type StoredSignIn } from '../store/sign-ins.js';
import type { SignInRecord, Target, Tokens } from '../store/types.js';
import { loginCommand } from '../target.js';
import { isFresh, isUsable } from './freshness.js';
import { splitScopes, unionScopes } from './scopes.js';

/** What a request that waited for a browser sign-in in vain is told (the sign-in goes on). */
function signInPendingMessage(url: string, login: string): string {
  return `Sign-in to ${new URL(url).host} is required: a browser tab has been opened; finish signing in there, or run \`${login}\` in a terminal.`;
}

/** After a failed refresh (AS down), requests fail fast for this long before the next attempt. */
const REFRESH_RETRY_MS = 1_000;
/** How long a copy waits for another copy's refresh before giving up. */
const REFRESH_LOCK_TIMEOUT_MS = 30_000;
/** How a browser sign-in ends when its tab was opened and not finished (the cool-down applies). */
const TAB_OUTCOMES = [Code.SIGN_IN_TIMEOUT, Code.ACCESS_DENIED, Code.AUTHORIZATION_REFUSED, Code.CALLBACK_REJECTED] as const;
/** Saving refreshed tokens is retried after 1 s, 2 s, 4 s … at most this far apart. */
const MAX_SAVE_RETRY_MS = 30_000;

export interface Clock {
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      timer.unref();
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export interface StoredAuthorizerOptions {
  signIns: SignIns;
  target: Target;
  logger: Logger;
  /** The refresh token grant at the sign-in's AS (auth/tokens.ts; loaded only when needed). */
  refresh(record: SignInRecord, refreshToken: string): Promise<Tokens>;
  /**
   * A whole browser sign-in, saved (auth/sign-in.ts), asking for `scopes` when given; `challenge`
   * is the server's 401 that asked for it (its resource_metadata and scope steer discovery).
   */
  signIn(scopes: string[] | undefined, challenge: BearerChallenge | undefined): Promise<{ record: SignInRecord; tokens: Tokens }>;
  /** May this process open a browser sign-in by itself? */
  allowBrowser: boolean;
  /**
   * The sign-in needs no person (client credentials, cross-app access): it runs whenever the
   * server asks, with no browser, no hold and no cool-down after a failure.
   */
  unattended?: boolean;
  /** How long a request waits for a browser sign-in before it is answered SIGN_IN_PENDING. */
  holdMs: number;
  /** How long a browser sign-in may take before it is abandoned. */
  signInTimeoutMs: number;
  /** After an automatic browser sign-in was not completed, no copy opens another for this long. */
  browserCooldownMs: number;
  clock?: Clock;
}

interface Held {
  record: SignInRecord;
  tokens: Tokens;
}

/** Refreshed tokens that could not be saved yet: kept in memory, with the lock that protects them. */
interface Unsaved extends Held {
  lock: LockHandle;
  attempts: number;
}

export class StoredAuthorizer implements Authorizer {
  private held?: Held;
  private unsaved?: Unsaved;
  /** The browser sign-in in progress, shared by every request that waits for it. */
  private signingIn?: Promise<string>;
  private queue: Promise<unknown> = Promise.resolve();
  private refreshFailedAt = -Infinity;
  private lastRefreshError?: AppError;
  private readonly key: string;
  private readonly clock: Clock;
  private readonly login: string;
  private readonly closing = new AbortController();

  constructor(private readonly o: StoredAuthorizerOptions) {
    this.key = signInKey(o.target);
    this.clock = o.clock ?? systemClock;
    this.login = loginCommand(o.target);
  }

  async getToken(): Promise<string | undefined> {
    const held = this.held;
    if (held && this.isFresh(held.tokens)) return held.tokens.accessToken;
    return this.bounded(this.exclusive(() => this.stored(undefined)));
  }

  onUnauthorized(rejected: string | undefined, challenge: BearerChallenge): Promise<string> {
    return this.bounded(this.exclusive(async () => {
      const token = await this.stored(rejected);
      if (token !== undefined && token !== rejected) return token;
      const known = rejected !== undefined || (await this.o.signIns.record(this.key).catch(() => undefined)) !== undefined;
      const reason = known ? 'your sign-in has expired or was revoked' : 'you are not signed in';
      return this.browserSignIn(undefined, reason, challenge);
    }));
  }

  onInsufficientScope(rejected: string | undefined, challenge: BearerChallenge): Promise<string> {
    return this.bounded(this.exclusive(() => this.stepUp(rejected, challenge)));
  }

  async whenReady(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      if (this.signingIn) await this.signingIn.catch(() => {});
      try {
        if ((await this.getToken()) !== undefined) return;
      } catch (err) {
        if (isAppError(err, Code.TOKEN_REJECTED)) throw err;
        // keep waiting: the AS coming back
      }
      // another copy's sign-in, or `appwrite-mcp login` in a terminal
      await this.clock.sleep(1000, signal);
    }
  }

  /** Stops retrying in the background; refreshed tokens not saved yet get one last, bounded try. */
  async close(): Promise<void> {
    this.closing.abort();
    if (this.unsaved) await this.exclusive(() => this.persist(this.unsaved!)).catch(() => {});
    await this.unsaved?.lock.release();
  }

  // ── policy ───────────────────────────────────────────────────────────────────────────────

  /**
   * The stored sign-in's token (not `rejected`), refreshed when due; undefined when there is no
   * usable one: the caller then goes without, or signs in.
   */
  private async stored(rejected: string | undefined): Promise<string | undefined> {
    const usableHeld = this.held && this.held.tokens.accessToken !== rejected && this.isFresh(this.held.tokens);
    if (usableHeld) return this.held!.tokens.accessToken;
    // While refreshed tokens wait to be saved, the store is older than memory: do not read it.
    const current: StoredSignIn | undefined = this.unsaved ? this.held : await this.o.signIns.load(this.key);
    if (current?.tokens && current.tokens.accessToken !== rejected && this.isFresh(current.tokens)) {
      this.held = { record: current.record, tokens: current.tokens };
      return current.tokens.accessToken;
    }
    if (current?.record.token.hasRefreshToken) return this.refreshShared(current, rejected);
    if (current?.tokens && current.tokens.accessToken !== rejected && this.isUsable(current.tokens)) {
      // No refresh token: use what is left of this one; sign in again when it runs out.
      this.held = { record: current.record, tokens: current.tokens };
      return current.tokens.accessToken;
    }
    return undefined;
  }

  /**
   * Refresh under the per-sign-in lock. Returns the new token, or undefined when the grant is gone
   * (a sign-in is needed). Throws AppError when the AS cannot be asked now.
   */
  private async refreshShared(current: StoredSignIn, rejected: string | undefined): Promise<string | undefined> {
    if (this.clock.now() - this.refreshFailedAt < REFRESH_RETRY_MS && this.lastRefreshError) {
      if (current.tokens && current.tokens.accessToken !== rejected && this.isUsable(current.tokens)) return current.tokens.accessToken;
      throw this.lastRefreshError;
    }
    let lock: LockHandle | undefined = this.unsaved?.lock;
    try {
      lock ??= await this.o.signIns.acquireLock('tokens', this.key, { timeoutMs: REFRESH_LOCK_TIMEOUT_MS });
      let base: Held | StoredSignIn;
      let refreshToken: string | undefined;
      if (this.unsaved) {
        base = this.unsaved;
        refreshToken = this.unsaved.tokens.refreshToken;
      } else {
        const latest = (await this.o.signIns.load(this.key)) ?? current;
        if (this.isNewer(latest, current, rejected)) {
          this.held = { record: latest.record, tokens: latest.tokens! }; // another copy refreshed while we waited
          return latest.tokens!.accessToken;
        }
        base = latest;
        refreshToken = await this.o.signIns.refreshToken(latest.record);
      }
      if (!refreshToken) return undefined;
      const tokens = await this.refreshOnce(base, refreshToken, rejected, lock);
      if (typeof tokens === 'string') return tokens;
      const refreshed: Unsaved = { record: base.record, tokens, lock, attempts: this.unsaved?.attempts ?? 0 };
      this.held = { record: base.record, tokens }; // used at once, whether or not the save below works
      this.refreshFailedAt = -Infinity;
      this.o.logger.debug('access token refreshed');
      await this.persist(refreshed);
      return tokens.accessToken;
    } catch (err) {
      if (isAppError(err, Code.GRANT_INVALID, Code.CLIENT_UNKNOWN)) {
        this.o.logger.warn(`${errorMessage(err)}; a new sign-in is needed`);
        if (err.code === Code.CLIENT_UNKNOWN) await this.o.signIns.forgetClient({ issuer: current.record.as.issuer, resource: current.record.resource }, current.record.client.clientId).catch(() => {});
        // Spent for good: no copy asks the AS with it again (each would fail the same way).
        if (!this.unsaved && lock) await this.o.signIns.dropRefreshToken(current.record, lock).catch(() => {});
        this.unsaved = undefined; // the grant is gone: what was not saved is worthless now
        return undefined;
      }
      if (isAppError(err, Code.LOCK_LOST)) {
        // Frozen past the lock's stale bound and taken over: another copy refreshes now; the store tells.
        this.o.logger.warn(`${errorMessage(err)}; leaving the refresh to the copy that took it over`);
        this.unsaved = undefined;
      }
      this.refreshFailedAt = this.clock.now();
      this.lastRefreshError = isAppError(err, Code.LOCK_TIMEOUT)
        ? new AppError(Code.AS_UNREACHABLE, `Another appwrite-mcp process has been refreshing the sign-in to ${this.o.target.url} for ${REFRESH_LOCK_TIMEOUT_MS / 1000} s without finishing. appwrite-mcp tries again on the next request.`, { cause: err })
        : new AppError(Code.AS_UNREACHABLE, `Could not refresh the sign-in to ${this.o.target.url}: ${errorMessage(err)}. appwrite-mcp retries by itself on the next request; check your network or the authorization server's status.`, { cause: err });
      if (current.tokens && current.tokens.accessToken !== rejected && this.isUsable(current.tokens)) return current.tokens.accessToken;
      throw this.lastRefreshError;
    } finally {
      if (lock && this.unsaved?.lock !== lock) await lock.release();
    }
  }

  /**
   * One refresh grant. When the AS says the refresh token is spent, the store is read once more: a
   * copy that did not wait for our lock may have saved newer tokens, which are then used (or their
   * refresh token spent) instead of giving up the sign-in. Returns a token string when a stored one
   * is good as is.
   */
  private async refreshOnce(base: Held | StoredSignIn, refreshToken: string, rejected: string | undefined, lease: LockHandle): Promise<Tokens | string> {
    try {
      await lease.assertHeld(); // spend the refresh token only while no other copy can
      return await this.o.refresh(base.record, refreshToken);
    } catch (err) {
      if (!isAppError(err, Code.GRANT_INVALID) || this.unsaved) throw err;
      const again = await this.o.signIns.load(this.key);
      if (again && this.isNewer(again, base, rejected)) {
        this.held = { record: again.record, tokens: again.tokens! };
        return again.tokens!.accessToken;
      }
      const newer = again && (await this.o.signIns.refreshToken(again.record));
      if (!again || !newer || newer === refreshToken) throw err;
      this.o.logger.debug('the refresh token was spent by another copy, which saved a newer one; using that');
      await lease.assertHeld();
      return this.o.refresh(again.record, newer);
    }
  }

  /**
   * Saves refreshed tokens. On failure they stay in memory, the lock stays held (other copies wait
   * instead of spending the old refresh token, which would end the grant at a rotating AS), the user
   * is told once, and the save is retried in the background.
   */
  private async persist(pending: Unsaved): Promise<void> {
    try {
      const record = await this.o.signIns.saveRefresh(pending.record, pending.tokens, pending.lock);
      if (this.held?.tokens === pending.tokens) this.held = { record, tokens: pending.tokens };
      if (this.unsaved) {
        this.o.logger.info(`saved the refreshed sign-in to ${this.o.target.url} (after ${this.unsaved.attempts + 1} attempts)`);
        this.unsaved = undefined;
        await pending.lock.release();
      }
    } catch (err) {
      if (isAppError(err, Code.LOCK_LOST)) {
        // Another copy owns the sign-in now: writing could overwrite what it saves. These tokens serve this copy until they expire.
        this.o.logger.warn(`${errorMessage(err)}; the refreshed tokens are kept in memory only`);
        this.unsaved = undefined;
        await pending.lock.release();
        return;
      }
      const first = !this.unsaved;
      this.unsaved = { ...pending, attempts: pending.attempts + 1 };
      if (first) {
        this.o.logger.warn(`${errorMessage(err)}. Using the new tokens from memory and trying again; other copies of appwrite-mcp wait for this one until it is saved.`);
      } else {
        this.o.logger.debug(`saving the refreshed sign-in failed again: ${errorMessage(err)}`);
      }
      this.scheduleSaveRetry(this.unsaved.attempts);
    }
  }

  private scheduleSaveRetry(attempts: number): void {
    if (this.closing.signal.aborted) return;
    const delay = Math.min(1000 * 2 ** (attempts - 1), MAX_SAVE_RETRY_MS);
    this.clock.sleep(delay, this.closing.signal).then(
      () => this.exclusive(async () => { if (this.unsaved) await this.persist(this.unsaved); }),
      () => {},
    );
  }

  private async stepUp(rejected: string | undefined, challenge: BearerChallenge): Promise<string> {
    const required = splitScopes(challenge.scope);
    const hasAll = (t: Tokens) => required.every((s) => t.scopes.includes(s));
    const latest = this.unsaved ? this.held : await this.o.signIns.load(this.key);
    if (latest?.tokens && latest.tokens.accessToken !== rejected && hasAll(latest.tokens) && this.isUsable(latest.tokens)) {
      this.held = { record: latest.record, tokens: latest.tokens }; // another copy already stepped up
      return latest.tokens.accessToken;
    }
    const granted = (latest ?? this.held)?.record.token.scopes;
    const token = await this.browserSignIn(unionScopes(granted, required), `the server needs more permissions (${required.join(' ') || 'unspecified scope'})`, challenge);
    if (this.held && !hasAll(this.held.tokens)) {
      throw new AppError(Code.STEP_UP_FAILED, `The authorization server did not grant the scope the server asked for (${required.join(' ')}). Ask your Appwrite admin for access.`);
    }
    return token;
  }

  /**
   * Starts (or joins) the browser sign-in and waits for it at most holdMs; past that the request
   * gets SIGN_IN_PENDING and the sign-in goes on: its result serves the next requests.
   */
  private async browserSignIn(scopes: string[] | undefined, reason: string, challenge: BearerChallenge | undefined): Promise<string> {
    if (this.o.unattended) return this.signInShared(scopes, reason, challenge);
    if (!this.o.allowBrowser) {
      throw new AppError(Code.SIGN_IN_REQUIRED, `Sign-in to ${this.o.target.url} is required (${reason}): run \`${this.login}\` in a terminal.`);
    }
    if (!this.signingIn) {
      const signingIn = this.signInShared(scopes, reason, challenge).finally(() => {
        if (this.signingIn === signingIn) this.signingIn = undefined;
      });
      signingIn.catch((err) => this.o.logger.debug(`the browser sign-in ended: ${errorMessage(err)}`));
      this.signingIn = signingIn;
    }
    const hold = new AbortController();
    try {
      return await Promise.race([
        this.signingIn,
        this.clock.sleep(this.o.holdMs, hold.signal).then(() => {
          throw new AppError(Code.SIGN_IN_PENDING, signInPendingMessage(this.o.target.url, this.login));
        }),
      ]);
    } finally {
      hold.abort();
    }
  }

  /** One browser sign-in for all copies; the ones that lose the race wait and read its result. */
  private async signInShared(scopes: string[] | undefined, reason: string, challenge: BearerChallenge | undefined): Promise<string> {
    const loginHint = `run \`${this.login}\` in a terminal`;
    const before = await this.o.signIns.load(this.key).catch(() => undefined);
    return this.o.signIns.withLock('sign-in', this.key, async () => {
      // Did another copy finish a sign-in while we waited for the lock? Then that one serves, refreshed
      // if its (short-lived) token is already due: never a second tab for a sign-in that just happened.
      const latest = await this.o.signIns.load(this.key);
      const scopesOk = (t: { scopes: string[] }) => !scopes || scopes.every((s) => t.scopes.includes(s));
      const signedInMeanwhile = latest && (!before || latest.record.signedInAt !== before.record.signedInAt);
      if (signedInMeanwhile && scopesOk(latest.record.token)) {
        const token = await this.stored(before?.tokens?.accessToken);
        if (token !== undefined) return token;
      }
      const lastFailure = this.o.unattended ? 0 : await this.o.signIns.lastSignInFailure(this.key);
      if (this.clock.now() - lastFailure < this.o.browserCooldownMs) {
        throw new AppError(Code.SIGN_IN_REQUIRED, `Sign-in to ${this.o.target.url} is required (${reason}); the last browser sign-in was not completed: ${loginHint}.`);
      }
      this.o.logger.info(`sign-in to ${this.o.target.url} needed (${reason})`);
      let result: Held;
      try {
        result = await this.o.signIn(scopes, challenge);
      } catch (err) {
        // Remembered so that copies started later do not open tab after tab — only when a tab was
        // opened and not finished: an AS that was down before any tab opened is no reason to wait
        // 10 minutes. A copy killed while it waited records nothing: the next copy opens a new tab.
        if (!this.o.unattended && isAppError(err, ...TAB_OUTCOMES)) await this.o.signIns.recordSignInFailure(this.key).catch(() => {});
        throw new AppError(Code.SIGN_IN_REQUIRED, `Sign-in to ${this.o.target.url} did not complete (${errorMessage(err)}): ${loginHint}.`, { cause: err });
      }
      this.held = result;
      this.unsaved = undefined;
      this.o.logger.info(`signed in to ${this.o.target.url}`);
      return result.tokens.accessToken;
    }, { timeoutMs: this.o.signInTimeoutMs + 30_000 });
  }

  // ── helpers ──────────────────────────────────────────────────────────────────────────────

  /**
   * No request waits for auth longer than holdMs, whatever is slow (an AS that hangs, another
   * copy's lock, a browser): the work goes on, and serves the next request when it is done.
   */
  private async bounded<T>(work: Promise<T>): Promise<T> {
    const hold = new AbortController();
    const timedOut = this.clock.sleep(this.o.holdMs, hold.signal).then(() => {
      throw this.signingIn
        ? new AppError(Code.SIGN_IN_PENDING, signInPendingMessage(this.o.target.url, this.login))
        : new AppError(Code.AS_UNREACHABLE, `Signing in to ${this.o.target.url} is taking more than ${Math.round(this.o.holdMs / 1000)} s (the authorization server or another appwrite-mcp process is slow); appwrite-mcp keeps at it and the next request uses the result.`);
    });
    timedOut.catch(() => {});
    work.catch(() => {}); // a late failure is the next request's to see
    try {
      return await Promise.race([work, timedOut]);
    } finally {
      hold.abort();
    }
  }

  /** Runs operations one at a time, in arrival order. */
  private exclusive<T>(run: () => Promise<T>): Promise<T> {
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => {});
    return next;
  }

  /** `latest` holds a usable token that is not the one `than` held and not the rejected one. */
  private isNewer(latest: StoredSignIn | Held, than: StoredSignIn | Held, rejected: string | undefined): boolean {
    const t = latest.tokens;
    return Boolean(t && t.accessToken !== than.tokens?.accessToken && t.accessToken !== rejected && this.isFresh(t));
  }

  /** Not due for refresh (auth/freshness.ts: a margin of half the lifetime, at most a minute). */
  private isFresh(tokens: Tokens): boolean {
    return isFresh(tokens, this.clock.now());
  }

  private isUsable(tokens: Tokens): boolean {
    return isUsable(tokens, this.clock.now());
  }
}
