// One browser sign-in for every copy of appwrite-mcp. No sign-in at all (or the grant was revoked):
// requests go without a token; when the server answers 401, one browser sign-in starts, under the
// sign-in lock, so one tab opens for all copies; the others wait for it and read its result. A
// request waits for it at most `holdMs`, then gets AUTH_SIGN_IN_PENDING while the sign-in goes on.
// After a sign-in that was not completed, no copy opens another tab for a while (the cool-down).
import type { AuthChallenge } from '../authorization.js';
import { AppError, Code, errorMessage, isAppError } from '../errors.js';
import type { Logger } from '../log.js';
import type { DpopKey } from './dpop.js';
import type { SignIns } from '../store/sign-ins.js';
import type { Clock } from './clock.js';
import type { Usable } from './refresher.js';

/** How a browser sign-in ends when its tab was opened and not finished (the cool-down applies). */
const TAB_OUTCOMES = [Code.SIGN_IN_TIMEOUT, Code.ACCESS_DENIED, Code.AUTHORIZATION_REFUSED, Code.CALLBACK_REJECTED] as const;

/** When and how a sign-in may happen: the part of the authorizer's options the shared sign-in reads. */
export interface SignInPolicy {
  /**
   * A whole sign-in, saved, asking for `scopes` when given; `challenge` is the server's 401 that
   * asked for it (its resource_metadata and scope steer discovery).
   */
  signIn(scopes: string[] | undefined, challenge: AuthChallenge | undefined): Promise<Usable & { dpopKey?: DpopKey }>;
  /** May this process open a browser sign-in by itself? */
  allowBrowser: boolean;
  /**
   * The sign-in needs no person (client credentials, cross-app access): it runs whenever the
   * server asks, with no browser, no hold and no cool-down after a failure.
   */
  unattended?: boolean;
  /** How long a request waits for a sign-in or a refresh before it is answered. */
  holdMs: number;
  /** How long a browser sign-in may take before it is abandoned. */
  signInTimeoutMs: number;
  /** After an automatic browser sign-in was not completed, no copy opens another for this long. */
  browserCooldownMs: number;
}

export interface SharedSignInOptions extends SignInPolicy {
  signIns: SignIns;
  key: string;
  url: string;
  /** `appwrite-mcp login …` for this server, for the messages. */
  login: string;
  logger: Logger;
  clock: Clock;
  /** The stored sign-in's token, refreshed if due (for a sign-in another copy has just completed). */
  stored(rejected: string | undefined): Promise<string | undefined>;
  /** A sign-in completed here: its tokens are the ones in use. */
  signedIn(signIn: Usable): void;
}

/** What a request that waited for a browser sign-in in vain is told (the sign-in goes on). */
export function signInPendingMessage(url: string, login: string): string {
  return `Sign-in to ${new URL(url).host} is required: a browser tab has been opened; finish signing in there, or run \`${login}\` in a terminal.`;
}

export class SharedSignIn {
  private signingIn?: Promise<string>;

  constructor(private readonly o: SharedSignInOptions) {}

  /** The browser sign-in in progress, shared by every request that waits for it. */
  get inProgress(): Promise<string> | undefined {
    return this.signingIn;
  }

  /**
   * Starts (or joins) the sign-in and waits for it at most holdMs; past that the request gets
   * AUTH_SIGN_IN_PENDING and the sign-in goes on: its result serves the next requests. `cause`:
   * why the stored sign-in could not serve (the refused refresh token), kept on the error.
   */
  async start(scopes: string[] | undefined, reason: string, challenge: AuthChallenge | undefined, cause?: unknown, rejected?: string): Promise<string> {
    if (this.o.unattended) return this.shared(scopes, reason, challenge, rejected);
    if (!this.o.allowBrowser) {
      throw new AppError(Code.SIGN_IN_REQUIRED, `Sign-in to ${this.o.url} is required (${reason}): run \`${this.o.login}\` in a terminal.`, { cause });
    }
    if (!this.signingIn) {
      const signingIn = this.shared(scopes, reason, challenge, rejected).finally(() => {
        if (this.signingIn === signingIn) this.signingIn = undefined;
      });
      signingIn.catch((err) => this.o.logger.debug(`the browser sign-in ended: ${errorMessage(err)}`));
      this.signingIn = signingIn;
    }
    const hold = new AbortController();
    try {
      return await Promise.race([
        this.signingIn,
        this.o.clock.sleep(this.o.holdMs, hold.signal).then(() => {
          throw new AppError(Code.SIGN_IN_PENDING, signInPendingMessage(this.o.url, this.o.login));
        }),
      ]);
    } finally {
      hold.abort();
    }
  }

  /**
   * One sign-in for all copies; the ones that lose the race wait and read its result. `rejected`:
   * the token the server refused (none when the request went without one).
   */
  private async shared(scopes: string[] | undefined, reason: string, challenge: AuthChallenge | undefined, rejected: string | undefined): Promise<string> {
    const { signIns, key, url } = this.o;
    const loginHint = `run \`${this.o.login}\` in a terminal`;
    const before = await signIns.records.load(key).catch(() => undefined);
    return signIns.locks.withSignInLock(key, async () => {
      // Did another copy finish a sign-in? Then that one serves, refreshed if its (short-lived) token
      // is already due: never a second tab for a sign-in that just happened. "Finished" while we
      // waited for the lock (newer than `before`), or before `before` was read but after the 401 that
      // brought us here (a slow machine fits a whole sign-in in between): then the store holds a
      // token other than the refused one. A step-up only takes a newer sign-in with its scopes.
      const latest = await signIns.records.load(key);
      const scopesOk = !scopes || scopes.every((s) => latest?.record.token.scopes.includes(s));
      const newer = latest !== undefined && latest.record.signedInAt !== before?.record.signedInAt;
      if (latest && scopesOk && (newer || !scopes)) {
        const token = await this.o.stored(newer ? before?.tokens?.accessToken : rejected);
        if (token !== undefined && token !== rejected) return token;
      }
      const lastUnfinished = this.o.unattended ? 0 : await signIns.cooldown.lastUnfinished(key);
      if (this.o.clock.now() - lastUnfinished < this.o.browserCooldownMs) {
        throw new AppError(Code.SIGN_IN_REQUIRED, `Sign-in to ${url} is required (${reason}); the last browser sign-in was not completed: ${loginHint}.`);
      }
      this.o.logger.info(`sign-in to ${url} needed (${reason})`);
      let result: Usable;
      try {
        result = await this.o.signIn(scopes, challenge);
      } catch (err) {
        // Remembered so that copies started later do not open tab after tab — only when a tab was
        // opened and not finished: an AS that was down before any tab opened is no reason to wait
        // 10 minutes. A copy killed while it waited records nothing: the next copy opens a new tab.
        if (!this.o.unattended && isAppError(err, ...TAB_OUTCOMES)) await signIns.cooldown.recordUnfinished(key).catch(() => {});
        throw new AppError(Code.SIGN_IN_REQUIRED, `Sign-in to ${url} did not complete (${errorMessage(err)}): ${loginHint}.`, { cause: err });
      }
      this.o.signedIn(result);
      this.o.logger.info(`signed in to ${url}`);
      return result.tokens.accessToken;
    }, { timeoutMs: this.o.signInTimeoutMs + 30_000 });
  }
}
