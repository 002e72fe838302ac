// Doctor, part 5: this server's stored sign-in. Present and readable; its access token accepted by
// the server (a real `initialize` with it); and a refresh possible. A refresh token is only spent
// when the access token cannot be used as it is (rejected or expired): a rotating refresh token may
// be spent once, so the refresh runs as the proxy's does, under the sign-in's cross-process lock,
// and its result is saved through SignIns.saveRefresh before the lock is released.
import { probeServer } from '../auth/discovery.js';
import type { AuthContext } from '../auth/oauth.js';
import { describeAccount, describeExpiry } from '../commands/describe.js';
import { AppError, Code, errorMessage, isAppError } from '../errors.js';
import { registerSecret } from '../log.js';
import { signInKey, type SignIns, type StoredSignIn } from '../store/sign-ins.js';
import type { SignInRecord, Target, Tokens } from '../store/types.js';
import { deadline, fail, ok, skip, warn, type CheckResult } from './report.js';
import type { ServerFacts } from './server.js';

export interface SignInCheckOptions {
  target: Target;
  signIns: SignIns;
  ctx: AuthContext;
  server: ServerFacts;
  /** The keychain round trip worked (a refreshed sign-in can be saved there). */
  keychainWorks: boolean;
  /** APPWRITE_MCP_TOKEN, which the proxy uses as is. */
  envToken?: string;
  /** `appwrite-mcp login …` for this server. */
  login: string;
  /** Bound on reading the secrets and on the refresh lock. */
  timeoutMs: number;
  now?: () => number;
}

/** How long to wait for a running proxy's refresh (it holds the same lock). */
const LOCK_WAIT_MS = 5_000;

