// The proxy's source of tokens: the stored sign-in, shared by every running copy.
//
// - Fast path: the token held in memory while it is not due for refresh (auth/freshness.ts). No I/O.
// - Otherwise the store is read (another copy may have refreshed) and, when its token is due too,
//   refreshed under the sign-in's refresh lock (auth/refresher.ts).
// - No sign-in at all, or the grant is gone: requests go without a token until the server answers
//   401; then one browser sign-in for all copies (auth/shared-sign-in.ts).
//
// Operations run one at a time (a queue), so a burst of requests makes one refresh and the rest find
// its result in memory; no request waits for any of it longer than `holdMs`.
import { bearerPresentation, type Authorizer, type AuthChallenge, type Presentation } from '../authorization.js';
import { AppError, Code, isAppError } from '../errors.js';
import type { Logger } from '../log.js';
import { signInKey, type SignIns } from '../store/sign-ins.js';
import type { SignIn, SignInRecord, Target, Tokens } from '../store/types.js';
import { loginCommand } from '../target.js';
import type { BoundKeys } from './bound-key.js';
import { systemClock, type Clock } from './clock.js';
import { isFresh, isUsable } from './freshness.js';
import { Refresher, type Usable } from './refresher.js';
import { splitScopes, unionScopes } from './scopes.js';
import { SharedSignIn, signInPendingMessage, type SignInPolicy } from './shared-sign-in.js';
import type { TokenEndpoint } from './token-endpoint.js';

export type { Clock } from './clock.js';
export { systemClock } from './clock.js';

export interface StoredAuthorizerOptions extends SignInPolicy {
  signIns: SignIns;
  target: Target;
  logger: Logger;
  /** Where refreshes go (auth/token-endpoint.ts). */
  tokenEndpoint: TokenEndpoint;
  clock?: Clock;
}

/** How many recently handed-out DPoP-bound tokens are remembered (a request may still carry the one before a refresh). */
const BOUND_TOKENS = 4;

export class StoredAuthorizer implements Authorizer {
  private current?: Usable;
  /** DPoP-bound access tokens handed out, and their sign-in (whose key signs their proofs). */
  private readonly boundTokens = new Map<string, SignInRecord>();
  private boundKeys?: Promise<BoundKeys>;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly key: string;
  private readonly clock: Clock;
  private readonly login: string;
  private readonly closing = new AbortController();
  private readonly refresher: Refresher;
  private readonly browser: SharedSignIn;

  constructor(private readonly o: StoredAuthorizerOptions) {
    this.key = signInKey(o.target);
    this.clock = o.clock ?? systemClock;
    this.login = loginCommand(o.target);
    const common = { signIns: o.signIns, key: this.key, url: o.target.url, logger: o.logger, clock: this.clock };
    this.refresher = new Refresher({
      ...common, tokenEndpoint: o.tokenEndpoint, closing: this.closing.signal,
      dpop: async (record) => record.dpop ? (await (await this.keys()).of(record))?.handle : undefined,
      exclusive: (run) => this.exclusive(run), use: (s) => { this.held = s; }, inUse: () => this.held,
    });
    this.browser = new SharedSignIn({
      ...common, login: this.login, allowBrowser: o.allowBrowser, unattended: o.unattended,
      holdMs: o.holdMs, signInTimeoutMs: o.signInTimeoutMs, browserCooldownMs: o.browserCooldownMs,
      signIn: async (scopes, challenge) => {
        const result = await o.signIn(scopes, challenge);
        // The key the sign-in made is used as it is (its handle knows the AS's nonce already).
        if (result.dpopKey) (await this.keys()).adopt(result.dpopKey);
        return result;
      },
      stored: (rejected) => this.stored(rejected),
      signedIn: (s) => {
        this.held = s;
        this.refresher.discardUnsaved();
      },
    });
  }

  async getToken(): Promise<string | undefined> {
    const held = this.held;
    if (held && isFresh(held.tokens, this.clock.now())) return held.tokens.accessToken;
    return this.bounded(this.exclusive(() => this.stored(undefined)));
  }

  onUnauthorized(rejected: string | undefined, challenge: AuthChallenge): Promise<string> {
    return this.bounded(this.exclusive(async () => {
      const token = await this.stored(rejected);
      if (token !== undefined && token !== rejected) return token;
      const known = rejected !== undefined || (await this.o.signIns.records.record(this.key).catch(() => undefined)) !== undefined;
      const reason = known ? 'your sign-in has expired or was revoked' : 'you are not signed in';
      return this.browser.start(undefined, reason, challenge, this.refresher.grantLost, rejected);
    }));
  }

