// The sign-in policy of the proxy, with the real SignIns on a temp dir, an in-memory keychain that
// can fail or hang, a fake authorization server (rotating refresh tokens, each spendable once) and
// a fake clock: every timing decision is made by the test, nothing sleeps.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuthorizationServer } from 'oauth4webapi';
import { StoredAuthorizer, type StoredAuthorizerOptions } from '../../src/auth/stored-authorizer.js';
import { AppError, Code } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { SignIns } from '../../src/store/sign-ins.js';
import type { SignInRecord, Tokens } from '../../src/store/types.js';
import { FakeClock, FakeKeychain, until } from '../helpers/fakes.js';
import { makeTempDir } from '../store/helpers.js';

const URL_ = 'https://mcp.example/';
const ISSUER = 'https://as.example';
const AS: AuthorizationServer = { issuer: ISSUER, authorization_endpoint: `${ISSUER}/authorize`, token_endpoint: `${ISSUER}/token`, code_challenge_methods_supported: ['S256'] };
const HOUR = 3_600_000;

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });

/** An authorization server that rotates refresh tokens: each may be spent once. */
class FakeAs {
  live = 'rt-1';
  grants = 0;
  spent: string[] = [];
  private n = 1;
  down = false;
  constructor(private readonly clock: FakeClock, private readonly ttlMs = HOUR) {}

  tokens(): Tokens {
    return { accessToken: `at-${this.n}-${'a'.repeat(40)}`, refreshToken: this.live, expiresAt: this.clock.now() + this.ttlMs, obtainedAt: this.clock.now(), scopes: ['mcp:read'] };
  }

  /** While set, the token endpoint does not answer. */
  hang?: Promise<void>;

  refresh = async (_record: SignInRecord, refreshToken: string): Promise<Tokens> => {
    if (this.hang) await this.hang;
    this.grants++;
    if (this.down) throw new AppError(Code.UNREACHABLE, 'could not reach https://as.example (connection refused)');
    if (refreshToken !== this.live) {
      this.spent.push(refreshToken);
      throw new AppError(Code.GRANT_INVALID, 'the authorization server refused the stored refresh token (invalid_grant)');
    }
    this.n++;
    this.live = `rt-${this.n}`;
    return this.tokens();
  };
}

interface World {
  dir: string;
  clock: FakeClock;
  keychain: FakeKeychain;
  as: FakeAs;
  logs: string[];
  signIns: SignIns;
  /** A copy of the proxy: its own SignIns and authorizer over the same dir and keychain. */
  copy(opts?: { allowBrowser?: boolean; signIn?: StoredAuthorizerOptions['signIn'] }): StoredAuthorizer;
}

async function world(opts: { ttlMs?: number; keychainTimeoutMs?: number } = {}): Promise<World> {
  const t = await makeTempDir();
  cleanups.push(t.cleanup);
  const dir = join(t.dir, 'config');
  const clock = new FakeClock();
  const keychain = new FakeKeychain();
  const as = new FakeAs(clock, opts.ttlMs);
  const logs: string[] = [];
  const logger = createLogger({ debug: true, write: (line) => void logs.push(line) });
  const signInsFor = () => new SignIns({ dir, logger, storePreference: 'keychain', keychain: { openEntry: keychain.openEntry, timeoutMs: opts.keychainTimeoutMs ?? 100 }, now: clock.now });
  const signIns = signInsFor();
  await signIns.records.save({ target: { url: URL_ }, resource: URL_, as: AS, client: { issuer: ISSUER, clientId: 'c', method: 'dcr', redirectUris: [], registeredAt: 1 }, tokens: as.tokens() }, await signIns.chooseStore());
  return {
    dir, clock, keychain, as, logs, signIns,
    copy: (o = {}) => {
      const authorizer = new StoredAuthorizer({
        signIns: signInsFor(),
        target: { url: URL_ },
        logger,
        tokenEndpoint: { refresh: (record, refreshToken) => as.refresh(record, refreshToken), revoke: async () => 'unsupported' },
        signIn: o.signIn ?? (() => Promise.reject(new Error('no browser in this test'))),
        allowBrowser: o.allowBrowser ?? false,
        signInTimeoutMs: 60_000,
        holdMs: 30_000,
        browserCooldownMs: 600_000,
        clock,
      });
      cleanups.push(() => authorizer.close());
      return authorizer;
    },
  };
}