export async function checkSignIn(o: SignInCheckOptions, record: SignInRecord | undefined, report: (r: CheckResult) => void): Promise<void> {
  const now = o.now ?? Date.now;
  const { target, login } = o;

  if (o.envToken) {
    registerSecret(o.envToken);
    report(ok('sign-in', 'APPWRITE_MCP_TOKEN is set: the proxy sends that token as is (no stored sign-in, no refresh, no browser)'));
    const verdict = await tokenVerdict(o, o.envToken);
    if (verdict.kind === 'accepted') report(ok('token', `the server accepts APPWRITE_MCP_TOKEN (HTTP ${verdict.status} to initialize)`, { detail: verdict.note ? [verdict.note] : undefined }));
    else if (verdict.kind === 'skipped') report(skip('token', verdict.why));
    else report(fail('token', `the server refuses APPWRITE_MCP_TOKEN: ${verdict.why}`, { fix: `Put a valid token in APPWRITE_MCP_TOKEN, or unset it to use the stored sign-in (${login}).` }));
    report(skip('refresh', 'APPWRITE_MCP_TOKEN is not refreshed: replace it when it expires'));
    return;
  }

  if (!record) {
    const others = (await o.signIns.list().catch(() => [])).filter((r) => r.url === target.url && r.key !== signInKey(target));
    const detail = others.map((r) => `signed in to this URL with ${r.headerNames?.length ? `the headers ${r.headerNames.join(', ')}` : 'no extra headers'}; pass the same --header flags to check that one`);
    if (o.server.answered && o.server.requiresAuth === false && !o.server.resource) {
      report(skip('sign-in', 'not signed in, and the server needs none', { detail }));
    } else {
      report(fail('sign-in', `not signed in to ${target.url}${target.headers ? ' with these headers' : ''}: your MCP client would wait for a browser sign-in`, { detail, fix: login }));
    }
    report(skip('token', 'no sign-in'));
    report(skip('refresh', 'no sign-in'));
    return;
  }

  // ── present and readable ──
  const where = o.signIns.describeStore(record.store);
  let stored: StoredSignIn | undefined;
  let refreshToken: string | undefined;
  try {
    if (record.store === 'keychain' && !o.keychainWorks) throw new AppError(Code.KEYCHAIN_UNAVAILABLE, 'the OS keychain is not usable (see the keychain line)');
    stored = await deadline(o.signIns.load(record.key), o.timeoutMs, `reading the sign-in took more than ${o.timeoutMs / 1000} s`);
    if (stored && record.token.hasRefreshToken) refreshToken = await deadline(o.signIns.refreshToken(stored.record), o.timeoutMs, `reading the refresh token took more than ${o.timeoutMs / 1000} s`);
  } catch (err) {
    report(fail('sign-in', `signed in as ${describeAccount(record.account)}, but the secrets cannot be read from ${where}: ${errorMessage(err)}`, {
      fix: record.store === 'keychain' ? `Unlock your keychain (see the keychain line), or sign in again into a 0600 file: ${login} --store file` : `${login}`,
    }));
    report(skip('token', 'the secrets cannot be read'));
    report(skip('refresh', 'the secrets cannot be read'));
    return;
  }
  if (!stored) {
    report(fail('sign-in', 'the sign-in disappeared while it was being read (another appwrite-mcp logged out?)', { fix: login }));
    report(skip('token', 'no sign-in'));
    report(skip('refresh', 'no sign-in'));
    return;
  }
  record = stored.record;
  const accessToken = stored.tokens?.accessToken;
  if (!accessToken && !refreshToken) {
    report(fail('sign-in', `signed in as ${describeAccount(record.account)}, but the tokens are missing from ${where}`, { fix: login }));
    report(skip('token', 'no token stored'));
    report(skip('refresh', 'no refresh token stored'));
    return;
  }
  const detail = [
    `issuer: ${record.as.issuer}; client: ${record.client.clientId} (${record.client.method})`,
    `scopes: ${record.token.scopes.length ? shorten(record.token.scopes) : '(none)'}`,
    describeExpiry(record.token.expiresAt, Boolean(refreshToken), now()),
    `signed in ${new Date(record.signedInAt).toISOString()}${record.headerNames?.length ? `; headers ${record.headerNames.join(', ')} (values not stored)` : ''}`,
  ];
  const moved = movedProblem(record, o.server);
  if (moved) report(warn('sign-in', `signed in as ${describeAccount(record.account)}, secrets in ${where}, but ${moved}`, { detail, fix: login }));
  else report(ok('sign-in', `signed in as ${describeAccount(record.account)}; secrets in ${where}`, { detail }));

  // ── the access token, as the server sees it ──
  const expired = record.token.expiresAt !== undefined && record.token.expiresAt <= now() + 1000;
  let why: string;
  if (!o.server.answered) {
    report(skip('token', 'the server could not be reached: the token was not tried'));
    report(refreshToken ? ok('refresh', 'a refresh token is held (not tried: the server could not be reached)') : warn('refresh', 'no refresh token: you will have to sign in again when the access token expires', { fix: login }));
    return;
  }
  if (accessToken && !expired) {
    const verdict = await tokenVerdict(o, accessToken);
    if (verdict.kind === 'accepted') {
      report(ok('token', `the server accepts the stored access token (HTTP ${verdict.status} to initialize)`, { detail: verdict.note ? [verdict.note] : undefined }));
      if (refreshToken && o.server.asUnreachable) {
        report(warn('refresh', `a refresh token is held, but the authorization server is unreachable: refreshing fails until it answers${record.token.expiresAt ? ` (the access token is good until ${new Date(record.token.expiresAt).toISOString()})` : ''}`, { fix: 'See the authorization-server line.' }));
      } else if (refreshToken) report(ok('refresh', 'a refresh token is held (not spent now: the access token is good, and a refresh would rotate it)'));
      else report(warn('refresh', `no refresh token: you will have to sign in again ${record.token.expiresAt ? `after ${new Date(record.token.expiresAt).toISOString()}` : 'when the access token expires'}`, {
        fix: `${login} (the authorization server granted no refresh token; it may need the offline_access scope)`,
      }));
      return;
    }
    if (verdict.kind === 'skipped') {
      report(skip('token', verdict.why));
      report(refreshToken ? ok('refresh', 'a refresh token is held') : warn('refresh', 'no refresh token', { fix: login }));
      return;
    }
    why = `the server rejected the stored access token (${verdict.why})`;
  } else {
    why = accessToken ? 'the stored access token has expired' : 'the stored access token is missing or torn';
  }

  // ── a refresh is needed to know whether the proxy would work ──
  if (!refreshToken) {
    report(fail('token', `${why}, and there is no refresh token`, { fix: login }));
    report(fail('refresh', 'no refresh token: only a new sign-in helps', { fix: login }));
    return;
  }
  if (o.server.asUnreachable) {
    report(fail('token', `${why}; it cannot be refreshed while the authorization server is unreachable`, { fix: 'See the authorization-server line; once it answers, the proxy refreshes by itself.' }));
    report(fail('refresh', `cannot refresh: the authorization server is unreachable (${o.server.asUnreachable})`, { fix: 'See the authorization-server line.' }));
    return;
  }
  if (record.store === 'keychain' && !o.keychainWorks) {
    report(fail('token', `${why}; not refreshed, because the keychain could not save the rotated refresh token`, { fix: 'See the keychain line.' }));
    report(fail('refresh', 'not tried: a rotating refresh token is spent only when its successor can be saved', { fix: 'See the keychain line.' }));
    return;
  }
  const refreshed = await refreshAsTheProxyDoes(o, record, accessToken);
  if (refreshed.kind === 'failed') {
    report(fail('token', `${why}, and refreshing it failed`, { fix: refreshed.fix }));
    report(fail('refresh', refreshed.why, { fix: refreshed.fix }));
    return;
  }
  if (refreshed.kind === 'busy') {
    report(warn('token', `${why}; another appwrite-mcp process is refreshing the sign-in right now`, { fix: 'Run appwrite-mcp doctor again in a moment.' }));
    report(warn('refresh', refreshed.why));
    return;
  }
  const verdict = await tokenVerdict(o, refreshed.tokens.accessToken);
  const how = refreshed.kind === 'refreshed' ? `refreshed it and saved the result to ${where}` : 'another appwrite-mcp process had just refreshed it';
  if (verdict.kind === 'accepted') {
    // A rejected (not merely expired) token is worth a warning: something revoked it.
    const line = `${why}; ${how}, and the server accepts the new one`;
    report(expired || !accessToken ? ok('token', line) : warn('token', line, { detail: ['the proxy would have done the same on its first request'] }));
    report(ok('refresh', refreshed.kind === 'refreshed' ? `refreshed at ${record.as.token_endpoint} and saved` : 'refreshed (by another appwrite-mcp process)'));
  } else {
    report(fail('token', `${why}; ${how}, but the server rejects the new one too (${verdict.kind === 'rejected' ? verdict.why : verdict.why})`, {
      fix: `${login} (the authorization server issues tokens this server does not take: if it persists, report it to the server's operator)`,
    }));
    report(ok('refresh', 'the refresh itself worked'));
  }
}

