// The proxy's source of tokens: the stored sign-in, shared by every running copy.
//
// - Fast path: the token held in memory, while it has more than a minute left. No I/O.
// - Otherwise, under a per-server cross-process lock: re-read the store (another copy may have
//   refreshed already; a rotating refresh token may be spent only once), and refresh only if the
//   stored token is no better. The rotated refresh token is saved before the lock is released.
// - No sign-in at all (or the grant was revoked): one browser sign-in, under a second lock, so one
//   tab opens for all copies; the others wait for it and read its result. After a sign-in that was
//   not completed, no copy opens another tab for a while (state file), so there is no storm of tabs.
import { createHash } from 'node:crypto';
import type { Authorizer, BearerChallenge } from '../proxy/authorizer.js';
import { AuthorizationError } from '../proxy/authorizer.js';
import { loginCommand } from '../target.js';
import type { SecretStore, ServerState, TokenSet } from '../store/types.js';
import { openSecretStoreOfKind } from '../store/secrets.js';
import { loadState, updateState } from '../store/state.js';
import { withLock } from '../store/lock.js';
import { registerSecret } from '../log.js';
import { errorMessage } from '../errors.js';
// tokens.js and sign-in.js (and oauth4webapi behind them) load only when a refresh or a sign-in
// is needed: a proxy with a valid stored token starts without them.
import type { SignInDeps, SignInResult } from './sign-in.js';
import { RefreshError } from './refresh-error.js';
import { splitScopes, unionScopes } from './scopes.js';

/** A token with less than this left is refreshed before use (less for very short lifetimes). */
const EARLY_REFRESH_MS = 60_000;
/** After a failed refresh (AS down), requests fail fast for this long before the next attempt. */
const REFRESH_RETRY_MS = 1_000;
/** How long a copy waits for another copy's refresh before giving up. */
const REFRESH_LOCK_TIMEOUT_MS = 30_000;

export interface StoredAuthorizerOptions extends SignInDeps {
  url: string;
  /** How long a browser sign-in may take before it is abandoned. */
  signInTimeoutMs: number;
  /** May this process open a browser sign-in by itself? */
  allowBrowser: boolean;
  /** After an automatic browser sign-in was not completed, no copy opens another for this long. */
  browserCooldownMs: number;
  openUrl(url: string): void | Promise<void>;
  now?: () => number;
}

interface Held {
  server: ServerState;
  tokens: TokenSet;
  store: SecretStore;
}

export class StoredAuthorizer implements Authorizer {
  private held?: Held;
  private inflight?: Promise<string>;
  private refreshFailedAt = 0;
  private lastRefreshError?: AuthorizationError;
  private readonly lockKey: string;
  private readonly now: () => number;

  constructor(private readonly o: StoredAuthorizerOptions) {
    this.lockKey = createHash('sha256').update(o.url).digest('hex').slice(0, 16);
    this.now = o.now ?? Date.now;
  }

  async getToken(): Promise<string> {
    const held = this.held;
    if (held && this.isFresh(held.tokens)) return held.tokens.accessToken;
    return this.singleFlight(() => this.obtain(undefined));
  }

  async onUnauthorized(rejected: string, _challenge: BearerChallenge): Promise<string> {
    return this.singleFlight(() => this.obtain(rejected));
  }

  async onInsufficientScope(rejected: string, challenge: BearerChallenge): Promise<string> {
    return this.singleFlight(() => this.stepUp(rejected, challenge));
  }