describe('StoredAuthorizer', () => {
  it('serves a fresh stored token from memory after the first read', async () => {
    const w = await world();
    const a = w.copy();
    expect(await a.getToken()).toBe(w.as.tokens().accessToken);
    const reads = w.keychain.reads;
    for (let i = 0; i < 50; i++) await a.getToken();
    expect(w.keychain.reads).toBe(reads);
    expect(w.as.grants).toBe(0);
  });

  it('refreshes a token about to expire once for a burst of requests, and saves the rotated refresh token', async () => {
    const w = await world();
    const a = w.copy();
    await a.getToken();
    w.clock.advance(HOUR - 30_000); // 30 s left: inside the early-refresh minute
    const burst = await Promise.all(Array.from({ length: 10 }, () => a.getToken()));
    expect(new Set(burst)).toEqual(new Set(['at-2-' + 'a'.repeat(40)]));
    expect(w.as.grants).toBe(1);
    const stored = (await w.signIns.records.load(URL_))!;
    expect(stored.tokens!.accessToken).toBe(burst[0]);
    expect(await w.signIns.records.refreshToken(stored.record)).toBe('rt-2');
  });

  for (const lifetime of [30_000, 60_000]) {
    it(`a ${lifetime / 1000} s token is refreshed once, by the first request in the last half of its life, never by every request`, async () => {
      const w = await world({ ttlMs: lifetime });
      await w.signIns.records.saveRefresh((await w.signIns.records.record(URL_))!, w.as.tokens()); // issued now, by the fake clock
      const a = w.copy();
      for (let t = 0; t < lifetime / 2 - 500; t += 500) {
        expect(await a.getToken()).toBe(`at-1-${'a'.repeat(40)}`);
        w.clock.advance(500);
      }
      expect(w.as.grants).toBe(0);
      w.clock.advance(1_000);
      for (let i = 0; i < 20; i++) expect(await a.getToken()).toBe(`at-2-${'a'.repeat(40)}`);
      expect(w.as.grants).toBe(1);
    });
  }

  it('a 401 on a token valid by its expiry: one refresh, then a different token', async () => {
    const w = await world();
    const a = w.copy();
    const first = await a.getToken();
    const second = await a.onUnauthorized(first, {});
    expect(second).not.toBe(first);
    expect(w.as.grants).toBe(1);
  });

  it('a second copy finds the first copy\'s refresh in the store instead of spending the refresh token again', async () => {
    const w = await world();
    const a = w.copy();
    const b = w.copy();
    await Promise.all([a.getToken(), b.getToken()]);
    w.clock.advance(HOUR);
    const [ta, tb] = await Promise.all([a.getToken(), b.getToken()]);
    expect(ta).toBe(tb);
    expect(w.as.grants).toBe(1);
    expect(w.as.spent).toEqual([]);
  });

  it('a keychain write that times out during a refresh: the new tokens are used from memory, the lock is kept, the save is retried, the sign-in survives', async () => {
    const w = await world();
    const a = w.copy();
    await a.getToken();
    w.clock.advance(HOUR);
    w.keychain.writes = 'hang';
    const token = await a.getToken(); // refresh succeeds at the AS; the save times out after 100 ms
    expect(token).toBe(`at-2-${'a'.repeat(40)}`);
    expect(w.as.live).toBe('rt-2');
    const warnings = w.logs.filter((l) => l.includes('warning:'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/could not save the refreshed sign-in to OS keychain .*did not answer within 0.1 s.*Using the new tokens from memory and trying again/);
    // The store still has rt-1, already spent at the AS: another copy must not use it. It waits for the lock instead.
    expect(await w.signIns.records.refreshToken((await w.signIns.records.record(URL_))!)).toBe('rt-1');
    await expect(w.signIns.locks.withRefreshLock(URL_, async () => {}, { timeoutMs: 50 })).rejects.toMatchObject({ code: 'STORE_LOCK_TIMEOUT' });
    // Still failing on the first retries: no new warning, nothing lost.
    w.clock.advance(1_000);
    await until(() => w.logs.some((l) => l.includes('failed again')));
    expect(w.logs.filter((l) => l.includes('warning:'))).toHaveLength(1);
    // Meanwhile the token expires again: the copy refreshes with the refresh token it holds in memory.
    w.clock.advance(HOUR);
    expect(await a.getToken()).toBe(`at-3-${'a'.repeat(40)}`);
    expect(w.as.spent).toEqual([]);
    // The keychain answers again: the next retry saves everything and lets go of the lock.
    w.keychain.writes = 'ok';
    w.clock.advance(30_000);
    await until(() => w.logs.some((l) => /saved the refreshed sign-in to https:\/\/mcp\.example\/ \(after \d+ attempts\)/.test(l)));
    const stored = (await w.signIns.records.load(URL_))!;
    expect(stored.tokens!.accessToken).toBe(`at-3-${'a'.repeat(40)}`);
    expect(await w.signIns.records.refreshToken(stored.record)).toBe('rt-3');
    await w.signIns.locks.withRefreshLock(URL_, async () => {}, { timeoutMs: 50 });
    // A new copy (a restart) works without the browser and without a refresh.
    const grants = w.as.grants;
    expect(await w.copy().getToken()).toBe(`at-3-${'a'.repeat(40)}`);
    expect(w.as.grants).toBe(grants);
  });

  it('a lock lost before the refresh token is spent: it is not spent (another copy owns the refresh now)', async () => {
    const w = await world();
    const a = w.copy();
    await a.getToken();
    w.clock.advance(HOUR);
    // Right when the refresh token is read under the lock, the lock is taken from this copy.
    w.keychain.beforeRead = async (account) => { if (account.endsWith(' refresh')) await rm(join(w.dir, 'locks'), { recursive: true, force: true }); };
    await expect(a.getToken()).rejects.toMatchObject({ code: 'AUTH_AS_UNREACHABLE' });
    expect(w.as.grants).toBe(0);
    expect(w.logs.some((l) => l.includes('was taken over by another process'))).toBe(true);
  });

  it('a lock lost after the refresh: the new tokens serve this copy from memory, and nothing is written', async () => {
    const w = await world();
    const a = w.copy();
    await a.getToken();
    w.clock.advance(HOUR);
    const writes = w.keychain.log.length;
    const refresh = w.as.refresh;
    w.as.refresh = async (record, rt) => {
      const tokens = await refresh(record, rt);
      await rm(join(w.dir, 'locks'), { recursive: true, force: true });
      return tokens;
    };
    expect(await a.getToken()).toBe(`at-2-${'a'.repeat(40)}`);
    expect(w.keychain.log.length).toBe(writes);
    expect(await w.signIns.records.refreshToken((await w.signIns.records.record(URL_))!)).toBe('rt-1');
    expect(w.logs.some((l) => l.includes('kept in memory only'))).toBe(true);
  });

  it('closing with refreshed tokens not saved yet makes one last save', async () => {
    const w = await world();
    const a = w.copy();
    await a.getToken();
    w.clock.advance(HOUR);
    w.keychain.writes = 'fail';
    await a.getToken();
    w.keychain.writes = 'ok';
    await a.close();
    expect(await w.signIns.records.refreshToken((await w.signIns.records.record(URL_))!)).toBe('rt-2');
  });

  it('a refresh token found spent: the store is read again, and a newer one saved by another copy is used', async () => {
    const w = await world();
    const a = w.copy();
    await a.getToken();
    w.clock.advance(HOUR);
    // Another process (not waiting for our lock) refreshes and saves between our read and our grant.
    let interfered = false;
    const sneaky = async (record: SignInRecord, refreshToken: string) => {
      if (interfered) return w.as.refresh(record, refreshToken);
      interfered = true;
      const theirs = await w.as.refresh(record, refreshToken);
      await w.signIns.records.saveRefresh(record, { ...theirs, expiresAt: w.clock.now() + 10_000, obtainedAt: w.clock.now() - HOUR });
      return w.as.refresh(record, refreshToken); // ours: spent by now
    };
    const b = new StoredAuthorizer({
      signIns: w.signIns, target: { url: URL_ }, logger: createLogger({ write: () => {} }), tokenEndpoint: { refresh: sneaky, revoke: async () => 'unsupported' },
      signIn: () => Promise.reject(new Error('no browser')), allowBrowser: false, holdMs: 30_000, signInTimeoutMs: 1000, browserCooldownMs: 1000, clock: w.clock,
    });
    cleanups.push(() => b.close());
    const token = await b.getToken();
    expect(token).toBe(`at-3-${'a'.repeat(40)}`); // theirs was about to expire: the newer refresh token was spent, not the sign-in lost
    expect(w.as.spent).toEqual(['rt-1']);
    expect(await w.signIns.records.refreshToken((await w.signIns.records.record(URL_))!)).toBe('rt-3');
  });

  it('a revoked grant: requests go without a token; the 401 that follows, with no browser allowed, says to run login', async () => {
    const w = await world();
    const a = w.copy();
    await a.getToken();
    w.as.live = 'rt-revoked';
    w.clock.advance(HOUR);
    expect(await a.getToken()).toBeUndefined();
    expect(w.as.grants).toBe(1);
    // The dead refresh token is dropped: no copy asks the AS with it again.
    expect(await w.copy().getToken()).toBeUndefined();
    expect(w.as.grants).toBe(1);
    const error = await a.onUnauthorized(undefined, {}).catch((e: AppError) => e);
    expect(w.as.grants).toBe(1);
    expect(error).toMatchObject({ code: 'AUTH_SIGN_IN_REQUIRED' });
    expect((error as AppError).message).toMatch(/Sign-in to https:\/\/mcp\.example\/ is required \(your sign-in has expired or was revoked\): run `npx appwrite-mcp login --url https:\/\/mcp\.example\/`/);
  });

  it('no request waits for auth longer than holdMs, even when the AS hangs', async () => {
    const w = await world();
    const a = w.copy();
    await a.getToken();
    w.clock.advance(HOUR);
    let answer!: () => void;
    w.as.hang = new Promise<void>((resolve) => (answer = resolve));
    const waiting = a.getToken();
    await new Promise((resolve) => setTimeout(resolve, 50)); // the refresh is under way, waiting on the AS
    expect(w.as.grants).toBe(0);
    w.clock.advance(30_000);
    await expect(waiting).rejects.toMatchObject({ code: 'AUTH_AS_UNREACHABLE', message: expect.stringContaining('taking more than 30 s') });
    w.as.hang = undefined;
    answer(); // the AS answers at last: the refresh completes in the background and serves the next request
    await until(async () => (await w.signIns.records.load(URL_))?.tokens?.accessToken === `at-2-${'a'.repeat(40)}`);
    expect(await w.signIns.records.refreshToken((await w.signIns.records.record(URL_))!)).toBe('rt-2');
    expect(await a.getToken()).toBe(`at-2-${'a'.repeat(40)}`);
  });

  it('the AS down: the token still valid is used; when it is not, as_unreachable fast, then recovery', async () => {
    const w = await world();
    const a = w.copy();
    await a.getToken();
    w.as.down = true;
    w.clock.advance(HOUR - 30_000); // due for refresh, still valid for 30 s
    expect(await a.getToken()).toBe(`at-1-${'a'.repeat(40)}`);
    w.clock.advance(60_000); // now expired
    await expect(a.getToken()).rejects.toMatchObject({ code: 'AUTH_AS_UNREACHABLE' });
    const grants = w.as.grants;
    await expect(a.getToken()).rejects.toMatchObject({ code: 'AUTH_AS_UNREACHABLE' }); // within 1 s: fails fast
    expect(w.as.grants).toBe(grants);
    w.as.down = false;
    w.clock.advance(1_000);
    expect(await a.getToken()).toBe(`at-2-${'a'.repeat(40)}`);
  });

  it('one browser sign-in for many waiters; a tab that was not finished is not reopened by another copy within the cool-down', async () => {
    const w = await world();
    await w.signIns.records.forget((await w.signIns.records.record(URL_))!);
    let opened = 0;
    const signIn = async () => {
      opened++;
      const tokens = w.as.tokens();
      const record = await w.signIns.records.save({ target: { url: URL_ }, resource: URL_, as: AS, client: { issuer: ISSUER, clientId: 'c', method: 'dcr', redirectUris: [], registeredAt: 1 }, tokens }, await w.signIns.chooseStore());
      return { record, tokens };
    };
    const [a, b, c] = [w.copy({ allowBrowser: true, signIn }), w.copy({ allowBrowser: true, signIn }), w.copy({ allowBrowser: true, signIn })];
    expect(await a.getToken()).toBeUndefined(); // not signed in: no browser until the server asks
    expect(opened).toBe(0);
    const tokens = await Promise.all([a, b, c, a].map((x) => x.onUnauthorized(undefined, {})));
    expect(new Set(tokens).size).toBe(1);
    expect(opened).toBe(1);

    await w.signIns.records.forget((await w.signIns.records.record(URL_))!);
    // An AS that cannot be reached before any tab opened sets no cool-down: the next copy tries.
    const offline = w.copy({ allowBrowser: true, signIn: () => Promise.reject(new AppError(Code.UNREACHABLE, 'could not reach https://as.example (connection refused)')) });
    await expect(offline.onUnauthorized(undefined, {})).rejects.toThrow(/did not complete \(could not reach/);
    expect(await w.signIns.cooldown.lastUnfinished(URL_)).toBe(0);
    const failing = w.copy({ allowBrowser: true, signIn: () => Promise.reject(new AppError(Code.SIGN_IN_TIMEOUT, 'no sign-in came back from the browser within 5 min')) });
    await expect(failing.onUnauthorized(undefined, {})).rejects.toThrow(/did not complete \(no sign-in came back/);
    const later = w.copy({ allowBrowser: true, signIn });
    await expect(later.onUnauthorized(undefined, {})).rejects.toThrow(/the last browser sign-in was not completed/);
    expect(opened).toBe(1);
    w.clock.advance(600_001);
    expect(await later.onUnauthorized(undefined, {})).toBeTruthy();
    expect(opened).toBe(2);
  });

  it('a copy that waited for another copy\'s browser sign-in uses it even when its short token is already due: refreshed, no second tab', async () => {
    const w = await world();
    await w.signIns.records.forget((await w.signIns.records.record(URL_))!);
    let opened = 0;
    let finish!: () => void;
    const userDone = new Promise<void>((resolve) => (finish = resolve));
    const signIn = async () => {
      opened++;
      await userDone;
      // A 1.5 s token, and a slow machine: by the time it is saved it has half a second left.
      const tokens = { ...w.as.tokens(), obtainedAt: w.clock.now() - 1_000, expiresAt: w.clock.now() + 500 };
      const record = await w.signIns.records.save({ target: { url: URL_ }, resource: URL_, as: AS, client: { issuer: ISSUER, clientId: 'c', method: 'dcr', redirectUris: [], registeredAt: 1 }, tokens }, await w.signIns.chooseStore());
      return { record, tokens };
    };
    const [a, b] = [w.copy({ allowBrowser: true, signIn }), w.copy({ allowBrowser: true, signIn })];
    const first = a.onUnauthorized(undefined, {});
    await until(() => opened === 1);
    const second = b.onUnauthorized(undefined, {}); // waits for a's sign-in (the sign-in lock)
    await new Promise((resolve) => setTimeout(resolve, 50));
    finish();
    expect(await first).toBe(`at-1-${'a'.repeat(40)}`);
    expect(await second).toBe(`at-2-${'a'.repeat(40)}`);
    expect(opened).toBe(1);
    expect(w.as.grants).toBe(1);
  });

  it.each([1, 2, 3, 4])('another copy\'s browser sign-in saved at any moment of a copy\'s way from its 401 to the browser (its keychain read %i): that copy uses it, no second tab', async (at) => {
    const w = await world({ keychainTimeoutMs: 30_000 }); // the other copy's sign-in happens inside a keychain read
    const expired = w.as.tokens().accessToken;
    // The grant is gone (its refresh token refused and dropped) and the access token has run out.
    await w.signIns.records.dropRefreshToken((await w.signIns.records.record(URL_))!);
    w.clock.advance(HOUR + 1);
    let opened = 0;
    const signIn = async () => {
      opened++;
      const tokens = { ...w.as.tokens(), accessToken: `at-tab-${opened}-${'b'.repeat(40)}` };
      const record = await w.signIns.records.save({ target: { url: URL_ }, resource: URL_, as: AS, client: { issuer: ISSUER, clientId: 'c', method: 'dcr', redirectUris: [], registeredAt: 1 }, tokens }, await w.signIns.chooseStore());
      return { record, tokens };
    };
    const b = w.copy({ allowBrowser: true, signIn });
    // b reads the store (no usable sign-in: it will ask for the browser); on its next read another
    // copy's browser sign-in has just been saved (a slow machine puts it between the two).
    let reads = 0;
    w.keychain.beforeRead = async () => {
      if (++reads !== at) return;
      await signIn();
    };
    const token = await b.onUnauthorized(expired, {});
    expect(opened).toBe(1); // the other copy's tab, and no second one
    expect(token).toBe(`at-tab-1-${'b'.repeat(40)}`);
  });

  it('a request waits for the browser at most holdMs, then sign_in_pending; the sign-in goes on and serves the next request', async () => {
    const w = await world();
    await w.signIns.records.forget((await w.signIns.records.record(URL_))!);
    let finish!: () => void;
    const userDone = new Promise<void>((resolve) => (finish = resolve));
    let challengeSeen: unknown;
    const a = w.copy({
      allowBrowser: true,
      signIn: async (_scopes, challenge) => {
        challengeSeen = challenge;
        await userDone;
        const tokens = w.as.tokens();
        const record = await w.signIns.records.save({ target: { url: URL_ }, resource: URL_, as: AS, client: { issuer: ISSUER, clientId: 'c', method: 'dcr', redirectUris: [], registeredAt: 1 }, tokens }, await w.signIns.chooseStore());
        return { record, tokens };
      },
    });
    const challenge = { error: 'invalid_token', resourceMetadata: 'https://mcp.example/.well-known/oauth-protected-resource' };
    const waiting = a.onUnauthorized(undefined, challenge);
    await until(() => challengeSeen !== undefined && w.clock.pendingSleeps > 0);
    w.clock.advance(30_000);
    const error = await waiting.catch((e: AppError) => e);
    expect(error).toMatchObject({ code: 'AUTH_SIGN_IN_PENDING' });
    expect((error as AppError).message).toMatch(/a browser tab has been opened; finish signing in there, or run `npx appwrite-mcp login --url https:\/\/mcp\.example\/`/);
    expect(challengeSeen).toEqual(challenge);
    expect(await a.getToken()).toBeUndefined();
    finish();
    await a.whenReady();
    expect(await a.getToken()).toBe(w.as.tokens().accessToken);
  });

  it('step-up asks the browser for the union of granted and required scopes', async () => {
    const w = await world();
    let asked: string[] | undefined;
    const signIn = async (scopes: string[] | undefined) => {
      asked = scopes;
      const tokens = { ...w.as.tokens(), accessToken: 'at-admin', scopes: scopes ?? [] };
      const record = await w.signIns.records.save({ target: { url: URL_ }, resource: URL_, as: AS, client: { issuer: ISSUER, clientId: 'c', method: 'dcr', redirectUris: [], registeredAt: 1 }, tokens }, await w.signIns.chooseStore());
      return { record, tokens };
    };
    const b = new StoredAuthorizer({
      signIns: w.signIns, target: { url: URL_ }, logger: createLogger({ write: () => {} }), tokenEndpoint: { refresh: w.as.refresh, revoke: async () => 'unsupported' }, signIn,
      allowBrowser: true, holdMs: 30_000, signInTimeoutMs: 1000, browserCooldownMs: 1000, clock: w.clock,
    });
    cleanups.push(() => b.close());
    const first = await b.getToken();
    expect(await b.onInsufficientScope(first, { error: 'insufficient_scope', scope: 'mcp:read mcp:admin' })).toBe('at-admin');
    expect(asked).toEqual(['mcp:read', 'mcp:admin']);
  });
});