  onInsufficientScope(rejected: string | undefined, challenge: AuthChallenge): Promise<string> {
    return this.bounded(this.exclusive(() => this.stepUp(rejected, challenge)));
  }

  async whenReady(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      await this.browser.inProgress?.catch(() => {});
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

  async present(token: string, method: string, url: URL): Promise<Presentation> {
    const record = this.boundTokens.get(token);
    if (!record) return bearerPresentation(token);
    const bound = await (await this.keys()).of(record);
    // The key is gone: the token goes as it is, the server refuses it, and the refused refresh leads to a new sign-in.
    if (!bound) return bearerPresentation(token);
    return bound.signer.sign(token, method, url);
  }

  /** Stops retrying in the background; refreshed tokens not saved yet get one last, bounded try. */
  async close(): Promise<void> {
    this.closing.abort();
    await this.refresher.close();
  }

  /**
   * The stored sign-in's token (not `rejected`), refreshed when due; undefined when there is no
   * usable one: the caller then goes without, or signs in.
   */
  private async stored(rejected: string | undefined): Promise<string | undefined> {
    const usable = (s: SignIn | undefined, fresh: (t: Tokens, now: number) => boolean): s is Usable =>
      Boolean(s?.tokens && s.tokens.accessToken !== rejected && fresh(s.tokens, this.clock.now()));
    if (usable(this.held, isFresh)) return this.held.tokens.accessToken;
    // While refreshed tokens wait to be saved, the store is older than memory: do not read it.
    const current = this.refresher.pending ? this.held : await this.o.signIns.records.load(this.key);
    if (usable(current, isFresh)) {
      this.held = current;
      return current.tokens.accessToken;
    }
    if (current?.record.token.hasRefreshToken) return this.refresher.refresh(current, rejected);
    if (usable(current, isUsable)) {
      // No refresh token: use what is left of this one; sign in again when it runs out.
      this.held = current;
      return current.tokens.accessToken;
    }
    return undefined;
  }

  private async stepUp(rejected: string | undefined, challenge: AuthChallenge): Promise<string> {
    const required = splitScopes(challenge.scope);
    const hasAll = (t: Tokens) => required.every((s) => t.scopes.includes(s));
    const latest = this.refresher.pending ? this.held : await this.o.signIns.records.load(this.key);
    if (latest?.tokens && latest.tokens.accessToken !== rejected && hasAll(latest.tokens) && isUsable(latest.tokens, this.clock.now())) {
      this.held = latest as Usable; // another copy already stepped up
      return latest.tokens.accessToken;
    }
    const granted = (latest ?? this.held)?.record.token.scopes;
    const token = await this.browser.start(unionScopes(granted, required), `the server needs more permissions (${required.join(' ') || 'unspecified scope'})`, challenge);
    if (this.held && !hasAll(this.held.tokens)) {
      throw new AppError(Code.STEP_UP_FAILED, `The authorization server did not grant the scope the server asked for (${required.join(' ')}). Ask your Appwrite admin for access.`);
    }
    return token;
  }

  private get held(): Usable | undefined {
    return this.current;
  }

  /** The tokens in use; a DPoP-bound access token is remembered with its sign-in, for `present`. */
  private set held(s: Usable | undefined) {
    this.current = s;
    if (!s || s.tokens.tokenType?.toLowerCase() !== 'dpop' || !s.record.dpop) return;
    this.boundTokens.delete(s.tokens.accessToken);
    if (this.boundTokens.size >= BOUND_TOKENS) this.boundTokens.delete(this.boundTokens.keys().next().value!);
    this.boundTokens.set(s.tokens.accessToken, s.record);
  }

  /** The DPoP keys of bound sign-ins; the module loads only when a sign-in is bound. */
  private keys(): Promise<BoundKeys> {
    this.boundKeys ??= import('./bound-key.js').then((m) => new m.BoundKeys((record) => this.o.signIns.records.dpopKey(record), this.o.logger));
    return this.boundKeys;
  }

  /**
   * No request waits for auth longer than holdMs, whatever is slow (an AS that hangs, another
   * copy's lock, a browser): the work goes on, and serves the next request when it is done.
   */
  private async bounded<T>(work: Promise<T>): Promise<T> {
    const hold = new AbortController();
    const timedOut = this.clock.sleep(this.o.holdMs, hold.signal).then(() => {
      throw this.browser.inProgress
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
}