  async whenReady(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      try {
        await this.getToken();
        return;
      } catch (err) {
        if (!(err instanceof AuthorizationError) || err.code === 'token_rejected') throw err;
        // keep waiting: another copy's sign-in, or the AS coming back
        await sleep(1000, signal);
      }
    }
  }

  private singleFlight(run: () => Promise<string>): Promise<string> {
    this.inflight ??= run().finally(() => { this.inflight = undefined; });
    return this.inflight;
  }

  /** More than a minute left (or, for short-lived tokens, more than half their lifetime). */
  private isFresh(tokens: TokenSet): boolean {
    if (tokens.expiresAt === undefined) return true;
    const lifetime = tokens.obtainedAt !== undefined ? tokens.expiresAt - tokens.obtainedAt : Infinity;
    return tokens.expiresAt - this.now() > Math.min(EARLY_REFRESH_MS, lifetime / 2);
  }

  private isUsable(tokens: TokenSet): boolean {
    return tokens.expiresAt === undefined || tokens.expiresAt > this.now() + 1000;
  }

  /** Reads the sign-in as the store has it now (another copy may have changed it). */
  private async load(): Promise<Held | undefined> {
    const state = await loadState(this.o.dir);
    const server = state.servers[this.o.url];
    if (!server) return undefined;
    const store = this.held?.store.kind === server.secretStore
      ? this.held.store
      : openSecretStoreOfKind(server.secretStore, { dir: this.o.dir, logger: this.o.ctx.logger, timeoutMs: this.o.keychainTimeoutMs });
    const tokens = await store.get(server.secretKey);
    if (!tokens) return undefined;
    registerSecret(tokens.accessToken);
    registerSecret(tokens.refreshToken);
    return { server, tokens, store };
  }

  private async obtain(rejected: string | undefined): Promise<string> {
    const current = (this.held && this.held.tokens.accessToken !== rejected && this.isFresh(this.held.tokens)) ? this.held : await this.load();
    if (current && current.tokens.accessToken !== rejected && this.isFresh(current.tokens)) {
      this.held = current;
      return current.tokens.accessToken;
    }
    if (current?.tokens.refreshToken) {
      const refreshed = await this.refreshShared(current, rejected);
      if (refreshed) return refreshed;
    } else if (current && current.tokens.accessToken !== rejected && this.isUsable(current.tokens)) {
      // No refresh token: use what is left of this one; sign in again when it runs out.
      this.held = current;
      return current.tokens.accessToken;
    }
    return this.browserSignIn(undefined, current ? 'your sign-in has expired or was revoked' : 'you are not signed in');
  }

  /**
   * Refresh under the per-server lock. Returns the new token, or undefined when the grant is gone
   * (a sign-in is needed). Throws AuthorizationError when the AS cannot be asked now.
   */
  private async refreshShared(current: Held, rejected: string | undefined): Promise<string | undefined> {
    if (this.now() - this.refreshFailedAt < REFRESH_RETRY_MS && this.lastRefreshError) {
      if (current.tokens.accessToken !== rejected && this.isUsable(current.tokens)) return current.tokens.accessToken;
      throw this.lastRefreshError;
    }
    try {
      return await withLock(this.o.dir, `tokens-${this.lockKey}`, async () => {
        const latest = (await this.load()) ?? current;
        if (latest.tokens.accessToken !== current.tokens.accessToken && latest.tokens.accessToken !== rejected && this.isFresh(latest.tokens)) {
          this.held = latest; // another copy refreshed while we waited for the lock
          return latest.tokens.accessToken;
        }
        const { refreshTokens } = await import('./tokens.js');
        const next = await refreshTokens(this.o.ctx, latest.server.as, latest.server.clientId, latest.server.resource, latest.tokens);
        await latest.store.set(latest.server.secretKey, next);
        const server = await this.saveServer(latest.server, next);
        this.held = { server, tokens: next, store: latest.store };
        this.o.ctx.logger.debug('access token refreshed');
        return next.accessToken;
      }, { timeoutMs: REFRESH_LOCK_TIMEOUT_MS });
    } catch (err) {
      const kind = err instanceof RefreshError ? err.kind : undefined;
      if (kind === 'invalid_grant' || kind === 'invalid_client') {
        this.o.ctx.logger.warn(`${errorMessage(err)}; a new sign-in is needed`);
        if (kind === 'invalid_client') await updateState(this.o.dir, (s) => { delete s.clients[current.server.issuer]; });
        return undefined;
      }
      this.refreshFailedAt = this.now();
      this.lastRefreshError = new AuthorizationError('as_unreachable',
        `Could not refresh the sign-in to ${this.o.url}: ${errorMessage(err)}. appwrite-mcp retries by itself on the next request; check your network or the authorization server's status.`,
        { cause: err });
      if (current.tokens.accessToken !== rejected && this.isUsable(current.tokens)) return current.tokens.accessToken;
      throw this.lastRefreshError;
    }
  }

  private async saveServer(server: ServerState, tokens: TokenSet, extra: Partial<ServerState> = {}): Promise<ServerState> {
    const next: ServerState = {
      ...server,
      ...extra,
      scopes: tokens.scope ? splitScopes(tokens.scope) : server.scopes,
      expiresAt: tokens.expiresAt,
      hasRefreshToken: Boolean(tokens.refreshToken),
      updatedAt: this.now(),
    };
    await updateState(this.o.dir, (s) => { if (s.servers[this.o.url]) s.servers[this.o.url] = next; });
    return next;
  }

  private async stepUp(rejected: string, challenge: BearerChallenge): Promise<string> {
    const required = splitScopes(challenge.scope);
    const hasAll = (t: TokenSet) => required.every((s) => splitScopes(t.scope).includes(s));
    const latest = await this.load();
    if (latest && latest.tokens.accessToken !== rejected && hasAll(latest.tokens) && this.isUsable(latest.tokens)) {
      this.held = latest; // another copy already stepped up
      return latest.tokens.accessToken;
    }
    const scopes = unionScopes((latest ?? this.held)?.server.scopes, required);
    const token = await this.browserSignIn(scopes, `the server needs more permissions (${required.join(' ') || 'unspecified scope'})`);
    if (this.held && !hasAll(this.held.tokens)) {
      throw new AuthorizationError('step_up_failed', `The authorization server did not grant the scope the server asked for (${required.join(' ')}). Ask your Appwrite admin for access.`);
    }
    return token;
  }

  /** One browser sign-in for all copies; the ones that lose the race wait and read its result. */
  private async browserSignIn(scopes: string[] | undefined, reason: string): Promise<string> {
    const before = await this.load();
    const loginHint = `run \`${loginCommand(this.o.url)}\` in a terminal`;
    if (!this.o.allowBrowser) {
      throw new AuthorizationError('sign_in_required', `Sign-in to ${this.o.url} is required (${reason}): ${loginHint}.`);
    }
    return withLock(this.o.dir, `signin-${this.lockKey}`, async () => {
      // Did another copy finish a sign-in while we waited for the lock?
      const latest = await this.load();
      const scopesOk = (t: TokenSet) => !scopes || scopes.every((s) => splitScopes(t.scope).includes(s));
      if (latest && latest.tokens.accessToken !== before?.tokens.accessToken && this.isUsable(latest.tokens) && scopesOk(latest.tokens)) {
        this.held = latest;
        return latest.tokens.accessToken;
      }
      const state = await loadState(this.o.dir);
      const lastFailure = state.signInFailures?.[this.o.url] ?? 0;
      if (this.now() - lastFailure < this.o.browserCooldownMs) {
        throw new AuthorizationError('sign_in_required', `Sign-in to ${this.o.url} is required (${reason}); the last browser sign-in was not completed: ${loginHint}.`);
      }
      this.o.ctx.logger.info(`sign-in to ${this.o.url} needed (${reason}): opening the browser`);
      let result: SignInResult;
      try {
        const { signIn } = await import('./sign-in.js');
        result = await signIn(this.o, {
          url: this.o.url,
          scopes,
          timeoutMs: this.o.signInTimeoutMs,
          openUrl: this.o.openUrl,
          onStep: (step) => {
            if (step.kind === 'waiting') this.o.ctx.logger.info(`finish signing in in your browser: ${step.authorizationUrl}`);
          },
        });
      } catch (err) {
        // Remembered so that copies started later do not open tab after tab. A copy killed while it
        // waited records nothing: its tab is orphaned, and the next copy rightly opens a new one.
        await updateState(this.o.dir, (s) => { s.signInFailures = { ...s.signInFailures, [this.o.url]: this.now() }; });
        throw new AuthorizationError('sign_in_required', `Sign-in to ${this.o.url} did not complete (${errorMessage(err)}): ${loginHint}.`, { cause: err });
      }
      await updateState(this.o.dir, (s) => { delete s.signInFailures?.[this.o.url]; });
      this.held = { server: result.server, tokens: result.tokens, store: result.store };
      this.o.ctx.logger.info(`signed in to ${this.o.url}`);
      return result.tokens.accessToken;
    }, { timeoutMs: this.o.signInTimeoutMs + 30_000 });
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason); }, { once: true });
  });
}