type Verdict =
  | { kind: 'accepted'; status: number; note?: string }
  | { kind: 'rejected'; why: string }
  | { kind: 'skipped'; why: string };

/** A real `initialize` with the token: 2xx means accepted, 401 rejected. */
async function tokenVerdict(o: SignInCheckOptions, token: string): Promise<Verdict> {
  if (!o.server.answered) return { kind: 'skipped', why: 'the server could not be reached: the token was not tried' };
  try {
    const res = await probeServer(o.ctx, o.target.url, { ...o.target.headers, authorization: `Bearer ${token}` });
    if (!res.requiresAuth && res.status >= 200 && res.status < 300) {
      return { kind: 'accepted', status: res.status, ...(o.server.requiresAuth === false ? { note: 'the server answers initialize without a token too, so this does not prove the token is valid' } : {}) };
    }
    if (res.status === 403 && res.challenge?.error === 'insufficient_scope') {
      return { kind: 'accepted', status: res.status, note: `the server asks for more scope (${res.challenge.scope ?? 'unspecified'}): the proxy re-authorizes in the browser when it needs it` };
    }
    const c = res.challenge;
    if (res.status === 401 || res.status === 403 || c) {
      return { kind: 'rejected', why: `HTTP ${res.status}${c?.error ? `: ${c.error}${c.errorDescription ? ` (${c.errorDescription})` : ''}` : ''}` };
    }
    // Past the token check but refused as a request: a server of another protocol revision (a
    // 2026-07-28-only server answers a 2025 initialize with 400). Without the token it said 401.
    if (res.status >= 400 && res.status < 500 && o.server.requiresAuth) {
      return { kind: 'accepted', status: res.status, note: `the server refused the 2025 initialize itself (HTTP ${res.status}: another protocol revision?) only after it took the token, where it answered 401 without one` };
    }
    return { kind: 'skipped', why: `the server answered HTTP ${res.status} with the token: cannot tell whether it takes it` };
  } catch (err) {
    return { kind: 'skipped', why: `the server did not answer with the token: ${errorMessage(err)}` };
  }
}

type Refreshed =
  | { kind: 'refreshed' | 'by-another'; tokens: Tokens }
  | { kind: 'failed'; why: string; fix: string }
  | { kind: 'busy'; why: string };

/**
 * The proxy's refresh (auth/stored-authorizer.ts): take the sign-in's `tokens` lock, read the store
 * again (another copy may have refreshed meanwhile), spend the refresh token once, save the result
 * with SignIns.saveRefresh, then release the lock. If the save fails it is retried while the lock is
 * held, so that no other copy spends the old refresh token.
 */
async function refreshAsTheProxyDoes(o: SignInCheckOptions, record: SignInRecord, rejected: string | undefined): Promise<Refreshed> {
  const now = o.now ?? Date.now;
  let lock;
  try {
    lock = await o.signIns.acquireLock('tokens', record.key, { timeoutMs: LOCK_WAIT_MS });
  } catch (err) {
    if (isAppError(err, Code.LOCK_TIMEOUT)) return { kind: 'busy', why: `the refresh lock is held by another appwrite-mcp process (waited ${LOCK_WAIT_MS / 1000} s)` };
    return { kind: 'failed', why: `cannot take the refresh lock: ${errorMessage(err)}`, fix: `Check that the config directory ${o.signIns.dir} is writable.` };
  }
  try {
    const latest = await deadline(o.signIns.load(record.key), o.timeoutMs, 'reading the sign-in again timed out');
    if (!latest) return { kind: 'failed', why: 'the sign-in disappeared (another appwrite-mcp logged out?)', fix: o.login };
    const t = latest.tokens;
    if (t && t.accessToken !== rejected && (t.expiresAt === undefined || t.expiresAt > now() + 60_000)) return { kind: 'by-another', tokens: t };
    const refreshToken = await o.signIns.refreshToken(latest.record);
    if (!refreshToken) return { kind: 'failed', why: 'the refresh token is gone (another appwrite-mcp found it refused)', fix: o.login };
    const { refreshTokens } = await import('../auth/tokens.js');
    let tokens: Tokens;
    try {
      tokens = await refreshTokens(o.ctx, latest.record, refreshToken, await o.signIns.clientSecret(latest.record));
    } catch (err) {
      if (isAppError(err, Code.GRANT_INVALID)) return { kind: 'failed', why: `${errorMessage(err)}: the sign-in was revoked or has expired`, fix: o.login };
      if (isAppError(err, Code.CLIENT_UNKNOWN)) return { kind: 'failed', why: errorMessage(err), fix: `${o.login} (it registers the client again)` };
      return { kind: 'failed', why: `refreshing failed: ${errorMessage(err)}`, fix: 'Check your network and the authorization server (see its line above), then run doctor again; the proxy retries by itself.' };
    }
    let lastError: unknown;
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        await o.signIns.saveRefresh(latest.record, tokens);
        return { kind: 'refreshed', tokens };
      } catch (err) {
        lastError = err;
        await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
      }
    }
    return {
      kind: 'failed',
      why: `refreshed, but the new tokens could not be saved: ${errorMessage(lastError)}; the old refresh token is spent`,
      fix: `${o.login} (and fix what stopped the save: see the keychain line)`,
    };
  } catch (err) {
    return { kind: 'failed', why: `cannot read the sign-in: ${errorMessage(err)}`, fix: o.login };
  } finally {
    await lock.release();
  }
}

/** The server now names another AS or resource than the sign-in was made for. */
function movedProblem(record: SignInRecord, server: ServerFacts): string | undefined {
  if (server.issuer && server.issuer !== record.as.issuer) return `the server now names the authorization server ${server.issuer}, not ${record.as.issuer} (sign in again)`;
  if (server.resource && server.resource !== record.resource) return `the server's resource is now ${server.resource}, not ${record.resource} (sign in again)`;
  return undefined;
}

function shorten(scopes: string[]): string {
  return scopes.length <= 8 ? scopes.join(' ') : `${scopes.slice(0, 7).join(' ')} … (${scopes.length} scopes)`;
}
